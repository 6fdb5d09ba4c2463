"""The fast requantization (kiln_rq in kiln_fixedpoint.h, constants from quantmath.requant_constants)
against TFLite Micro's MultiplyByQuantizedMultiplier (quantmath.mul_by_quantized_multiplier, itself
checked against TFLite Micro through every model test): in Python on many multipliers and
accumulators, rounding ties included, and the C helper on the host compiler against Python."""
from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest

from kiln.boards import host
from kiln.compiler import quantmath as qm
from kiln.paths import RUNTIME


def _cases(seed: int = 7, multipliers: int = 400, per: int = 120):
    """(acc, m, shift, zp, bound): accumulators within bound, many at SRDHM/RDBPOT ties."""
    rnd = random.Random(seed)
    out = []
    for _ in range(multipliers):
        m, shift = qm.quantize_multiplier(10 ** rnd.uniform(-9.5, 0.4))
        zp = rnd.randint(-128, 127)
        bound = rnd.choice([1, 255, 1 << 14, 1 << 20, 1 << 24, (1 << 30) - 1, rnd.randint(1, 1 << 30)])
        accs = {0, 1, -1, bound, -bound, bound - 1, 1 - bound}
        accs.update(rnd.randint(-bound, bound) for _ in range(per))
        if m:
            e = max(-shift, 0)
            for _ in range(per):  # acc * m / 2^31 near k / 2 and near (k + 1/2) * 2^e: both roundings' ties
                k = rnd.randint(-(bound >> max(e, 1)), bound >> max(e, 1))
                target = (2 * k + 1) << max(e - 1, 0)
                acc = (target << 30) // m
                accs.update(a for a in (acc - 1, acc, acc + 1) if -bound <= a <= bound)
        out += [(a, m, shift, zp, bound) for a in sorted(accs)]
    return out


def test_requant_fast_equals_tflite_double_rounding():
    checked = 0
    for acc, m, shift, zp, bound in _cases():
        k = qm.requant_constants(m, shift, zp, bound)
        if k is None:
            assert shift >= 0 or 2 * bound >= 1 << 31 or shift < -30 or bound + abs(zp << -shift) >= 1 << 30
            continue
        assert qm.requant_fast(acc, *k) == qm.mul_by_quantized_multiplier(acc, m, shift) + zp, (acc, m, shift, zp)
        checked += 1
    assert checked > 50_000


def test_requant_fast_dense_ranges():
    """Every accumulator in a window, for multipliers at the ends of their range."""
    for m in (1 << 30, (1 << 30) + 1, 1518500250, 1234567891, (1 << 31) - 1):
        for shift in (-1, -2, -7, -13, -20):
            for zp in (-128, 5, 127):
                k = qm.requant_constants(m, shift, zp, 1 << 16)
                accs = np.arange(-(1 << 16), (1 << 16) + 1, 7).tolist()
                assert [qm.requant_fast(a, *k) for a in accs] == \
                    [qm.mul_by_quantized_multiplier(a, m, shift) + zp for a in accs]


def test_constant_channel():
    """A channel with zero weights: m = 0 and c hold the output whatever the accumulator."""
    for value in (-300, -128, -1, 0, 7, 127, 300):
        k = qm.requant_constants(0, 0, 0, 1 << 40, constant=value)
        for acc in (-(1 << 30), -1, 0, 1, 1 << 30):
            assert qm.requant_fast(acc, *k) == max(-256, min(256, value))


def test_requant_table_falls_back():
    rows, fast = qm.requant_table([1 << 30, 1 << 30], [-3, 0], -128, [100, 100], [None, None])
    assert not fast and rows.tolist() == [[1 << 30, -3, 0], [1 << 30, 0, 0]]
    rows, fast = qm.requant_table([1 << 30], [-3], -128, [100], [None])
    assert fast and rows.tolist() == [qm.requant_constants(1 << 30, -3, -128, 100)]


PROGRAM = r"""
#include <stdio.h>
#include "kiln_fixedpoint.h"
int main(void)
{
    long acc, m, e, c;
    while (scanf("%ld %ld %ld %ld", &acc, &m, &e, &c) == 4) {
        int32_t q[3];
        q[0] = (int32_t)m; q[1] = (int32_t)e; q[2] = (int32_t)c;
        printf("%ld %ld\n", (long)kiln_rq((int32_t)acc, q), (long)kiln_sat8(kiln_rq((int32_t)acc, q)));
    }
    return 0;
}
"""


@pytest.mark.parametrize("form", ["portable", "armv6m"])
def test_c_helper_matches_python(form, tmp_path):
    """The portable C form of kiln_rq (what the host board and non-DSP targets run), and Armv6-M's
    (no 32 x 32 -> 64 multiply there: the high word from 16-bit halves), compiled on the host."""
    try:
        cc = host.find_cc()
    except Exception as exc:  # pragma: no cover - no host compiler
        pytest.skip(f"no host C compiler: {exc}")
    src = tmp_path / "rq.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "rq"
    flags = ["-D__ARM_ARCH_6M__"] if form == "armv6m" else []
    subprocess.run([cc, *host.STRICT_FLAGS, *flags, "-O2", "-I", str(RUNTIME / "include"), str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    rows, expected = [], []
    for acc, m, shift, zp, bound in _cases(seed=11, multipliers=150, per=60):
        k = qm.requant_constants(m, shift, zp, bound)
        if k is None:
            continue
        rows.append(f"{acc} {k[0]} {k[1]} {k[2]}")
        v = qm.requant_fast(acc, *k)
        expected.append(f"{v} {max(-128, min(127, v))}")
    out = subprocess.run([str(exe)], input="\n".join(rows) + "\n", capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:-1] == expected
    assert len(expected) > 10_000


DIV_PROGRAM = r"""
#include <stdio.h>
#include "kiln_fixedpoint.h"
int main(void)
{
    long acc, count;
    while (scanf("%ld %ld", &acc, &count) == 2) printf("%ld\n", (long)kiln_div_round((int32_t)acc, (int32_t)count));
    return 0;
}
"""


def _tflite_div_round(acc: int, count: int) -> int:
    """TFLite's average pooling division: (acc +- count / 2) / count in C (truncating)."""
    n = acc + count // 2 if acc > 0 else acc - count // 2
    q = abs(n) // count
    return q if n >= 0 else -q


@pytest.mark.parametrize("form", ["portable", "armv6m"])
def test_div_round_matches_tflite(form, tmp_path):
    """kiln_div_round (average pooling's rounded division): C's division, and Armv6-M's shift and
    subtract (no divide instruction there), against TFLite's expression, ties and extremes included."""
    cc = host.find_cc()
    src, exe = tmp_path / "div.c", tmp_path / "div"
    src.write_text(DIV_PROGRAM)
    flags = ["-D__ARM_ARCH_6M__"] if form == "armv6m" else []
    subprocess.run([cc, *host.STRICT_FLAGS, *flags, "-O2", "-I", str(RUNTIME / "include"), str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    rnd = random.Random(5)
    cases = []
    for count in [1, 2, 3, 4, 5, 7, 9, 25, 49, 125, 255, 256, 1000, 4096, 65535, 1 << 20, (1 << 30) + 3]:
        big = min(32768 * count, (1 << 31) - 1 - count)  # int16 sums of count values, within int32
        accs = {0, 1, -1, big, -big}
        for k in range(-40, 41):  # around the ties (k + 1/2) * count
            t = k * count + count // 2
            accs.update(a for a in (t - 1, t, t + 1) if abs(a) <= big)
        accs.update(rnd.randint(-big, big) for _ in range(200))
        cases += [(a, count) for a in sorted(accs)]
    out = subprocess.run([str(exe)], input="".join(f"{a} {c}\n" for a, c in cases), capture_output=True, text=True,
                         check=True).stdout.split()
    assert [int(v) for v in out] == [_tflite_div_round(a, c) for a, c in cases]
    assert len(cases) > 5_000
