"""The client side of the board-adapter protocol: finds boards and talks to their adapters.

A board is a folder under board_support/ with a board.json and an adapter.py, or any adapter
script the user names (--adapter PATH). The adapter runs as a child process; requests go as one
JSON line on its stdin, answers come back as one line on its stdout.
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import KilnError
from ..paths import BOARDS, ROOT


@dataclass
class BoardInfo:
    name: str
    folder: Path
    config: dict

    def summary(self) -> dict:
        c = self.config
        return {"name": self.name, "description": c.get("description", ""), "cpu": c.get("cpu"),
                "ram_bytes": c.get("ram_bytes"), "flash_bytes": c.get("flash_bytes"),
                "clock_hz": c.get("clock_hz"), "counts": c.get("counts", "cycles"),
                "adapter": str(self.folder / "adapter.py")}


def available() -> list[BoardInfo]:
    out = []
    for cfg in sorted(BOARDS.glob("*/board.json")):
        if (cfg.parent / "adapter.py").exists():
            out.append(BoardInfo(cfg.parent.name, cfg.parent, json.loads(cfg.read_text())))
    return out


def cpu(board: str | None) -> str | None:
    """The board's CPU ("cortex-m4", "host"...): whose entries of a tuning log apply to it."""
    return find(board).config.get("cpu") if board else None


def flash(board: str | None) -> int | None:
    """The board's flash in bytes (board.json's "flash_bytes"), where the compiler may spend it on speed
    (tuning.flash_defaults)."""
    return find(board).config.get("flash_bytes") if board else None


def ram(board: str | None) -> int | None:
    """The board's RAM in bytes (board.json's "ram_bytes"): the arena the compiler's untuned choices
    may grow into is at most half of it (scratch_layouts.planes_within)."""
    return find(board).config.get("ram_bytes") if board else None


UNITS = ("instructions", "cycles", "nanoseconds")  # what a board's per-operator counter counts


def counter(board: str | None) -> str:
    """What `board`'s per-operator figures count (board.json's "counts"): "instructions" on the QEMU
    boards (-icount: no real time, so no microseconds either), "nanoseconds" on the host (its
    timer is the wall clock), "cycles" on real boards and on attached firmware."""
    known = {b.name: b for b in available()}
    unit = known[board].config.get("counts", "cycles") if board in known else "cycles"
    if unit not in UNITS:
        raise KilnError(f"{known[board].folder / 'board.json'}: \"counts\" is {unit!r}; one of {', '.join(UNITS)}")
    return unit


def in_units(report: dict, board: str) -> dict:
    """A profile report labelled with what its counts count ("unit"); no microseconds for
    instructions (they stand for no real CPU's time)."""
    unit = counter(board)
    report["unit"] = unit
    if unit == "instructions":
        for part in [*report["operators"], report["total"], report.get("run") or {}]:
            if "micros" in part:
                part["micros"] = None
    return report


def find(name: str) -> BoardInfo:
    for b in available():
        if b.name == name:
            return b
    names = ", ".join(b.name for b in available())
    raise KilnError(f"unknown board '{name}' (available: {names}; or give --adapter PATH to your own adapter)")


class AdapterClient:
    """One running adapter. Use as a context manager; every call has a timeout."""

    def __init__(self, adapter: str | Path, *, timeout: float = 120.0):
        self.path = Path(adapter)
        if not self.path.exists():
            raise KilnError(f"{self.path}: no such adapter script")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "server") + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, str(self.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, timeout: float | None = None, **params):
        rid = next(self._ids)
        line = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rid})
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise KilnError(f"{self.path}: the adapter exited ({self._stderr_tail()})") from None
        limit = timeout if timeout is not None else self.timeout
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        if not ready:
            raise KilnError(f"{self.path}: no answer to {method} within {limit:.0f} s")
        answer = self.proc.stdout.readline()
        if not answer:
            raise KilnError(f"{self.path}: the adapter exited during {method} ({self._stderr_tail()})")
        try:
            msg = json.loads(answer)
        except json.JSONDecodeError:
            raise KilnError(f"{self.path}: answered {method} with something that is not JSON: {answer[:120]!r}") from None
        if msg.get("id") != rid:
            raise KilnError(f"{self.path}: answer id {msg.get('id')} does not match request {rid}")
        if "error" in msg:
            err = msg["error"]
            data = err.get("data")
            detail = ("\n" + data["stderr"].strip()) if isinstance(data, dict) and data.get("stderr") else ""
            raise KilnError(f"{self.name()}: {method}: {err.get('message')}{detail}")
        return msg.get("result")

    def name(self) -> str:
        return self.path.parent.name

    def read(self, n: int, timeout: float = 1.0) -> bytes:
        return base64.b64decode(self.call("read_transport", n=n, timeout_sec=timeout, timeout=timeout + 10)["data"])

    def write(self, data: bytes) -> int:
        return self.call("write_transport", data=base64.b64encode(data).decode())["written"]

    def _stderr_tail(self) -> str:
        if self.proc.poll() is None:
            return "still running"
        err = (self.proc.stderr.read() or "").strip().splitlines()
        return err[-1] if err else f"exit {self.proc.returncode}"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f and not f.closed:
                f.close()

    def __enter__(self) -> "AdapterClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
