"""The Kiln language server on pygls 2.x (stdio).

Long requests (kiln/compile, kiln/profile, kiln/run) run in the server's thread pool so it keeps
answering; they report window/workDoneProgress and send kiln/deviceEvent notifications. A
KilnError becomes a window/showMessage (error) and an LSP error response; the server stays up.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from .. import __version__
from ..errors import KilnError, UnsupportedError
from . import hints, protocol

log = logging.getLogger(__name__)


@dataclass
class ProfileRecord:
    """The last profile of a model, and what the hints on its generated .c were computed for."""
    model: str  # resolved .tflite path
    profile: dict
    source_sha256: str | None  # of the model, from the source map at profile time
    c_text: str  # the generated .c when profiled


class KilnLanguageServer(LanguageServer):
    def __init__(self):
        super().__init__("kiln", __version__)
        self.profiles: dict[str, ProfileRecord] = {}  # resolved <name>.c path -> last profile


def to_path(uri_or_path: str) -> Path:
    if uri_or_path.startswith("file:"):
        return Path(url2pathname(urlparse(uri_or_path).path))
    return Path(uri_or_path)


def to_uri(path: Path | str) -> str:
    return from_fs_path(str(path))


def default_out_dir(model: Path) -> Path:
    return model.parent / protocol.OUT_FOLDER / model.stem


def _params(params) -> dict:
    """Custom request params arrive as nested namedtuples (or nothing)."""
    p = protocol.plain(params)
    return p if isinstance(p, dict) else {}


def _model(p: dict) -> Path:
    if not p.get("uri"):
        raise KilnError("the request needs a 'uri' of a .tflite model")
    return to_path(p["uri"])


def _out_dir(p: dict, model: Path) -> Path:
    return to_path(p["outDir"]) if p.get("outDir") else default_out_dir(model)


server = KilnLanguageServer()


class _Progress:
    """window/workDoneProgress plus kiln/deviceEvent, callable from a worker thread."""

    def __init__(self, ls: KilnLanguageServer, request: str, uri: str, board: str | None):
        self.ls, self.request, self.uri, self.board = ls, request, uri, board
        self.loop = asyncio.get_running_loop()
        self.token: str | None = None

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
        self.loop.call_soon_threadsafe(self._send, message)

    def end(self, message: str) -> None:
        if self.token:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))


def _is_model_problem(e: KilnError, model: Path) -> bool:
    """Problems of the model itself (shown on the .tflite): unsupported, or too big for the board."""
    return isinstance(e, UnsupportedError) or (str(e).startswith(model.name) and " needs " in str(e))


def _publish(ls: KilnLanguageServer, model: Path, message: str | None) -> None:
    diags = [] if message is None else [types.Diagnostic(
        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
        message=message, severity=types.DiagnosticSeverity.Error, source="kiln")]
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=to_uri(model), diagnostics=diags))


async def _long(ls: KilnLanguageServer, request: str, title: str, p: dict, work):
    """Run ``work(model, progress)`` in the thread pool with progress; KilnError -> message + error."""
    try:
        model = _model(p)
    except KilnError as e:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"kiln: {e}"))
        raise JsonRpcException(str(e), code=protocol.REQUEST_FAILED) from None
    prog = _Progress(ls, request, p["uri"], p.get("board"))
    await prog.begin(f"{title} {model.name}")
    try:
        result = await prog.loop.run_in_executor(ls.thread_pool, work, model, prog)
    except KilnError as e:
        prog.end(f"failed: {e}")
        if _is_model_problem(e, model):
            _publish(ls, model, str(e))
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error,
                                                       message=f"kiln: {model.name}: {e}"))
        raise JsonRpcException(str(e), code=protocol.REQUEST_FAILED) from None
    except Exception as e:  # a bug in Kiln: still one line, and the server stays up
        log.exception("%s failed", request)
        prog.end("failed")
        msg = f"internal error: {type(e).__name__}: {e} (please report it)"
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"kiln: {msg}"))
        raise JsonRpcException(msg, code=protocol.REQUEST_FAILED) from None
    prog.end("done")
    _publish(ls, model, None)
    return result


def _drop_profiles(ls: KilnLanguageServer, model: Path) -> None:
    key = str(model.resolve())
    for c in [c for c, r in ls.profiles.items() if r.model == key]:
        del ls.profiles[c]


@server.feature(protocol.COMPILE)
async def kiln_compile(ls: KilnLanguageServer, params) -> protocol.CompileResult:
    p = _params(params)

    def work(model: Path, progress) -> dict:
        from .. import compiler

        progress(f"compiling {model.name}")
        c = compiler.compile_model(model)
        out = _out_dir(p, model)
        progress(f"writing {out}")
        res = compiler.write(c, out)
        files = [*res.written, *res.unchanged, *(new for _, new in res.kept)]
        s = c.summary()
        return {"files": [to_uri(f) for f in files], "outDir": to_uri(out),
                "summary": {"operators": s["operators"], "arena_bytes": s["arena_bytes"],
                            "flash_bytes": c.const_bytes, "macs": s["macs"]},
                "problems": list(res.notes)}

    result = await _long(ls, protocol.COMPILE, "Compiling", p, work)
    _drop_profiles(ls, _model(p))
    if _can_refresh(ls):
        ls.workspace_inlay_hint_refresh(None)
    return result


@server.feature(protocol.BOARDS)
def kiln_boards(ls: KilnLanguageServer, params) -> protocol.BoardsResult:
    from .. import boards

    return {"boards": [b.summary() for b in boards.available()]}


def _can_refresh(ls: KilnLanguageServer) -> bool:
    caps = ls.client_capabilities
    ws = caps.workspace if caps else None
    return bool(ws and ws.inlay_hint and ws.inlay_hint.refresh_support)


@server.feature(protocol.PROFILE)
async def kiln_profile(ls: KilnLanguageServer, params) -> protocol.ProfileResult:
    p = _params(params)
    board = p.get("board") or protocol.DEFAULT_BOARD

    def work(model: Path, progress) -> tuple[dict, dict | None]:
        from .. import oracle
        from ..deploy import Deployment

        out = _out_dir(p, model)
        with Deployment(model, board, out_dir=out, progress=progress) as d:
            records = oracle.random_inputs(d.compiled.graph, seed=int(p.get("seed", 0)), count=1)
            progress(f"profiling {d.compiled.name} on {board}")
            r = d.profile(records[0])
        c_path = out / f"{d.compiled.name}.c"
        smap = hints.source_map_for(c_path)
        rec = None
        if smap is not None:
            rec = ProfileRecord(str(model.resolve()), r, smap.get("source_sha256"), c_path.read_text())
        return r, (str(c_path.resolve()), rec)

    r, (c_key, rec) = await _long(ls, protocol.PROFILE, f"Profiling on {board}:", p, work)
    if rec is not None:
        ls.profiles[c_key] = rec
        if _can_refresh(ls):
            ls.workspace_inlay_hint_refresh(None)
    return r


@server.feature(protocol.RUN)
async def kiln_run(ls: KilnLanguageServer, params) -> protocol.RunResult:
    p = _params(params)
    board = p.get("board") or protocol.DEFAULT_BOARD

    def work(model: Path, progress) -> dict:
        import numpy as np

        from .. import oracle
        from ..deploy import Deployment

        with Deployment(model, board, out_dir=_out_dir(p, model), progress=progress) as d:
            g = d.compiled.graph
            records = oracle.random_inputs(g, seed=int(p.get("seed", 0)), count=1)
            progress(f"running {d.compiled.name} on {board}")
            outputs = d.session.infer(records[0])
        progress("running TFLite Micro for comparison")
        ref = oracle.run_tflm(model, records, len(g.outputs))[0]
        out = []
        for k, (i, a, r) in enumerate(zip(g.outputs, outputs, ref)):
            a = np.asarray(a)
            r = np.asarray(r).reshape(a.shape)
            diff = np.abs(a.astype(np.float64) - r.astype(np.float64))
            out.append({"index": k, "name": g.tensor(i).name, "shape": list(a.shape), "dtype": str(a.dtype),
                        "values": a.reshape(-1).tolist(), "max_abs_diff": float(diff.max()) if diff.size else 0.0})
        return {"model": g.name, "board": board, "outputs": out}

    return await _long(ls, protocol.RUN, f"Running on {board}:", p, work)


def _current(ls: KilnLanguageServer, uri: str) -> tuple[dict, str, ProfileRecord | None] | None:
    """The source map, current text and (still valid) profile of a generated .c, or None."""
    path = to_path(uri)
    smap = hints.source_map_for(path)
    if smap is None:
        return None
    text = ls.workspace.get_text_document(uri).source
    key = str(path.resolve())
    rec = ls.profiles.get(key)
    if rec is not None and (rec.c_text != text or rec.source_sha256 != smap.get("source_sha256")):
        rec = None  # edited since, or the model was recompiled: the figures no longer belong here
    return smap, text, rec


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def inlay_hint(ls: KilnLanguageServer, params: types.InlayHintParams) -> list[types.InlayHint] | None:
    cur = _current(ls, params.text_document.uri)
    if cur is None or cur[2] is None:
        return None
    smap, text, rec = cur
    return [types.InlayHint(position=types.Position(h.line, h.character), label=h.label,
                            tooltip=h.tooltip, padding_left=True)
            for h in hints.inlay_hints(smap, rec.profile, text, params.range.start.line, params.range.end.line)]


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: KilnLanguageServer, params: types.HoverParams) -> types.Hover | None:
    cur = _current(ls, params.text_document.uri)
    if cur is None:
        return None
    smap, _, rec = cur
    op = hints.operator_at(smap, params.position.line)
    if op is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                    value=hints.hover_text(op, rec.profile if rec else None)),
                       range=types.Range(types.Position(op["line_start"] - 1, 0), types.Position(op["line_end"], 0)))


class _QuietRequestFailed(logging.Filter):
    """pygls logs a traceback for every error response; a KilnError is the user's, not a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, JsonRpcException) and exc.code == protocol.REQUEST_FAILED)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="kiln-lsp: %(levelname)s %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_QuietRequestFailed())
    server.start_io()


if __name__ == "__main__":
    main()
