"""The qemu-m0plus board (issue 19): Armv6-M code (-mcpu=cortex-m0plus: no DSP extension, no
hardware divide) run by QEMU's mps2-an385, whose Cortex-M3 executes it. No Armv7-M instruction may
be in the firmware: the M3 would run one silently, so every ELF the tests build is checked
instruction by instruction (Armv6-M's only 32-bit instructions are BL, MRS, MSR, DMB, DSB, ISB):
not_armv6m, used by test_qemu_portable_boards.py (models, kernels, chains, RPC and bench there)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from harness import shared_model
from kiln import compiler
from kiln.boards import qemu
from kiln.compiler import oracle

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


def test_the_check_finds_armv7m_instructions(tmp_path):
    """The same kernels built for the M4 are full of Thumb-2: the check is not vacuous."""
    c = compiler.compile_model(shared_model("kws_ref_model.tflite"))
    compiler.write(c, tmp_path / "src")
    records = oracle.random_inputs(c.graph)
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=False, exact=False,
                     graph=c.graph, board="qemu-m4")
    found = not_armv6m(elf)
    assert any("smlad" in ln for ln in found) and len(found) > 100
