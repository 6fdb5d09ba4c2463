"""The Kiln language server on pygls 2.x (stdio).

Long requests (kiln/compile, kiln/profile, kiln/run, kiln/build, kiln/flash) run in the server's
thread pool so it keeps answering; they report window/workDoneProgress and send kiln/deviceEvent
notifications. A KilnError becomes a window/showMessage (error) and an LSP error response; the
server stays up. $/cancelRequest of a long request answers RequestCancelled (-32800) at once; the
worker stops at its next progress step (a build or emulator run under way finishes unseen).

kiln/flash keeps its Deployment open (one per board) for later kiln/run and kiln/profile of the
same model there; it is closed on shutdown or when another flash of that board replaces it. On
the QEMU boards kiln/profile uses the exact-count firmware (kiln.boards.bench), as `kiln profile` does.
Board and output folder: params, else the client's "kiln" settings, else kiln.toml in the
workspace root (read at every request), else host and kiln_out/<model> beside the model.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..errors import KilnError, UnsupportedError
from . import diffs, hints, protocol
from .deployments import _adapter, _steps, _Using
from .progress import _finite, _Progress
from .settings import _config, _model, _out_dir, _params, _with_attach, _with_board, to_path, to_uri

log = logging.getLogger(__name__)


@dataclass
class ProfileRecord:
    """The last profile of a model, and what the hints on its generated .c were computed for."""
    model: str  # resolved .tflite path
    profile: dict
    source_sha256: str | None  # of the model, from the source map at profile time


@dataclass
class Flashed:
    """A Deployment kept open after kiln/flash: later kiln/run and kiln/profile of that model on that board use it."""
    model: str  # resolved .tflite path
    sha256: str  # of the model when flashed
    deployment: object  # kiln.boards.deploy.Deployment
    lock: threading.Lock


class KilnLanguageServer(LanguageServer):
    def __init__(self):
        super().__init__("kiln", __version__)
        self.profiles: dict[str, ProfileRecord] = {}  # resolved <name>.c path -> last profile
        self.flashed: dict[str, Flashed] = {}  # board -> the deployment flashed on it
        self.flash_lock = threading.Lock()
        self.settings: dict = {}  # the client's "kiln" settings (workspace/didChangeConfiguration)
        self.closing = False  # shutdown received: a flash finishing now is closed, not kept
        self.diff_marks: set[str] = set()  # uris of generated .c files carrying kiln/diff's marks

    def close_flashed(self, board: str | None = None) -> None:
        with self.flash_lock:
            gone = [b for b in self.flashed if board is None or b == board]
            items = [self.flashed.pop(b) for b in gone]
        for f in items:
            with f.lock:
                try:
                    f.deployment.close()
                except Exception:  # closing must not take the server down
                    log.exception("closing the deployment on %s", f.deployment.board)


server = KilnLanguageServer()


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
    except asyncio.CancelledError:
        # $/cancelRequest (or shutdown): pygls answers RequestCancelled (-32800); the worker thread
        # stops at its next step (a build or emulator run under way finishes first, unseen)
        prog.cancelled = True
        prog.end("cancelled")
        raise
    except KilnError as e:
        prog.end(f"failed: {e}")
        if _is_model_problem(e, model) or (request == protocol.COMPILE and str(e) != "cancelled"):
            # a model that does not compile: the problem is the model's, in Problems on the .tflite
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
        from .. import boards

        try:  # the board's CPU picks the tuning log's entries; a board named wrongly in kiln.toml is
            cpu = boards.cpu(p.get("board") or _config(ls).get("board"))  # an error for device requests only
            flash = boards.flash(p.get("board") or _config(ls).get("board"))
            ram = boards.ram(p.get("board") or _config(ls).get("board"))
        except KilnError:
            if p.get("board"):
                raise
            cpu = flash = ram = None
        # with the tuning log beside the model, if any; the board's flash and RAM as kiln run uses them
        c = compiler.compile_model(model, cpu=cpu, flash_bytes=flash, ram_bytes=ram)
        if p.get("board"):  # compiling for a board: a model that does not fit is a diagnostic
            from .. import boards
            from ..boards import deploy

            deploy.check_fits(c, p["board"], boards.find(p["board"]).config)
        out = _out_dir(p, model, ls)
        progress(f"writing {out}")
        res = compiler.write(c, out)
        files = [*res.written, *res.unchanged, *(new for _, new in res.kept)]
        s = c.summary()
        from ..compiler import buildsystem

        found = buildsystem.detect(out)
        return {"files": [to_uri(f) for f in files], "outDir": to_uri(out),
                "summary": {"operators": s["operators"], "arena_bytes": s["arena_bytes"],
                            "flash_bytes": c.const_bytes, "macs": s["macs"]},
                "problems": list(res.notes),
                "kept": [{"file": to_uri(user), "new": to_uri(new)} for user, new in res.kept],
                "buildSystem": {**found.as_json(), "file": to_uri(found.file) if found.file else None,
                                "model": c.name}}

    result = await _long(ls, protocol.COMPILE, "Compiling", p, work)
    _drop_profiles(ls, _model(p))
    for uri in [u for u in ls.diff_marks if u.startswith(result["outDir"].rstrip("/") + "/")]:
        diffs.clear(ls, uri)  # recompiled: the comparison was of the C before
    if _can_refresh(ls):
        ls.workspace_inlay_hint_refresh(None)
    return result


@server.feature(protocol.REPORT)
async def kiln_report(ls: KilnLanguageServer, params) -> protocol.ReportResult:
    """The model report (the extension's .tflite viewer). Read only: no diagnostics, no files."""
    p = _params(params)

    def work(model: Path) -> dict:
        from ..compiler import report

        return report.for_model(model)

    try:
        model = _model(p)
        return await asyncio.get_running_loop().run_in_executor(ls.thread_pool, work, model)
    except KilnError as e:
        raise JsonRpcException(str(e), code=protocol.REQUEST_FAILED) from None


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
    p, board = _with_board(ls, params)
    board = _with_attach(ls, p, board)

    def work(model: Path, progress) -> tuple[dict, dict | None]:
        from ..boards import profiling
        from ..compiler import oracle

        seed, steps = int(p.get("seed", 0)), _steps(p, model)
        exact = profiling.exact_counter(board, adapter=p.get("adapter"), attach=p.get("attach"))
        r, out = profiling.profile(model, board, connect=lambda: _Using(ls, model, board, p, progress), exact=exact,
                                   records_for=lambda g, n: oracle.random_inputs(g, seed=seed, count=n),
                                   sequence=steps > 1, steps=steps, out=_out_dir(p, model, ls), progress=progress,
                                   seed=seed)
        name = r["model"]
        c_path = out / f"{name}.c"
        smap = hints.source_map_for(c_path)
        rec = None
        if smap is not None:
            rec = ProfileRecord(str(model.resolve()), r, smap.get("source_sha256"))
        return r, (str(c_path.resolve()), rec)

    r, (c_key, rec) = await _long(ls, protocol.PROFILE, f"Profiling on {board}:", p, work)
    if rec is not None:
        ls.profiles[c_key] = rec
        if _can_refresh(ls):
            ls.workspace_inlay_hint_refresh(None)
    return r


@server.feature(protocol.RUN)
async def kiln_run(ls: KilnLanguageServer, params) -> protocol.RunResult:
    p, board = _with_board(ls, params)
    board = _with_attach(ls, p, board)

    def work(model: Path, progress) -> dict:
        import numpy as np

        from ..boards import running
        from ..compiler import oracle

        steps, seed = _steps(p, model), int(p.get("seed", 0))
        ran = running.run(board, lambda g: oracle.random_inputs(g, seed=seed, count=steps), progress=progress,
                          connect=lambda: _Using(ls, model, board, p, progress))
        g, records, seq = ran.compiled.graph, ran.records, ran.outputs
        progress("running TFLite Micro for comparison")
        out = []
        for k, (i, cmp) in enumerate(zip(g.outputs, oracle.compare(model, records, seq))):
            a = np.asarray(seq[-1][k])
            diffs = {key: cmp[key] for key in ("max_abs_diff", "max_rel_diff") if key in cmp}
            entry = {"index": k, "name": g.tensor(i).name, "shape": list(a.shape), "dtype": str(a.dtype),
                     "values": a.reshape(-1).tolist(), "reference": cmp["reference"].reshape(-1).tolist(), **diffs}
            if steps > 1:
                entry["sequence"] = [np.asarray(s[k]).reshape(-1).tolist() for s in seq]
            out.append(_finite(entry))
        return {"model": g.name, "board": board, "outputs": out, "steps": steps, "state_bytes": g.state_bytes}

    return await _long(ls, protocol.RUN, f"Running on {board}:", p, work)


@server.feature(protocol.BUILD)
async def kiln_build(ls: KilnLanguageServer, params) -> protocol.BuildResult:
    p, board = _with_board(ls, params)

    def work(model: Path, progress) -> dict:
        from ..boards.deploy import Deployment

        out = _out_dir(p, model, ls)
        with Deployment(model, board, adapter=_adapter(p), out_dir=out, flash=False, progress=progress) as d:
            artifact = Path(d.artifact)
            # the artifact lives in the deployment's temporary project: keep a copy beside the generated C
            keep = out / "build" / board
            keep.mkdir(parents=True, exist_ok=True)
            import shutil

            kept = keep / artifact.name
            shutil.copy2(artifact, kept)
        return {"artifact": to_uri(kept), "board": board}

    return await _long(ls, protocol.BUILD, f"Building for {board}:", p, work)


@server.feature(protocol.FLASH)
async def kiln_flash(ls: KilnLanguageServer, params) -> protocol.FlashResult:
    p, board = _with_board(ls, params)

    def work(model: Path, progress) -> dict:
        from ..boards.deploy import Deployment

        ls.close_flashed(board)  # one firmware per board: the old session goes before the new flash
        d = Deployment(model, board, adapter=_adapter(p), out_dir=_out_dir(p, model, ls), flash=True,
                       progress=progress)
        sha = d.compiled.graph.source_sha256
        with ls.flash_lock:
            if progress.cancelled or ls.closing:
                d.close()
                raise KilnError("cancelled")
            old = ls.flashed.pop(board, None)
            ls.flashed[board] = Flashed(str(model.resolve()), sha, d, threading.Lock())
        if old is not None:
            old.deployment.close()
        return {"board": board, "url": d.url, "model_sha256": sha}

    return await _long(ls, protocol.FLASH, f"Flashing {board}:", p, work)


@server.feature(protocol.TUNE)
async def kiln_tune(ls: KilnLanguageServer, params) -> protocol.TuneResult:
    p, board = _with_board(ls, params)

    def work(model: Path, progress) -> dict:
        from ..boards import tune

        ls.close_flashed(board)  # tuning flashes the board many times: a kept session would be stale
        return tune.tune(model, board, log_path=to_path(p["log"]) if p.get("log") else None, progress=progress,
                         adapter=_adapter(p))

    return await _long(ls, protocol.TUNE, f"Tuning on {board}:", p, work)


@server.feature(protocol.DIFF)
async def kiln_diff(ls: KilnLanguageServer, params) -> protocol.DiffResult:
    p, board = _with_board(ls, params)
    board = _with_attach(ls, p, board)
    r = await _long(ls, protocol.DIFF, f"Comparing layer by layer on {board}:", p,
                    lambda model, progress: _finite(diffs.compare(ls, model, board, p, progress)))
    diffs.publish(ls, r)
    return r


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: KilnLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    diffs.clear(ls, params.text_document.uri)  # kiln/diff's marks were for the text as it was


@server.feature(types.SHUTDOWN)
def on_shutdown(ls: KilnLanguageServer, params) -> None:
    ls.closing = True
    ls.close_flashed()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def on_configuration(ls: KilnLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    settings = protocol.plain(params.settings) if params else None
    if isinstance(settings, dict) and isinstance(settings.get("kiln"), dict):
        settings = settings["kiln"]
    ls.settings = settings if isinstance(settings, dict) else {}


def _current(ls: KilnLanguageServer, uri: str) -> tuple[dict, str, ProfileRecord | None] | None:
    """The source map, current text and (still valid) profile of a generated .c, or None."""
    path = to_path(uri)
    smap = hints.source_map_for(path)
    if smap is None:
        return None
    text = ls.workspace.get_text_document(uri).source
    key = str(path.resolve())
    rec = ls.profiles.get(key)
    if rec is not None and rec.source_sha256 != smap.get("source_sha256"):
        rec = None  # the model was recompiled: the figures no longer belong here (edits do not matter:
        # hints.locate finds each function in the text as it is now)
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
    smap, text, rec = cur
    op = hints.operator_at(smap, params.position.line, text)
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
