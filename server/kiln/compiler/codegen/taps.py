"""Tensor taps: where every operator's outputs are while the model runs, and the step function that
runs a few operators at a time, so that `kiln diff` can read each operator's outputs on a device.

The planner reuses arena memory, so an output is only there until a later operator overwrites it.
Rather than copying every output out as it is produced (as much RAM again as all intermediates
together, which no microcontroller has), a tap build runs the model one operator at a time
(run_ops(first, last), the arena kept between calls) and the host reads that operator's outputs
before the next step: one inference's work in all, the state advanced once.

Generated C carries it only under KILN_TAPS (kiln_model.h: implied by KILN_PROFILE, the build the
RPC firmware uses), so normal builds have none of it. The list here is the single order both sides
use: the C table and the host's reading of it (GET_TENSOR's index is a position in this list).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, function_name
from . import literals

ARENA, STATE = 0, 1


@dataclass(frozen=True)
class Tap:
    op: int  # the operator (position in g.operators) that writes it
    tensor: int  # the tensor index, as in the .tflite
    region: int  # ARENA or STATE
    offset: int
    nbytes: int


def taps(g: Graph) -> list[Tap]:
    """Every output the main graph's operators write to memory that the host can read, in order."""
    out = []
    for op in g.operators:
        for i in op.outputs:
            t = g.tensor(i)
            if t.dtype == "resource" or t.is_const or t.nbytes == 0:
                continue
            if t.variable:
                out.append(Tap(op.index, i, STATE, t.state_offset, t.nbytes))
            elif t.offset >= 0:
                out.append(Tap(op.index, i, ARENA, t.offset, t.nbytes))
    return out


def c_block(g: Graph, table: list[Tap], stateful: bool, copy_in: str, copy_out: str) -> str:
    """The tap table (taps(g)) and run_ops, inside #ifdef KILN_TAPS."""
    n, N = g.name, g.name.upper()
    rows = "\n".join(f"    {{.op = {tp.op}u, .region = {tp.region}u, .offset = {tp.offset}u, .bytes = {tp.nbytes}u}}, "
                      f"/* {literals.comment(literals.short_name(g.tensor(tp.tensor).name))} */" for tp in table)
    state_param = ", uint8_t *state" if stateful else ""
    steps = ", ".join(function_name(op.index, op.kind) for op in g.operators)
    indent = lambda text: "\n".join("    " + ln if ln else ln for ln in text.splitlines())  # noqa: E731
    prelude = f"    if (!static_state_ready) {n}_reset();\n" if stateful else ""
    call = "steps[i](arena, static_state.bytes)" if stateful else "steps[i](arena)"
    return f"""#ifdef KILN_TAPS
/* Tensor taps (kiln diff): where each operator's outputs are, and the operators run a few at a time
 * on the arena{" and state" if stateful else ""} as the earlier ones left them. Only in profiling builds. */
{"static const kiln_tap_t taps[] = {" + chr(10) + rows + chr(10) + "};" if table else "/* no operator output to tap */"}

static void (*const steps[])(uint8_t *arena{state_param}) = {{{steps}}};

static int run_ops(const void *const *inputs, void *const *outputs, void *arena_ptr, size_t arena_bytes,
                   uint32_t first, uint32_t last)
{{
    uint8_t *arena = (uint8_t *)arena_ptr;
    uint32_t i;
    (void)inputs;
    (void)outputs;
    if (arena_bytes < {N}_ARENA_BYTES) return KILN_ERR_ARENA_TOO_SMALL;
    if (((size_t)arena & 7u) != 0u) return KILN_ERR_ARENA_MISALIGNED;
{prelude}    if (first == 0u) {{
{indent(copy_in)}
    }}
    for (i = first; i <= last && i < {N}_OP_COUNT; ++i) {call};
    if (last + 1u >= {N}_OP_COUNT) {{
{indent(copy_out)}
    }}
    return KILN_OK;
}}
#endif"""


def descriptor_fields(count: int) -> str:
    """The descriptor's run_ops, tap_count and taps (count of them), for either kind of build."""
    return f"""#ifdef KILN_TAPS
    .run_ops = run_ops, .tap_count = {count}u, .taps = {"taps" if count else "NULL"},
#else
    .run_ops = NULL, .tap_count = 0u, .taps = NULL,
#endif"""
