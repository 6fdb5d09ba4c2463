"""kiln/diff in the language server: the layer-by-layer comparison with TFLite Micro (boards.diff),
and its marks on the generated C: an error on the first operator that differs, lighter marks on
the operators after it (which differ because their inputs do). The marks belong to the C as it was
compared: an edit of that file, a recompile or the next comparison clears them."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from . import hints
from .deployments import _Using
from .settings import _out_dir, to_uri

if TYPE_CHECKING:
    from .server import KilnLanguageServer


def compare(ls: KilnLanguageServer, model: Path, board: str, p: dict, progress) -> dict:
    """Builds the C in the output folder as it is (the user's edits included), steps it on the
    board and compares; the report plus the .c file and each operator's line in it now."""
    from ..boards import diff, running

    if not p.get("attach") and board not in running.RUNNERS:
        ls.close_flashed(board)  # a real board's port: the comparison flashes its own firmware
    r = diff.diff(model, board, lambda: _Using(ls, model, board, p, progress, reuse=False),
                  seed=int(p.get("seed", 0)), progress=progress, cancelled=lambda: progress.cancelled or ls.closing)
    out = _out_dir(p, model, ls)
    c_path = out / f"{r['model']}.c"
    r["file"] = to_uri(c_path)
    lines = _function_lines(c_path)
    for row in r["operators"]:
        row["line"] = lines.get(row["function"])  # 0-based line of its function, None if gone
    return r


def _function_lines(c_path: Path) -> dict[str, int]:
    try:
        text = c_path.read_text()
    except OSError:
        return {}
    return {name: span[0] for name, span in hints.function_spans(text).items()}


def marks(r: dict) -> list[types.Diagnostic]:
    """The diagnostics of a comparison on its .c (none when every operator matches)."""
    first = r["first_diverging"]
    if first is None:
        return []
    out = []
    for row in r["operators"]:
        if row["index"] < first or not row["mismatches"] or row.get("line") is None:
            continue
        line = row["line"]
        total = row["elements"] * r["invocations"]
        what = f"{row['mismatches']:,} of {total:,} values differ, by up to {row['max_abs_diff']:.4g}"
        if row["index"] == first:
            message = (f"operator {row['index']} ({row['kind']}) is the first to differ from TFLite Micro on "
                       f"{r['board']}: {what}")
            severity = types.DiagnosticSeverity.Error
        else:
            message = f"differs from TFLite Micro after operator {first}: {what}"
            severity = types.DiagnosticSeverity.Information
        out.append(types.Diagnostic(range=types.Range(types.Position(line, 0), types.Position(line, 200)),
                                    message=message, severity=severity, source="kiln diff"))
    return out


def publish(ls: KilnLanguageServer, r: dict) -> None:
    uri = r["file"]
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=marks(r)))
    ls.diff_marks.add(uri)


def clear(ls: KilnLanguageServer, uri: str) -> None:
    """Stale marks go: the C they were computed on changed."""
    if uri in ls.diff_marks:
        ls.diff_marks.discard(uri)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
