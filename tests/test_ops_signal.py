"""TFLite Micro's signal-library operators (the audio front end's custom operators) against TFLite
Micro, one operator a model written here, over their options' edge cases: FFT lengths of every
radix mix KISS FFT takes, frames shorter than the FFT, int16/int32/float, full-range values that
make the fixed-point sums wrap; filter banks with negative weights; spectral subtraction and PCAN
over their bit options; framers, stackers, delays and overlap-adds over sequences (their state is
kept between invocations: every check runs 20 invocations through one Kiln program and one TFLite
Micro interpreter). Then the whole front end (kiln/compiler/audio_frontend.py) on a tone in noise, on the
host and on qemu-m4, and the models TFLite Micro would crash on or misread, refused by name."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness import assert_match, check_on_qemu_m4, compile_and_run
from kiln.compiler.audio_frontend import FrontEnd, pcan_gain_lut
from kiln.compiler.audio_frontend import write as frontend_model
from kiln.compiler.ops.signal_fft import kiss_factors
from opgen import T, assert_rejected, check, model, random_records

WINDOW, FRAMER, STACKER = "CUSTOM(SignalWindow)", "CUSTOM(SignalFramer)", "CUSTOM(SignalStacker)"
DELAY, OVERLAP_ADD = "CUSTOM(SignalDelay)", "CUSTOM(SignalOverlapAdd)"
RFFT, IRFFT, AUTO_SCALE = "CUSTOM(SignalRfft)", "CUSTOM(SignalIrfft)", "CUSTOM(SignalFftAutoScale)"
ENERGY, FILTER_BANK, SQRT = "CUSTOM(SignalEnergy)", "CUSTOM(SignalFilterBank)", "CUSTOM(SignalFilterBankSquareRoot)"
SUBTRACTION = "CUSTOM(SignalFilterBankSpectralSubtraction)"
PCAN, LOG = "CUSTOM(SignalPCAN)", "CUSTOM(SignalFilterBankLog)"
TYPE_CODE = {"int16": 7, "int32": 2, "float32": 0}
ROOT = Path(__file__).resolve().parents[1]


def full(dtype):
    """Random values over the whole range of an integer type, floats in [-1, 1)."""
    def gen(rng, shape):
        if dtype == "float32":
            return rng.uniform(-1, 1, shape).astype(np.float32)
        if dtype == "uint64":
            return rng.integers(0, 2 ** 64 - 1, size=shape, endpoint=True, dtype=np.uint64)
        info = np.iinfo(dtype)
        return rng.integers(int(info.min), int(info.max), size=shape, endpoint=True, dtype=np.int64).astype(dtype)
    return gen


def varied(dtype, shape):
    """Input 0: records of one magnitude each, from tiny to full scale (the fixed-point paths wrap
    and round differently at each)."""
    def gen(rng):
        x = full(dtype)(rng, shape)
        if dtype == "float32":
            return x
        return (x.astype(np.int64) >> int(rng.integers(0, 12))).astype(dtype)
    return {0: gen}


# ---- FFT ----
LENGTHS = [4, 6, 8, 10, 12, 16, 18, 20, 24, 30, 32, 40, 50, 64, 90, 100, 128, 160, 256, 512]


def test_kiss_factors_follow_kiss_fft():
    # fours first, then twos, then odd numbers up to sqrt(n), the rest as one radix
    assert kiss_factors(256) == [4, 64, 4, 16, 4, 4, 4, 1]
    assert kiss_factors(128) == [4, 32, 4, 8, 4, 2, 2, 1]
    assert kiss_factors(6) == [2, 3, 3, 1]
    assert kiss_factors(45) == [3, 15, 3, 5, 5, 1]
    assert kiss_factors(14) == [2, 7, 7, 1]


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
@pytest.mark.parametrize("length", LENGTHS)
def test_rfft(dtype, length, tmp_path):
    frames = 2 if length < 100 else 1
    m = model(RFFT, [T([frames, length], dtype)], [T([frames, length + 2], dtype)], T=TYPE_CODE[dtype],
              fft_length=length)
    check(m, tmp_path, gen=varied(dtype, [frames, length]), what=f"{dtype} rfft {length}")


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
@pytest.mark.parametrize("length,samples", [(512, 480), (64, 1), (30, 17), (8, 7)])
def test_rfft_zero_pads_short_frames(dtype, length, samples, tmp_path):
    m = model(RFFT, [T([3, samples], dtype)], [T([3, length + 2], dtype)], T=TYPE_CODE[dtype], fft_length=length)
    check(m, tmp_path, gen=varied(dtype, [3, samples]), what=f"{dtype} rfft {samples} of {length}")


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
@pytest.mark.parametrize("length", [4, 6, 10, 16, 24, 50, 128, 256])
def test_irfft(dtype, length, tmp_path):
    m = model(IRFFT, [T([2, length + 2], dtype)], [T([2, length], dtype)], T=TYPE_CODE[dtype], fft_length=length)
    check(m, tmp_path, gen=varied(dtype, [2, length + 2]), what=f"{dtype} irfft {length}")


@pytest.mark.parametrize("n", [1, 7, 480])
def test_fft_auto_scale(n, tmp_path):
    m = model(AUTO_SCALE, [T([n], "int16")], [T([n], "int16"), T([], "int32")])
    recs = random_records(m, gen=varied("int16", [n]))
    recs[0][0] = np.zeros(n, np.int16)  # no bits at all: no shift (TFLite Micro counts 0 as 32 bits)
    recs[1][0] = np.full(n, -32768, np.int16)  # |-32768| stays -32768 in its int16 loop
    recs[2][0] = np.full(n, 1, np.int16)
    check(m, tmp_path, records=recs, what=f"auto-scale {n}")


# ---- spectral stages ----
@pytest.mark.parametrize("bins,start,end", [(257, 0, 257), (257, 5, 241), (9, 3, 4), (9, 0, 0)])
def test_energy(bins, start, end, tmp_path):
    m = model(ENERGY, [T([2 * bins], "int16")], [T([bins], "uint32")], end_index=end, start_index=start)
    recs = random_records(m, gen={0: lambda rng: full("int16")(rng, [2 * bins])})
    recs[0][0][:] = -32768  # |(-32768, -32768)|^2 = 2^31, past int32
    pair = compile_and_run(m, recs, tmp_path)
    for r, (ours, ref) in enumerate(zip(pair.ours, pair.ref)):
        # TFLite Micro leaves bins outside [start, end) unwritten; Kiln writes 0 there
        a, b = ours[0].reshape(-1), np.asarray(ref[0]).reshape(-1)
        assert np.array_equal(a[start:end], b[start:end]), f"record {r}: energies differ from TFLite Micro"
        assert not a[:start].any() and not a[end:].any(), f"record {r}: bins outside the range are not 0"


def filter_bank_tables(rng, bins, channels, negative=False):
    """Random bands: channel c's first bin, first weight and width (some empty), int16 weights."""
    widths = rng.integers(0, 6, channels + 1)
    starts = rng.integers(0, bins - 6, channels + 1)
    wstarts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    n = int(widths.sum()) + 1
    lo = -4096 if negative else 0
    weights, unweights = rng.integers(lo, 4097, n), rng.integers(lo, 4097, n)
    return [T([n], "int16", data=weights.astype(np.int16)), T([n], "int16", data=unweights.astype(np.int16)),
            T([channels + 1], "int16", data=starts.astype(np.int16)),
            T([channels + 1], "int16", data=wstarts.astype(np.int16)),
            T([channels + 1], "int16", data=widths.astype(np.int16))]


@pytest.mark.parametrize("channels,negative", [(1, False), (5, True), (40, False), (40, True)])
def test_filter_bank(channels, negative, tmp_path):
    bins = 64
    tables = filter_bank_tables(np.random.default_rng(channels), bins, channels, negative)
    m = model(FILTER_BANK, [T([bins], "uint32"), *tables], [T([channels], "uint64")], num_channels=channels)
    check(m, tmp_path, gen={0: lambda rng: full("uint32")(rng, [bins])}, what=f"filter bank {channels}")


def test_filter_bank_square_root(tmp_path):
    m = model(SQRT, [T([24], "uint64"), T([], "int32")], [T([24], "uint32")])

    def values(rng):
        x = full("uint64")(rng, [24])
        x[:8] >>= np.uint64(32)  # the 32-bit path, and around 2^32 where it rounds differently
        x[8:12] = np.uint64(2 ** 32) + rng.integers(-3, 4, 4).astype(np.int64).astype(np.uint64)
        x[12:16] = rng.integers(0, 100, 4).astype(np.uint64)
        return x
    check(m, tmp_path, gen={0: values, 1: lambda rng: np.array(rng.integers(0, 16), np.int32)})


SUBTRACTION_CASES = {  # smoothing, alternate smoothing, smoothing bits, subtraction bits, clamping
    "micro_speech": (409, 983, 10, 14, False),
    "clamping": (409, 983, 10, 14, True),
    "no-smoothing-bits": (2000, 2000, 0, 12, False),
    "fast": (16000, 300, 4, 14, True),
}


@pytest.mark.parametrize("case", SUBTRACTION_CASES)
@pytest.mark.parametrize("channels", [1, 7, 40])
def test_spectral_subtraction(case, channels, tmp_path):
    sm, alt, bits, sub_bits, clamp = SUBTRACTION_CASES[case]
    one = 1 << sub_bits
    m = model(SUBTRACTION, [T([channels], "uint32")], [T([channels], "uint32"), T([channels], "uint32")],
              alternate_one_minus_smoothing=one - alt, alternate_smoothing=alt, clamping=clamp,
              min_signal_remaining=one // 20, num_channels=channels, one_minus_smoothing=one - sm, smoothing=sm,
              smoothing_bits=bits, spectral_subtraction_bits=sub_bits)
    # a noise floor that jumps about, so the estimate follows and the clamping bites
    check(m, tmp_path, gen={0: lambda rng: (rng.integers(0, 1 << 16, channels) >> int(rng.integers(0, 8)))
                            .astype(np.uint32)}, what=case)


@pytest.mark.parametrize("lut", ["micro_speech", "random"])
@pytest.mark.parametrize("snr_shift", [0, 6, 12])
def test_pcan(lut, snr_shift, tmp_path):
    gains = pcan_gain_lut(FrontEnd()) if lut == "micro_speech" else \
        np.random.default_rng(snr_shift).integers(-32768, 32768, 125).astype(np.int16)
    m = model(PCAN, [T([40], "uint32"), T([40], "uint32"), T([125], "int16", data=gains)], [T([40], "uint32")],
              snr_shift=snr_shift)

    def noise(rng):  # every bit length, 0, 1 and 2 included
        x = (full("uint32")(rng, [40]) >> rng.integers(0, 32, 40).astype(np.uint32)).astype(np.uint32)
        x[:3] = [0, 1, 2]
        return x
    check(m, tmp_path, gen={0: lambda rng: (full("uint32")(rng, [40]) >> np.uint32(rng.integers(8, 24))),
                            1: noise}, what=f"{lut} shift {snr_shift}")


@pytest.mark.parametrize("scale,correction", [(64, 3), (1, 0), (65535, 0), (1 << 20, 5)])
def test_filter_bank_log(scale, correction, tmp_path):
    m = model(LOG, [T([40], "uint32")], [T([40], "int16")], input_correction_bits=correction, output_scale=scale)

    def values(rng):
        x = (full("uint32")(rng, [40]) >> rng.integers(0, 32, 40).astype(np.uint32)).astype(np.uint32)
        x[:3] = [0, 1, 2]
        return x
    check(m, tmp_path, gen={0: values}, what=f"log scale {scale} correction {correction}")


def test_log_table_is_its_formula():
    """kiln_filter_bank.c's table is round(2^16 (log2(1 + i/128) - i/128)) and a pad."""
    text = (ROOT / "runtime_c/src/kiln_filter_bank.c").read_text()
    body = re.search(r"log_lut\[130\] = \{(.*?)\};", text, re.S).group(1)
    table = [int(v) for v in re.findall(r"\d+", body)]
    want = [round(65536 * (np.log2(1 + i / 128) - i / 128)) for i in range(129)] + [0]
    assert table == want


# ---- framing ----
@pytest.mark.parametrize("shape,size,shift", [([1, 480], 480, 12), ([3, 7], 7, 0), ([2, 2, 5], 5, 15), ([9], 3, 1)])
def test_window(shape, size, shift, tmp_path):
    m = model(WINDOW, [T(shape, "int16"), T([size], "int16")], [T(shape, "int16")], shift=shift)
    check(m, tmp_path, gen={0: lambda rng: full("int16")(rng, shape), 1: lambda rng: full("int16")(rng, [size])},
          what=f"window {shape}")


def compare_valid(pair, what):
    """Outputs of the records both call valid (TFLite Micro leaves invalid frames unwritten), and
    the valid flags themselves."""
    seen = 0
    for r, (ours, ref) in enumerate(zip(pair.ours, pair.ref)):
        ok = bool(np.asarray(ref[1]).reshape(-1)[0])
        assert bool(ours[1].reshape(-1)[0]) == ok, f"{what} record {r}: valid flag differs from TFLite Micro"
        if ok:
            seen += 1
            assert np.array_equal(ours[0], np.asarray(ref[0]).reshape(ours[0].shape)), \
                f"{what} record {r}: frames differ from TFLite Micro"
    assert seen >= 5, f"{what}: too few valid records to prove anything"


FRAMER_CASES = [  # input shape, frame size, step, prefill
    ([320], 480, 320, True), ([320], 480, 320, False), ([2, 6], 5, 3, True), ([2, 6], 5, 3, False),
    ([4], 3, 4, False), ([3, 4], 8, 2, True), ([5], 5, 5, False)]


@pytest.mark.parametrize("case", FRAMER_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{'prefill' if c[3] else 'empty'}")
def test_framer(case, tmp_path):
    shape, size, step, prefill = case
    steps = shape[-1] // step
    m = model(FRAMER, [T(shape, "int16")], [T(shape[:-1] + [steps, size], "int16"), T([], "bool")],
              frame_size=size, frame_step=step, prefill=prefill)
    recs = random_records(m, gen={0: lambda rng: full("int16")(rng, shape)})
    compare_valid(compile_and_run(m, recs, tmp_path), f"framer {case}")


@pytest.mark.parametrize("left,right,step", [(3, 0, 1), (2, 1, 1), (0, 2, 2), (1, 1, 3), (4, 0, 2)])
def test_stacker(left, right, step, tmp_path):
    ch = 5
    m = model(STACKER, [T([ch], "int16")], [T([ch * (left + right + 1)], "int16"), T([], "bool")], num_channels=ch,
              stacker_left_context=left, stacker_right_context=right, stacker_step=step)
    recs = random_records(m, gen={0: lambda rng: full("int16")(rng, [ch])})
    compare_valid(compile_and_run(m, recs, tmp_path), f"stacker {left}/{right}/{step}")


@pytest.mark.parametrize("shape,delay", [([2, 5], 3), ([2, 5], 5), ([2, 5], 12), ([7], 0), ([3, 1, 4], 1)])
def test_delay(shape, delay, tmp_path):
    m = model(DELAY, [T(shape, "int16")], [T(shape, "int16")], delay_length=delay)
    check(m, tmp_path, gen={0: lambda rng: full("int16")(rng, shape)}, what=f"delay {delay}")


@pytest.mark.parametrize("dtype", ["int16", "float32"])
@pytest.mark.parametrize("shape,step", [([1, 8], 4), ([3, 8], 8), ([2, 3, 6], 2), ([2, 5], 1)])
def test_overlap_add(dtype, shape, step, tmp_path):
    out = shape[:-2] + [shape[-2] * step]
    m = model(OVERLAP_ADD, [T(shape, dtype)], [T(out, dtype)], T=TYPE_CODE[dtype], frame_step=step)
    check(m, tmp_path, gen={0: lambda rng: full(dtype)(rng, shape)}, what=f"{dtype} overlap-add {shape}")


# ---- the whole front end ----
def audio_records(frames: int, step: int = 320, seed: int = 0):
    """A 440 Hz tone in noise that gets louder, then a quiet stretch (the noise estimate follows)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames * step) / 16000
    amp = np.concatenate([np.linspace(500, 12000, t.size // 2), np.full(t.size - t.size // 2, 50)])
    x = amp * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 200, t.size)
    x = np.clip(x, -32768, 32767).astype(np.int16)
    return [[x[k * step:(k + 1) * step]] for k in range(frames)]


@pytest.mark.parametrize("int8", [True, False], ids=["int8-features", "int16-features"])
def test_front_end_frame_by_frame(int8, tmp_path):
    m = frontend_model(FrontEnd(int8_output=int8))
    pair = compile_and_run(m, audio_records(30), tmp_path)
    assert_match(pair, "front end")
    assert len({o[0].tobytes() for o in pair.ours}) > 20


def test_front_end_as_micro_speech_lays_it_out(tmp_path):
    """The layout of TFLite Micro's own micro_speech preprocessor model: whole 30 ms frames in, the
    energies zeroed outside the filter bank's bins by CAST / STRIDED_SLICE / CONCATENATION."""
    m = frontend_model(FrontEnd(framed=False))
    x = np.concatenate([r[0] for r in audio_records(25)])
    pair = compile_and_run(m, [[x[k * 320:k * 320 + 480].reshape(1, 480)] for k in range(24)], tmp_path)
    assert_match(pair, "micro_speech-shaped front end")
    assert "STRIDED_SLICE" in [op.kind for op in pair.compiled.graph.operators]


def test_front_end_on_qemu_m4(tmp_path):
    check_on_qemu_m4(frontend_model(), audio_records(12), tmp_path, "front end on qemu-m4")


def test_synthesis_operators_on_qemu_m4(tmp_path):
    """IRFFT, overlap-add, delay and a stacker (valid from the first frame) through the Cortex-M build."""
    from flatbuffers import flexbuffers

    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter(description="kiln tests: signal synthesis on qemu-m4")
    bins, ch = w.tensor("bins", [3, 66], "int16"), w.tensor("channels", [6], "int16")
    frames, added, delayed = (w.tensor(n, s, "int16") for n, s in (("frames", [3, 64]), ("added", [96]),
                                                                    ("delayed", [96])))
    stacked, valid = w.tensor("stacked", [24], "int16"), w.tensor("valid", [], "bool")
    w.custom_op("SignalIrfft", [bins], [frames], flexbuffers.Dumps({"T": 7, "fft_length": 64}))
    w.custom_op("SignalOverlapAdd", [frames], [added], flexbuffers.Dumps({"T": 7, "frame_step": 32}))
    w.custom_op("SignalDelay", [added], [delayed], flexbuffers.Dumps({"delay_length": 50}))
    w.custom_op("SignalStacker", [ch], [stacked, valid], flexbuffers.Dumps(
        {"num_channels": 6, "stacker_left_context": 3, "stacker_right_context": 0, "stacker_step": 1}))
    w.inputs, w.outputs = [bins, ch], [delayed, stacked]
    m = w.build()
    check_on_qemu_m4(m, random_records(m, n=8, gen={0: lambda rng: full("int16")(rng, [3, 66])}), tmp_path,
                     "synthesis on qemu-m4")


@pytest.mark.parametrize("dtype,length", [("int16", 512), ("int16", 480), ("int16", 96), ("int16", 8), ("int16", 4),
                                          ("int32", 96), ("float32", 96)])
def test_rfft_on_qemu_m4(dtype, length, tmp_path):
    """The Cortex-M build (int16: the DSP extension's packed radix-2/4 butterflies and split) on
    full-range and small frames, every radix mix."""
    m = model(RFFT, [T([2, length - 2], dtype)], [T([2, length + 2], dtype)], T=TYPE_CODE[dtype], fft_length=length)
    check_on_qemu_m4(m, random_records(m, n=8, gen=varied(dtype, [2, length - 2])), tmp_path,
                     f"{dtype} rfft {length} on qemu-m4")


def test_report_names_the_options(tmp_path):
    from kiln.compiler import report

    path = tmp_path / "fe.tflite"
    path.write_bytes(frontend_model())
    text = report.text(report.for_model(path))
    assert "CUSTOM(SignalRfft) [fft_length 512, int16]" in text
    assert "CUSTOM(SignalWindow) [window 480, shift 12]" in text
    assert "CUSTOM(SignalFilterBank) [num_channels 40]" in text
    assert re.search(r"operator 0 \(CUSTOM\(SignalFramer\)\)", text)  # its state in the state area


# ---- what TFLite Micro cannot run ----
def test_rejects_odd_fft_length(tmp_path):
    assert_rejected(RFFT, [T([10], "int16")], [T([13], "int16")], "must be even", tmp_path, T=7, fft_length=11)


def test_rejects_fft_radix_seven(tmp_path):
    assert_rejected(RFFT, [T([28], "int16")], [T([30], "int16")], "has the factor 7", tmp_path, T=7, fft_length=28)


def test_rejects_type_other_than_T(tmp_path):
    assert_rejected(RFFT, [T([16], "float32")], [T([18], "float32")], "has type FLOAT32", tmp_path, T=7, fft_length=16)


def test_rejects_frames_longer_than_the_fft(tmp_path):
    assert_rejected(RFFT, [T([20], "int16")], [T([18], "int16")], "must be 1 to fft_length (16)", tmp_path, T=7,
                    fft_length=16)


def test_rejects_missing_option(tmp_path):
    assert_rejected(FRAMER, [T([4], "int16")], [T([1, 4], "int16"), T([], "bool")], "lack prefill", tmp_path,
                    frame_size=4, frame_step=4)


def test_rejects_filter_bank_reading_past_its_input(tmp_path):
    tables = filter_bank_tables(np.random.default_rng(1), 64, 4)
    assert_rejected(FILTER_BANK, [T([8], "uint32"), *tables], [T([4], "uint64")], "run outside the 8 energies",
                    tmp_path, num_channels=4)


def test_rejects_short_pcan_lut(tmp_path):
    assert_rejected(PCAN, [T([4], "uint32"), T([4], "uint32"), T([40], "int16", data=np.zeros(40, np.int16))],
                    [T([4], "uint32")], "PCAN reads up to 125", tmp_path, snr_shift=6)


def test_rejects_stacker_step_past_its_frames(tmp_path):
    assert_rejected(STACKER, [T([3], "int16")], [T([6], "int16"), T([], "bool")], "stacker_step 3 is more than",
                    tmp_path, num_channels=3, stacker_left_context=1, stacker_right_context=0, stacker_step=3)


def test_rejects_prefill_shorter_than_a_step(tmp_path):
    assert_rejected(FRAMER, [T([4], "int16")], [T([1, 3], "int16"), T([], "bool")], "prefill needs", tmp_path,
                    frame_size=3, frame_step=4, prefill=True)


@pytest.mark.parametrize("toolchain", ["clang", "gcc-asan-ubsan"])
@pytest.mark.parametrize("kind,dtype", [(RFFT, "int32"), (IRFFT, "int32"), (RFFT, "float32"), (IRFFT, "int16")])
def test_fft_strict_and_sanitized(kind, dtype, toolchain, tmp_path):
    """Every type's FFT warning-free under clang and clean under ASan/UBSan (the int32 sums wrap in
    unsigned arithmetic, never by signed overflow)."""
    from harness import TOOLCHAINS

    shape = [2, 50] if kind == RFFT else [2, 52]
    out = [2, 52] if kind == RFFT else [2, 50]
    m = model(kind, [T(shape, dtype)], [T(out, dtype)], T=TYPE_CODE[dtype], fft_length=50)
    tc = TOOLCHAINS[toolchain]
    check(m, tmp_path, records=random_records(m, n=8, gen=varied(dtype, shape)), cc=tc["cc"],
          extra_flags=tc["extra_flags"], opt=tc["opt"], what=f"{dtype} {kind} {toolchain}")


SQRT_PROBE = r"""
#include <stdio.h>
#include "kiln_filter_bank.c"
int main(void)
{
    static const uint64_t edges[] = {0, 1, 2, 3, 4, 0xFFFE0001u, 0xFFFF0000u, 0xFFFFFFFEu, 0xFFFFFFFFu,
        0x100000000u, 0xFFFFFFFE00000001u, 0xFFFFFFFF00000000u, 0xFFFFFFFE00000000u, 0xFFFFFFFFFFFFFFFFu};
    uint64_t x = 88172645463325252u, v, r;
    unsigned k;
    for (k = 0; k < sizeof edges / sizeof edges[0]; ++k) printf("%u\n", (unsigned)sqrt64(edges[k]));
    for (k = 0; k < 300000; ++k) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        r = (x >> 32) >> (x % 32);
        v = k % 2 ? x >> (x % 64) : r * r + (uint64_t)(x % 5) - 2u; /* squares, and either side of them */
        printf("%u\n", (unsigned)sqrt64(v));
    }
    return 0;
}
"""


def test_square_root_paths_agree(tmp_path):
    """The hardware-float square root (Newton on the exact remainder) and TFLite Micro's bit-by-bit
    loop give the same roots: edge cases around 2^32 and 2^64, squares and either side of them."""
    import subprocess

    (tmp_path / "probe.c").write_text(SQRT_PROBE)
    outs = []
    for flags in ([], ["-DKILN_SQRT_BITWISE"]):
        exe = tmp_path / f"probe{len(flags)}"
        subprocess.run(["gcc", "-O2", "-std=c99", *flags, "-I", str(ROOT / "runtime_c/include"), "-I",
                        str(ROOT / "runtime_c/src"), str(tmp_path / "probe.c"), "-o", str(exe), "-lm"], check=True)
        outs.append(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split())
    assert len(outs[0]) == 300014 and outs[0] == outs[1]
