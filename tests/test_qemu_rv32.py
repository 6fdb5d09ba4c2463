"""The qemu-rv32 board (issue 19): rv32imc code (riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32,
picolibc) run by QEMU's riscv32 virt machine with the A, F and D extensions switched off, so that
an instruction outside RV32IMC traps instead of running. The portable kernels are bit-exact with
TFLite Micro there (test_qemu_portable_boards.py, with the M0+), and instret gives exact
instruction counts."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from harness import shared_model
from kiln import compiler
from kiln.boards import qemu
from kiln.compiler import oracle
from kiln.paths import BOARDS

BOARD = "qemu-rv32"
TARGET = qemu.target(BOARD)
if not all(shutil.which(t) for t in (TARGET.gcc, TARGET.qemu)):
    pytest.skip(f"the RISC-V toolchain or QEMU is missing: {qemu.SETUP_HINT}", allow_module_level=True)


def arch_attribute(elf) -> str:
    """The ELF's Tag_RISCV_arch: the extensions its objects were built for."""
    out = subprocess.run([TARGET.toolchain + "readelf", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Tag_RISCV_arch" in ln)


def extensions(arch: str) -> set[str]:
    """{'i', 'm', 'c'} from 'rv32i2p1_m2p0_c2p0' (single-letter extensions only)."""
    return {part[0] for part in arch[4:].split("_") if part and part[0].isalpha() and not part.startswith("z")}


def test_instret_counts_are_exact_and_add_up(tmp_path):
    """One reading of instret is an exact count: the profiled firmware's operators, less the timer
    reads around each, are the plain run but for its glue (inputs in, outputs out: under 1%); the
    same model twice gives the same counts."""
    path = shared_model("kws_ref_model.tflite")
    c = compiler.compile_model(path, cpu=TARGET.cpu)
    compiler.write(c, tmp_path / "src")
    records = oracle.random_inputs(c.graph, seed=5, count=2)
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", records, profile=True, exact=True,
                     graph=c.graph, board=BOARD)
    first, again = (qemu.run(elf, c.graph, board=BOARD) for _ in range(2))
    assert first.exact and first.timer_instructions > 0
    assert first.total_instructions == again.total_instructions and first.op_instructions == again.op_instructions
    ops = sum(first.op_instructions[0]) - len(c.graph.operators) * first.timer_instructions
    assert 0 < first.total_instructions[0] - ops < first.total_instructions[0] / 100
    ref = oracle.run_tflm(path, records, 1)
    assert all(np.array_equal(g[0], np.asarray(w[0]).reshape(g[0].shape)) for g, w in zip(first.outputs, ref))


def test_an_instruction_outside_rv32imc_traps(tmp_path):
    """QEMU's core has A, F and D switched off: an FADD.S is an illegal instruction (mcause 2), which
    the board's trap handler reports, so no firmware can use an extension the part lacks unnoticed."""
    main = tmp_path / "main.c"
    main.write_text('#include "board.h"\nint main(void)\n{\n    board_puts("before\\n");\n'
                    '    __asm__ volatile(".word 0x00000053"); /* fadd.s f0, f0, f0 */\n'
                    '    board_puts("after\\n");\n    return 0;\n}\n')
    elf = tmp_path / "trap.elf"
    d = TARGET.board_dir
    subprocess.run([TARGET.gcc, *TARGET.flags, *qemu.COMMON_CFLAGS, "-I", str(d), str(d / "board.c"),
                    str(BOARDS / "common" / "board_print.c"), str(main), "-T", str(d / TARGET.linker_script),
                    *TARGET.ldflags, "-o", str(elf)], check=True, capture_output=True, text=True)
    serial = tmp_path / "uart.txt"
    proc = subprocess.run(qemu.qemu_command(elf, serial, BOARD), capture_output=True, timeout=30)
    log = serial.read_text()
    assert proc.returncode == 5, (proc.returncode, log)
    assert "before" in log and "after" not in log and "ERROR fault: trap cause 2 " in log
