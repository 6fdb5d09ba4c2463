"""The compiler pipeline: import -> validate -> constants -> prepare -> plan -> render.

Everything happens in memory; files are written only by kiln.compiler.workspace, and only when the whole
model compiled, so a failed compile leaves the output folder untouched.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import importer, scratch_layouts, tuning
from .codegen import cwriter
from .ir import Graph
from .ops import REGISTRY
from .passes import constants, plan, validate, variables
from .workspace import HEADER_LINES, WriteResult, write_files


@dataclass
class Compiled:
    graph: Graph
    files: dict[str, str]
    buffers: list[plan.Buffer]
    source: Path
    const_bytes: int  # constant data in flash: weights, folded biases, tables

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.graph.operators)

    @property
    def lower_bound(self) -> int:
        """The activation lower bound without in-place tricks (what MANIFEST.md calls the bound)."""
        return plan.lower_bound(plan.buffers(self.graph, in_place=False), len(self.graph.operators))

    def summary(self) -> dict:
        g = self.graph
        return {
            "model": g.name,
            "source": str(self.source),
            "operators": [{"index": op.index, "kind": op.kind, "macs": op.macs} for op in g.operators],
            "arena_bytes": g.arena_bytes,
            "state_bytes": g.state_bytes,
            "arena_lower_bound": self.lower_bound,
            "weight_bytes": self.const_bytes,
            "macs": self.macs,
        }


def load(path: str | Path) -> Graph:
    """The model's graph with its constant operators folded (passes/constants.py): what validation,
    reports and the compiler see."""
    g = importer.load(path)
    _fold_and_resolve(g)
    return g


def state_bytes(path: str | Path) -> int:
    """Bytes of state the model keeps between invocations (0: each invocation stands alone). The
    state layout needs no folding: the model is only read."""
    g = importer.load(path)
    variables.run(g)
    return g.state_bytes


def _fold_and_resolve(g: Graph) -> None:
    for sg in [g] + variables.called(g):
        constants.run(sg)
    variables.run(g)


def prepare_graph(g: Graph, variants: dict[int, str] | None = None) -> list[plan.Buffer]:
    _fold_and_resolve(g)  # a no-op on a graph from load(); kept for graphs built another way
    validate.run(g)
    tuning.apply(g, variants or {})
    # the subgraphs CALL_ONCE runs first, deepest first: each one's arena is its caller's scratch
    for sg in reversed(variables.called(g)):
        for op in sg.operators:
            if not op.folded:
                REGISTRY[op.kind].prepare(op, sg)
        plan.run(sg)
    for op in g.operators:
        if not op.folded:
            REGISTRY[op.kind].prepare(op, g)
    variables.place_operator_state(g)
    return plan.run(g)


def compile_model(path: str | Path, *, variants: dict[int, str] | None = None, tuning_log: str | Path | None = "auto",
                  cpu: str | None = None, flash_bytes: int | None = None, ram_bytes: int | None = None) -> Compiled:
    """variants: operator index -> kernel variant, as given (kiln tune's trials); else those the
    tuning log names for this CPU: `tuning_log` ("auto": kiln-tuning.json beside the model, when
    there is one; None: no log, every operator's default). A CPU without the DSP extension, or with
    Helium, has defaults of its own underneath (tuning.cpu_defaults); a DSP CPU on a board of
    `flash_bytes` (boards.flash) stores large FULLY_CONNECTED and CONV_2D weights pre-widened where
    they fit (tuning.flash_defaults), and takes "rowpairs" then "planes" for the depthwise layers
    where they pay, within half the flash, the arena's allowance and half of `ram_bytes`
    (scratch_layouts)."""
    path = Path(path)
    g = load(path)
    chosen: dict[int, str] = {}
    dsp_board = False
    if cpu in tuning.NO_DSP_CPUS or cpu in tuning.HELIUM_CPUS:
        validate.run(g)  # the variants need a graph Kiln can compile
        chosen = tuning.cpu_defaults(g, cpu)  # the CPU's own untuned defaults, under the rest
    elif flash_bytes and cpu and cpu != "host" and not tuning.portable_cpu(cpu):
        validate.run(g)
        chosen = tuning.flash_defaults(g, flash_bytes)
        dsp_board = True
    if variants is not None:
        chosen.update(variants)
    else:
        log_path = tuning.find_log(path) if tuning_log == "auto" else tuning_log
        if log_path is not None:
            validate.run(g)  # the signatures need a graph Kiln can compile
            chosen.update(tuning.choose(g, tuning.Log.load(log_path), cpu))
        if dsp_board:
            chosen.update(scratch_layouts.choose(g, chosen, ram_bytes, flash_bytes))
    bufs = prepare_graph(g, chosen)
    files, const_bytes = cwriter.render(g, path.name, line_offset=HEADER_LINES)
    return Compiled(g, files, bufs, path, const_bytes)


def write(compiled: Compiled, out_dir: str | Path) -> WriteResult:
    return write_files(out_dir, compiled.files, compiled.source.name)
