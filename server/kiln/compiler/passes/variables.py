"""Resource variables and the state area.

TFLite Micro keeps a resource variable per (container, shared name) pair: VAR_HANDLE finds or
creates it, the first ASSIGN_VARIABLE (in preparation order: subgraph by subgraph, operator by
operator) gives it its bytes and fills them with the low byte of the assigned tensor's zero
point, READ_VARIABLE copies it out, ASSIGN_VARIABLE copies into it. Kiln resolves all of that at
compile time: each variable is a fixed place in the model's state area, a buffer of its own
beside the scratch arena that keeps its contents from one invocation to the next (the arena may
be shared with other work between invocations; the state may not). The state area starts with
one word per CALL_ONCE operator (0 until its subgraph has run), then the variables, then the
variable tensors, then the state operators keep for themselves, each aligned to 8 bytes.

This pass never raises: what it cannot resolve is reported by the operators' checks
(ops/variables.py), so that `kiln inspect` lists every problem.
"""
from __future__ import annotations

from ..ir import DTYPES, Graph, Variable

FLAG_BYTES = 4


def _name(v) -> str:
    if v is None:
        return ""
    from ..importer import text

    return text(v) if isinstance(v, bytes) else text(str(v).encode())


# operator kind -> the options naming the subgraphs it runs
SUBGRAPH_OPTIONS = {"CALL_ONCE": ("init_subgraph_index",), "IF": ("then_subgraph_index", "else_subgraph_index"),
                    "WHILE": ("cond_subgraph_index", "body_subgraph_index")}


def subgraphs_of(op) -> list[int]:
    return [op.options.get(k) for k in SUBGRAPH_OPTIONS.get(op.kind, ())]


def called(g: Graph) -> list[Graph]:
    """The subgraphs the main graph runs (CALL_ONCE, IF, WHILE), directly or through another one:
    valid indices, each once, breadth first (so reversed, a subgraph comes before its callers)."""
    out: list[Graph] = []
    todo = [g]
    while todo:
        for op in todo.pop(0).operators:
            for k in subgraphs_of(op):
                if isinstance(k, int) and 0 < k < len(g.subgraphs) and g.subgraphs[k] not in out:
                    out.append(g.subgraphs[k])
                    todo.append(g.subgraphs[k])
    return out


def run(g: Graph) -> None:
    """Fills g.variables, every graph's resources (resource tensor -> variable), each CALL_ONCE's
    flag offset and the state layout (g.state_bytes)."""
    graphs = [g] + called(g)
    variables: list[Variable] = []
    handles: list[tuple[Graph, int, str, str]] = []
    for sg in sorted(graphs, key=lambda s: s.index):  # TFLite Micro prepares subgraphs in index order
        sg.resources = {}
        for op in sg.operators:
            if op.kind == "VAR_HANDLE" and len(op.outputs) == 1:
                handles.append((sg, op.outputs[0], _name(op.options.get("container")),
                                _name(op.options.get("shared_name"))))
    for sg, t, container, shared in handles:
        found = next((v for v in variables if (not container or container == v.container)
                      and v.shared_name == shared), None)
        if found is None:
            found = Variable(container, shared, "", [], 0)
            variables.append(found)
        sg.resources[t] = found
    for sg in sorted(graphs, key=lambda s: s.index):
        for op in sg.operators:
            if op.kind != "ASSIGN_VARIABLE" or len(op.inputs) != 2:
                continue
            v = sg.resources.get(op.inputs[0])
            value = sg.tensor(op.inputs[1]) if 0 <= op.inputs[1] < len(sg.tensors) else None
            if v is None or value is None or v.dtype or value.dtype not in DTYPES:
                continue
            v.dtype, v.shape = value.dtype, list(value.shape)
            zp = value.quant.zero_point[0] if value.quant is not None else 0
            v.default = zp & 0xFF  # TFLite Micro memsets the buffer with (int8_t)zero_point
    flags = 0
    for sg in graphs:
        for op in sg.operators:
            if op.kind == "CALL_ONCE":
                op.params["flag"] = flags
                flags += FLAG_BYTES
    g.flag_bytes = flags
    at = flags
    for v in variables:
        if v.dtype:
            at = (at + 7) // 8 * 8
            v.offset = at
            at += v.nbytes
    g.variables = variables
    # variable tensors (recurrent operators' state), of every graph that runs
    g.variable_tensors = []
    for sg in graphs:
        used = {i for op in sg.operators for i in op.inputs + op.outputs}
        for t in sg.tensors:
            if t.variable and t.index in used and not t.is_const and t.dtype in DTYPES:
                at = (at + 7) // 8 * 8
                t.state_offset = at
                at += t.nbytes
                g.variable_tensors.append(t)
    g.state_bytes = at


def place_operator_state(g: Graph) -> None:
    """After preparation: the state operators keep for themselves (op.state_bytes, e.g. a framer's
    pending samples), each aligned to 8 bytes after the variables; reset zeroes it, so each kernel
    encodes its starting state as zeros."""
    at = g.state_bytes
    g.operator_state = []
    for sg in [g] + called(g):
        for op in sg.operators:
            if op.state_bytes > 0:
                at = (at + 7) // 8 * 8
                op.state_offset = at
                at += op.state_bytes
                g.operator_state.append(op)
    g.state_bytes = at
