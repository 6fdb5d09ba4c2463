"""The tuning log: which kernel variant each operator should use, per CPU and operator signature.

`kiln tune` measures an operator's variants on a device and writes the fastest bit-exact one here;
the compiler reads it back (docs/tuning.md has the format). An operator's signature holds all that
decides its kernel's speed (kind, types, shapes, strides, padding, dilation, activation), so one
log serves every model with the same layers. Variants only change speed and scratch memory, never
results: a log from another CPU, or a stale one, cannot make the code wrong.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from ..errors import KilnError
from .ir import Graph, Operator
from .ops import REGISTRY, depthwise
from .ops.depthwise import planes_beats_pairs

FORMAT = "kiln-tuning-log/1"
DEFAULT_NAME = "kiln-tuning.json"  # beside the model: used by every compile of it when present


def variants(op: Operator, g: Graph) -> list[str]:
    """The operator's kernel variants, the default first; [] when it has no choice."""
    fn = REGISTRY[op.kind].variants if op.kind in REGISTRY else None
    v = fn(op, g) if fn else []
    return v if len(v) > 1 else []


def signature(op: Operator, g: Graph) -> str:
    """What decides the kernel's speed, as one line: 'CONV_2D int8 1x49x10x1 -> 1x25x5x64 w64x10x4x1 stride=2,2 ...'."""
    ts = [g.tensor(i) for i in op.inputs if i >= 0]
    ins = " ".join(f"{t.dtype}{'w' if t.is_const else ''}[{'x'.join(map(str, t.shape))}]" for t in ts)
    outs = " ".join(f"{g.tensor(i).dtype}[{'x'.join(map(str, g.tensor(i).shape))}]" for i in op.outputs)
    opts = " ".join(f"{k}={v}" for k, v in sorted(op.options.items()) if isinstance(v, (int, float, str, bool)))
    return f"{op.kind} {ins} -> {outs}" + (f" {opts}" if opts else "")


class Log:
    """entries[cpu][signature] = {"variant": name, "cycles": {variant: cycles}, "board", "model", "date"}."""

    def __init__(self, entries: dict | None = None, path: Path | None = None):
        self.entries: dict[str, dict[str, dict]] = entries or {}
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> "Log":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as e:
            raise KilnError(f"{path}: cannot read the tuning log ({e.strerror})") from None
        except ValueError as e:
            raise KilnError(f"{path}: not a tuning log: not JSON ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KilnError(f"{path}: not a tuning log: \"format\" must be \"{FORMAT}\" (see docs/tuning.md)")
        entries = data.get("cpus")
        if not isinstance(entries, dict) or not all(
                isinstance(sigs, dict) and all(isinstance(e, dict) and isinstance(e.get("variant"), str) for e in sigs.values())
                for sigs in entries.values()):
            raise KilnError(f"{path}: not a tuning log: \"cpus\" must map a CPU to {{signature: {{\"variant\": ...}}}}")
        return cls(entries, path)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        data = {"format": FORMAT, "about": "kiln tune: the fastest bit-exact kernel variant per CPU and operator "
                                           "signature (docs/tuning.md)", "cpus": self.entries}
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        self.path = path
        return path

    def record(self, cpu: str, sig: str, variant: str, cycles: dict[str, int], board: str, model: str) -> None:
        self.entries.setdefault(cpu, {})[sig] = {
            "variant": variant, "cycles": cycles, "board": board, "model": model,
            "date": datetime.date.today().isoformat()}

    def lookup(self, sig: str, cpu: str | None) -> str | None:
        """The variant for this signature on this CPU; with no CPU given, the one variant every CPU agrees on."""
        if cpu is not None:
            e = self.entries.get(cpu, {}).get(sig)
            return e["variant"] if e else None
        found = {sigs[sig]["variant"] for sigs in self.entries.values() if sig in sigs}
        return found.pop() if len(found) == 1 else None


def find_log(model: Path) -> Path | None:
    p = Path(model).with_name(DEFAULT_NAME)
    return p if p.is_file() else None


# CPUs without the DSP extension (no SMLAD, SXTB16, SSAT): the kernels' portable loops run there,
# and they read weights best in the model's own order. An operator with a variant of this name
# takes it there unless the tuning log says otherwise.
NO_DSP_CPUS = frozenset({"cortex-m0", "cortex-m0plus", "cortex-m1", "cortex-m3", "cortex-m23"})
PORTABLE = "rows"
PLANES = "planes"  # int8 DEPTHWISE_CONV_2D on int16 planes (ops/planes.py)


# CPUs with Helium (MVE): the "rows" layout is what their vector kernels read (each output channel's
# weights in one run, 16 bytes a load), so it is their default for the operators with a Helium path.
HELIUM_CPUS = frozenset({"cortex-m55", "cortex-m85"})
HELIUM_KINDS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"})


def portable_cpu(cpu: str | None) -> bool:
    """A CPU that runs the portable C kernels: an Arm core without the DSP extension, or RISC-V
    ("rv32imc", "rv32imac"...: no packed SIMD)."""
    return cpu in NO_DSP_CPUS or (cpu or "").startswith("rv")


def candidates(op: Operator, g: Graph, cpu: str | None) -> list[str]:
    """The variants worth measuring on this CPU, its default first. Thumb-1 (NO_DSP_CPUS): the
    rows variant leads (its one index register suits LDRSB's register-only offset); RISC-V, whose
    loads take an immediate offset, keeps the int8-chunk default first (kws on qemu-rv32: 14.6 M
    instructions, 20.8 M with rows) and measures rows too; with the DSP extension rows is left out
    (the DSP loops beat it), except on a Helium CPU, where it leads for the operators whose Helium
    kernels read it (HELIUM_KINDS)."""
    names = variants(op, g)
    if PORTABLE not in names:
        return names
    rest = [v for v in names if v != PORTABLE]
    if names[0] == PLANES:  # the shape's default on every CPU (ops/depthwise.planes_first)
        return names if cpu in NO_DSP_CPUS or cpu in HELIUM_CPUS or portable_cpu(cpu) else rest
    if cpu in NO_DSP_CPUS or (cpu in HELIUM_CPUS and op.kind in HELIUM_KINDS):
        return [PORTABLE, *rest]
    if portable_cpu(cpu):
        return [*rest, PORTABLE]
    return rest if len(rest) > 1 else []


def cpu_defaults(g: Graph, cpu: str | None) -> dict[int, str]:
    """Operator index -> the untuned default variant on this CPU, where it is not the first one."""
    def takes_rows(op) -> bool:  # planes, where it leads, beats rows on these CPUs too (bench/cortex_m.md)
        names = variants(op, g)
        return PORTABLE in names and names[0] != PLANES

    if cpu in HELIUM_CPUS:
        return {op.index: PORTABLE for op in g.operators if op.kind in HELIUM_KINDS and takes_rows(op)}
    if cpu not in NO_DSP_CPUS:
        return {}
    return {op.index: PORTABLE for op in g.operators if takes_rows(op)}


# Convolutions smaller than this keep int8 weights (their per-output costs dominate); a fully
# connected layer gains at any size (fc 37 -> 11 with int8 weights 1,197 instructions, int16 1,043).
WIDE_MIN_MACS = {"FULLY_CONNECTED": 0, "CONV_2D": 4096, "DEPTHWISE_CONV_2D": 4096}


def widened_variant(op: Operator, g: Graph) -> str | None:
    """The variant storing op's int8 weights pre-widened to int16 pairs, where its default has one:
    "weights16" for FULLY_CONNECTED, "direct16" / "im2col16" for a CONV_2D (or a one-channel
    DEPTHWISE_CONV_2D computed as one) whose default is "direct" / "im2col"."""
    names = variants(op, g)
    if op.kind == "FULLY_CONNECTED":
        return "weights16" if "weights16" in names and not g.tensor(op.inputs[1]).int4 else None
    if names and names[0] + "16" in names and not g.tensor(op.inputs[1]).int4:
        return names[0] + "16"
    return None


ADD_TABLE_BYTES = 2048  # the "tables" variant of int8 ADD and SUB: 256 words an input


def flash_defaults(g: Graph, flash_bytes: int) -> dict[int, str]:
    """Operator index -> its widened_variant for the layers of at least WIDE_MIN_MACS MACs whose
    weights, stored as int16 pairs (no SXTB16 in the inner loop: 13 instructions per 16 MACs instead
    of 21 in FULLY_CONNECTED, 11 instead of 14 in CONV_2D; one byte more per weight), keep the model's
    constants within half the board's flash: the layers with the most MACs per weight first (most
    pixels or batches), then the smallest. A DSP CPU's untuned default on a board whose flash is
    known (what `kiln tune` chose on every layer of the four MLPerf Tiny models: bench/cortex_m.md).
    Then int8 ADD and SUB read their sides from tables ("tables": ADD_TABLE_BYTES each) while they
    fit too, in the model's order (ResNet-8's three ADDs: 1,003,646 -> 372,838 instructions)."""
    budget = flash_bytes // 2 - sum(t.nbytes for t in g.tensors if t.is_const)
    layers = []
    for op in g.operators:
        wide = widened_variant(op, g)
        if wide:
            w, y = g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
            per_weight = y.size // max(y.shape[-1], 1)  # MACs per weight: output pixels or rows
            if per_weight * w.size >= WIDE_MIN_MACS[op.kind]:
                layers.append((-per_weight, w.size, op.index, wide))
        elif "tables" in variants(op, g):  # after every layer's weights (their key starts at -1)
            layers.append((0, ADD_TABLE_BYTES, op.index, "tables"))
    out = {}
    for _, size, index, wide in sorted(layers):
        if size <= budget:
            out[index], budget = wide, budget - size
    return out


PLANES_MIN_WIDTH = 8  # output columns from which planes beats pairs on a 3x3 layer (bench/cortex_m.md)


def rowpairs_candidates(g: Graph, chosen: dict[int, str], flash_bytes: int | None = None) -> tuple[list[int], int | None]:
    """The int8 DEPTHWISE_CONV_2D layers not already given a variant where "rowpairs" fits and leads
    (depthwise.rowpairs_leads), in the model's order while its stream (its weights as int16 pairs of
    rows, twice over at stride 1: rowpairs.stream_bytes) keeps the constants within half the board's
    flash (flash_left); with the flash then left (None: unknown). Its ring's cost in the arena,
    scratch_layouts.rowpairs_within decides."""
    left = flash_left(g, chosen, flash_bytes) if flash_bytes else None
    out = []
    for op in g.operators:
        if op.index in chosen or op.kind != "DEPTHWISE_CONV_2D" or "rowpairs" not in variants(op, g):
            continue
        if not depthwise.rowpairs_leads(_geometry_of(op, g)):
            continue
        extra = rowpairs_flash(op, g, "rowpairs")
        if left is not None:
            if extra > left:
                continue
            left -= extra
        out.append(op.index)
    return out, left


def _geometry_of(op: Operator, g: Graph) -> dict:
    from .ops.conv import _geometry  # (conv imports this package's ops)

    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    return _geometry(op, x, y, w.shape[1], w.shape[2])


def rowpairs_flash(op: Operator, g: Graph, variant: str) -> int:
    """The flash a rowpairs variant's stream (rowpairs.stream_bytes: a still ring's twice the other's)
    adds beyond the layer's int8 weights and int32 bias."""
    from .ops import rowpairs

    p = {**_geometry_of(op, g), "still": variant == "rowpairs_still"}
    return rowpairs.stream_bytes(p) - g.tensor(op.inputs[1]).size - 4 * g.tensor(op.outputs[0]).shape[3]


def flash_left(g: Graph, chosen: dict[int, str], flash_bytes: int) -> int:
    """Half the board's flash less the model's constants and what the chosen variants add to them
    (flash_defaults' accounting: a widened layer one byte a weight, an ADD table ADD_TABLE_BYTES)."""
    left = flash_bytes // 2 - sum(t.nbytes for t in g.tensors if t.is_const)
    for i, v in chosen.items():
        op = g.operators[i]
        if v == "tables":
            left -= ADD_TABLE_BYTES
        elif v == widened_variant(op, g):
            left -= g.tensor(op.inputs[1]).size
    return left


def planes_candidates(g: Graph, chosen: dict[int, str]) -> list[int]:
    """The int8 DEPTHWISE_CONV_2D layers at depth multiplier 1 not already given a variant where
    "planes" beats "pairs" (depthwise.planes_beats_pairs: wide 3x3 stride-1 rows, dilation, other
    kernel widths), at the cost of its ring of int16 rows in the arena (scratch_layouts.planes_within
    decides)."""
    return [op.index for op in g.operators if op.index not in chosen and op.kind == "DEPTHWISE_CONV_2D"
            and "planes" in variants(op, g) and planes_beats_pairs(op, g, PLANES_MIN_WIDTH)]


def choose(g: Graph, log: Log, cpu: str | None) -> dict[int, str]:
    """Operator index -> the variant the log names for it (only operators that have that variant)."""
    out = {}
    for op in g.operators:
        names = variants(op, g)
        if not names:
            continue
        v = log.lookup(signature(op, g), cpu)
        if v is not None and v in names:
            out[op.index] = v
    return out


def apply(g: Graph, chosen: dict[int, str]) -> None:
    """Set op.variant before prepare; an unknown variant is an error naming the operator."""
    for index, v in chosen.items():
        op = g.operators[index]
        names = variants(op, g)
        if v not in names:
            raise KilnError(f"{op.label}: no kernel variant '{v}' (it has: {', '.join(names) or 'none'})")
        op.variant = v


def from_source_map(source_map: dict) -> dict[int, str]:
    """Operator index -> kernel variant, as a generated <name>.kiln.json records them (adapters
    re-plan the graph with the same variants as the sources they build)."""
    return {o["index"]: o["variant"] for o in source_map.get("operators", []) if o.get("variant")}
