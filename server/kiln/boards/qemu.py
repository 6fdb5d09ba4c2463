"""The QEMU boards: generated C built with the board's cross compiler for its QEMU machine (qemu-m4:
arm-none-eabi-gcc for mps2-an386, a Cortex-M4F; the others are described by their board.json, see
Target; qemu-rv32 brings its own board support and counts with instret, one instruction a tick).

The firmware (board_support/qemu-m4/) carries its input records in flash, runs each once plain and,
when built with profiling, once more with per-operator ticks, and reports over UART0 in a line
protocol (see main.c) that run() parses. QEMU runs with `-icount shift=0`: one executed
instruction is one nanosecond of virtual time, so every figure counts instructions and repeats
exactly from run to run.

Timer: SysTick on the processor clock (CLKSOURCE = 1), 25 MHz in QEMU's mps2 machines, so one
tick is 40 instructions (the 1 MHz reference clock, CLKSOURCE = 0, would be 1000). Builds with
exact=True sum each figure over 40 phase-shifted repeats, which makes it the exact instruction
count (phases = 40); otherwise a figure is one reading, good to 40 instructions (phases = 1). The
24-bit counter's wraps are counted in its interrupt, and the firmware fails with
"ERROR timer overflow" rather than report a wrapped figure when an inference takes 2^32 ticks.

Input records are built into flash 8-byte aligned, so that memcpy in run() takes the same path
whatever the layout (instruction counts then do not depend on where the linker put them).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..compiler.ir import DTYPES, Graph
from ..errors import KilnError
from ..paths import BOARDS
from . import firmware
from .host import _record

BOARD_DIR = BOARDS / "qemu-m4"  # the template project (startup, UART, timer, runners) the Arm boards share
GCC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
ARM_QEMU_ARGS = ("-semihosting-config", "enable=on,target=native")  # the Arm boards exit through semihosting


@dataclass(frozen=True)
class Target:
    """A QEMU board, as data: board_support/<name>/board.json. A board with its own board.c (qemu-rv32)
    builds that, its linker script and the shared runners; the others build qemu-m4's template."""

    name: str
    machine: str
    cpu: str  # the CPU the code is built for (and tuned for)
    flags: tuple[str, ...]
    description: str
    qemu_cpu: str = ""  # QEMU's -cpu, when it is another core that executes that code (default: cpu)
    qemu: str = QEMU  # the QEMU binary
    qemu_args: tuple[str, ...] = ARM_QEMU_ARGS
    toolchain: str = "arm-none-eabi-"  # prefix of gcc, size, nm
    board_dir: Path = BOARD_DIR  # board.c, board.h and the linker script
    linker_script: str = "mps2_an386.ld"
    ldflags: tuple[str, ...] = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
    instructions_per_tick: float = 40  # SysTick at 25 MHz, one instruction per ns (32 MHz: 31.25); 1: instret

    @property
    def phases(self) -> int:
        """How many phase-shifted repeats make an exact figure: the numerator of the instructions per
        tick in lowest terms (40; 125 for 31.25; 1 for a counter of instructions)."""
        return _tick(self.instructions_per_tick).numerator

    @property
    def gcc(self) -> str:
        return self.toolchain + "gcc"


def _load_targets() -> dict[str, Target]:
    targets = {}
    for cfg in sorted(BOARDS.glob("qemu-*/board.json")):
        d, folder = json.loads(cfg.read_text()), cfg.parent
        own = (folder / "board.c").exists()
        optional = {k: d[k] for k in ("qemu", "toolchain", "linker_script", "instructions_per_tick") if k in d}
        optional.update({k: tuple(d[k]) for k in ("qemu_args", "ldflags") if k in d})
        if "linker_script" in d and (folder / d["linker_script"]).exists():  # a shared template's own memory map
            optional["linker_script"] = str(folder / d["linker_script"])
        targets[folder.name] = Target(folder.name, d["machine"], d["cpu"], tuple(d["flags"]), d["description"],
                                      d.get("qemu_cpu", d["cpu"]), board_dir=folder if own else BOARD_DIR, **optional)
    return targets


TARGETS = _load_targets()
# SysTick on the processor clock: 25 MHz in QEMU's mps2 machines; -icount shift=0 makes one
# instruction one nanosecond, so a tick is 40 instructions. Exact builds sum 40 phase-shifted
# measurements (main.c), which makes the sum the instruction count (Target.phases for the others).
INSTRUCTIONS_PER_TICK = 40

COMMON_CFLAGS = ["-O2", "-ffunction-sections", "-fdata-sections", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
OPT_LEVELS = ("-O2", "-Os", "-O3")  # what build(opt=...) takes: -O2 is what the figures use, -Os for flash


def cflags(opt: str = "-O2") -> list[str]:
    """COMMON_CFLAGS with another optimization level in place of -O2."""
    if opt not in OPT_LEVELS:
        raise KilnError(f"optimization level {opt} is not one of {', '.join(OPT_LEVELS)}")
    return [opt if f == "-O2" else f for f in COMMON_CFLAGS]


def compiler_version(board: str = "qemu-m4") -> str:
    """'arm-none-eabi-gcc 12.2.1': instruction counts hold for one compiler version only."""
    gcc = target(board).gcc
    proc = subprocess.run([_tool(gcc), "-dumpversion"], capture_output=True, text=True)
    return f"{gcc} {proc.stdout.strip()}"


def target(name: str) -> Target:
    if name not in TARGETS:
        raise KilnError(f"unknown QEMU board '{name}' (available: {', '.join(TARGETS)})")
    return TARGETS[name]


LDFLAGS = list(Target.ldflags)
BOARD_PREFIX = "qemu-m4_"  # object names of the board's own sources


def board_sources(tgt: Target, runner: str, work: Path) -> list[Path]:
    """The board's sources and a runner (main.c or rpc_main.c, from qemu-m4). A board with its own
    board.c gets a copy of the runner in work, since a quoted #include "board.h" looks first in
    the including file's folder (where qemu-m4's is)."""
    run = BOARD_DIR / runner
    if tgt.board_dir != BOARD_DIR:
        (work / "runner").mkdir(parents=True, exist_ok=True)
        run = work / "runner" / runner
        shutil.copyfile(BOARD_DIR / runner, run)
    return [tgt.board_dir / "board.c", BOARDS / "common" / "board_print.c", run]

_EXIT_MEANINGS = {1: "the model returned an error", 2: "profiled and plain outputs differ",
                  3: "the records do not match the model", 4: "timer overflow or a failed measurement", 5: "a fault"}
SETUP_HINT = ("run scripts/setup.sh (it installs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm; "
              "for qemu-rv32 gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf and qemu-system-misc)")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise KilnError(f"{name} not found: {SETUP_HINT}")
    return path


@dataclass
class RunResult:
    """What the firmware reported. Tick figures are as measured: with phases 40 (exact builds) a
    figure is the sum of 40 phase-shifted measurements and equals the instruction count; with
    phases 1 it is a single measurement, good to one tick (40 instructions); on a board whose timer
    counts instructions (per_tick 1) every figure is exact."""
    outputs: list[list[np.ndarray]]  # per record, per output
    op_ticks: list[list[int]]  # per record, per operator (profiled builds)
    total_ticks: list[int]  # per record: around the whole plain run() call
    op_phases: list[int] = field(default_factory=list)  # per record
    total_phases: list[int] = field(default_factory=list)  # per record
    timer_ticks: int = 0  # two back-to-back timer reads: the cost of one measurement
    timer_phases: int = 1
    calibration: dict[int, int] = field(default_factory=dict)  # self-test builds: NOPs -> instructions
    log: str = field(default="", repr=False)  # the firmware's UART output
    per_tick: float = INSTRUCTIONS_PER_TICK  # instructions per timer tick on the board that ran it

    @property
    def op_instructions(self) -> list[list[int]]:
        return [[instructions(t, p, self.per_tick) for t in row] for row, p in zip(self.op_ticks, self.op_phases)]

    @property
    def total_instructions(self) -> list[int]:
        return [instructions(t, p, self.per_tick) for t, p in zip(self.total_ticks, self.total_phases)]

    @property
    def timer_instructions(self) -> int:
        return instructions(self.timer_ticks, self.timer_phases, self.per_tick)

    def exact_phases(self, phases: int) -> bool:
        """Whether a figure measured over `phases` phase-shifted runs is an exact count."""
        return phases == _tick(self.per_tick).numerator

    @property
    def exact(self) -> bool:
        return all(self.exact_phases(p) for p in self.total_phases + self.op_phases)


def _tick(per_tick: float) -> Fraction:
    return Fraction(str(per_tick))


def instructions(ticks: int, phases: int, per_tick: float = INSTRUCTIONS_PER_TICK) -> int:
    """Instructions from a tick figure summed over `phases` phase-shifted measurements."""
    t = _tick(per_tick)
    return ticks * t.numerator // (t.denominator * phases)


def _c_bytes(data: bytes, per_line: int = 20) -> str:
    if not data:
        return "    0"
    rows = []
    for k in range(0, len(data), per_line):
        rows.append("    " + ", ".join(f"0x{b:02x}" for b in data[k:k + per_line]))
    return ",\n".join(rows)


def records_header(model_name: str, records: list[list[np.ndarray]], g: Graph | None = None) -> str:
    """kiln_records.h: the input records as static const bytes (flash), each record the model's
    inputs back to back, plus the sizes main.c takes from the generated <name>.h."""
    if not records:
        raise KilnError("qemu-m4: at least one input record is needed")
    if g is not None:
        blobs = [_record(g, r) for r in records]
    else:
        blobs = [b"".join(np.ascontiguousarray(a).tobytes() for a in r) for r in records]
    if len(set(map(len, blobs))) != 1:
        raise KilnError("qemu-m4: the input records differ in size")
    size = len(blobs[0])
    stride = max(8, (size + 7) // 8 * 8)  # every record 8-byte aligned, as an input buffer would be
    data = b"".join(b + bytes(stride - size) for b in blobs)
    upper = model_name.upper()
    return "\n".join([
        "/* Generated by kiln.boards.qemu: the input records the qemu-m4 firmware (main.c) runs. */",
        "#ifndef KILN_RECORDS_H",
        "#define KILN_RECORDS_H",
        "",
        "#include <stdint.h>",
        "",
        f'#include "{model_name}.h"',
        "",
        f"#define KILN_ARENA_BYTES {upper}_ARENA_BYTES",
        f"#define KILN_STATE_BYTES {upper}_STATE_BYTES",
        f"#define KILN_OP_COUNT {upper}_OP_COUNT",
        f"typedef {model_name}_output_t kiln_outputs_t;",
        f"#define KILN_RECORD_COUNT {len(blobs)}u",
        f"#define KILN_RECORD_BYTES {size}u",
        f"#define KILN_RECORD_STRIDE {stride}u /* records start 8-byte aligned */",
        "",
        "static const union {",
        f"    uint8_t bytes[{len(data)}];",
        "    uint64_t align;",
        "} kiln_records = {{",
        _c_bytes(data),
        "}};",
        "",
        "#endif",
        "",
    ])


def build(src_dir: str | Path, model_name: str, build_dir: str | Path, records: list[list[np.ndarray]],
          *, profile: bool = True, exact: bool = True, graph: Graph | None = None,
          extra: list[str] | None = None, board: str = "qemu-m4", opt: str = "-O2") -> Path:
    """Builds the firmware ELF from the generated C in src_dir with the records built in; returns
    the ELF's path. With graph, the records are checked and converted to the inputs' types as on
    the host board; without, each array is taken as it is (the firmware checks the sizes). opt is
    the optimization level of every source, the board's included (one of OPT_LEVELS)."""
    src_dir, build_dir = Path(src_dir), Path(build_dir)
    tgt = target(board)
    gcc = _tool(tgt.gcc)
    if not (src_dir / f"{model_name}.c").exists():
        raise KilnError(f"{src_dir}: no {model_name}.c (compile the model there first)")
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "kiln_records.h").write_text(records_header(model_name, records, graph))
    opt_flags = cflags(opt)
    elf = build_dir / (model_name + f"_{tgt.name}" + ("_profile" if profile else "") + ("_exact" if exact else "")
                       + ("" if opt == "-O2" else f"_{opt[1:]}") + ".elf")
    obj_dir = elf.with_suffix(".obj")
    obj_dir.mkdir(exist_ok=True)
    flags = [*tgt.flags, *opt_flags, f"-DKILN_MODEL={model_name}_model", *(["-DKILN_PROFILE"] if profile else []),
             f"-DKILN_EXACT={int(exact)}", "-I", str(src_dir), "-I", str(build_dir), "-I", str(tgt.board_dir),
             *(extra or [])]
    # one object per source (the link map then tells what each file costs in flash), in parallel
    jobs = [(p, obj_dir / (p.stem + ".o")) for p in sorted(src_dir.glob("*.c"))]
    jobs += [(s, obj_dir / (BOARD_PREFIX + s.stem + ".o")) for s in board_sources(tgt, "main.c", obj_dir)]

    def compile_one(job):
        source, obj = job
        return subprocess.run([gcc, *flags, "-c", str(source), "-o", str(obj)], capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(compile_one, jobs))
    failed = [r for r in results if r.returncode != 0]
    if not failed:
        link = [gcc, *tgt.flags, *[str(o) for _, o in jobs], "-T", str(tgt.board_dir / tgt.linker_script), *tgt.ldflags,
                f"-Wl,-Map={elf.with_suffix('.map')}", "-o", str(elf), "-lm"]
        proc = subprocess.run(link, capture_output=True, text=True)
        failed = [proc] if proc.returncode != 0 else []
    if failed:
        lines = "\n".join(r.stderr.strip() for r in failed).splitlines()
        more = f"\n... ({len(lines) - 25} more lines)" if len(lines) > 25 else ""
        raise KilnError(f"{tgt.name} build failed ({tgt.gcc} -std=c99 -Wall -Wextra -Werror -pedantic ...):\n" + "\n".join(lines[:25]) + more)
    return elf


def qemu_command(elf: Path, serial_path: Path, board: str = "qemu-m4") -> list[str]:
    # -serial file: rather than -nographic, which swallows byte 0x01; -no-reboot: a reset request
    # ends QEMU instead of running the firmware again
    tgt = target(board)
    return [_tool(tgt.qemu), "-M", tgt.machine, "-cpu", tgt.qemu_cpu, "-icount", "shift=0", "-display", "none",
            "-monitor", "none", "-serial", f"file:{serial_path}", "-no-reboot", *tgt.qemu_args, "-kernel", str(elf)]


_LINE = re.compile(r"^(KILN|TIMER|CAL|OUT|TOTAL|TICKS|DONE|ERROR)\b ?(.*)$")


def run(elf: str | Path, g: Graph, *, timeout: float = 60.0, board: str = "qemu-m4") -> RunResult:
    """Runs the firmware in QEMU and parses its report; outputs are shaped and typed as g's."""
    elf = Path(elf)
    with tempfile.TemporaryDirectory(prefix="kiln-qemu-") as tmp:
        serial = Path(tmp) / "uart0.txt"
        cmd = qemu_command(elf, serial, board)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            log = serial.read_text(errors="replace") if serial.exists() else ""
            last = log.strip().splitlines()[-1:] or ["(no output)"]
            raise KilnError(f"{board}: {elf.name} did not finish within {timeout:.0f} s; "
                            f"last output: {last[0][:200]}") from None
        log = serial.read_text(errors="replace") if serial.exists() else ""
    errors = [ln[6:] for ln in log.splitlines() if ln.startswith("ERROR")]
    if proc.returncode != 0 or errors:
        what = errors[0] if errors else (err.decode(errors="replace").strip()
                                         or _EXIT_MEANINGS.get(proc.returncode, "no output"))
        raise KilnError(f"{board}: {elf.name} failed (exit {proc.returncode}): {what}")
    result = parse(log, g, target(board).instructions_per_tick)
    return result


def parse(log: str, g: Graph, per_tick: float = INSTRUCTIONS_PER_TICK) -> RunResult:
    """Parses the firmware's UART report (protocol in board_support/qemu-m4/main.c)."""
    outs = [g.tensor(i) for i in g.outputs]
    n_ops = len(g.operators)
    header = None
    result = RunResult([], [], [], log=log, per_tick=per_tick)
    hexes: dict[tuple[int, int], str] = {}
    totals: dict[int, tuple[int, int]] = {}
    ticks: dict[tuple[int, int], tuple[int, int]] = {}
    done = False
    try:
        for ln in log.splitlines():
            m = _LINE.match(ln.strip())
            if not m:
                continue
            tag, f = m.group(1), m.group(2).split()
            if tag == "KILN":
                header = f
            elif tag == "TIMER":
                result.timer_ticks, result.timer_phases = int(f[0]), int(f[1])
            elif tag == "CAL":
                result.calibration[int(f[0])] = instructions(int(f[1]), int(f[2]), per_tick)
            elif tag == "OUT":
                hexes[(int(f[0]), int(f[1]))] = f[2] if len(f) > 2 else ""
            elif tag == "TOTAL":
                totals[int(f[0])] = (int(f[1]), int(f[2]))
            elif tag == "TICKS":
                ticks[(int(f[0]), int(f[1]))] = (int(f[2]), int(f[3]))
            elif tag == "DONE":
                done = True
    except (IndexError, ValueError):
        raise KilnError(f"qemu-m4: unreadable line in the firmware's report: {ln[:200]}") from None
    if header is None or not done:
        tail = log.strip().splitlines()[-1:] or ["(no output)"]
        raise KilnError(f"qemu-m4: the firmware's report is incomplete; last line: {tail[0][:200]}")
    if int(header[2]) != n_ops:
        raise KilnError(f"qemu-m4: the firmware runs {header[2]} operators, the model has {n_ops}")
    for r in range(int(header[4])):
        row = []
        for k, t in enumerate(outs):
            raw = bytes.fromhex(hexes.get((r, k), ""))
            if len(raw) != t.nbytes:
                raise KilnError(f"qemu-m4: record {r} output {k}: {len(raw)} bytes reported, {t.nbytes} expected")
            row.append(np.frombuffer(raw, DTYPES[t.dtype][0]).reshape(t.shape).copy())
        result.outputs.append(row)
        result.total_ticks.append(totals[r][0])
        result.total_phases.append(totals[r][1])
        if ticks:
            result.op_ticks.append([ticks[(r, i)][0] for i in range(n_ops)])
            result.op_phases.append(ticks[(r, 0)][1] if n_ops else _tick(per_tick).numerator)
    return result


def flash_sizes(elf: str | Path, const_bytes: int, weights_header: str | Path | None = None,
                board: str = "qemu-m4") -> dict:
    """Flash use of a firmware, in bytes:
      weights  the model's constant arrays (weights, folded biases, per-operator tables)
      code     everything else in flash: instructions of the generated code, the runtime kernels,
               the libc/libm/libgcc parts they pull in and the board support; small constant
               parameter blocks and strings; the .data image
      board    the part of code that is the board support and test runner (board.c, main.c)
      records  the built-in input records (a test fixture, counted in neither)
    With weights_header (<name>_weights.h), weights are the sizes the linker gave the arrays it
    declares (nm); otherwise const_bytes, the compiler's own figure."""
    elf = Path(elf)
    prefix = target(board).toolchain
    size = subprocess.run([_tool(prefix + "size"), "-A", str(elf)], capture_output=True, text=True)
    nm = subprocess.run([_tool(prefix + "nm"), "-S", str(elf)], capture_output=True, text=True)
    if size.returncode != 0 or nm.returncode != 0:
        raise KilnError(f"{board}: cannot read {elf}: {(size.stderr + nm.stderr).strip()}")
    sections = {}
    for ln in size.stdout.splitlines():
        parts = ln.split()
        if len(parts) == 3 and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    # .rodata: a board whose linker script keeps constants apart from code (qemu-m55: ITCM and SRAM)
    flash = sum(sections.get(k, 0) for k in (".text", ".rodata", ".ARM.exidx", ".data"))
    symbols: dict[str, int] = {}
    for ln in nm.stdout.splitlines():
        parts = ln.split()
        if len(parts) == 4:
            symbols[parts[3]] = symbols.get(parts[3], 0) + int(parts[1], 16)
    records = symbols.get("kiln_records", 0)
    weights = const_bytes
    if weights_header is not None:
        names = re.findall(r"^static const \w+ (\w+)\[", Path(weights_header).read_text(), re.M)
        weights = sum(symbols.get(n, 0) for n in names)
    board = firmware.object_bytes(elf.with_suffix(".map"), BOARD_PREFIX) - records
    return {"code": flash - weights - records, "weights": weights, "board": board, "records": records,
            "total": flash}
