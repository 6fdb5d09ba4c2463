"""Writes an audio front end as a model of TFLite Micro's signal operators: 16-bit PCM in, one frame
of log-mel features out per invocation, as TFLite Micro's micro_speech feature generator computes
them (Hann window, FFT auto-scale, real FFT, energy, mel filter bank, square root, spectral
subtraction, PCAN gain control, log), then the features scaled to int8 for a keyword model.

The model takes `step` new samples per invocation: a framer (with prefill, so every invocation
gives a valid frame) keeps the rest of the window between invocations, as the spectral
subtraction keeps its noise estimate. Used by the operator samples, the tests and
examples/keyword; the tables (mel filters, PCAN gains) are computed here from their definitions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from flatbuffers import flexbuffers

from .tflwriter import ModelWriter


@dataclass
class FrontEnd:
    sample_rate: int = 16000
    window: int = 480  # 30 ms
    step: int = 320  # 20 ms
    fft_length: int = 512
    channels: int = 40
    lower_hz: float = 125.0
    upper_hz: float = 7500.0
    window_bits: int = 12
    weight_bits: int = 12  # the filter bank's weights: Q12
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    subtraction_bits: int = 14
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    log_scale_bits: int = 6
    int8_output: bool = True
    # TFLite Micro's own micro_speech preprocessor model takes a whole [1, window] frame (no framer)
    # and zeroes the energies outside the filter bank's bins with CAST, STRIDED_SLICE and
    # CONCATENATION (its energy operator leaves them unwritten): framed=False writes that layout.
    framed: bool = True

    @property
    def correction_bits(self) -> int:
        return int(math.log2(self.fft_length)) - self.weight_bits // 2


def hann_window(n: int, bits: int) -> np.ndarray:
    i = np.arange(n)
    return np.round((0.5 - 0.5 * np.cos(2 * np.pi * (i + 0.5) / n)) * (1 << bits)).astype(np.int16)


def mel(hz):
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def mel_filter_bank(fe: FrontEnd) -> dict:
    """Triangular filters evenly spaced in mel between the band limits: for each of channels + 1
    bands (band c's bins weigh into channel c and, by 1 - weight, into channel c - 1), its first
    bin, first weight and width; weights in Q(weight_bits). Returns the tables and the bin range."""
    bins = fe.fft_length // 2 + 1
    hz_per_bin = fe.sample_rate / fe.fft_length
    edges = np.linspace(mel(fe.lower_hz), mel(fe.upper_hz), fe.channels + 2)  # band c spans edges c..c+1
    bin_mel = mel(np.arange(bins) * hz_per_bin)
    one = 1 << fe.weight_bits
    starts, wstarts, widths, weights, unweights = [], [], [], [], []
    for c in range(fe.channels + 1):
        idx = np.nonzero((bin_mel > edges[c]) & (bin_mel <= edges[c + 1]))[0]
        if idx.size == 0:  # an empty band: one zero weight on bin 0
            idx = np.array([0])
            w = np.array([0.0])
        else:
            w = (edges[c + 1] - bin_mel[idx]) / (edges[c + 1] - edges[c])  # 1 at the band's start, 0 at its end
        starts.append(int(idx[0]))
        wstarts.append(len(weights))
        widths.append(int(idx.size))
        q = np.floor(w * one).astype(np.int64)
        weights += q.tolist()
        unweights += (np.where(w > 0, one - q, 0)).tolist()
    used = [s for s, n in zip(starts, widths) if n]
    return dict(weights=np.array(weights, np.int16), unweights=np.array(unweights, np.int16),
                starts=np.array(starts, np.int16), weight_starts=np.array(wstarts, np.int16),
                widths=np.array(widths, np.int16), start=min(used), end=max(s + n for s, n in zip(starts, widths)))


def pcan_gain_lut(fe: FrontEnd) -> np.ndarray:
    """The gain 2^gain_bits (x / 2^input_bits + offset)^-strength as PCAN's kernel reads it: the
    gains of noise 0, 1 and 2, then per bit length b (from 2) a quadratic in the position within
    the octave (10 bits) through its start, middle and end, at entries 4b - 6 .. 4b - 4."""
    input_bits = fe.smoothing_bits - fe.correction_bits

    def gain(x: int) -> int:
        g = (1 << fe.pcan_gain_bits) * (x / (1 << input_bits) + fe.pcan_offset) ** -fe.pcan_strength
        return min(int(g + 0.5), 32767)

    lut = np.zeros(125, np.int64)
    lut[:3] = [gain(0), gain(1), gain(2)]
    for b in range(2, 33):
        x0 = 1 << (b - 1)
        y0, y1, y2 = gain(x0), gain(x0 + (x0 >> 1)), gain(2 * x0 - 1 if b == 32 else 2 * x0)
        a1 = 4 * (y1 - y0) - (y2 - y0)
        lut[4 * b - 6:4 * b - 3] = [y0, a1, (y2 - y0) - a1]
    return lut.astype(np.int16)


def write(fe: FrontEnd = FrontEnd(), name: str = "audio front end") -> bytes:
    """The front-end model: input int16[step] (new samples; framed=False: int16[1, window]), output
    int8[channels] (or int16)."""
    w = ModelWriter(description=f"kiln: {name}")
    fb = mel_filter_bank(fe)
    bins = fe.fft_length // 2 + 1
    t = {}

    def tensor(key, shape, dtype, data=None):
        t[key] = w.tensor(key, shape, dtype, data=data)
        return t[key]

    def custom(code, ins, outs, **opts):
        w.custom_op(code, ins, outs, flexbuffers.Dumps(opts) if opts else b"")

    if fe.framed:
        samples = tensor("samples", [fe.step], "int16")
        custom("SignalFramer", [samples], [tensor("frame", [1, fe.window], "int16"), tensor("frame_valid", [], "bool")],
               frame_size=fe.window, frame_step=fe.step, prefill=True)
    else:
        samples = tensor("frame", [1, fe.window], "int16")
    custom("SignalWindow", [t["frame"], tensor("hann", [fe.window], "int16", hann_window(fe.window, fe.window_bits))],
           [tensor("windowed", [1, fe.window], "int16")], shift=fe.window_bits)
    w.op("RESHAPE", [t["windowed"], tensor("flat_shape", [1], "int32", np.array([fe.window], np.int32))],
         [tensor("windowed_flat", [fe.window], "int16")], {"new_shape": [fe.window]})
    custom("SignalFftAutoScale", [t["windowed_flat"]], [tensor("scaled", [fe.window], "int16"),
                                                          tensor("scale_shift", [], "int32")])
    custom("SignalRfft", [t["scaled"]], [tensor("spectrum", [fe.fft_length + 2], "int16")], T=7,
           fft_length=fe.fft_length)
    custom("SignalEnergy", [t["spectrum"]], [tensor("energy", [bins], "uint32")], end_index=fb["end"],
           start_index=fb["start"])
    energy = t["energy"]
    if not fe.framed:  # as TFLite Micro's model: zeros, the energies in range, zeros
        start, end = fb["start"], fb["end"]
        w.op("CAST", [energy], [tensor("energy_i32", [bins], "int32")], {})
        w.op("STRIDED_SLICE", [t["energy_i32"], tensor("slice_begin", [1], "int32", np.array([start], np.int32)),
                               tensor("slice_end", [1], "int32", np.array([end], np.int32)),
                               tensor("slice_step", [1], "int32", np.array([1], np.int32))],
             [tensor("energy_used", [end - start], "int32")], {})
        w.op("CONCATENATION", [tensor("zeros_head", [start], "int32", np.zeros(start, np.int32)), t["energy_used"],
                               tensor("zeros_tail", [bins - end], "int32", np.zeros(bins - end, np.int32))],
             [tensor("energy_zeroed", [bins], "int32")], {"axis": 0, "fused_activation_function": 0})
        w.op("CAST", [t["energy_zeroed"]], [tensor("energy_u32", [bins], "uint32")], {})
        energy = t["energy_u32"]
    tables = [tensor(k, [len(fb[k])], "int16", fb[k]) for k in ("weights", "unweights", "starts", "weight_starts", "widths")]
    custom("SignalFilterBank", [energy, *tables], [tensor("mel", [fe.channels], "uint64")], num_channels=fe.channels)
    custom("SignalFilterBankSquareRoot", [t["mel"], t["scale_shift"]], [tensor("mel_root", [fe.channels], "uint32")])
    one = 1 << fe.subtraction_bits
    custom("SignalFilterBankSpectralSubtraction", [t["mel_root"]],
           [tensor("denoised", [fe.channels], "uint32"), tensor("noise", [fe.channels], "uint32")],
           alternate_one_minus_smoothing=one - int(fe.odd_smoothing * one), alternate_smoothing=int(fe.odd_smoothing * one),
           clamping=False, min_signal_remaining=int(fe.min_signal_remaining * one), num_channels=fe.channels,
           one_minus_smoothing=one - int(fe.even_smoothing * one), smoothing=int(fe.even_smoothing * one),
           smoothing_bits=fe.smoothing_bits, spectral_subtraction_bits=fe.subtraction_bits)
    custom("SignalPCAN", [t["denoised"], t["noise"], tensor("pcan_gains", [125], "int16", pcan_gain_lut(fe))],
           [tensor("gained", [fe.channels], "uint32")], snr_shift=fe.pcan_gain_bits - fe.correction_bits - 12)
    custom("SignalFilterBankLog", [t["gained"]], [tensor("log_mel", [fe.channels], "int16")],
           input_correction_bits=fe.correction_bits, output_scale=1 << fe.log_scale_bits)
    out = t["log_mel"]
    if fe.int8_output:  # features / 2^log_scale_bits mapped to [-128, 127] as micro_speech's model expects:
        # round(x x 256 / (25.6 x 2^log_scale_bits)) - 128, clamped (integer arithmetic, TFLite ops)
        c = fe.channels
        w.op("CAST", [out], [tensor("log_mel_i32", [c], "int32")], {})
        w.op("MUL", [t["log_mel_i32"], tensor("k_mul", [], "int32", np.array(2560, np.int32))],
             [tensor("scaled_mel", [c], "int32")], {"fused_activation_function": 0})
        half = 25.6 * (1 << fe.log_scale_bits) * 10 / 2
        w.op("ADD", [t["scaled_mel"], tensor("k_round", [], "int32", np.array(int(half), np.int32))],
             [tensor("rounded_mel", [c], "int32")], {"fused_activation_function": 0})
        w.op("DIV", [t["rounded_mel"], tensor("k_div", [], "int32", np.array(int(25.6 * (1 << fe.log_scale_bits) * 10),
                                                                              np.int32))],
             [tensor("q_mel", [c], "int32")], {"fused_activation_function": 0})
        w.op("ADD", [t["q_mel"], tensor("k_offset", [], "int32", np.array(-128, np.int32))],
             [tensor("q_mel_offset", [c], "int32")], {"fused_activation_function": 0})
        w.op("MINIMUM", [t["q_mel_offset"], tensor("k_max", [], "int32", np.array(127, np.int32))],
             [tensor("q_mel_top", [c], "int32")], {})
        w.op("MAXIMUM", [t["q_mel_top"], t["k_offset"]], [tensor("q_mel_clamped", [c], "int32")], {})
        w.op("CAST", [t["q_mel_clamped"]], [tensor("features", [c], "int8")], {})
        out = t["features"]
    w.inputs, w.outputs = [samples], [out]
    return w.build()
