"""The custom requests and notifications of the Kiln language server, written down in one place.

Params and results travel as plain JSON objects (camelCase keys in params, as LSP does); the
TypedDicts below say what each carries. Errors are LSP error responses (code REQUEST_FAILED)
carrying the one-line KilnError message, and the same message goes out as window/showMessage.
"""
from __future__ import annotations

from typing import Any, TypedDict

try:
    from typing import NotRequired
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired

COMPILE = "kiln/compile"
BOARDS = "kiln/boards"
PROFILE = "kiln/profile"
SEQUENCE_STEPS = 10  # default invocations of kiln/run and kiln/profile for a model that keeps state
RUN = "kiln/run"
BUILD = "kiln/build"
FLASH = "kiln/flash"
REPORT = "kiln/report"
TUNE = "kiln/tune"
DIFF = "kiln/diff"
DEVICE_EVENT = "kiln/deviceEvent"  # notification, server -> client

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed
REQUEST_CANCELLED = -32800  # LSP ErrorCodes.RequestCancelled: the answer to $/cancelRequest of a long request
DEFAULT_BOARD = "host"
OUT_FOLDER = "kiln_out"  # default output: <model folder>/kiln_out/<model name>/


class CompileParams(TypedDict):
    uri: str  # the .tflite file
    outDir: NotRequired[str]  # a path or file:// uri; default kiln_out/<model name> beside the model
    board: NotRequired[str]  # check the model fits this board (RAM, flash): else a diagnostic, nothing written


class Summary(TypedDict):
    operators: list[dict[str, Any]]  # [{index, kind, macs}]
    arena_bytes: int
    flash_bytes: int  # constant data (weights, tables) in flash
    macs: int


class CompileResult(TypedDict):
    files: list[str]  # uris of the files in the output folder (written, unchanged, or kept beside edits)
    outDir: str  # uri
    summary: Summary
    problems: list[str]  # notes from the writer (e.g. an edited file kept, the new one written beside it)
    buildSystem: BuildSystem  # the workspace's build, and the lines that add the model to it
    kept: list[KeptEdit]  # files the user edited, kept, each with the new version written beside it


class KeptEdit(TypedDict):
    file: str  # uri of the user's edited file (left as it is)
    new: str  # uri of Kiln's new version of it (<file>.kiln-new)


class BuildSystem(TypedDict):
    """kiln.compiler.buildsystem.detect(): the nearest build above the output folder."""
    kind: str | None  # cmake, make, zephyr, esp-idf, platformio, arduino; None: no build found
    file: str | None  # uri of the build file to add the lines to
    lines: list[str]
    uses_model: bool  # the build file already names the model's folder or target
    tested_here: bool  # Kiln's tests build this kind (CMake, Make)
    note: str
    model: str  # the model's C name


class BoardsResult(TypedDict):
    boards: list[dict[str, Any]]  # BoardInfo.summary(): name, cpu, ram_bytes, flash_bytes, clock_hz, description


class DeviceParams(TypedDict):
    """kiln/profile, kiln/run, kiln/build and kiln/flash.

    board and outDir default to the client's settings ({"kiln": {"board", "outDir"}} through
    workspace/didChangeConfiguration), then to kiln.toml in the workspace root (board, out;
    read at every request), then to "host" and kiln_out/<model name> beside the model. A
    configured out folder (relative to the workspace root) gets one <model name> subfolder per model.
    kiln/run and kiln/profile use the firmware kiln/flash left on the board when it holds the
    same model (same bytes). On the QEMU boards kiln/profile uses the exact-count firmware
    (figures repeat to the instruction) unless an adapter is given.
    """
    uri: str
    board: NotRequired[str]
    outDir: NotRequired[str]
    seed: NotRequired[int]  # of the deterministic random input, default 0
    adapter: NotRequired[str]  # a user's own adapter script (path or uri), as `kiln ... --adapter`
    # kiln/run and kiln/profile: the serial port or pyserial URL of the user's own firmware serving
    # the model (default: the setting kiln.firmwarePort); nothing is built or flashed, as
    # `kiln profile --port`. cpuHz turns its timer ticks into cycles (default kiln.firmwareCpuHz,
    # else a tick is a cycle)
    attach: NotRequired[str]
    cpuHz: NotRequired[float]
    # kiln/run and kiln/profile: how many invocations, in sequence from the model's reset state
    # (state carried); default SEQUENCE_STEPS for a model that keeps state, else 1
    steps: NotRequired[int]


class BuildResult(TypedDict):
    artifact: str  # uri of the firmware, copied to <outDir>/build/<board>/
    board: str


class FlashResult(TypedDict):
    """The Deployment stays open in the server until shutdown or another flash of the same board."""
    board: str
    url: str  # pyserial URL of the firmware's RPC link
    model_sha256: str


class OperatorTiming(TypedDict):
    index: int
    kind: str
    function: str
    cycles: int
    micros: float
    share: float  # of the total, 0..1
    macs: int


class ProfileResult(TypedDict):
    """Over a sequence (steps > 1) each operator's cycles and micros are the means over the
    invocations, and per_step_cycles gives each invocation's total."""
    model: str
    board: str
    operators: list[OperatorTiming]
    total: dict[str, float]  # {cycles, micros}
    run: dict[str, float] | None  # the timer around the whole run(), when the board measures it
    steps: NotRequired[int]
    per_step_cycles: NotRequired[list[int]]


class RunOutput(TypedDict):
    index: int
    name: str
    shape: list[int]
    dtype: str
    values: list[float]
    reference: list[float]  # TFLite Micro's output for the same input
    max_abs_diff: float  # against TFLite Micro on the same input (over every step of a sequence)
    sequence: NotRequired[list[list[float]]]  # a sequence's values, step by step (values: the last step's)


class RunResult(TypedDict):
    model: str
    board: str
    outputs: list[RunOutput]
    steps: NotRequired[int]  # invocations run in sequence from the reset state (1 when absent)
    state_bytes: NotRequired[int]


class ReportParams(TypedDict):
    uri: str  # the .tflite file


class ReportResult(TypedDict):
    """kiln.compiler.report.for_model: the model report of `kiln inspect --json`, plus the memory timeline.
    A model Kiln cannot compile still lists its operators; `problems` says why (one line each) and
    the MACs, live bytes and arena figures are null."""
    model: str
    operators: list[dict[str, Any]]  # {index, kind, inputs, outputs, constants, macs, weight_bytes, live_bytes}
    inputs: list[str]
    outputs: list[str]
    totals: dict[str, Any]  # operators, macs, weight_bytes, arena_bytes, arena_lower_bound
    buffers: list[dict[str, Any]]  # {name, offset, size, first, last}: arena offset and lifetime (operator steps)
    problems: list[str]


class TuneParams(TypedDict):
    uri: str
    board: NotRequired[str]
    log: NotRequired[str]  # the tuning log to write or update; default kiln-tuning.json beside the model
    adapter: NotRequired[str]


class TuneResult(TypedDict):
    """kiln.boards.tune.tune: per operator the cycles of each variant tried, the one chosen, and the
    untuned and tuned cycles (never more); the untuned and tuned profiles for the latency chart."""
    model: str
    board: str
    cpu: str
    log: str  # path of the tuning log written
    seconds: float
    rounds: int
    operators: list[dict[str, Any]]  # {index, kind, signature, variants: {name: cycles}, chosen, before, after}
    before: ProfileResult
    after: ProfileResult
    arena_bytes: dict[str, int]  # {before, after}


class DiffOperator(TypedDict):
    index: int
    kind: str
    function: str
    tensors: list[str]  # the outputs compared
    max_abs_diff: float | None  # None: an operator with no output to compare
    mismatches: int  # elements that differ (integers: any difference; float32: beyond the tolerance)
    elements: int  # per invocation
    first_step: int | None  # the first invocation where it differs
    line: int | None  # 0-based line of its function in `file` now (None: not found)


class DiffResult(TypedDict):
    """kiln/diff (DeviceParams: uri, board, outDir, seed, adapter, attach): the C in the output folder
    built as it is, stepped operator by operator on the board, each operator's outputs against
    TFLite Micro's on the same input (kiln.boards.diff). Diagnostics go on `file`: an error at the
    first operator that differs, information on those after it; cleared when the file changes,
    the model is recompiled, or the next comparison."""
    model: str
    board: str
    file: str  # uri of the generated .c
    invocations: int
    tolerance: dict[str, float]  # {atol, rtol} for float32
    operators: list[DiffOperator]
    first_diverging: int | None


class DeviceEvent(TypedDict):
    """kiln/deviceEvent: one progress message of a long request."""
    request: str  # "kiln/profile", "kiln/run", "kiln/build", "kiln/flash", "kiln/compile", "kiln/diff"
    uri: str
    board: str
    message: str


def plain(obj: Any) -> Any:
    """pygls hands custom params and results over as nested namedtuples: back to dicts and lists."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj
