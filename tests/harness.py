"""Shared test plumbing: compile a model, build it for the host, run it beside TFLite Micro."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kiln import compiler
from kiln.boards import host
from kiln.compiler import oracle

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KILN_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"

# Float outputs must agree with TFLite Micro within this relative tolerance (plus a tiny absolute
# floor for values near zero). The kernels sum in TFLite's order without contraction, so on the
# host they are usually bit-exact; the slack covers other libm implementations of expf/tanhf
# (1-2 ulp, about 1.2e-7 relative each) accumulated over a few layers.
# The strict and sanitized host builds: warning-free under clang as under gcc, and clean under ASan
# and UBSan (at -O1, which keeps their reports readable)
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]
TOOLCHAINS = {
    "gcc": dict(cc="gcc", extra_flags=None, opt="-O2"),
    "clang": dict(cc="clang", extra_flags=None, opt="-O2"),
    "gcc-asan-ubsan": dict(cc="gcc", extra_flags=SANITIZE, opt="-O1"),
}
FLOAT_RTOL = 1e-5
FLOAT_ATOL = 1e-6


def shared_model(name: str) -> Path:
    path = MODELS / name
    if not path.exists():
        pytest.skip(f"{path} not found: the shared model folder is absent, so this conformance test cannot run")
    return path


@dataclass
class Pair:
    ours: list[list[np.ndarray]]
    ref: list[list[np.ndarray]]
    compiled: compiler.Compiled


def compile_and_run(model: Path | bytes, records, tmp_path: Path, *, extra_flags=None, cc=None,
                    opt="-O2") -> Pair:
    if isinstance(model, (bytes, bytearray)):
        path = tmp_path / "model.tflite"
        path.write_bytes(model)
    else:
        path = Path(model)
    c = compiler.compile_model(path)
    src = tmp_path / "src"
    compiler.write(c, src)
    exe = host.build(src, c.name, tmp_path / "build", extra=extra_flags, cc=cc, opt=opt)
    ours = host.run(exe, c.graph, records).outputs
    ref = oracle.run_tflm(path, records, len(c.graph.outputs))
    return Pair(ours, ref, c)


def assert_match(pair: Pair, what: str = "") -> None:
    for r, (ours, ref) in enumerate(zip(pair.ours, pair.ref)):
        for k, (a, b) in enumerate(zip(ours, ref)):
            b = np.asarray(b).reshape(a.shape)
            where = f"{what} record {r} output {k}"
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=FLOAT_RTOL, atol=FLOAT_ATOL, err_msg=where)
            else:
                assert a.dtype == b.dtype, where
                if not np.array_equal(a, b):
                    bad = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
                    raise AssertionError(f"{where}: {bad.size} of {a.size} values differ from TFLite Micro, "
                                         f"first at {bad[0]}: kiln {a.reshape(-1)[bad[0]]} vs tflm {b.reshape(-1)[bad[0]]}")


def tiny_board(folder: Path) -> Path:
    """A user's own board folder with 1 KB of RAM and the stock adapter: its adapter.py."""
    board = folder / "tiny-board"
    board.mkdir()
    (board / "board.json").write_text(json.dumps({"description": "a tiny board", "cpu": "cortex-m0",
                                                  "ram_bytes": 1024, "flash_bytes": 65536}))
    (board / "adapter.py").write_text("from pathlib import Path\nfrom kiln.boards.adapter import BoardAdapter, serve\n"
                                      "serve(BoardAdapter(Path(__file__).resolve().parent))\n")
    return board / "adapter.py"


def random_records(compiled: compiler.Compiled, count: int, seed: int):
    return oracle.random_inputs(compiled.graph, seed=seed, count=count)


def check_on_qemu_m4(data: bytes, records, tmp_path: Path, what: str) -> Pair:
    """A model built for qemu-m4 (arm-none-eabi-gcc, QEMU's mps2-an386), run on `records` and compared
    with TFLite Micro; every output must change across the records, or the check proves nothing."""
    return check_on_qemu(data, records, tmp_path, what, "qemu-m4")


def check_on_qemu(data: bytes, records, tmp_path: Path, what: str, board: str) -> Pair:
    """check_on_qemu_m4 on any QEMU board."""
    import shutil

    from kiln.boards import qemu

    from kiln import boards

    tgt = qemu.target(board)
    if not all(shutil.which(t) for t in (tgt.gcc, tgt.qemu, tgt.toolchain + "nm", tgt.toolchain + "size")):
        pytest.skip(f"the toolchain or QEMU for {board} is missing: {qemu.SETUP_HINT}")
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    c = compiler.compile_model(path, cpu=boards.cpu(board))  # with the CPU's own default variants
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, graph=c.graph, board=board)
    result = qemu.run(elf, c.graph, board=board)
    ref = oracle.run_tflm(c.source, records, len(c.graph.outputs))
    assert len(result.outputs) == len(records)
    pair = Pair(result.outputs, ref, c)
    assert_match(pair, what)
    for k in range(len(c.graph.outputs)):
        assert len({r[k].tobytes() for r in result.outputs}) > 1, f"{what}: output {k} is the same on every record"
    return pair
