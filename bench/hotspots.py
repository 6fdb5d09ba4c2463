"""Benchmark (prints figures, asserts nothing): where one inference's instructions go, by function
and by instruction, on a QEMU board.

    .venv/bin/python bench/hotspots.py MODEL.tflite [--board qemu-m4] [--variant OP=NAME ...]
                                       [--function NAME [--min N]]

Builds the model's plain firmware (one run of one random record), runs it under QEMU with the
per-instruction counting plugin (bench/hotspots/pc_counts.c, compiled with the host gcc on first
use) and prints the functions with the most executed instructions; with --function, that
function's disassembly with each instruction's count (those run at least --min times). --variant
forces operator OP's kernel variant, as kiln tune's trials do. The counts include the firmware's
start-up and its printing of the outputs (board_putc...), which `kiln bench` leaves out.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "server"))

from kiln import boards, compiler  # noqa: E402
from kiln.boards import qemu  # noqa: E402
from kiln.compiler import oracle  # noqa: E402


def plugin(cache: Path) -> Path:
    src = HERE / "hotspots" / "pc_counts.c"
    so = cache / f"libpc_counts-{hashlib.sha256(src.read_bytes()).hexdigest()[:12]}.so"
    if not so.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", str(HERE / "tflm_ref" / "plugin"), "-o", str(so),
                        str(src)], check=True)
    return so


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--variant", action="append", default=[], metavar="OP=NAME")
    ap.add_argument("--function")
    ap.add_argument("--min", type=int, default=0)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    variants = {int(k): v for k, v in (a.split("=", 1) for a in args.variant)} or None
    c = compiler.compile_model(args.model, variants=variants, cpu=boards.cpu(args.board),
                               flash_bytes=boards.flash(args.board))
    with tempfile.TemporaryDirectory(prefix="kiln-hotspots-") as tmp:
        d = Path(tmp)
        compiler.write(c, d / "src")
        records = oracle.random_inputs(c.graph, seed=0, count=1)
        elf = qemu.build(d / "src", c.name, d / "build", records, profile=False, exact=False, graph=c.graph,
                         board=args.board)
        cmd = qemu.qemu_command(elf, d / "uart.txt", args.board)
        so = plugin(Path.home() / ".cache" / "kiln-hotspots")
        subprocess.run(cmd[:1] + ["-plugin", f"{so},out={d / 'pc.txt'}"] + cmd[1:], timeout=600, capture_output=True)
        syms = sorted((int(a, 16), n) for a, t, n in (line.split()[:3] for line in subprocess.run(
            [qemu.target(args.board).toolchain + "nm", "-n", str(elf)], capture_output=True, text=True).stdout.splitlines()
            if len(line.split()) >= 3) if t in "tTwW")
        starts = [a for a, _ in syms]
        per_fn, per_pc = collections.Counter(), {}
        for line in (d / "pc.txt").read_text().splitlines():
            a, n = (int(v, 16) if i == 0 else int(v) for i, v in enumerate(line.split()))
            per_pc[a] = n
            i = bisect.bisect_right(starts, a) - 1
            per_fn[syms[i][1] if i >= 0 else "?"] += n
        total = sum(per_fn.values())
        print(f"{c.name} on {args.board}: {total:,} instructions executed (start-up and output printing included)")
        for name, n in per_fn.most_common(args.top):
            print(f"{n:>12,} {100 * n / total:5.1f}%  {name}")
        if args.function:
            dis = subprocess.run([qemu.target(args.board).toolchain + "objdump", "-d", f"--disassemble={args.function}",
                                  str(elf)], capture_output=True, text=True).stdout
            for line in dis.splitlines():
                try:
                    a = int(line.strip().split(":")[0], 16)
                except ValueError:
                    continue
                if per_pc.get(a, 0) >= args.min:
                    print(f"{per_pc.get(a, 0):>10,} {line}")


if __name__ == "__main__":
    main()
