"""The walker: turns a planned graph into C source files.

Files (all carry Kiln's header with a hash of their contents, see kiln.compiler.workspace):
  <name>.h          the entry points and typed input/output structs
  <name>.c          one function per operator, the entry points, the model descriptor
  <name>_weights.h  constant tensors and per-operator tables as static const arrays (flash)
  kiln_*.h, kiln_*.c  the runtime kernels the generated code calls (copied from runtime_c/)
  <name>.kiln.json  the source map: operator -> function and line range, for the editor
"""
from __future__ import annotations

import json
import re

import numpy as np

from ...paths import RUNTIME as RUNTIME_DIR
from ..ir import DTYPES, QUANTIZED, Graph, Tensor
from ..ir import function_name as ir_function_name
from ..ops import REGISTRY
from . import buildfiles, designate, literals, taps
from .runtime_files import runtime_sources


class Emitter:
    """What an operator's emit step may ask for: tensor pointers, constant arrays, literals."""

    def __init__(self, g: Graph, parent: "Emitter | None" = None):
        self.g = g
        # a subgraph's emitter shares its parent's constant arrays (one weights header)
        self.arrays: list[tuple[str, str, np.ndarray, str]] = parent.arrays if parent else []  # (name, ctype, data, comment)
        self._names: set[str] = parent._names if parent else set()
        self._const_names: dict[int, str] = {}
        self.functions: list[str] = parent.functions if parent else []  # subgraphs' operator functions
        self.children: dict[int, Emitter] = parent.children if parent else {}  # subgraph -> its emitter
        self.rendered: set[int] = parent.rendered if parent else set()  # subgraphs whose functions exist
        self.stateful = g.state_bytes > 0 if parent is None else parent.stateful

    def subgraph_calls(self, sub: Graph, base: str) -> list[str]:
        """Renders the subgraph's operator functions once (before its callers') and returns the
        statements calling them, in order, on the arena at `base`."""
        if sub.index not in self.rendered:
            self.rendered.add(sub.index)
            child = self._child(sub)
            bodies = [(op, _body(op, sub, child)) for op in sub.operators]
            self.functions += _functions(sub, bodies, self.stateful)[0]
        args = "(" + base + (", state)" if self.stateful else ")")
        return [f"{function_name(op)}{args};" for op in sub.operators]

    def _child(self, sub: Graph) -> "Emitter":
        """The emitter of a subgraph (one each: its constants are named once)."""
        if sub.index not in self.children:
            self.children[sub.index] = Emitter(sub, self)
        return self.children[sub.index]

    def in_subgraph(self, sub: Graph, t: Tensor, base: str) -> str:
        """A pointer to tensor t of subgraph `sub` whose arena starts at `base`."""
        if t.is_const:
            return self._child(sub).const(t)
        if t.variable:
            return f"({DTYPES[t.dtype][1]} *)(state + {t.state_offset})"
        return f"({DTYPES[t.dtype][1]} *)({base} + {t.offset})"

    def array(self, name: str, data, ctype: str, comment: str) -> str:
        name = literals.identifier(name, self._names, "table")
        self.arrays.append((name, ctype, np.asarray(data), comment))
        return name

    def const(self, t: Tensor) -> str:
        if t.index not in self._const_names:
            comment = f"tensor {t.index} '{literals.short_name(t.name)}': {t.describe()}"
            self._const_names[t.index] = self.array(f"tensor{t.index}", t.data, DTYPES[t.dtype][1], comment)
        return self._const_names[t.index]

    def ptr(self, t: Tensor) -> str:
        if t.is_const:
            return self.const(t)
        if t.variable:
            return f"({DTYPES[t.dtype][1]} *)(state + {t.state_offset})"
        return f"({DTYPES[t.dtype][1]} *)(arena + {t.offset})"

    @staticmethod
    def scratch(op) -> str:
        return f"(int8_t *)(arena + {op.scratch_offset})"

    @staticmethod
    def state(op, ctype: str = "uint8_t") -> str:
        """The operator's own state (op.state_bytes, in the state area)."""
        return f"({ctype} *)(state + {op.state_offset})"

    @staticmethod
    def f32(x: float) -> str:
        return literals.f32(x)


def _where(t: Tensor) -> str:
    if t.is_const:
        return "const"
    if t.dtype == "resource":
        return "resource"
    return f"state+{t.state_offset}" if t.variable else f"arena+{t.offset}"


def _op_comment(g: Graph, op) -> list[str]:
    act = op.params.get("act")
    head = (f"Subgraph {op.subgraph}, operator" if op.subgraph else "Operator") + f" {op.index}: {op.kind}"
    head += f" (fused {act})" if act and act != "NONE" else ""
    lines = [f"/* {head}"]
    roles = {"FULLY_CONNECTED": ["input", "weights", "bias"]}.get(op.kind, [])
    for k, t in enumerate(g.op_inputs(op)):
        if t is None:
            continue
        role = roles[k] if k < len(roles) else f"input {k}"
        where = _where(t)
        lines.append(f" *   {role:<8} {t.describe()}  [{where}]  '{literals.short_name(t.name)}'")
    for t in g.op_outputs(op):
        where = _where(t)
        lines.append(f" *   {'output':<8} {t.describe()}  [{where}]  '{literals.short_name(t.name)}'")
    lines.append(f" *   MACs: {op.macs:,}")
    lines.append(" */")
    return lines


def _tensor_names(g: Graph, op) -> list[dict]:
    """The source map's record of an operator's tensors: the full names the comments shorten (up to
    2,000 characters: a hostile model's names run to millions), for the editor's hover."""
    ins = [("input " + str(k), t) for k, t in enumerate(g.op_inputs(op)) if t is not None]
    outs = [("output", t) for t in g.op_outputs(op)]
    return [{"role": role, "index": t.index, "name": literals.shorten(t.name, 2000), "type": t.describe()}
            for role, t in ins + outs]


def function_name(op) -> str:
    return ir_function_name(op.index, op.kind, op.subgraph)


def _body(op, g: Graph, em: Emitter) -> list[str]:
    if op.folded:
        outs = ", ".join(f"tensor {t.index}" for t in g.op_outputs(op))
        return [f"/* Folded: every input is constant, so Kiln computed {outs} at compile time (exactly as",
                " * TFLite Micro does) and the readers use the constant from the weights header. */"]
    return designate.designate("\n".join(REGISTRY[op.kind].emit(op, g, em))).split("\n")


def _functions(g: Graph, bodies, stateful: bool) -> tuple[list[str], list[tuple]]:
    """One commented static function per operator; and (op, first line, last line) of each,
    counted from the first returned line."""
    c: list[str] = []
    lines_map = []
    for op, body in bodies:
        c += _op_comment(g, op)
        start = len(c) + 1
        c.append(f"static void {function_name(op)}(uint8_t *arena{', uint8_t *state' if stateful else ''})")
        c.append("{")
        code = [re.sub(r"/\*.*?\*/", "", ln) for ln in body]  # comments may name them without using them
        if not any("arena" in ln for ln in code):
            c.append("    (void)arena;")
        if stateful and not any(re.search(r"\bstate\b", ln) for ln in code):
            c.append("    (void)state;")
        c += ["    " + ln for ln in body]
        c.append("}")
        lines_map.append((op, start, len(c)))
        c.append("")
    return c, lines_map


def _io_struct(g: Graph, ids: list[int], kind: str, prefix: str) -> tuple[str, list[str]]:
    taken: set[str] = set()
    fields, names = [], []
    for k, i in enumerate(ids):
        t = g.tensor(i)
        nm = literals.identifier(t.name, taken, f"{kind}{k}")
        names.append(nm)
        fields.append(f"    {DTYPES[t.dtype][1]} {nm}[{max(t.size, 1)}]; /* {t.describe()} */")
    return "typedef struct {\n" + "\n".join(fields) + f"\n}} {prefix}_{kind}_t;", names


def _tensor_info(t: Tensor) -> str:
    dims = list(t.shape)[:6] + [0] * (6 - min(len(t.shape), 6))
    dtype = f"KILN_{t.dtype.upper()}"
    quantized = t.quant is not None and t.dtype in QUANTIZED
    scale = literals.f32(t.scale) if quantized else "0.0f"
    zp = t.zero_point if quantized else 0
    return (f'{{{literals.c_string(literals.shorten(t.name))}, {dtype}, {len(t.shape)}, {{{", ".join(map(str, dims))}}}, {t.nbytes}u, {scale}, {zp}}}')


def _api(g: Graph) -> str:
    n, N = g.name, g.name.upper()
    if not g.state_bytes:
        return (f"int {n}_invoke(const {n}_input_t *input, {n}_output_t *output);\n"
                f"int {n}_invoke_with_arena(const {n}_input_t *input, {n}_output_t *output, void *arena, "
                "size_t arena_bytes);")
    return f"""/* The model keeps state between invocations ({N}_STATE_BYTES bytes: variables, recurrent and
 * signal operators' state, CALL_ONCE flags), apart from the arena, which may be shared with other work in between.
 * {n}_invoke() uses a static state that {n}_reset() puts back to its start (it starts there).
 * With your own buffers, call {n}_reset_state() on the state (8-byte aligned, at least
 * {N}_STATE_BYTES) before its first invocation and whenever a sequence starts anew. */
int {n}_invoke(const {n}_input_t *input, {n}_output_t *output);
void {n}_reset(void);
int {n}_invoke_with_arena(const {n}_input_t *input, {n}_output_t *output, void *arena, size_t arena_bytes,
                          void *state, size_t state_bytes);
void {n}_reset_state(void *state);"""


def _run_function(g: Graph, stateful: bool, copy_in: str, calls: str, copy_out: str) -> str:
    """The function running every operator in order (run, or run_with_state), and the static arena."""
    N = g.name.upper()
    name, state = ("run_with_state", "uint8_t *state, ") if stateful else ("run", "")
    pad = " " * (len(name) + 12)
    return f"""/* Runs every operator in order. Inputs are copied into the arena first and outputs out of it
 * last, so the caller's buffers may live anywhere{"; the state carries over to the next call" if stateful else ""}. */
static int {name}(const void *const *inputs, void *const *outputs, void *arena_ptr, size_t arena_bytes,
{pad}{state}uint32_t *op_ticks)
{{
    uint8_t *arena = (uint8_t *)arena_ptr;
    if (arena_bytes < {N}_ARENA_BYTES) return KILN_ERR_ARENA_TOO_SMALL;
    if (((size_t)arena & 7u) != 0u) return KILN_ERR_ARENA_MISALIGNED;
    (void)op_ticks;
{copy_in}
{calls}
{copy_out}
    return KILN_OK;
}}

static union {{
    uint8_t bytes[{N}_ARENA_BYTES > 0u ? {N}_ARENA_BYTES : 1u];
    uint64_t align;
}} static_arena;"""


def _stateful_entry_points(g: Graph, copy_in: str, calls: str, copy_out: str, io_arrays: str) -> str:
    n, N = g.name, g.name.upper()
    resets = [f"    memset(state, 0, {g.flag_bytes}u); /* no CALL_ONCE subgraph has run */"] if g.flag_bytes else []
    resets += [f"    memset(state + {v.offset}, 0x{v.default:02x}, {v.nbytes}u); /* {literals.comment(v.label)}: "
               f"{v.dtype}[{'x'.join(map(str, v.shape)) or 'scalar'}] */" for v in g.variables if v.dtype]
    for t in g.variable_tensors:  # TFLite Micro resets them to an int8 zero point, others to 0
        fill = t.zero_point & 0xFF if t.dtype == "int8" and t.quant is not None else 0
        resets.append(f"    memset(state + {t.state_offset}, 0x{fill:02x}, {t.nbytes}u); /* variable tensor {t.index} "
                      f"'{literals.short_name(t.name)}': {t.describe()} */")
    for op in g.operator_state:
        resets.append(f"    memset(state + {op.state_offset}, 0, {op.state_bytes}u); /* {literals.comment(op.label)}'s "
                      "own state */")
    return f"""/* The state's starting contents: each variable filled with the byte TFLite Micro fills it with
 * (its first assigned tensor's zero point), every CALL_ONCE flag cleared, operators' own state zeroed. */
static void reset_state(uint8_t *state)
{{
{chr(10).join(resets)}
}}

{_run_function(g, True, copy_in, calls, copy_out)}

static union {{
    uint8_t bytes[{N}_STATE_BYTES];
    uint64_t align;
}} static_state;
static bool static_state_ready;

void {n}_reset(void)
{{
    reset_state(static_state.bytes);
    static_state_ready = true;
}}

void {n}_reset_state(void *state)
{{
    reset_state((uint8_t *)state);
}}

/* The descriptor's entry point (runners, the RPC server): the static state. */
static int run(const void *const *inputs, void *const *outputs, void *arena_ptr, size_t arena_bytes,
               uint32_t *op_ticks)
{{
    if (!static_state_ready) {n}_reset();
    return run_with_state(inputs, outputs, arena_ptr, arena_bytes, static_state.bytes, op_ticks);
}}

int {n}_invoke_with_arena(const {n}_input_t *input, {n}_output_t *output, void *arena, size_t arena_bytes,
                          void *state, size_t state_bytes)
{{
{io_arrays}
    if (state_bytes < {N}_STATE_BYTES) return KILN_ERR_STATE_TOO_SMALL;
    if (((size_t)state & 7u) != 0u) return KILN_ERR_STATE_MISALIGNED;
    return run_with_state(inputs, outputs, arena, arena_bytes, (uint8_t *)state, NULL);
}}

int {n}_invoke(const {n}_input_t *input, {n}_output_t *output)
{{
{io_arrays}
    return run(inputs, outputs, static_arena.bytes, sizeof static_arena.bytes, NULL);
}}"""


def render(g: Graph, source_name: str, line_offset: int = 0) -> tuple[dict[str, str], int]:
    """All generated files, name -> text (without the Kiln header, which the writer adds), and
    the bytes of constant data they put in flash."""
    n = g.name
    N = n.upper()
    em = Emitter(g)
    bodies = [(op, _body(op, g, em)) for op in g.operators]

    in_struct, in_names = _io_struct(g, g.inputs, "input", n)
    out_struct, out_names = _io_struct(g, g.outputs, "output", n)
    macs = sum(op.macs for op in g.operators)

    header = f"""/* {n}: compiled by Kiln from {literals.comment(source_name)}.
 * {len(g.operators)} operators, {macs:,} MACs, {g.arena_bytes:,} bytes of arena.
 * Call {n}_invoke() (static arena) or {n}_invoke_with_arena() (your own 8-byte aligned buffer
 * of at least {N}_ARENA_BYTES). Both return KILN_OK (0) or a negative KILN_ERR_* code. */
#ifndef {N}_KILN_H
#define {N}_KILN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln_model.h"

#define {N}_ARENA_BYTES {g.arena_bytes}u
#define {N}_STATE_BYTES {g.state_bytes}u
#define {N}_OP_COUNT {len(g.operators)}u

{in_struct}

{out_struct}

{_api(g)}

/* The generic descriptor (for runners and the RPC server). */
extern const kiln_model_t {n}_model;

#endif
"""

    weights = [f"/* Constant data of {n}: weights, biases and per-operator tables, kept in flash. */",
               f"#ifndef {N}_WEIGHTS_KILN_H", f"#define {N}_WEIGHTS_KILN_H", "", "#include <stdbool.h>", "#include <stdint.h>", ""]
    for name, ctype, data, comment in em.arrays:
        weights.append(f"/* {literals.comment(comment)} */")
        weights.append(f"static const {ctype} {name}[{max(data.size, 1)}] = {{")
        weights.append(literals.array_body(data, ctype) if data.size else "    0")
        weights.append("};")
        weights.append("")
    weights.append("#endif")

    c = [f'#include "{n}.h"', "", "#include <string.h>", "", '#include "kiln_runtime.h"']
    if any("INFINITY" in ln or "NAN" in ln for _, b in bodies for ln in b):
        c.insert(3, "#include <math.h>")
    c += [f'#include "{n}_weights.h"', ""]
    c += em.functions  # the subgraphs' operators (CALL_ONCE), then the main graph's
    funcs, spans = _functions(g, bodies, em.stateful)
    lines_map = [(op, s + len(c), e + len(c)) for op, s, e in spans]
    c += funcs

    def infos(ids):
        return ",\n".join("    " + _tensor_info(g.tensor(i)) for i in ids)

    copy_in = "\n".join(f"    memcpy(arena + {g.tensor(i).offset}, inputs[{k}], {g.tensor(i).nbytes}u);"
                        for k, i in enumerate(g.inputs))
    copy_out = "\n".join(f"    memcpy(outputs[{k}], arena + {g.tensor(i).offset}, {g.tensor(i).nbytes}u);"
                         for k, i in enumerate(g.outputs))
    st = ", state" if em.stateful else ""
    calls = "\n".join(f"    KILN_PROFILE_OP(op_ticks, {op.index}, {function_name(op)}(arena{st}));" for op in g.operators)
    sha = bytes.fromhex(g.source_sha256) if g.source_sha256 else bytes(32)
    sha_c = ", ".join(f"0x{b:02x}" for b in sha)
    op_names = ", ".join(f'"{function_name(op)}"' for op in g.operators)
    fill_ptrs = "\n".join([f"    inputs[{k}] = input->{nm};" for k, nm in enumerate(in_names)]
                          + [f"    outputs[{k}] = output->{nm};" for k, nm in enumerate(out_names)])
    io_arrays = f"""    const void *inputs[{len(g.inputs)}];
    void *outputs[{len(g.outputs)}];
{fill_ptrs}"""
    if em.stateful:
        c.append(_stateful_entry_points(g, copy_in, calls, copy_out, io_arrays))
    else:
        c.append(f"""{_run_function(g, False, copy_in, calls, copy_out)}

int {n}_invoke_with_arena(const {n}_input_t *input, {n}_output_t *output, void *arena, size_t arena_bytes)
{{
{io_arrays}
    return run(inputs, outputs, arena, arena_bytes, NULL);
}}

int {n}_invoke(const {n}_input_t *input, {n}_output_t *output)
{{
    return {n}_invoke_with_arena(input, output, static_arena.bytes, sizeof static_arena.bytes);
}}""")
    tap_table = taps.taps(g)
    c.append(taps.c_block(g, tap_table, em.stateful, copy_in, copy_out))
    descriptor = designate.designate(f"""
static const kiln_tensor_info_t input_info[] = {{
{infos(g.inputs)}
}};

static const kiln_tensor_info_t output_info[] = {{
{infos(g.outputs)}
}};

static const char *const op_names[] = {{{op_names}}};

static const uint8_t model_sha256[32] = {{{sha_c}}};

const kiln_model_t {n}_model = {{
    "{n}", model_sha256, {N}_ARENA_BYTES, {N}_OP_COUNT, {len(g.inputs)}u, {len(g.outputs)}u,
    input_info, output_info, op_names, run, {N}_STATE_BYTES,
    {f"{n}_reset, static_state.bytes" if em.stateful else "NULL, NULL"}
}};""")
    head, _, tail = descriptor.rpartition("\n};")  # the model descriptor's end: its tap fields per build
    c.append(head + "\n" + taps.descriptor_fields(len(tap_table)) + "\n};" + tail)

    source_map = {
        "model": n, "source": source_name, "source_sha256": g.source_sha256, "file": f"{n}.c",
        "operators": [{"index": op.index, "kind": op.kind, "function": function_name(op),
                       "line_start": s + line_offset, "line_end": e + line_offset, "macs": op.macs,
                       "tensors": _tensor_names(g, op),
                       **({"variant": op.variant} if op.variant else {})} for op, s, e in lines_map],
    }
    files = {f"{n}.h": header, f"{n}.c": "\n".join(c) + "\n", f"{n}_weights.h": "\n".join(weights) + "\n"}
    kernels = runtime_sources(files[f"{n}.c"])
    for src in sorted(RUNTIME_DIR.glob("include/*.h")) + kernels:
        files[src.name] = src.read_text()
    files["CMakeLists.txt"] = buildfiles.cmake(n, [src.name for src in kernels])
    files["kiln.mk"] = buildfiles.make(n, [src.name for src in kernels])
    files[f"{n}.kiln.json"] = json.dumps(source_map, indent=1) + "\n"
    return files, sum(data.nbytes for _, _, data, _ in em.arrays)
