"""The host device: a compiled model served over the Kiln RPC protocol by a native process
(board_support/host/rpc_main.c), attached to a pseudo-terminal (or a TCP socket) so that a
Session talks to it exactly as to a board's serial port.

    exe = host_device.build(src_dir, "sine_int8", build_dir)
    with HostDevice(exe) as dev, Session(dev.url) as s:
        print(s.infer([x]))

The process keeps the pty's master side; the HostDevice keeps it too, so that restart() can
replace the process on the same port as a board reset would (the session sees a reset), while
kill(hangup=True) also closes the port (the session sees the device gone).
"""
from __future__ import annotations

import os
import select
import subprocess
import tempfile
import threading
import time
import tty
from pathlib import Path

from ..errors import KilnError
from ..paths import BOARDS, RUNTIME
from .host import STRICT_FLAGS, find_cc

RPC_DIR = RUNTIME / "rpc"
RPC_MAIN = BOARDS / "host" / "rpc_main.c"


def build(src_dir: str | Path, model_name: str, build_dir: str | Path, *, cc: str | None = None,
          opt: str = "-O2", profile: bool = True, extra: list[str] | None = None) -> Path:
    """Compiles the generated sources, the RPC runtime and rpc_main.c; returns the executable."""
    src_dir, build_dir = Path(src_dir), Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    exe = build_dir / f"{model_name}_rpc_device"
    sources = sorted(str(p) for p in src_dir.glob("*.c")) + sorted(str(p) for p in RPC_DIR.glob("*.c")) + [str(RPC_MAIN)]
    cmd = [find_cc(cc), *STRICT_FLAGS, opt, f"-DKILN_MODEL={model_name}_model", "-I", str(src_dir), "-I", str(RPC_DIR),
           *(["-DKILN_PROFILE"] if profile else []), *(extra or []), *sources, "-o", str(exe), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KilnError(f"host device build failed ({' '.join(cmd[:2])} ...):\n{proc.stderr.strip()}")
    return exe


class HostDevice:
    """Runs the host device process. transport: "pty" (url is the pty's path) or "tcp" (url is
    socket://127.0.0.1:PORT; the process accepts one connection)."""

    def __init__(self, exe: str | Path, *, args: list[str] | tuple[str, ...] = (), transport: str = "pty",
                 log_path: str | Path | None = None):
        if transport not in ("pty", "tcp"):
            raise KilnError(f"unknown host device transport {transport!r}: use 'pty' or 'tcp'")
        self.exe, self.args, self.transport = Path(exe), list(args), transport
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="kiln-device-", suffix=".log")
            os.close(fd)
        self.log_path = Path(log_path)
        self.master = self.slave = None
        self._killing = threading.Lock()  # kill() may come from a timer thread while close() runs
        self.proc: subprocess.Popen | None = None
        self.url = ""
        if transport == "pty":
            self.master, self.slave = os.openpty()
            tty.setraw(self.slave)  # no echo, no line editing, no newline translation
            self.url = os.ttyname(self.slave)
        self._spawn()

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            if self.transport == "pty":
                self.proc = subprocess.Popen([str(self.exe), *self.args], stdin=self.master, stdout=self.master,
                                             stderr=log, close_fds=True)
            else:
                self.proc = subprocess.Popen([str(self.exe), "--tcp", "0", *self.args], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=log, close_fds=True)
                self.url = f"socket://127.0.0.1:{self._read_port()}"

    def _read_port(self) -> int:
        deadline = time.monotonic() + 10
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.close()
                raise KilnError(f"the host device did not start listening: {self.log()}")
            chunk = os.read(self.proc.stdout.fileno(), 64)
            if not chunk:
                self.close()
                raise KilnError(f"the host device exited before listening: {self.log()}")
            line += chunk
        return int(line.split()[1])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace").strip()
        except OSError:
            return ""

    def kill(self, hangup: bool = False) -> None:
        """Kills the process at once (SIGKILL). With hangup, also closes the pty, as when a USB
        serial adapter is unplugged; without, the port stays and just goes silent. Safe to call
        twice at once: the pty's descriptors are closed exactly once."""
        with self._killing:
            if self.proc is not None:
                if self.proc.poll() is None:
                    self.proc.kill()
                self.proc.wait()
                if self.proc.stdout is not None:
                    self.proc.stdout.close()
            if hangup:
                for fd in (self.master, self.slave):
                    if fd is not None:
                        os.close(fd)
                self.master = self.slave = None

    def restart(self) -> None:
        """Kills the process and starts a new one on the same pty: the device resets under the session."""
        if self.transport != "pty" or self.master is None:
            raise KilnError("restart needs the pty transport, still open")
        self.kill()
        self._spawn()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill(hangup=True)

    def __enter__(self) -> "HostDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
