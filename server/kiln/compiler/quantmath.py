"""Integer maths of TFLite Micro's reference kernels, replicated exactly in Python.

The compiler uses these to precompute multipliers, shifts and lookup tables so that the generated
C is bit-exact with TFLite Micro (which rescales with gemmlowp-style double rounding). Each
function names the TFLite routine it mirrors; the tests compare the results with TFLite Micro.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def f32(x: float) -> float:
    """Round a Python float to float32, as C++ float arithmetic does."""
    return float(np.float32(x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = m * 2^(shift - 31), m in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul on int32."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) // (1 << 31)  # C++ division truncates toward zero
    return _wrap32(q if v >= 0 else -q)


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT on int32."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mul_by_quantized_multiplier(x: int, m: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier, double-rounding form."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(_wrap32(x * (1 << left)), m), right)


def requant_constants(m: int, shift: int, out_zp: int, bound: int, constant: int | None = None) -> list[int] | None:
    """[m, e, c] for kiln_rq (kiln_fixedpoint.h): requant_fast(acc, m, e, c) equals
    mul_by_quantized_multiplier(acc, m, shift) + out_zp for every |acc| <= bound, or None when the
    fast form cannot promise that (then the kernel takes TFLite's exact path).

    The fast form needs shift = -e <= -1 (a multiplier below 0.5, so no left shift): then
    y = ((2 * acc) * m + 2^31) >> 32 is SRDHM(acc, m) while 2 * acc fits in int32 (one SMMLAR on
    Cortex-M), and RDBPOT by e, ties away from zero, is (y + 2^(e-1) - [acc < 0]) >> e (y is 0
    or has acc's sign, as m >= 0). The output zero point rides along as zp * 2^e:
    c = 2^(e-1) + zp * 2^e, the -[acc < 0] added at run time.

    constant: the channel's output when its accumulator cannot vary (all its weights are zero, so
    acc is the bias): then m = 0, e = 1 and c encodes that value, whatever the bound."""
    if constant is not None:
        value = max(-256, min(256, constant))
        return [0, 1, 1 + 2 * value]
    if shift > -1 or shift < -30 or m < 0:
        return None
    e = -shift
    if 2 * bound >= 1 << 31:
        return None
    c = (1 << (e - 1)) + out_zp * (1 << e)
    if bound + 2 + abs(c) >= 1 << 31:  # |y| <= bound (m < 2^31): y + c - [acc < 0] fits in int32
        return None
    return [m, e, c]


def requant_fast(acc: int, m: int, e: int, c: int) -> int:
    """kiln_rq in Python: the value before clamping, for the constants of requant_constants."""
    y = (_wrap32(2 * acc) * m + (1 << 31)) >> 32
    return _wrap32(y + c + (-1 if acc < 0 else 0)) >> e


def rescaling(m: int, shift: int, zp: int, bound: int) -> tuple[list[int], int]:
    """A kiln_rescale_t: ([m, e, c], 1) for kiln_rq when it equals TFLite's rescaling plus zp for
    every |acc| <= bound (requant_constants), else ([multiplier, shift, zp], 0)."""
    fast = requant_constants(m, shift, zp, bound)
    return (fast, 1) if fast is not None else ([m, shift, zp], 0)


def rescaling_literal(r: tuple[list[int], int]) -> str:
    """The C initializer of a kiln_rescale_t."""
    return f"{{{{{', '.join(str(int(v)) for v in r[0])}}}, {r[1]}}}"


def requant_table(mults, shifts, out_zp: int, bounds, constants) -> tuple[np.ndarray, bool]:
    """Per channel [m, e, c] for kiln_rq, and True, when every channel has fast constants;
    otherwise [m, shift, 0] for TFLite's exact path (kiln_mul_by_qm), and False."""
    rows = [requant_constants(int(m), int(s), out_zp, int(b), k)
            for m, s, b, k in zip(mults, shifts, bounds, constants)]
    if all(r is not None for r in rows):
        return np.array(rows, np.int32).reshape(-1, 3), True
    return np.array([[int(m), int(s), 0] for m, s in zip(mults, shifts)], np.int32).reshape(-1, 3), False


def channel_multipliers(in_scale: float, w_scales, out_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A convolution's or FC's per-channel (multiplier, shift) for in_scale * w_scale / out_scale."""
    mults = [quantize_multiplier(in_scale * ws / out_scale) for ws in w_scales]
    return np.array([m for m, _ in mults], np.int32), np.array([s for _, s in mults], np.int32)


def requant_for_sums(mults, shifts, out_zp: int, acc_bias, weights_abs_sum, per_input: int = 128):
    """requant_table for sums of acc_bias plus per_input * sum |w| at most (an input zero point folded
    into acc_bias: 128; else 256), with the outputs of channels whose weights are all zero."""
    return requant_table(mults, shifts, out_zp, accumulator_bounds(acc_bias, weights_abs_sum, per_input),
                         constant_outputs(acc_bias, weights_abs_sum, mults, shifts, out_zp))


def accumulator_bounds(bias, weights_abs_sum, per_input: int = 128) -> np.ndarray:
    """Largest |acc| per channel: bias (input zero point folded in) + 128 * sum |w| (int8 input; 256
    where the zero point is not folded in)."""
    return np.abs(np.asarray(bias, np.int64)) + per_input * np.asarray(weights_abs_sum, np.int64)


def constant_outputs(bias, weights_abs_sum, mults, shifts, out_zp: int) -> list:
    """Per channel: its output value when all its weights are zero (acc is the bias), else None."""
    return [mul_by_quantized_multiplier(int(b), int(m), int(s)) + out_zp if int(w) == 0 else None
            for b, w, m, s in zip(bias, weights_abs_sum, mults, shifts)]


def calculate_input_radius(integer_bits: int, left_shift: int, total_bits: int = 31) -> int:
    v = 1.0 * ((1 << integer_bits) - 1) * (1 << (total_bits - integer_bits)) / (1 << left_shift)
    return int(math.floor(v))


def int_range(dtype: str) -> tuple[int, int]:
    """The least and greatest value of an integer tensor type ("int8", "uint8", "int16", "int32")."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def activation_range_q(act: str, scale: float, zp: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: quantizes 0 and 6 in float32 like TFLite."""

    def q(v: float) -> int:
        return zp + round_half_away(f32(f32(v) / f32(scale)))

    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def activation_range_f(act: str) -> tuple[float, float]:
    fmax = float(np.finfo(np.float32).max)
    return {"RELU": (0.0, fmax), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}.get(act, (-fmax, fmax))


# ---- gemmlowp fixed point (int32 raw values), for lookup tables built at compile time ----

def _rescale(x: int, src_bits: int, dst_bits: int) -> int:
    """gemmlowp::Rescale: SaturatingRoundingMultiplyByPOT<src - dst>."""
    e = src_bits - dst_bits
    if e == 0:
        return x
    if e < 0:
        return rdbpot(x, -e)
    threshold = (1 << (31 - e)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return _wrap32(x << e)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(_wrap32(srdhm(_wrap32(x4_over_4 + x3), constant_1_over_3) + x2), 1)
    return _wrap32(constant_term + srdhm(constant_term, _wrap32(x + poly)))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """gemmlowp::exp_on_negative_values for FixedPoint<int32, integer_bits>; returns F0 raw."""
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = _wrap32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = _wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                                 (2, 39332535), (3, 720401), (4, 242)):
        if integer_bits > exponent:
            shift = frac_bits + exponent
            if remainder & (1 << shift):
                result = srdhm(result, multiplier)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    sign = 1 if s >= 0 else -1
    v = s + sign
    q = abs(v) // 2
    return q if v >= 0 else -q


def _newton_reciprocal_f2(a: int) -> tuple[int, int]:
    """Shared Newton-Raphson core of one_over_one_plus_x / one_minus_x_over_one_plus_x."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)
    x = _wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    one_f2 = 1 << 29
    for _ in range(3):
        hdx = srdhm(half_denominator, x)
        one_minus = _wrap32(one_f2 - hdx)
        x = _wrap32(x + _rescale(srdhm(x, one_minus), 4, 2))
    return x, one_f2


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x, _ = _newton_reciprocal_f2(a)
    return _rescale(x, 1, 0)  # ExactMulByPot<-1> makes F1, Rescale<0>


def get_reciprocal(x: int, integer_digits: int) -> tuple[int, int]:
    """TFLite's GetReciprocal(x, integer_digits): (1 / x as an F0 raw in [0.5, 1], bits over unit).
    x = 0 counts 32 leading zeros, as TFLite's CountLeadingZeros does."""
    headroom_plus_one = 32 - (x & 0xFFFFFFFF).bit_length()
    shifted_minus_one = _wrap32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), integer_digits - headroom_plus_one


def count_leading_sign_bits(x: int) -> int:
    """TFLite's CountLeadingSignBits for int32 (gcc's __builtin_clrsb; 31 for 0 and -1)."""
    return 31 - (x if x >= 0 else ~x).bit_length()


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x, one_f2 = _newton_reciprocal_f2(a)
    return _rescale(_wrap32(x - one_f2), 2, 0)


def logistic_fixed(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic for FixedPoint<int32, integer_bits>; returns F0 raw."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else _wrap32(-a)
    pos = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(_wrap32(-abs_a), integer_bits))
    return pos if a > 0 else _wrap32(INT32_MAX - pos)


def tanh_fixed(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh for FixedPoint<int32, integer_bits>; returns F0 raw."""
    if a == 0:
        return 0
    n = a if a < 0 else _wrap32(-a)
    # ExactMulByPot<1>: same raw value read with one more integer bit, i.e. exp(2n).
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return _wrap32(-t) if a < 0 else t
