"""The QEMU boards in RPC mode: the firmware (board_support/qemu-m4/rpc_main.c with runtime_c/rpc)
serves the device protocol over UART0, which QEMU puts on a local TCP socket. qemu_adapter.py
builds and starts it for `kiln flash` and the editor; the firmware examples' tests run it too."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from ..compiler.ir import Graph
from ..errors import KilnError
from ..paths import BOARDS
from .qemu import COMMON_CFLAGS, _tool, board_sources, target

RPC_DIR = BOARDS.parent / "runtime_c" / "rpc"


def rpc_pool_bytes(g: Graph) -> int:
    """Static buffer pool of rpc_main.c: arena, inputs, outputs, per-operator ticks, 8-aligned."""
    def a8(n):
        return (max(n, 1) + 7) // 8 * 8

    return (a8(g.arena_bytes) + sum(a8(g.tensor(i).nbytes) for i in g.inputs + g.outputs)
            + a8(4 * len(g.operators)) + 64)


def build_rpc(src_dir: str | Path, model_name: str, build_dir: str | Path, g: Graph, *, board: str = "qemu-m4") -> Path:
    """The RPC firmware ELF: generated sources + runtime_c/rpc + the board template + rpc_main.c."""
    src_dir, build_dir = Path(src_dir), Path(build_dir)
    tgt = target(board)
    gcc = _tool(tgt.gcc)
    build_dir.mkdir(parents=True, exist_ok=True)
    elf = build_dir / f"{model_name}_{tgt.name}_rpc.elf"
    sources = (sorted(src_dir.glob("*.c")) + sorted(RPC_DIR.glob("*.c"))
               + board_sources(tgt, "rpc_main.c", build_dir / f"{tgt.name}_rpc"))
    cmd = [gcc, *tgt.flags, *COMMON_CFLAGS, f"-DKILN_MODEL={model_name}_model", "-DKILN_PROFILE",
           f"-DKILN_RPC_POOL_BYTES={rpc_pool_bytes(g)}", "-I", str(src_dir), "-I", str(RPC_DIR),
           "-I", str(tgt.board_dir), *[str(s) for s in sources], "-T", str(tgt.board_dir / tgt.linker_script),
           *tgt.ldflags, "-o", str(elf), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KilnError(f"{tgt.name} RPC firmware build failed ({tgt.gcc} -std=c99 -Wall -Wextra -Werror -pedantic ...):\n"
                        + proc.stderr.strip())
    return elf


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuDevice:
    """QEMU running an RPC firmware, its UART0 on a local TCP port (url: socket://...). QEMU
    waits for the connection before starting the CPU, so nothing the firmware sends is lost."""

    def __init__(self, elf: str | Path, board: str = "qemu-m4", shift: int = 0):
        """shift: QEMU's -icount shift, 2^shift ns per instruction (7: a 25 MHz timer ticks 3.2 times
        an instruction, so a tick count gives any window's instructions exactly)."""
        tgt = target(board)
        self.port = free_port()
        self.url = f"socket://127.0.0.1:{self.port}"
        cmd = [_tool(tgt.qemu), "-M", tgt.machine, "-cpu", tgt.qemu_cpu, "-icount", f"shift={shift}", "-display", "none",
               "-monitor", "none", "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=on,nodelay=on", "-no-reboot",
               *tgt.qemu_args, "-kernel", str(elf)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 10.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace").strip()
                raise KilnError(f"QEMU exited at start (exit {self.proc.returncode}): {err[-300:]}")
            # QEMU prints nothing when it listens; probe the port without connecting (a connect
            # would be taken as the session) by checking the kernel's listening sockets.
            if _listening(self.port):
                return
            time.sleep(0.05)
        self.close()
        raise KilnError(f"QEMU did not open its serial port {self.port} within {timeout:.0f} s")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self) -> "QemuDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp: state 0A is LISTEN)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return True  # cannot tell: let the connection attempt decide
    for ln in lines:
        parts = ln.split()
        local, state = parts[1], parts[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            return True
    return False
