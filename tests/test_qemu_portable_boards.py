"""Issue 19's boards: qemu-m0plus (Armv6-M on QEMU's mps2-an385) and qemu-rv32 (RV32IMC on QEMU's
riscv32 virt), where the portable C kernels run, and qemu-m55 (Cortex-M55 with Helium on QEMU's
mps3-an547). On each: the MLPerf Tiny models bit-exact (golden vectors and random inputs against
TFLite Micro), the kernel cases and operator chains of the Cortex-M4 tests, the RPC link (kiln diff,
stepped operator by operator) and exact kiln bench counts; and every firmware built holds only the
board's own instruction set."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import test_qemu_ops as qemu_ops
from harness import MODELS, check_on_qemu, shared_model
from kiln import boards, compiler
from kiln.boards import qemu
from kiln.compiler import oracle
from opgen import random_records
from test_qemu_cnn import CASES

BOARDS = ["qemu-m0plus", "qemu-rv32", "qemu-m55"]


def _tools(board: str) -> tuple[str, ...]:
    t = qemu.target(board)
    return (t.gcc, t.qemu, t.toolchain + "objdump", t.toolchain + "readelf")


missing = [b for b in BOARDS if not all(shutil.which(x) for x in _tools(b))]
if missing:
    pytest.skip(f"the toolchain or QEMU for {', '.join(missing)} is missing: {qemu.SETUP_HINT}",
                allow_module_level=True)


def isa_violations(board: str, elf) -> list[str]:
    """What in the firmware the board's CPU lacks (its QEMU core would run some of it silently)."""
    if board == "qemu-m55":
        return []  # the newest core of the three: QEMU executes all of Armv8.1-M, as the M55 does
    if board == "qemu-m0plus":
        from test_qemu_m0plus import not_armv6m

        return not_armv6m(elf)
    from test_qemu_rv32 import arch_attribute, extensions

    arch = arch_attribute(elf)
    return [] if extensions(arch) <= {"i", "m", "c"} else [arch]


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"])
def test_mlperf_tiny_golden_and_random(board, name, tmp_path):
    path = shared_model(f"{name}.tflite")
    c = compiler.compile_model(path, cpu=boards.cpu(board))
    golden = [[np.load(p)] for p in sorted((MODELS / "golden").glob(f"{name}_in*.npy"))][:2]
    records = golden + oracle.random_inputs(c.graph, seed=5, count=2)
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=False, exact=False,
                     graph=c.graph, board=board)
    assert isa_violations(board, elf) == [], f"{name}: instructions {board}'s CPU lacks"
    result = qemu.run(elf, c.graph, board=board, timeout=300)
    wants = [np.load(p) for p in sorted((MODELS / "golden").glob(f"{name}_out*.npy"))][:len(golden)]
    for got, want in zip(result.outputs, wants):
        assert np.array_equal(got[0], want.reshape(got[0].shape)), f"{name} on {board}: differs from the golden output"
    ref = oracle.run_tflm(path, records[len(golden):], 1)
    for got, want in zip(result.outputs[len(golden):], ref):
        assert np.array_equal(got[0], np.asarray(want[0]).reshape(got[0].shape)), \
            f"{name} on {board}: differs from TFLite Micro"


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_kernels_match_tflm(board, case, tmp_path):
    model = CASES[case]()
    rng = np.random.default_rng(0)
    check_on_qemu(model.data, [model.random_inputs(rng) for _ in range(4)], tmp_path, f"{case} on {board}", board)


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("make", [qemu_ops.chain, qemu_ops.chain_quantized, qemu_ops.chain_16x8])
def test_operator_chains(board, make, tmp_path):
    data = make()
    check_on_qemu(data, random_records(data, n=5, seed=3), tmp_path, f"{make.__name__} on {board}", board)


@pytest.mark.parametrize("board", BOARDS)
def test_rpc_link_and_exact_bench(board, tmp_path):
    """kiln diff over the RPC firmware (every operator bit-exact, stepped one by one), and kiln bench
    counts that repeat exactly."""
    path = shared_model("ad01_int8.tflite")
    out = tmp_path / "gen"
    p = subprocess.run([sys.executable, "-m", "kiln", "diff", str(path), "--board", board, "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["first_diverging"] is None and all(o["mismatches"] == 0 for o in r["operators"])
    rpc_elf = next((out / "build" / board).rglob("*_rpc.elf"))
    assert isa_violations(board, rpc_elf) == [], f"instructions {board}'s CPU lacks in its RPC firmware"
    runs = [json.loads(subprocess.run([sys.executable, "-m", "kiln", "bench", str(path), "--board", board, "--json"],
                                      capture_output=True, text=True, timeout=600).stdout) for _ in range(2)]
    assert runs[0]["board"] == board and runs[0]["exact"]
    # Helium multiplies at most 16 byte pairs in one instruction: fewer instructions than MACs / 16
    # would be a count that missed the inference
    assert runs[0]["instructions"] == runs[1]["instructions"] > runs[0]["macs"] / 16
