"""The real boards: NUCLEO-F746ZG (STM32F746ZG, Cortex-M7F) and nRF5340 DK (application core,
Cortex-M33F). Each is described by board_support/<name>/board.json and has its own start-up,
clock, UART and timer code there; the runner is the QEMU boards' standalone one
(board_support/qemu-m4/main.c), built unchanged against the board's board.h.

build() makes the firmware (ELF, Intel hex, raw binary) with the input records built in, as
kiln.boards.qemu does for QEMU; flash() writes it with the board's tool (openocd / pyocd /
nrfjprog), after finding the board's probe by its USB vendor and product id; find_port() finds the
probe's virtual serial port, where the firmware reports in the qemu-m4 line protocol (plus a
leading "BOARD <name> cpu_hz <hz> clock <source> timer dwt-cyccnt" line), with ticks in core clock
cycles.

Nothing here can run without the hardware: with no probe or no tool, flash() and find_port()
raise KilnError saying what to connect or install. USB ports are listed with pyserial
(serial.tools.list_ports).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compiler.ir import Graph
from ..errors import KilnError
from ..paths import BOARDS
from . import firmware, qemu, qemu_rpc

RUNNER = BOARDS / "qemu-m4" / "main.c"  # the standalone runner, shared with the QEMU boards
RPC_RUNNER = BOARDS / "qemu-m4" / "rpc_main.c"  # the RPC firmware's main, likewise


@dataclass(frozen=True)
class FlashTool:
    name: str
    command: tuple[str, ...]  # "{hex}" is the image, "{serial_args}" expands to serial_args or nothing
    serial_args: tuple[str, ...]  # "{serial}": the probe's USB serial; "{serial_number}": as an integer
    install: str


@dataclass(frozen=True)
class UsbId:
    vid: int
    pid: int
    name: str

    def __str__(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


@dataclass(frozen=True)
class Board:
    """A real board, as data: board_support/<name>/board.json."""

    name: str
    dir: Path
    description: str
    cpu: str
    flags: tuple[str, ...]
    clock_hz: int
    flash_origin: int
    flash_total: int
    ram_origin: int
    ram_total: int
    stack_bytes: int
    model_flash_bytes: int  # what a model (code + constants) may use
    model_ram_bytes: int  # what a model (arena, inputs/outputs) may use
    sources: tuple[str, ...]
    linker_script: str
    probe: str
    connect: str
    usb: tuple[UsbId, ...]
    tools: tuple[FlashTool, ...]
    baud: int

    @property
    def flash(self) -> tuple[int, int]:
        return self.flash_origin, self.flash_total

    @property
    def ram(self) -> tuple[int, int]:
        return self.ram_origin, self.ram_total


def _load_boards() -> dict[str, Board]:
    boards = {}
    for cfg in sorted(BOARDS.glob("*/board.json")):
        d = json.loads(cfg.read_text())
        if "flash_tools" not in d:
            continue  # a QEMU board
        mem = d["memory"]
        boards[cfg.parent.name] = Board(
            name=cfg.parent.name, dir=cfg.parent, description=d["description"], cpu=d["cpu"],
            flags=tuple(d["flags"]), clock_hz=int(d["clock_hz"]),
            flash_origin=int(mem["flash"]["origin"], 16), flash_total=int(mem["flash"]["bytes"]),
            ram_origin=int(mem["ram"]["origin"], 16), ram_total=int(mem["ram"]["bytes"]),
            stack_bytes=int(mem["stack_bytes"]), model_flash_bytes=int(d["flash_bytes"]),
            model_ram_bytes=int(d["ram_bytes"]), sources=tuple(d["sources"]), linker_script=d["linker_script"],
            probe=d["probe"]["name"], connect=d["probe"]["connect"],
            usb=tuple(UsbId(int(u["vid"], 16), int(u["pid"], 16), u["name"]) for u in d["probe"]["usb"]),
            tools=tuple(FlashTool(t["tool"], tuple(t["command"]), tuple(t.get("serial_args", ())), t["install"])
                        for t in d["flash_tools"]),
            baud=int(d["uart"]["baud"]))
    return boards


BOARDS_BY_NAME = _load_boards()


def board_info(name: str) -> Board:
    if name not in BOARDS_BY_NAME:
        raise KilnError(f"unknown board '{name}' (real boards: {', '.join(BOARDS_BY_NAME)})")
    return BOARDS_BY_NAME[name]


# ---- build ----

@dataclass(frozen=True)
class Firmware:
    board: str
    elf: Path
    hex: Path
    bin: Path
    map: Path
    flash_bytes: int  # flash the image takes (code, constants, .data image)
    ram_bytes: int  # RAM it takes (stack, .data, .bss)
    board_flash_bytes: int  # the part of flash_bytes that is the board support and the runner


def build(src_dir: str | Path, model_name: str, build_dir: str | Path, records: list[list[np.ndarray]], *,
          board: str, profile: bool = True, exact: bool = False, graph: Graph | None = None,
          extra: list[str] | None = None, rpc: bool = False) -> Firmware:
    """Builds the firmware for a real board from the generated C in src_dir, with the input
    records built in (as qemu.build does): ELF, Intel hex and raw binary in build_dir.
    exact=True is refused: the phase-shifted exact mode exists for QEMU's instruction counter;
    on silicon DWT->CYCCNT counts every cycle already."""
    b = board_info(board)
    if exact:
        raise KilnError(f"{b.name}: exact=True is for QEMU's -icount; the DWT cycle counter is already exact "
                        "to the cycle (build with exact=False)")
    src_dir, build_dir = Path(src_dir), Path(build_dir)
    gcc = firmware.tool(firmware.GCC)
    if not (src_dir / f"{model_name}.c").exists():
        raise KilnError(f"{src_dir}: no {model_name}.c (compile the model there first)")
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "kiln_records.h").write_text(qemu.records_header(model_name, records, graph))
    # main.c includes "board.h", which a compiler looks for beside main.c first: build a copy of
    # it (byte for byte) from a folder of its own, so that the board's board.h is the one found
    runner = build_dir / "runner" / ("rpc_main.c" if rpc else "main.c")
    runner.parent.mkdir(exist_ok=True)
    shutil.copyfile(RPC_RUNNER if rpc else RUNNER, runner)
    if rpc:  # the RPC firmware: serves the device protocol over the UART (qemu-m4/rpc_main.c)
        if graph is None:
            raise KilnError(f"{b.name}: the RPC firmware needs the planned graph (its buffer pool)")
        extra = [*(extra or []), f"-DKILN_RPC_POOL_BYTES={qemu_rpc.rpc_pool_bytes(graph)}", "-I", str(qemu_rpc.RPC_DIR)]

    stem = f"{model_name}_{b.name}" + ("_rpc" if rpc else "") + ("_profile" if profile else "")
    elf = build_dir / f"{stem}.elf"
    obj_dir = build_dir / f"{stem}.obj"
    cflags = [*b.flags, *qemu.COMMON_CFLAGS, f"-DKILN_MODEL={model_name}_model",
              *(["-DKILN_PROFILE"] if profile else []), "-DKILN_EXACT=0",
              "-I", str(src_dir), "-I", str(build_dir), "-I", str(b.dir), *(extra or [])]
    jobs = [(p, obj_dir / (p.stem + ".o")) for p in sorted(src_dir.glob("*.c"))]
    jobs += [(b.dir / s, obj_dir / f"board_{Path(s).stem}.o") for s in b.sources]
    jobs.append((runner, obj_dir / "board_main.o"))
    if rpc:
        jobs += [(p, obj_dir / f"rpc_{p.stem}.o") for p in sorted(qemu_rpc.RPC_DIR.glob("*.c"))]
    ldflags = [*b.flags, "-T", str(b.dir / b.linker_script), *qemu.LDFLAGS,
               f"-Wl,-Map={elf.with_suffix('.map')}", "-lm"]
    firmware.compile_and_link(jobs, cflags, ldflags, elf, b.name, gcc=gcc,
                              memory={"FLASH": b.flash_total, "RAM": b.ram_total})
    hex_path = firmware.objcopy(elf, elf.with_suffix(".hex"), "ihex")
    bin_path = firmware.objcopy(elf, elf.with_suffix(".bin"), "binary")
    use = firmware.memory_use(elf, b.flash, b.ram)
    records = firmware.object_bytes(elf.with_suffix(".map"), "board_main.o", (".rodata.kiln_records",))
    board_bytes = firmware.object_bytes(elf.with_suffix(".map"), "board_") - records
    return Firmware(b.name, elf, hex_path, bin_path, elf.with_suffix(".map"), use["flash"], use["ram"], board_bytes)


# ---- probes, serial ports, flashing ----

@dataclass(frozen=True)
class Probe:
    """A debug probe of the board's kind found on USB, with its virtual serial ports."""
    usb: UsbId
    serial: str  # the USB serial number ("" when the port does not tell)
    ports: tuple[str, ...]  # its serial devices, in interface order (the first is the board's UART)


def _list_ports():
    """The machine's serial ports (pyserial ListPortInfo objects); tests replace this."""
    try:
        from serial.tools import list_ports
    except ImportError:
        raise KilnError("pyserial is not installed, so USB serial ports cannot be listed: "
                        ".venv/bin/pip install pyserial") from None
    return list(list_ports.comports())


_which = shutil.which  # tests replace these two
_run = subprocess.run


def _ids(b: Board) -> str:
    vids = sorted({u.vid for u in b.usb})
    return ", ".join(f"{v:04x}:" + "/".join(f"{u.pid:04x}" for u in b.usb if u.vid == v) for v in vids)


def probes(board: str) -> list[Probe]:
    """The board's probes on USB, found by vendor and product id among the serial ports."""
    b = board_info(board)
    known = {(u.vid, u.pid): u for u in b.usb}
    found: dict[tuple[str, UsbId], list] = {}
    for p in _list_ports():
        usb = known.get((getattr(p, "vid", None), getattr(p, "pid", None)))
        if usb is not None:
            found.setdefault((getattr(p, "serial_number", None) or "", usb), []).append(p)
    out = []
    for (serial, usb), ports in sorted(found.items(), key=lambda kv: kv[0][0]):
        ports.sort(key=lambda p: (str(getattr(p, "location", "") or ""), p.device))
        out.append(Probe(usb, serial, tuple(p.device for p in ports)))
    return out


def _not_found(b: Board) -> str:
    return (f"{b.name}: no {b.probe} found (USB {_ids(b)}): {b.connect}; on Linux your user also needs "
            f"access to /dev/ttyACM* (group dialout) and to the USB device (udev rules of the tool)")


def _one_probe(b: Board, found: list[Probe], serial: str | None) -> Probe:
    if serial is not None:
        found = [p for p in found if p.serial == serial]
        if not found:
            raise KilnError(f"{b.name}: no {b.probe} with serial number {serial} found (USB {_ids(b)})")
    if not found:
        raise KilnError(_not_found(b))
    if len(found) > 1:
        listed = ", ".join(f"{p.serial or '?'} ({p.ports[0]})" for p in found)
        raise KilnError(f"{b.name}: {len(found)} {b.probe} probes found ({listed}): choose one by its serial number")
    return found[0]


def find_port(board: str, serial: str | None = None) -> str:
    """The serial device of the board's UART: the first virtual COM port of its probe (ST-LINK
    VCP; J-Link OB VCOM0, which the nRF5340 DK wires to P0.20/P0.22)."""
    b = board_info(board)
    probe = _one_probe(b, probes(b.name), serial)
    if not probe.ports:
        raise KilnError(f"{b.name}: the {b.probe} has no serial port")
    return probe.ports[0]


def _tool_missing(b: Board) -> str:
    return " or ".join(f"{t.name} ({t.install})" for t in b.tools)


def flash(board: str, image: str | Path, *, serial: str | None = None, timeout: float = 180.0) -> list[str]:
    """Writes a firmware image (.hex; openocd and pyocd also take the .elf) to the board with the
    first of its tools found on PATH, through the probe found on USB; returns the command run.
    serial (the probe's USB serial number) chooses one of several probes and is passed to the
    tool. Raises KilnError saying what to connect or install when the probe or the tool is
    missing, and with the tool's last lines when it fails."""
    b = board_info(board)
    image = Path(image)
    if not image.exists():
        raise KilnError(f"{b.name}: {image} not found (build the firmware first)")
    tool = next((t for t in b.tools if _which(t.name)), None)
    found = probes(b.name)
    try:
        probe = _one_probe(b, found, serial)
    except KilnError as e:
        if tool is None and not found:
            raise KilnError(f"{e}; and install a flashing tool: {_tool_missing(b)}") from None
        raise
    if tool is None:
        raise KilnError(f"{b.name}: {b.probe} found ({probe.ports[0] if probe.ports else probe.serial}) but no "
                        f"flashing tool on PATH: install {_tool_missing(b)}")
    cmd = _command(tool, image, probe.serial if serial is not None else None)
    cmd[0] = _which(tool.name) or tool.name
    try:
        proc = _run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KilnError(f"{b.name}: {tool.name} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise KilnError(f"{b.name}: {tool.name} failed (exit {proc.returncode}):\n{tail}")
    return cmd


def _command(tool: FlashTool, image: Path, serial: str | None) -> list[str]:
    number = serial.lstrip("0") if serial and serial.isdigit() else serial
    fields = {"hex": str(image), "serial": serial or "", "serial_number": number or ""}
    cmd: list[str] = []
    for part in tool.command:
        if part == "{serial_args}":
            if serial:
                cmd += [a.format(**fields) for a in tool.serial_args]
        else:
            cmd.append(part.format(**fields))
    return cmd
