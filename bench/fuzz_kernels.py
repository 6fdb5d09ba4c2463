"""Benchmark (prints figures, asserts nothing): coverage-guided fuzzing of the C kernels.

    .venv/bin/python bench/fuzz_kernels.py [--runs 1000000] [--seconds S] [--work DIR]

bench/fuzz/kernel_target.c gives random tensors and parameters (within the documented
preconditions) to a fast kernel and to the general kernel of the same operator and requires equal
outputs: 16x8 DEPTHWISE_CONV_2D, kiln_depthwise_conv_s16 against kiln_conv_s16, over batches,
sizes, channel counts, multipliers 1-3, kernels up to 5x5, strides, dilation, padding and
activation; int8 DEPTHWISE_CONV_2D with multipliers 2-8 (kiln_depthwise_conv_s8_multiplier) and on
planes (kiln_depthwise_conv_s8_planes, multipliers 1-8, its scratch at exactly its size) and on
pairs of rows (kiln_depthwise_conv_s8_rowpairs: 3x3, multipliers 1-2, in passes, dilation 2, its ring
at exactly its size) against kiln_depthwise_conv_s8_general; int8 FULLY_CONNECTED against a plain dot product. Built with clang -fsanitize=fuzzer,address,undefined; a mismatch or a sanitizer report
is a finding (<work>/kernels/artifacts). The host build takes the kernels' portable C; the
Cortex-M assembly is held to the same results by the qemu-m4 tests.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "fuzz"))

import driver  # noqa: E402


def main() -> None:
    args = driver.arguments(__doc__.splitlines()[0], 1_000_000).parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-fuzz-kernels-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        exe = driver.clang_fuzzer([*sorted((ROOT / "runtime_c" / "src").glob("*.c")), HERE / "fuzz" / "kernel_target.c"],
                                  [ROOT / "runtime_c" / "include"], work / "kernel_fuzz")
        rows = [driver.run_native(exe, "kernels", work, args.runs, args.seconds, max_len=2048)]
    driver.report(rows, args.json)


if __name__ == "__main__":
    main()
