"""Where a request's model, board and output folder come from: its params, else the client's
"kiln" settings, else kiln.toml in the workspace root (read at every request, so edits apply at
once), else the host board and kiln_out/<model> beside the model. Pure functions of the server's
state (`ls`: the KilnLanguageServer)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pygls.uris import from_fs_path, to_fs_path

from ..errors import KilnError
from . import protocol

if TYPE_CHECKING:
    from .server import KilnLanguageServer

log = logging.getLogger(__name__)


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
