"""The qemu-m0plus board (issue 19): Armv6-M code (-mcpu=cortex-m0plus: no DSP extension, no
hardware divide) run by QEMU's mps2-an385, whose Cortex-M3 executes it. The portable kernels are
bit-exact with TFLite Micro there, the counts exact, the RPC link works, and no Armv7-M
instruction is in the firmware: the M3 would run one silently, so the ELF is checked
instruction by instruction (Armv6-M's only 32-bit instructions are BL, MRS, MSR, DMB, DSB, ISB)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import test_qemu_ops as qemu_ops
from harness import MODELS, check_on_qemu, shared_model
from kiln import compiler
from kiln.boards import qemu
from kiln.compiler import oracle
from opgen import random_records
from test_qemu_cnn import CASES

BOARD = "qemu-m0plus"
if not all(shutil.which(t) for t in (qemu.GCC, qemu.QEMU, "arm-none-eabi-objdump")):
    pytest.skip(f"the Cortex-M toolchain or QEMU is missing: {qemu.SETUP_HINT}", allow_module_level=True)

ARMV6M_WIDE = {"bl", "mrs", "msr", "dmb", "dsb", "isb"}  # Armv6-M's only 32-bit Thumb instructions
# an instruction: "addr:<TAB>f000 f800 <TAB>bl ..." (data in code has no tab before its ASCII column)
_INSN = re.compile(r"^\s*[0-9a-f]+:\t((?:[0-9a-f]{4} ?)+)\s*\t(\S+)")


def not_armv6m(elf) -> list[str]:
    """Every instruction of the ELF's code that Armv6-M lacks: a 32-bit encoding other than those
    six (Thumb-2's wide instructions: SMLAD, SSAT, UDIV, LDRD, IT blocks' users, ...)."""
    proc = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True, check=True)
    bad = []
    for line in proc.stdout.splitlines():
        m = _INSN.match(line)
        if not m:
            continue
        halfwords, mnemonic = m.group(1).split(), m.group(2).split(".")[0]
        if len(halfwords) == 2 and mnemonic not in ARMV6M_WIDE:
            bad.append(line.strip())
        elif mnemonic in ("it", "ite", "itt", "itte", "ittt", "cbz", "cbnz"):  # 16-bit, but Thumb-2 only
            bad.append(line.strip())
    return bad


@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"])
def test_mlperf_tiny_golden_and_random_on_m0plus(name, tmp_path):
    path = shared_model(f"{name}.tflite")
    c = compiler.compile_model(path, cpu="cortex-m0plus")
    golden = [[np.load(p)] for p in sorted((MODELS / "golden").glob(f"{name}_in*.npy"))][:2]
    records = golden + oracle.random_inputs(c.graph, seed=5, count=2)
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=False, exact=False,
                     graph=c.graph, board=BOARD)
    assert not_armv6m(elf) == [], f"{name}: Armv7-M instructions in the M0+ firmware"
    result = qemu.run(elf, c.graph, board=BOARD)
    wants = [np.load(p) for p in sorted((MODELS / "golden").glob(f"{name}_out*.npy"))][:len(golden)]
    for got, want in zip(result.outputs, wants):
        assert np.array_equal(got[0], want.reshape(got[0].shape)), f"{name}: differs from the golden output"
    ref = oracle.run_tflm(path, records[len(golden):], 1)
    for got, want in zip(result.outputs[len(golden):], ref):
        assert np.array_equal(got[0], np.asarray(want[0]).reshape(got[0].shape)), f"{name}: differs from TFLite Micro"


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernels_match_tflm_on_m0plus(case, tmp_path):
    model = CASES[case]()
    rng = np.random.default_rng(0)
    check_on_qemu(model.data, [model.random_inputs(rng) for _ in range(4)], tmp_path, f"{case} on {BOARD}", BOARD)


@pytest.mark.parametrize("make", [qemu_ops.chain, qemu_ops.chain_quantized, qemu_ops.chain_16x8])
def test_operator_chains_on_m0plus(make, tmp_path):
    data = make()
    check_on_qemu(data, random_records(data, n=5, seed=3), tmp_path, f"{make.__name__} on {BOARD}", BOARD)


def test_the_check_finds_armv7m_instructions(tmp_path):
    """The same kernels built for the M4 are full of Thumb-2: the check is not vacuous."""
    c = compiler.compile_model(shared_model("kws_ref_model.tflite"))
    compiler.write(c, tmp_path / "src")
    records = oracle.random_inputs(c.graph)
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=False, exact=False,
                     graph=c.graph, board="qemu-m4")
    found = not_armv6m(elf)
    assert any("smlad" in ln for ln in found) and len(found) > 100


def test_rpc_link_and_exact_bench_on_m0plus(tmp_path):
    """kiln diff over the RPC firmware (every operator bit-exact, stepped one by one), and kiln bench
    counts that repeat exactly."""
    path = shared_model("ad01_int8.tflite")
    out = tmp_path / "gen"
    p = subprocess.run([sys.executable, "-m", "kiln", "diff", str(path), "--board", BOARD, "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["first_diverging"] is None and all(o["mismatches"] == 0 for o in r["operators"])
    rpc_elf = next((out / "build" / BOARD).rglob("*_rpc.elf"))
    assert not_armv6m(rpc_elf) == [], "Armv7-M instructions in the M0+ RPC firmware"
    runs = [json.loads(subprocess.run([sys.executable, "-m", "kiln", "bench", str(path), "--board", BOARD, "--json"],
                                      capture_output=True, text=True, timeout=600).stdout) for _ in range(2)]
    assert runs[0]["board"] == BOARD and runs[0]["exact"]
    assert runs[0]["instructions"] == runs[1]["instructions"] > runs[0]["macs"]
