"""TFLite Micro's signal-library FFT operators (custom codes SignalRfft, SignalIrfft,
SignalFftAutoScale; kernels in runtime_c/src/kiln_fft.c).

RFFT / IRFFT run KISS FFT v130's real FFT, which TFLite Micro builds, in its int16, int32 or float
arithmetic: the compiler factors fft_length / 2 as KISS FFT does (fours first, then twos, then odd
primes) and computes the twiddle factors as it does (double cos/sin of the same phases, rounded
to Q15 or Q31), so the fixed-point results match bit for bit. Options (flexbuffers): T (the
tensor type code) and fft_length. A real FFT of fft_length samples gives fft_length / 2 + 1 complex
bins, stored (re, im) in the output's last axis of fft_length + 2; IRFFT goes back. Leading axes
are frames. FFT auto-scale shifts an int16 frame up to use all 15 bits and outputs the shift.
"""
from __future__ import annotations

import math

import numpy as np

from .base import arity, custom_options, dtype_in, register, require

RFFT, IRFFT, AUTO_SCALE = "CUSTOM(SignalRfft)", "CUSTOM(SignalIrfft)", "CUSTOM(SignalFftAutoScale)"
TYPE_CODES = {7: "int16", 2: "int32", 0: "float32"}  # the 'T' option: a TFLite TensorType
SUFFIX = {"int16": "s16", "int32": "s32", "float32": "f32"}
CTYPE = {"int16": "int16_t", "int32": "int32_t", "float32": "float"}
CTYPE_NP = {"int16": np.int16, "int32": np.int32, "float32": np.float32}


def kiss_factors(n: int) -> list[int]:
    """kf_factor: p1, m1, p2, m2, ... (radix, then the size left), powers of 4 first, then 2, then
    odd numbers up to sqrt(n), and whatever is left as one last radix."""
    p, floor_sqrt, out = 4, math.floor(math.sqrt(n)), []
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        out += [p, n]
        if n <= 1:
            return out


def _twiddle(phase: float, dtype: str) -> tuple:
    c, s = math.cos(phase), math.sin(phase)
    if dtype == "float32":
        return float(np.float32(c)), float(np.float32(s))
    top = 32767 if dtype == "int16" else 2147483647  # KISS FFT's SAMP_MAX: floor(.5 + SAMP_MAX * cos)
    return math.floor(0.5 + top * c), math.floor(0.5 + top * s)


def twiddles(n: int, inverse: bool, dtype: str) -> np.ndarray:
    """kiss_fft_alloc's n twiddles: exp(-+2 pi i k / n), phases computed in its order of operations."""
    rows = []
    for k in range(n):
        phase = -2 * math.pi * k / n
        rows.append(_twiddle(-phase if inverse else phase, dtype))
    return np.array(rows, dtype=np.dtype(CTYPE_NP[dtype]))


def super_twiddles(n: int, inverse: bool, dtype: str) -> np.ndarray:
    """kiss_fftr_alloc's n / 2 split twiddles: phase -pi ((k + 1) / n + 1/2)."""
    rows = []
    for k in range(n // 2):
        phase = -math.pi * ((k + 1) / n + 0.5)
        rows.append(_twiddle(-phase if inverse else phase, dtype))
    return np.array(rows, dtype=np.dtype(CTYPE_NP[dtype])).reshape(-1, 2)


def _options(op) -> tuple[str | None, int]:
    o = custom_options(op, ("T", "fft_length"))
    return TYPE_CODES.get(int(o["T"])), int(o["fft_length"])


def _check_plan(op, dtype: str | None, length: int) -> None:
    require(op, dtype is not None, "its T option is not INT16, INT32 or FLOAT32 (the types TFLite Micro's FFT takes)")
    require(op, length >= 4 and length % 2 == 0,
            f"fft_length {length} must be even and at least 4 (TFLite Micro's real FFT computes an FFT of half of it)")
    radices = sorted(set(kiss_factors(length // 2)[0::2]))
    bad = [p for p in radices if p not in (2, 3, 4, 5)]
    require(op, not bad, f"fft_length {length}: {length // 2} has the factor {bad[0] if bad else 0}; TFLite Micro's FFT "
            "(KISS FFT without malloc) computes only lengths whose half factors into 2, 3 and 5")


def _frames(op, x, y, x_last: int | None, y_last: int) -> int:
    require(op, len(x.shape) >= 1 and len(x.shape) == len(y.shape),
            f"input {x.shape} and output {y.shape} must have the same rank (at least 1)")
    require(op, x_last is None or x.shape[-1] == x_last,
            f"input's last axis is {x.shape[-1] if x.shape else 0}, must be {x_last}")
    require(op, y.shape[-1] == y_last, f"output's last axis is {y.shape[-1]}, must be {y_last}")
    frames = x.size // max(x.shape[-1], 1)
    require(op, frames == y.size // y_last, f"input {x.shape} and output {y.shape} have different frame counts")
    return frames


def check_fft(op, g):
    arity(op, 1)
    dtype, length = _options(op)
    _check_plan(op, dtype, length)
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    dtype_in(op, x, "input", (dtype,))
    dtype_in(op, y, "output", (dtype,))
    if op.kind == RFFT:
        _frames(op, x, y, None, length + 2)
        require(op, 0 < x.shape[-1] <= length,
                f"input frames of {x.shape[-1]} samples must be 1 to fft_length ({length}) long")
    else:
        _frames(op, x, y, length + 2, length)


def prepare_fft(op, g):
    dtype, length = _options(op)
    (x,) = g.op_inputs(op)
    n = length // 2
    size = np.dtype(CTYPE_NP[dtype]).itemsize
    op.params = dict(dtype=dtype, n=n, frames=x.size // x.shape[-1], in_len=x.shape[-1],
                     factors=kiss_factors(n), inverse=op.kind == IRFFT)
    # RFFT: a zero-padded copy of the frame and KISS FFT's n-point buffer; IRFFT: the buffer
    op.scratch_bytes = (length * size if op.kind == RFFT else 0) + n * 2 * size


def emit_fft(op, g, c):
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    dtype, ctype, n, inv = p["dtype"], CTYPE[p["dtype"]], p["n"], p["inverse"]
    what = "inverse " if inv else ""
    fac = c.array(f"op{op.index}_fft_factors", np.array(p["factors"], np.int32), "int32_t",
                  f"KISS FFT's factors of {n}: radix, size left, ...")
    tw = c.array(f"op{op.index}_fft_twiddles", twiddles(n, inv, dtype).reshape(-1), ctype,
                 f"the {n}-point {what}FFT's twiddles (re, im)")
    sup = c.array(f"op{op.index}_fft_split_twiddles", super_twiddles(n, inv, dtype).reshape(-1), ctype,
                  f"the real {what}FFT's split twiddles (re, im)")
    fn = f"kiln_{'irfft' if inv else 'rfft'}_{SUFFIX[dtype]}"
    return [f"static const kiln_fft_plan_t plan = {{{n}, {int(inv)}, {fac}, {tw}, {sup}}}; /* fft_length {2 * n} */",
            f"{fn}({c.ptr(x)}, {c.ptr(y)}, {p['frames']}, {p['in_len']}, &plan, {c.scratch(op)});"]


def check_auto_scale(op, g):
    arity(op, 1, 2)
    (x,), (y, s) = g.op_inputs(op), g.op_outputs(op)
    dtype_in(op, x, "input", ("int16",))
    dtype_in(op, y, "output 0", ("int16",))
    dtype_in(op, s, "output 1 (the shift)", ("int32",))
    require(op, len(x.shape) == 1 and len(y.shape) == 1 and x.size == y.size,
            f"input {x.shape} and output {y.shape} must be one axis of the same size")
    require(op, len(s.shape) == 0, f"output 1 (the shift) {s.shape} must be a scalar")


def prepare_auto_scale(op, g):
    op.params = {}


def emit_auto_scale(op, g, c):
    (x,), (y, s) = g.op_inputs(op), g.op_outputs(op)
    return [f"*{c.ptr(s)} = kiln_fft_auto_scale_s16({c.ptr(x)}, {c.ptr(y)}, {x.size});"]


def summary(op, g) -> str:
    dtype, length = _options(op)
    return f"fft_length {length}, {dtype}"


register(RFFT, check_fft, prepare_fft, emit_fft, types=("int16", "int32", "float32"), summary=summary,
         notes="real FFT (KISS FFT's algorithm and fixed-point rounding, as TFLite Micro); fft_length even, its "
               "half a product of 2, 3 and 5; frames zero-padded to fft_length")
register(IRFFT, check_fft, prepare_fft, emit_fft, types=("int16", "int32", "float32"), summary=summary,
         notes="inverse real FFT (KISS FFT's, as TFLite Micro); fft_length + 2 values in, fft_length out per frame")
register(AUTO_SCALE, check_auto_scale, prepare_auto_scale, emit_auto_scale, types=("int16",),
         notes="scales a frame up to 15 bits; outputs the shift (int32 scalar)")
