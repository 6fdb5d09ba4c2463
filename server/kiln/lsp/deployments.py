"""The deployments the language server's device requests use: the one kiln/flash left open on a
board when it holds the same model (reused under its lock), else a fresh Deployment (or an
Attachment to the user's own firmware), closed after the request."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from . import protocol
from .settings import _out_dir, to_path

if TYPE_CHECKING:
    from .server import Flashed, KilnLanguageServer


def _adapter(p: dict) -> Path | None:
    return to_path(p["adapter"]) if p.get("adapter") else None


def _flashed_for(ls: KilnLanguageServer, model: Path, board: str, p: dict) -> Flashed | None:
    """The deployment kiln/flash left on ``board``, when it holds this very model (same bytes)."""
    if p.get("adapter") or p.get("attach"):
        return None
    with ls.flash_lock:
        f = ls.flashed.get(board)
    if f is None or f.model != str(model.resolve()):
        return None
    try:
        if hashlib.sha256(model.read_bytes()).hexdigest() != f.sha256:
            return None  # the model changed since it was flashed: build afresh
    except OSError:
        return None
    return f


class _Using:
    """A context giving a Deployment: the flashed one (kept open, used under its lock) or a fresh one (closed after)."""

    def __init__(self, ls, model: Path, board: str, p: dict, progress, *, reuse: bool = True):
        """reuse=False: always a fresh build (kiln/diff: the C as it is now, not as it was flashed)."""
        self.ls, self.model, self.board, self.p, self.progress = ls, model, board, p, progress
        self.flashed = _flashed_for(ls, model, board, p) if reuse else None
        self.fresh = None

    def __enter__(self):
        from ..boards.deploy import Attachment, Deployment

        if self.p.get("attach"):
            self.fresh = Attachment(self.model, self.p["attach"], cpu_hz=self.p.get("cpuHz"), board=self.board,
                                    progress=self.progress, gen_dir=_out_dir(self.p, self.model, self.ls))
            return self.fresh
        if self.flashed is not None:
            self.flashed.lock.acquire()
            self.progress(f"using the firmware flashed on {self.board}")
            return self.flashed.deployment
        self.fresh = Deployment(self.model, self.board, adapter=_adapter(self.p),
                                out_dir=_out_dir(self.p, self.model, self.ls), progress=self.progress)
        return self.fresh

    def __exit__(self, *exc):
        if self.flashed is not None:
            self.flashed.lock.release()
        if self.fresh is not None:
            self.fresh.close()


def _steps(p: dict, model: Path) -> int:
    """Invocations of a run or profile: as asked, else a sequence for a model that keeps state."""
    if "steps" in p:
        return max(1, int(p["steps"]))
    from .. import compiler

    return protocol.SEQUENCE_STEPS if compiler.state_bytes(model) else 1
