"""What every long request of the language server reports with: window/workDoneProgress and
kiln/deviceEvent from a worker thread (and cancellation at the next step), and JSON-safe results."""
from __future__ import annotations

import asyncio
import logging
import math
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from ..errors import KilnError
from . import protocol

if TYPE_CHECKING:
    from .server import KilnLanguageServer

log = logging.getLogger(__name__)


def _finite(obj):
    """NaN and infinities as null: JSON has no such numbers, and a client drops a reply holding them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


class _Progress:
    """window/workDoneProgress plus kiln/deviceEvent, callable from a worker thread."""

    def __init__(self, ls: KilnLanguageServer, request: str, uri: str, board: str | None):
        self.ls, self.request, self.uri, self.board = ls, request, uri, board
        self.loop = asyncio.get_running_loop()
        self.token: str | None = None
        self.cancelled = False  # set on $/cancelRequest: the worker stops at its next progress step

    async def begin(self, title: str) -> None:
        caps = self.ls.client_capabilities
        if caps and caps.window and caps.window.work_done_progress:
            token = f"kiln-{uuid.uuid4().hex[:12]}"
            try:
                await self.ls.work_done_progress.create_async(token)
                self.token = token
                self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=False))
            except Exception as e:  # the client refused: carry on without progress
                log.warning("no work done progress: %s", e)

    def _send(self, message: str) -> None:
        if self.token:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))
        self.ls.protocol.notify(protocol.DEVICE_EVENT, {"request": self.request, "uri": self.uri,
                                                        "board": self.board, "message": message})

    def __call__(self, message: str) -> None:  # from the worker thread
        if self.cancelled:
            raise KilnError("cancelled")
        self.loop.call_soon_threadsafe(self._send, message)

    def end(self, message: str) -> None:
        if self.token:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
