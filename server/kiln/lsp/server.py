"""The Kiln language server on pygls 2.x (stdio).

Long requests (kiln/compile, kiln/profile, kiln/run, kiln/build, kiln/flash) run in the server's
thread pool so it keeps answering; they report window/workDoneProgress and send kiln/deviceEvent
notifications. A KilnError becomes a window/showMessage (error) and an LSP error response; the
server stays up. $/cancelRequest of a long request answers RequestCancelled (-32800) at once; the
worker stops at its next progress step (a build or emulator run under way finishes unseen).

kiln/flash keeps its Deployment open (one per board) for later kiln/run and kiln/profile of the
same model there; it is closed on shutdown or when another flash of that board replaces it. On
the QEMU boards kiln/profile uses the exact-count firmware (kiln.bench), as `kiln profile` does.
Board and output folder: params, else the client's "kiln" settings, else kiln.toml in the
workspace root (read at every request), else host and kiln_out/<model> beside the model.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

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


@dataclass
class Flashed:
    """A Deployment kept open after kiln/flash: later kiln/run and kiln/profile of that model on that board use it."""
    model: str  # resolved .tflite path
    sha256: str  # of the model when flashed
    deployment: object  # kiln.deploy.Deployment
    lock: threading.Lock


class KilnLanguageServer(LanguageServer):
    def __init__(self):
        super().__init__("kiln", __version__)
        self.profiles: dict[str, ProfileRecord] = {}  # resolved <name>.c path -> last profile
        self.flashed: dict[str, Flashed] = {}  # board -> the deployment flashed on it
        self.flash_lock = threading.Lock()
        self.settings: dict = {}  # the client's "kiln" settings (workspace/didChangeConfiguration)
        self.closing = False  # shutdown received: a flash finishing now is closed, not kept

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


def to_path(uri_or_path: str) -> Path:
    if uri_or_path.startswith("file:"):
        return Path(to_fs_path(uri_or_path))  # drive letters (file:///c%3A/...) and UNC hosts too
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


def _root(ls: KilnLanguageServer) -> Path | None:
    try:
        root = ls.workspace.root_path
    except Exception:
        root = None
    return Path(root) if root else None


def _toml(ls: KilnLanguageServer) -> dict:
    """kiln.toml in the workspace root (read at every request, so edits apply at once): board, out."""
    import tomllib

    root = _root(ls)
    cfg = root / "kiln.toml" if root else None
    if cfg is None or not cfg.is_file():
        return {}
    try:
        data = tomllib.loads(cfg.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        log.warning("%s: not valid TOML (%s); ignored", cfg, e)
        return {}
    return data if isinstance(data, dict) else {}


def _config(ls: KilnLanguageServer) -> dict:
    """board and out: client settings win over kiln.toml (params win over both, at the call sites)."""
    t = _toml(ls)
    cfg = {"board": t.get("board"), "out": t.get("out")}
    s = ls.settings or {}
    if s.get("board"):
        cfg["board"] = s["board"]
    if s.get("outDir"):
        cfg["out"] = s["outDir"]
    return cfg


def _finite(obj):
    """NaN and infinities as null: JSON has no such numbers, and a client drops a reply holding them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def _with_board(ls: KilnLanguageServer, params) -> tuple[dict, str]:
    """A device request's params, with the board filled in (params, settings, kiln.toml, host)."""
    p = _params(params)
    p["board"] = _board(ls, p)
    return p, p["board"]


def _with_attach(ls: KilnLanguageServer, p: dict, board: str) -> str:
    """kiln/run and kiln/profile with params' attach or the setting firmwarePort (a serial port or
    pyserial URL): the user's own firmware serving the model there, reached without building or
    flashing (deploy.Attachment). Returns the label the figures carry."""
    url = p.get("attach") or (ls.settings or {}).get("firmwarePort") or None
    if not url:
        return board
    p["attach"] = str(url)
    if not p.get("cpuHz"):
        p["cpuHz"] = (ls.settings or {}).get("firmwareCpuHz") or None
    p["board"] = f"the firmware at {url}"
    return p["board"]


def _board(ls: KilnLanguageServer, p: dict) -> str:
    return str(p.get("board") or _config(ls).get("board") or protocol.DEFAULT_BOARD)


def _out_dir(p: dict, model: Path, ls: KilnLanguageServer | None = None) -> Path:
    """params' outDir, else <configured out>/<model name> (relative to the workspace root), else the default."""
    if p.get("outDir"):
        return to_path(p["outDir"])
    out = _config(ls).get("out") if ls is not None else None
    if out:
        base = to_path(str(out))
        if not base.is_absolute():
            base = (_root(ls) or model.parent) / base
        return base / model.stem
    return default_out_dir(model)


server = KilnLanguageServer()


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
        from .. import boards

        try:  # the board's CPU picks the tuning log's entries; a board named wrongly in kiln.toml is
            cpu = boards.cpu(p.get("board") or _config(ls).get("board"))  # an error for device requests only
        except KilnError:
            if p.get("board"):
                raise
            cpu = None
        c = compiler.compile_model(model, cpu=cpu)  # with the tuning log beside the model, if any
        if p.get("board"):  # compiling for a board: a model that does not fit is a diagnostic
            from .. import boards, deploy

            deploy.check_fits(c, p["board"], boards.find(p["board"]).config)
        out = _out_dir(p, model, ls)
        progress(f"writing {out}")
        res = compiler.write(c, out)
        files = [*res.written, *res.unchanged, *(new for _, new in res.kept)]
        s = c.summary()
        from .. import buildsystem

        found = buildsystem.detect(out)
        return {"files": [to_uri(f) for f in files], "outDir": to_uri(out),
                "summary": {"operators": s["operators"], "arena_bytes": s["arena_bytes"],
                            "flash_bytes": c.const_bytes, "macs": s["macs"]},
                "problems": list(res.notes),
                "buildSystem": {**found.as_json(), "file": to_uri(found.file) if found.file else None,
                                "model": c.name}}

    result = await _long(ls, protocol.COMPILE, "Compiling", p, work)
    _drop_profiles(ls, _model(p))
    if _can_refresh(ls):
        ls.workspace_inlay_hint_refresh(None)
    return result


@server.feature(protocol.REPORT)
async def kiln_report(ls: KilnLanguageServer, params) -> protocol.ReportResult:
    """The model report (the extension's .tflite viewer). Read only: no diagnostics, no files."""
    p = _params(params)

    def work(model: Path) -> dict:
        from .. import report

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

    def __init__(self, ls, model: Path, board: str, p: dict, progress):
        self.ls, self.model, self.board, self.p, self.progress = ls, model, board, p, progress
        self.flashed = _flashed_for(ls, model, board, p)
        self.fresh = None

    def __enter__(self):
        from ..deploy import Attachment, Deployment

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
    from .. import importer
    from ..passes import variables

    g = importer.load(model)  # the state layout needs no folding: just read the model
    variables.run(g)
    return protocol.SEQUENCE_STEPS if g.state_bytes else 1


@server.feature(protocol.PROFILE)
async def kiln_profile(ls: KilnLanguageServer, params) -> protocol.ProfileResult:
    p, board = _with_board(ls, params)
    board = _with_attach(ls, p, board)

    def work(model: Path, progress) -> tuple[dict, dict | None]:
        from .. import oracle, profiling

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

        from .. import oracle

        steps = _steps(p, model)
        with _Using(ls, model, board, p, progress) as d:
            g = d.compiled.graph
            records = oracle.random_inputs(g, seed=int(p.get("seed", 0)), count=steps)
            if d.session.info_.stateful:
                d.session.reset_state()  # a sequence starts from the reset state, as TFLite Micro's does
            progress(f"running {d.compiled.name} on {board}" + (f": {steps} invocations in sequence" if steps > 1 else ""))
            seq = [d.session.infer(r) for r in records]
        progress("running TFLite Micro for comparison")
        ref = oracle.run_tflm(model, records, len(g.outputs))
        out = []
        for k, i in enumerate(g.outputs):
            a, r = np.asarray(seq[-1][k]), np.asarray(ref[-1][k])
            diffs = [oracle.differences(np.asarray(s[k]), rr[k]) for s, rr in zip(seq, ref)]
            worst = max(diffs, key=lambda d: d["max_abs_diff"])
            entry = {"index": k, "name": g.tensor(i).name, "shape": list(a.shape), "dtype": str(a.dtype),
                     "values": a.reshape(-1).tolist(), "reference": r.reshape(-1).tolist(), **worst}
            if steps > 1:
                entry["sequence"] = [np.asarray(s[k]).reshape(-1).tolist() for s in seq]
            out.append(_finite(entry))
        return {"model": g.name, "board": board, "outputs": out, "steps": steps, "state_bytes": g.state_bytes}

    return await _long(ls, protocol.RUN, f"Running on {board}:", p, work)


@server.feature(protocol.BUILD)
async def kiln_build(ls: KilnLanguageServer, params) -> protocol.BuildResult:
    p, board = _with_board(ls, params)

    def work(model: Path, progress) -> dict:
        from ..deploy import Deployment

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
        from ..deploy import Deployment

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
        from .. import tune

        ls.close_flashed(board)  # tuning flashes the board many times: a kept session would be stale
        return tune.tune(model, board, log_path=to_path(p["log"]) if p.get("log") else None, progress=progress,
                         adapter=_adapter(p))

    return await _long(ls, protocol.TUNE, f"Tuning on {board}:", p, work)


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
