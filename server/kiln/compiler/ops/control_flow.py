"""Control flow: IF and WHILE run other subgraphs of the model, compiled like the main one.

As TFLite Micro does: IF copies its inputs after the condition into the chosen branch's inputs,
runs it, and copies its outputs out; WHILE copies its inputs into the condition subgraph's and into
its own outputs, then while the condition's boolean output is true copies its outputs into the
body's inputs, runs the body, copies the body's outputs back into its own, and runs the condition
on them again. Every subgraph of one operator runs in the operator's scratch, one after the other,
so they share it. Shapes are static: a body must give back the shapes and types it was given.
(CALL_ONCE is in ops/variables.py.)
"""
from __future__ import annotations

from ..passes.variables import called, subgraphs_of
from .base import register, require


def _subgraph(op, g, key: str):
    k = op.options.get(key)
    n = len(g.subgraphs)
    require(op, isinstance(k, int) and 0 < k < n and k != g.index,
            f"{key} {k} is out of range (the model's subgraphs are 0..{n - 1}, 0 the main one)")
    sub = g.subgraphs[k]
    require(op, g.index not in [s.index for s in called(sub)] and g.index != k,
            f"subgraph {k} runs subgraph {g.index} again (recursion): TFLite Micro would not end")
    return sub


def _same(op, what: str, a, b):
    require(op, a.dtype == b.dtype and list(a.shape) == list(b.shape),
            f"{what} is a {b.describe()} where {a.describe()} is expected: Kiln needs static shapes and types")


def check_if(op, g):
    require(op, len(op.inputs) >= 1, "needs the condition as input 0")
    cond = g.op_inputs(op)[0]
    require(op, cond is not None and cond.dtype == "bool" and cond.size == 1,
            "input 0, the condition, must be a single bool")
    ins, outs = g.op_inputs(op)[1:], g.op_outputs(op)
    for key in ("then_subgraph_index", "else_subgraph_index"):
        sub = _subgraph(op, g, key)
        require(op, len(sub.inputs) == len(ins) and len(sub.outputs) == len(outs),
                f"subgraph {sub.index} takes {len(sub.inputs)} input(s) and gives {len(sub.outputs)} output(s); "
                f"the IF has {len(ins)} and {len(outs)}")
        for k, (t, i) in enumerate(zip(ins, sub.inputs)):
            _same(op, f"input {k} of subgraph {sub.index}", t, sub.tensor(i))
        for k, (t, i) in enumerate(zip(outs, sub.outputs)):
            _same(op, f"output {k} of subgraph {sub.index}", t, sub.tensor(i))


def check_while(op, g):
    ins, outs = g.op_inputs(op), g.op_outputs(op)
    require(op, len(ins) == len(outs) and all(t is not None for t in ins),
            f"{len(ins)} inputs and {len(outs)} outputs: WHILE carries each input to the output in its place")
    cond, body = _subgraph(op, g, "cond_subgraph_index"), _subgraph(op, g, "body_subgraph_index")
    require(op, len(cond.inputs) == len(ins) and len(body.inputs) == len(ins) and len(body.outputs) == len(ins),
            f"the condition (subgraph {cond.index}) and the body (subgraph {body.index}) must take the {len(ins)} "
            f"loop variables, and the body give them back")
    require(op, len(cond.outputs) >= 1 and cond.tensor(cond.outputs[0]).dtype == "bool"
            and cond.tensor(cond.outputs[0]).size == 1,
            f"the condition (subgraph {cond.index}) must give a single bool")
    for k, t in enumerate(ins):
        _same(op, f"output {k}", t, outs[k])
        _same(op, f"input {k} of the condition (subgraph {cond.index})", t, cond.tensor(cond.inputs[k]))
        _same(op, f"input {k} of the body (subgraph {body.index})", t, body.tensor(body.inputs[k]))
        _same(op, f"loop variable {k} as the body (subgraph {body.index}) gives it back", t,
              body.tensor(body.outputs[k]))


def prepare_control(op, g):
    subs = [g.subgraphs[k] for k in subgraphs_of(op)]
    op.params = {"subgraphs": [s.index for s in subs]}
    op.scratch_bytes = max(s.arena_bytes for s in subs)  # one after the other in the same scratch


def _copies(pairs) -> list[str]:
    return [f"memcpy({dst}, {src}, {t.nbytes}u);" for dst, src, t in pairs if dst != src]


def emit_if(op, g, c):
    then, other = (g.subgraphs[k] for k in op.params["subgraphs"])
    base = "sub"
    lines = [f"uint8_t *{base} = arena + {op.scratch_offset}; /* the branches' arena */" if op.scratch_bytes
             else f"uint8_t *{base} = arena;"]
    cond = g.op_inputs(op)[0]
    for head, sub in ((f"if (*(const bool *){c.ptr(cond)}) {{ /* subgraph {then.index} */", then),
                      (f"}} else {{ /* subgraph {other.index} */", other)):
        lines.append(head)
        body = _copies([(c.in_subgraph(sub, sub.tensor(i), base), c.ptr(t), t)
                           for t, i in zip(g.op_inputs(op)[1:], sub.inputs)])
        body += c.subgraph_calls(sub, base)
        body += _copies([(c.ptr(t), c.in_subgraph(sub, sub.tensor(i), base), t)
                            for t, i in zip(g.op_outputs(op), sub.outputs)])
        lines += ["    " + ln for ln in body]
    return lines + ["}"]


def emit_while(op, g, c):
    cond, body = (g.subgraphs[k] for k in op.params["subgraphs"])
    base = "sub"
    ins, outs = g.op_inputs(op), g.op_outputs(op)

    def into(sub, src):  # the loop variables into a subgraph's inputs
        return _copies([(c.in_subgraph(sub, sub.tensor(i), base), s, t)
                           for s, t, i in zip(src, ins, sub.inputs)])

    out_ptrs = [c.ptr(t) for t in outs]
    test = f"*(const bool *){c.in_subgraph(cond, cond.tensor(cond.outputs[0]), base)}"
    lines = [f"uint8_t *{base} = arena + {op.scratch_offset}; /* the condition's and the body's arena */"
             if op.scratch_bytes else f"uint8_t *{base} = arena;"]
    lines += into(cond, [c.ptr(t) for t in ins])
    lines += _copies([(o, c.ptr(t), t) for o, t in zip(out_ptrs, ins)])
    lines += [f"/* condition: subgraph {cond.index} */"] + c.subgraph_calls(cond, base)
    loop = into(body, out_ptrs) + [f"/* body: subgraph {body.index} */"] + c.subgraph_calls(body, base)
    loop += _copies([(o, c.in_subgraph(body, body.tensor(i), base), t) for o, t, i in zip(out_ptrs, outs, body.outputs)])
    loop += into(cond, out_ptrs) + c.subgraph_calls(cond, base)
    return lines + [f"while ({test}) {{"] + ["    " + ln for ln in loop] + ["}"]


register("IF", check_if, prepare_control, emit_if, types=("int8", "int16", "int32", "bool", "float32"),
         notes="then and else subgraphs compiled like the main one; static shapes")
register("WHILE", check_while, prepare_control, emit_while, types=("int8", "int16", "int32", "bool", "float32"),
         notes="condition and body subgraphs compiled like the main one; the body keeps shapes and types")
