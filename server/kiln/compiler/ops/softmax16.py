"""int16 SOFTMAX as TFLite Micro computes it (reference_ops::SoftmaxInt16): differences from the
row maximum rescaled so that [-65535, 0] covers [-10, 0], exp through a 513-entry interpolated
table, the sum's reciprocal through a second table of 1/(1+x). Both tables are TFLite's
LUTPopulate<int16_t> replayed here in float32 arithmetic step by step (expf from the C library,
as TFLite Micro's build calls it); they do not depend on the tensors, only on the function.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

from .. import quantmath as qm

F = np.float32


def _libm_expf():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        fn = lib.expf
        fn.argtypes, fn.restype = [ctypes.c_float], ctypes.c_float
        return lambda v: F(fn(float(v)))
    except (OSError, AttributeError):  # no C library to ask: numpy's float32 exp
        return lambda v: F(np.exp(F(v)))


_expf = _libm_expf()


def _round(v) -> F:
    """TfLiteRound on float: halves away from zero."""
    return F(qm.round_half_away(float(v)))


def lut_populate(transform, input_scale, input_zp: int, output_scale, output_zp: int) -> np.ndarray:
    """LUTPopulateInt16<float>: 512 interpolation steps over the input range, plus the end point."""
    input_min = F(input_scale * F(-32768 - input_zp))
    input_max = F(input_scale * F(32767 - input_zp))
    output_min = F(output_scale * F(-32768 - output_zp))
    output_max = F(output_scale * F(32767 - output_zp))
    steps = 512
    step = F(F(input_max - input_min) / F(steps))
    half_step = F(step / F(2))
    inv = F(F(65536) / F(output_max - output_min))
    lut = np.zeros(steps + 1, np.int16)
    for i in range(steps):
        at = F(input_min + F(F(i) * step))
        val = transform(at)
        val_mid = transform(F(at + half_step))
        val_next = transform(F(input_min + F(F(i + 1) * step)))
        sample = _round(F(val * inv))
        interp = _round(F(F(F(val_next * inv) + _round(F(val * inv))) / F(2)))
        mid = _round(F(val_mid * inv))
        bias = _round(F(F(interp - mid) / F(2)))
        lut[i] = int(min(max(F(sample - bias), F(-32768)), F(32767)))
    lut[steps] = int(min(max(_round(F(transform(input_max) * inv)), F(-32768)), F(32767)))
    return lut


@functools.lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(exp over [-10, 0], 1/(1+x) over [0, 1]), TFLite Micro's softmax tables."""
    rng = F(65535)
    exp_lut = lut_populate(_expf, F(F(10) / rng), 32767, F(F(2) / rng), 0)
    recip_lut = lut_populate(lambda v: F(F(1) / F(F(1) + v)), F(F(1) / rng), -32768, F(F(2) / rng), 0)
    return exp_lut, recip_lut


def input_rescale(scale: float, beta: float) -> tuple[int, int]:
    return qm.quantize_multiplier(float(scale) * float(beta) / (10.0 / 65535.0))
