"""Resource variables and CALL_ONCE: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE.

passes/variables.py resolves every handle to a place in the state area at compile time, so a
VAR_HANDLE is no code, a read or an assignment is one copy between the arena and the state, and
CALL_ONCE runs its subgraph's operators (compiled like the main graph's, with their own piece of
the arena as scratch) the first time the model is invoked after a reset.
"""
from __future__ import annotations

from .base import arity, register, require

VALUE_TYPES = ("int8", "int16", "int32", "int64", "uint8", "bool", "float32")


def _variable(op, g, k: int = 0):
    """The variable behind the operator's input k (a resource tensor from a VAR_HANDLE)."""
    i = op.inputs[k] if len(op.inputs) > k else -1
    v = g.resources.get(i)
    require(op, v is not None, f"input {k} is not a resource from a VAR_HANDLE of this subgraph")
    return v


def check_var_handle(op, g):
    arity(op, 0)
    (h,) = g.op_outputs(op)
    require(op, h.dtype == "resource", f"the output has type {h.dtype.upper()}, not RESOURCE")
    require(op, bool(op.options.get("shared_name")), "the variable has no shared name")


def check_read(op, g):
    arity(op, 1)
    v = _variable(op, g)
    (y,) = g.op_outputs(op)
    require(op, bool(v.dtype), f"reads {v.label}, which no ASSIGN_VARIABLE of the model ever assigns "
            "(TFLite Micro would read an unallocated buffer)")
    require(op, y.dtype == v.dtype and list(y.shape) == v.shape,
            f"the output {y.describe()} differs from {v.label}, a {v.dtype}[{'x'.join(map(str, v.shape))}]")


def check_assign(op, g):
    arity(op, 2, 0)
    v = _variable(op, g)
    value = g.op_inputs(op)[1]
    require(op, value is not None and value.dtype in VALUE_TYPES,
            f"the value has type {value.dtype.upper() if value is not None else 'NONE'} "
            f"(supported: {', '.join(t.upper() for t in VALUE_TYPES)})")
    require(op, value.dtype == v.dtype and list(value.shape) == v.shape,
            f"assigns a {value.describe()} to {v.label}, which its first assignment made a "
            f"{v.dtype}[{'x'.join(map(str, v.shape))}]")


def check_call_once(op, g):
    arity(op, 0, 0)
    k = op.options.get("init_subgraph_index")
    n = len(g.subgraphs)
    require(op, isinstance(k, int) and 0 < k < n,
            f"init_subgraph_index {k} is out of range (the model's subgraphs are 0..{n - 1}, 0 the main one)")
    sub = g.subgraphs[k]
    require(op, k != g.index and not sub.inputs and not sub.outputs,
            f"subgraph {k} has inputs or outputs (or is this one): CALL_ONCE runs one that has neither")


def _nothing(op, g):
    pass


def prepare_call_once(op, g):
    sub = g.subgraphs[op.options["init_subgraph_index"]]
    op.params["subgraph"] = sub.index
    op.scratch_bytes = sub.arena_bytes  # the subgraph's arena is the operator's scratch


def emit_var_handle(op, g, c):
    v = g.resources[op.outputs[0]]
    return [f"/* {v.label}: state bytes {v.offset}..{v.offset + v.nbytes}, resolved at compile time: nothing to do */"]


def emit_read(op, g, c):
    v = _variable(op, g)
    (y,) = g.op_outputs(op)
    return [f"memcpy({c.ptr(y)}, state + {v.offset}, {v.nbytes}u); /* {v.label} */"]


def emit_assign(op, g, c):
    v = _variable(op, g)
    value = g.op_inputs(op)[1]
    return [f"memcpy(state + {v.offset}, {c.ptr(value)}, {v.nbytes}u); /* {v.label} */"]


def emit_call_once(op, g, c):
    sub = g.subgraphs[op.params["subgraph"]]
    base = c.scratch(op).replace("(int8_t *)", "(uint8_t *)") if op.scratch_bytes else "arena"
    flag = op.params["flag"]
    calls = [f"    {line}" for line in c.subgraph_calls(sub, base)]
    return ([f"/* subgraph {sub.index} runs once, at the first invocation after a reset */",
             f"if (state[{flag}] == 0u) {{"] + calls + [f"    state[{flag}] = 1u;", "}"])


register("VAR_HANDLE", check_var_handle, _nothing, emit_var_handle, types=VALUE_TYPES,
         notes="resolved at compile time by container and shared name, as TFLite Micro does")
register("READ_VARIABLE", check_read, _nothing, emit_read, types=VALUE_TYPES,
         notes="one copy from the state area")
register("ASSIGN_VARIABLE", check_assign, _nothing, emit_assign, types=VALUE_TYPES,
         notes="one copy into the state area; the first assignment fixes type and shape")
register("CALL_ONCE", check_call_once, prepare_call_once, emit_call_once, types=VALUE_TYPES,
         notes="its subgraph (any of these operators, any types) compiled like the main one, run at the first "
               "invocation after a reset")
