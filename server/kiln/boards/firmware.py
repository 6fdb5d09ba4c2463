"""Shared pieces of a bare-metal firmware build with arm-none-eabi-gcc: compile sources to objects
in parallel and link them, report a failure in a few lines, convert the ELF to .hex/.bin, and read
back the ELF's sections, memory use and vector table.

kiln.boards.mcu uses it for the real boards; kiln.boards.qemu has its own copy of the compile-and-link
step and could move onto this one.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import KilnError

GCC = "arm-none-eabi-gcc"
SETUP_HINT = "run scripts/setup.sh (it installs gcc-arm-none-eabi and libnewlib-arm-none-eabi)"


def tool(name: str, hint: str = SETUP_HINT) -> str:
    path = shutil.which(name)
    if not path:
        raise KilnError(f"{name} not found: {hint}")
    return path


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def compile_and_link(jobs: list[tuple[Path, Path]], cflags: list[str], ldflags: list[str], elf: Path,
                     label: str, *, gcc: str | None = None, memory: dict[str, int] | None = None) -> Path:
    """Compiles each (source, object) job with cflags, in parallel, then links the objects into elf
    with ldflags (which carry the target flags, the linker script and the libraries). On a failure,
    raises KilnError with the first lines of the compiler's messages; a linker region overflow is
    reported as what it means (memory: region name -> its size in bytes, for the message)."""
    gcc = gcc or tool(GCC)
    elf.parent.mkdir(parents=True, exist_ok=True)

    def compile_one(job):
        source, obj = job
        obj.parent.mkdir(parents=True, exist_ok=True)
        return subprocess.run([gcc, *cflags, "-c", str(source), "-o", str(obj)], capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(compile_one, jobs))
    failed = [r for r in results if r.returncode != 0]
    if not failed:
        link = [gcc, *[str(o) for _, o in jobs], *ldflags, "-o", str(elf)]
        proc = subprocess.run(link, capture_output=True, text=True)
        if proc.returncode != 0:
            over = _OVERFLOW.findall(proc.stderr)
            if over:
                parts = []
                for region, by in over:
                    size = (memory or {}).get(region)
                    parts.append(f"{region} overflowed by {int(by):,} bytes"
                                 + (f" (the board has {size:,})" if size else ""))
                raise KilnError(f"{label}: the firmware does not fit: {'; '.join(parts)}")
            failed = [proc]
    if failed:
        lines = "\n".join(r.stderr.strip() for r in failed).splitlines()
        more = f"\n... ({len(lines) - 25} more lines)" if len(lines) > 25 else ""
        raise KilnError(f"{label} build failed ({GCC} -std=c99 -Wall -Wextra -Werror -pedantic ...):\n"
                        + "\n".join(lines[:25]) + more)
    return elf


def objcopy(elf: Path, out: Path, fmt: str) -> Path:
    """fmt: "ihex" or "binary" (the flash image from its first loaded byte, .data's load image
    included)."""
    proc = subprocess.run([tool("arm-none-eabi-objcopy"), "-O", fmt, str(elf), str(out)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise KilnError(f"arm-none-eabi-objcopy -O {fmt} {elf.name} failed: {proc.stderr.strip()}")
    return out


@dataclass(frozen=True)
class Section:
    name: str
    size: int
    vma: int
    lma: int
    flags: frozenset[str]

    @property
    def alloc(self) -> bool:
        return "ALLOC" in self.flags

    @property
    def loaded(self) -> bool:
        return "LOAD" in self.flags and "ALLOC" in self.flags


_HEADER = re.compile(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+\S+$")


def sections(elf: Path) -> list[Section]:
    """The ELF's sections as arm-none-eabi-objdump -h lists them."""
    proc = subprocess.run([tool("arm-none-eabi-objdump"), "-h", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise KilnError(f"cannot read {elf}: {proc.stderr.strip()}")
    out, lines = [], proc.stdout.splitlines()
    for k, ln in enumerate(lines):
        m = _HEADER.match(ln)
        if m:
            flags = frozenset(f.strip() for f in lines[k + 1].split(",")) if k + 1 < len(lines) else frozenset()
            out.append(Section(m.group(1), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16), flags))
    return out


def memory_use(elf: Path, flash: tuple[int, int], ram: tuple[int, int]) -> dict[str, int]:
    """Bytes of flash (everything loaded there: code, constants, the .data image) and of RAM
    (everything placed there: stack, .data, .bss) that the ELF takes; flash and ram are
    (origin, size) of the part's memories."""
    def inside(addr, region):
        return region[0] <= addr < region[0] + region[1]

    secs = sections(elf)
    used_flash = sum(s.size for s in secs if s.loaded and inside(s.lma, flash))
    used_ram = sum(s.size for s in secs if s.alloc and inside(s.vma, ram))
    return {"flash": used_flash, "ram": used_ram}


def vector_table(binary: Path) -> tuple[int, int]:
    """The initial stack pointer and reset address: the first two words of a flash image."""
    head = Path(binary).read_bytes()[:8]
    if len(head) < 8:
        raise KilnError(f"{binary}: too short to hold a vector table")
    return int.from_bytes(head[:4], "little"), int.from_bytes(head[4:], "little")


_MAP_ONE_LINE = re.compile(r"^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
_MAP_NAME_ONLY = re.compile(r"^ (\.\S+)$")
_MAP_CONTINUED = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
FLASH_SECTIONS = (".vectors", ".text", ".rodata", ".data", ".ARM.exidx", ".srodata", ".sdata")  # .s*: RISC-V small data


def object_bytes(map_path: Path, prefix: str, kinds: tuple[str, ...] = FLASH_SECTIONS) -> int:
    """Bytes of the input sections of the given kinds (by default those that go to flash) that
    come from objects whose file name starts with prefix, from a GNU ld map file (an input
    section's name, address, size and object on one line, or the name alone on one line and the
    rest on the next)."""
    if not map_path.exists():
        return 0
    text = map_path.read_text(errors="replace")
    total, pending = 0, None
    for ln in text[text.find("Linker script and memory map"):].splitlines():
        m = _MAP_ONE_LINE.match(ln)
        if m:
            entry, pending = m.groups(), None
        elif pending and (c := _MAP_CONTINUED.match(ln)):
            entry, pending = (pending, *c.groups()), None
        else:
            n = _MAP_NAME_ONLY.match(ln)
            pending = n.group(1) if n else None
            continue
        section, _, size, obj = entry
        if Path(obj).name.startswith(prefix) and section.startswith(kinds):
            total += int(size, 16)
    return total
