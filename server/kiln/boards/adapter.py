"""The board-adapter protocol, device side of the wire (DESIGN.md decision 6).

Each board folder has an adapter.py: a JSON-RPC 2.0 server, one request per line on stdin, one
answer per line on stdout (jsonrpcserver underneath), with the methods of microTVM's Project API:

  server_info()                                   -> {name, description, cpu, ram_bytes, flash_bytes, clock_hz, ...}
  generate_project(model_dir, project_dir, options) -> {files}
  build(project_dir, options)                     -> {artifact}
  flash(project_dir, options)                     -> {}
  open_transport(options)                         -> {url, timeouts}
  read_transport(n, timeout_sec)                  -> {data (base64)}   (empty on timeout)
  write_transport(data (base64))                  -> {written}
  close_transport()                               -> {}

A board implements the BoardAdapter methods it needs; failures are AdapterError(code, message,
data), and a build's compiler output travels intact in data["stderr"]. Nothing is printed to
stdout except answers; logs go to stderr. docs/adapters.md describes the interface for people
adding a board.
"""
from __future__ import annotations

import base64
import inspect
import json
import shutil
import sys
import warnings
from pathlib import Path

# Error codes of this protocol (JSON-RPC reserves -32768..-32000 for its own).
E_GENERATE, E_BUILD, E_FLASH, E_TRANSPORT, E_NO_PROBE, E_STATE = 1, 2, 3, 4, 5, 6


class AdapterError(Exception):
    def __init__(self, code: int, message: str, data: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data or {}


class BoardAdapter:
    """Base class: the transport methods work over pyserial for any URL open_transport found."""

    name = "board"

    def __init__(self, board_dir: Path):
        self.board_dir = Path(board_dir)
        self.config = json.loads((self.board_dir / "board.json").read_text())
        self._port = None

    # --- methods every board has ---
    def server_info(self) -> dict:
        keys = ("description", "cpu", "ram_bytes", "flash_bytes", "clock_hz", "transport")
        return {"name": self.board_dir.name, "protocol_version": 1, **{k: self.config.get(k) for k in keys}}

    def generate_project(self, model_dir: str, project_dir: str, options: dict | None = None) -> dict:
        """Copies the generated model sources (every .c/.h of model_dir) into project_dir/model."""
        src, dst = Path(model_dir), Path(project_dir) / "model"
        if not src.is_dir():
            raise AdapterError(E_GENERATE, f"{src}: no such folder of generated sources")
        if not any(src.glob("*.kiln.json")):
            raise AdapterError(E_GENERATE, f"{src}: not a Kiln output folder (no *.kiln.json source map)")
        dst.mkdir(parents=True, exist_ok=True)
        files = []
        for f in sorted(src.iterdir()):
            if f.suffix in (".c", ".h", ".json"):
                shutil.copy2(f, dst / f.name)
                files.append(str(dst / f.name))
        return {"files": files}

    def build(self, project_dir: str, options: dict | None = None) -> dict:
        raise AdapterError(E_BUILD, f"{self.board_dir.name}: build is not implemented")

    def flash(self, project_dir: str, options: dict | None = None) -> dict:
        raise AdapterError(E_FLASH, f"{self.board_dir.name}: flash is not implemented")

    def open_transport(self, options: dict | None = None) -> dict:
        raise AdapterError(E_TRANSPORT, f"{self.board_dir.name}: no transport")

    # --- transport relayed through the adapter, for clients that cannot open the URL themselves ---
    def _serial(self):
        if self._port is None:
            url = self.open_transport({}).get("url")
            import serial

            try:
                self._port = serial.serial_for_url(url, timeout=0)
            except (serial.SerialException, ValueError) as e:
                raise AdapterError(E_TRANSPORT, f"cannot open {url}: {e}") from None
        return self._port

    def read_transport(self, n: int, timeout_sec: float = 1.0) -> dict:
        port = self._serial()
        port.timeout = max(float(timeout_sec), 0.0)
        data = port.read(max(int(n), 0))
        return {"data": base64.b64encode(data).decode()}

    def write_transport(self, data: str) -> dict:
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise AdapterError(E_TRANSPORT, "write_transport: data is not base64") from None
        return {"written": self._serial().write(raw)}

    def close_transport(self) -> dict:
        if self._port is not None:
            self._port.close()
            self._port = None
        return {}

    def shutdown(self) -> None:
        """Called when stdin closes: stop whatever flash started."""
        self.close_transport()


METHODS = ("server_info", "generate_project", "build", "flash", "open_transport", "read_transport",
           "write_transport", "close_transport")


def serve(adapter: BoardAdapter, stdin=None, stdout=None) -> None:
    """The JSON-RPC loop: one request per line until stdin closes."""
    with warnings.catch_warnings():  # jsonrpcserver 5 warns on import under Python 3.11
        warnings.simplefilter("ignore")
        from jsonrpcserver import Error, Success, dispatch

    def wrap(fn):
        signature = inspect.signature(fn)

        def call(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as e:
                return Error(-32602, "Invalid params", str(e))
            try:
                return Success(fn(*args, **kwargs))
            except AdapterError as e:
                return Error(e.code, e.message, e.data)
            except Exception as e:  # a bug in the adapter: still an answer, never a dead pipe
                return Error(-32000, f"{adapter.board_dir.name} adapter: {type(e).__name__}: {e}")
        return call

    methods = {m: wrap(getattr(adapter, m)) for m in METHODS}
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        for line in stdin:
            if not line.strip():
                continue
            answer = dispatch(line, methods=methods)
            if answer:
                stdout.write(str(answer) + "\n")
                stdout.flush()
    finally:
        adapter.shutdown()
