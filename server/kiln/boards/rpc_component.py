"""The device RPC server as a component of the user's own firmware (`kiln rpc --out DIR`):
runtime_c/rpc's sources with its CMakeLists.txt (target kiln::rpc) and kiln_rpc.mk, written
like every generated file (a hash header; a file the user edited is kept, the new one goes beside
it). The porting layer it needs is documented in kiln_platform.h and docs/firmware.md."""
from __future__ import annotations

from pathlib import Path

from ..compiler.workspace import WriteResult, write_files
from ..paths import RUNTIME

RPC_DIR = RUNTIME / "rpc"
FILES = ("kiln_frame.c", "kiln_frame.h", "kiln_rpc.c", "kiln_rpc.h", "kiln_platform.h", "CMakeLists.txt", "kiln_rpc.mk")


def files() -> dict[str, str]:
    return {name: (RPC_DIR / name).read_text() for name in FILES}


def write(out_dir: str | Path) -> WriteResult:
    return write_files(out_dir, files(), "runtime_c/rpc")
