"""TFLite Micro's signal-library spectral operators (custom codes SignalEnergy, SignalFilterBank,
SignalFilterBankSquareRoot, SignalFilterBankSpectralSubtraction, SignalPCAN, SignalFilterBankLog;
kernels in runtime_c/src/kiln_filter_bank.c), the audio front end's stages after the FFT:

  energy       int16 (re, im) bins -> uint32 |bin|^2 over [start_index, end_index)
  filter bank  uint32 energies -> uint64 sums of triangular (mel) filters (weights, unweights and
               each channel's first bin, first weight and width as int16 constants)
  square root  uint64 -> uint32 sqrt, shifted down by a run-time int32 (the FFT auto-scale's shift)
  spectral subtraction  uint32 -> uint32 less a running noise estimate (the operator's state,
               zero at a reset, as TFLite Micro's); output 1 is the estimate
  PCAN         uint32 x a gain from the noise estimate (int16 gain LUT) -> uint32
  log          uint32 -> int16 log x output_scale

Each option comes from the flexbuffers map TFLite Micro's kernels read; every key must be there
(they read some by position). Index tables are checked against the tensors at compile time,
where TFLite Micro would read out of bounds.
"""
from __future__ import annotations

import numpy as np

from .base import arity, custom_options, dtype_in, options_summary, register, require

ENERGY, FILTER_BANK, SQRT = "CUSTOM(SignalEnergy)", "CUSTOM(SignalFilterBank)", "CUSTOM(SignalFilterBankSquareRoot)"
SUBTRACTION = "CUSTOM(SignalFilterBankSpectralSubtraction)"
PCAN, LOG = "CUSTOM(SignalPCAN)", "CUSTOM(SignalFilterBankLog)"
SUBTRACTION_KEYS = ("alternate_one_minus_smoothing", "alternate_smoothing", "clamping", "min_signal_remaining",
                    "num_channels", "one_minus_smoothing", "smoothing", "smoothing_bits", "spectral_subtraction_bits")
PCAN_LUT = 125  # WideDynamicFunction reads up to entry 4 x 32 - 6 + 2 for a 32-bit noise estimate


def _vector(op, t, role: str, dtype: str, size: int | None = None) -> None:
    dtype_in(op, t, role, (dtype,))
    require(op, len(t.shape) == 1, f"{role} {t.shape} must have one axis")
    require(op, size is None or t.size == size, f"{role} has {t.size} values, must have {size}")


def _bits(op, o: dict, key: str, top: int) -> int:
    v = int(o[key])
    require(op, 0 <= v < top, f"{key} {v} is outside 0..{top - 1} (the shift it gives would be undefined)")
    return v


# ---- energy ----
def check_energy(op, g):
    arity(op, 1)
    o = custom_options(op, ("end_index", "start_index"))
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    _vector(op, x, "input (complex bins)", "int16")
    _vector(op, y, "output", "uint32")
    start, end = int(o["start_index"]), int(o["end_index"])
    require(op, 0 <= start <= end <= y.size and 2 * end <= x.size,
            f"bins [{start}, {end}) must lie within the output's {y.size} and the input's {x.size // 2} bins")


def prepare_energy(op, g):
    o = custom_options(op, ("end_index", "start_index"))
    op.params = dict(start=int(o["start_index"]), end=int(o["end_index"]))
    op.macs = 2 * (op.params["end"] - op.params["start"])


def emit_energy(op, g, c):
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    return [f"kiln_energy_s16({c.ptr(x)}, {c.ptr(y)}, {y.size}, {p['start']}, {p['end']});"]


# ---- filter bank ----
TABLES = ("weights", "unweights", "channel frequency starts", "channel weight starts", "channel widths")


def check_filter_bank(op, g):
    arity(op, 6)
    o = custom_options(op, ("num_channels",))
    x, *tables = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    channels = int(o["num_channels"])
    _vector(op, x, "input (energies)", "uint32")
    _vector(op, y, "output", "uint64", channels)
    for k, (t, role) in enumerate(zip(tables, TABLES)):
        _vector(op, t, f"input {k + 1} ({role})", "int16", None if k < 2 else channels + 1)
        require(op, t.is_const, f"input {k + 1} ({role}) must be a constant (Kiln checks its indices when compiling)")
    w, u, freq, wstart, width = (t.data.astype(np.int64) for t in tables)
    require(op, w.size == u.size, f"weights ({w.size}) and unweights ({u.size}) differ in size")
    for c in range(channels + 1):
        if width[c] > 0:
            require(op, 0 <= freq[c] and freq[c] + width[c] <= x.size,
                    f"channel {c - 1}'s bins [{freq[c]}, {freq[c] + width[c]}) run outside the {x.size} energies")
            require(op, 0 <= wstart[c] and wstart[c] + width[c] <= w.size,
                    f"channel {c - 1}'s weights [{wstart[c]}, {wstart[c] + width[c]}) run outside the {w.size} weights")


def prepare_filter_bank(op, g):
    o = custom_options(op, ("num_channels",))
    widths = g.op_inputs(op)[5].data.astype(np.int64)
    op.params = dict(channels=int(o["num_channels"]))
    op.macs = 2 * int(widths[widths > 0].sum())


def emit_filter_bank(op, g, c):
    x, *tables = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    names = ", ".join(c.const(t) for t in tables)
    return [f"static const kiln_filter_bank_params_t params = {{{op.params['channels']}, {names}}};",
            f"kiln_filter_bank_u32({c.ptr(x)}, {c.ptr(y)}, &params);"]


# ---- square root ----
def check_sqrt(op, g):
    arity(op, 2)
    (x, s), (y,) = g.op_inputs(op), g.op_outputs(op)
    _vector(op, x, "input", "uint64")
    dtype_in(op, s, "input 1 (the shift)", ("int32",))
    require(op, len(s.shape) == 0, f"input 1 (the shift) {s.shape} must be a scalar")
    _vector(op, y, "output", "uint32", x.size)


def emit_sqrt(op, g, c):
    (x, s), (y,) = g.op_inputs(op), g.op_outputs(op)
    return [f"kiln_filter_bank_sqrt({c.ptr(x)}, {c.ptr(y)}, {x.size}, {c.ptr(s)});"]


# ---- spectral subtraction ----
def check_subtraction(op, g):
    arity(op, 1, 2)
    o = custom_options(op, SUBTRACTION_KEYS)
    (x,), (y, noise) = g.op_inputs(op), g.op_outputs(op)
    channels = int(o["num_channels"])
    require(op, channels >= 1, f"num_channels {channels} must be at least 1")
    _vector(op, x, "input", "uint32", channels)
    _vector(op, y, "output 0", "uint32", channels)
    _vector(op, noise, "output 1 (the noise estimate)", "uint32", channels)
    _bits(op, o, "smoothing_bits", 32)
    _bits(op, o, "spectral_subtraction_bits", 64)


def prepare_subtraction(op, g):
    o = custom_options(op, SUBTRACTION_KEYS)
    u32 = lambda k: int(o[k]) & 0xFFFFFFFF  # noqa: E731 - TFLite Micro reads them into uint32 fields
    op.params = dict(channels=int(o["num_channels"]), smoothing_bits=int(o["smoothing_bits"]),
                     subtraction_bits=int(o["spectral_subtraction_bits"]), clamping=int(bool(o["clamping"])),
                     smoothing=(u32("smoothing"), u32("alternate_smoothing")),
                     one_minus=(u32("one_minus_smoothing"), u32("alternate_one_minus_smoothing")),
                     min_signal=u32("min_signal_remaining"))
    op.state_bytes = 4 * op.params["channels"]  # the noise estimate


def emit_subtraction(op, g, c):
    (x,), (y, noise) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    return ["static const kiln_spectral_subtraction_params_t params = {",
            f"    {p['channels']}, {p['smoothing_bits']}, {p['subtraction_bits']}, {p['clamping']} "
            "/* channels, smoothing bits, subtraction bits, clamping */,",
            f"    {{{p['smoothing'][0]}u, {p['smoothing'][1]}u}}, {{{p['one_minus'][0]}u, {p['one_minus'][1]}u}}, "
            f"{p['min_signal']}u /* smoothing and 1 - it (even, odd channels), min signal remaining */",
            "};",
            f"kiln_spectral_subtraction({c.ptr(x)}, {c.ptr(y)}, {c.ptr(noise)}, {c.state(op, 'uint32_t')}, &params);"]


# ---- PCAN ----
def check_pcan(op, g):
    arity(op, 3)
    o = custom_options(op, ("snr_shift",))
    (x, noise, lut), (y,) = g.op_inputs(op), g.op_outputs(op)
    _vector(op, x, "input", "uint32")
    _vector(op, noise, "input 1 (the noise estimate)", "uint32", x.size)
    _vector(op, lut, "input 2 (the gain LUT)", "int16")
    require(op, lut.size >= PCAN_LUT, f"the gain LUT has {lut.size} entries; PCAN reads up to {PCAN_LUT} "
            "(three a bit of a 32-bit noise estimate)")
    _vector(op, y, "output", "uint32", x.size)
    _bits(op, o, "snr_shift", 64)


def prepare_pcan(op, g):
    op.params = dict(snr_shift=int(custom_options(op, ("snr_shift",))["snr_shift"]))


def emit_pcan(op, g, c):
    (x, noise, lut), (y,) = g.op_inputs(op), g.op_outputs(op)
    return [f"kiln_pcan({c.ptr(x)}, {c.ptr(noise)}, {c.ptr(y)}, {x.size}, {c.ptr(lut)}, {op.params['snr_shift']});"]


# ---- log ----
LOG_KEYS = ("input_correction_bits", "output_scale")


def check_log(op, g):
    arity(op, 1)
    o = custom_options(op, LOG_KEYS)
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    _vector(op, x, "input", "uint32")
    _vector(op, y, "output", "int16", x.size)
    _bits(op, o, "input_correction_bits", 32)


def prepare_log(op, g):
    o = custom_options(op, LOG_KEYS)
    op.params = dict(scale=int(o["output_scale"]), correction=int(o["input_correction_bits"]))


def emit_log(op, g, c):
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    return [f"kiln_filter_bank_log({c.ptr(x)}, {c.ptr(y)}, {x.size}, {p['scale']}, {p['correction']});"]


def no_params(op, g):
    op.params = {}


register(ENERGY, check_energy, prepare_energy, emit_energy, types=("int16",), summary=options_summary(("start_index", "end_index")),
         notes="|bin|^2 of int16 complex bins into uint32; bins outside [start_index, end_index) are written 0")
register(FILTER_BANK, check_filter_bank, prepare_filter_bank, emit_filter_bank, types=("uint32",),
         summary=options_summary(("num_channels",)),
         notes="triangular (mel) filter bank, uint32 energies to uint64 channels; constant int16 tables")
register(SQRT, check_sqrt, no_params, emit_sqrt, types=("uint64",),
         notes="rounded integer square root, shifted down by a run-time int32 (taken modulo 32, as on x86)")
register(SUBTRACTION, check_subtraction, prepare_subtraction, emit_subtraction, types=("uint32",),
         summary=options_summary(("num_channels", "smoothing_bits", "spectral_subtraction_bits")),
         notes="noise reduction with a running noise estimate kept in the state area (reset to zero)")
register(PCAN, check_pcan, prepare_pcan, emit_pcan, types=("uint32",), summary=options_summary(("snr_shift",)),
         notes="per-channel automatic gain control from the noise estimate; gain LUT of at least 125 entries")
register(LOG, check_log, prepare_log, emit_log, types=("uint32",),
         summary=options_summary(("output_scale", "input_correction_bits")),
         notes="fixed-point natural log x output_scale into int16 (TFLite Micro's table and rounding)")
