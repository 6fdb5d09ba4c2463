"""Constant folding: an operator whose inputs are all constant is computed at compile time, and its
outputs become constants (flash) instead of code.

The values are TFLite Micro's own: the operator is written out as a one-operator model
(kiln.compiler.tflwriter.single_op) and run by the `tflite-micro` interpreter, so a folded result is
exactly what TFLite Micro would compute on the device. Only operators whose Kiln check passes are
evaluated (so a malformed one never reaches the interpreter); folding runs before validation, so
that an operator needing a constant input (RESHAPE's shape from SHAPE -> STRIDED_SLICE -> PACK)
sees it. Aliasing operators (RESHAPE and friends) of a constant are folded by
reshaping, and an operator may fold itself from static facts (OpDef.fold: SHAPE needs only its
input's shape). A folded operator stays in the graph (operator indices are stable for reports and
profiles); its function says it was folded and does nothing.

Graph outputs are not folded (they must be written to the caller's buffer by code), and an
operator TFLite Micro refuses to evaluate is left alone for validation to report.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ..ir import DTYPES, Graph, Operator
from ..ops import REGISTRY
from ..ops.base import aliases

# Results larger than this stay code: folding would put more in flash than it saves in time.
MAX_FOLDED_BYTES = 1 << 20


def run(g: Graph) -> list[int]:
    """Folds in graph order (a folded output may make the next operator foldable); returns the
    indices of the folded operators."""
    folded = []
    graph_outputs = set(g.outputs)
    for op in g.operators:
        if op.folded:
            folded.append(op.index)
            continue
        outs = g.op_outputs(op)
        if any(t.index in graph_outputs or t.is_const for t in outs):
            continue
        if any(t.dtype not in DTYPES or t.nbytes > MAX_FOLDED_BYTES for t in outs):
            continue
        values = _evaluate(g, op)
        if values is None:
            continue
        for t, v in zip(outs, values):
            t.data = np.asarray(v).astype(DTYPES[t.dtype][0]).reshape(t.shape)
        op.folded = True
        folded.append(op.index)
    return folded


def _evaluate(g: Graph, op: Operator) -> list[np.ndarray] | None:
    opdef = REGISTRY.get(op.kind)
    if opdef is None:
        return None
    try:
        opdef.check(op, g)
    except UnsupportedError:  # validation will name the problem
        return None
    ins = [t for t in g.op_inputs(op) if t is not None]
    if opdef.fold is not None:
        return opdef.fold(op, g)
    if not ins or not all(t.is_const for t in ins):
        return None
    if aliases(op, g):
        x, (y,) = ins[0], g.op_outputs(op)
        return [x.data.reshape(y.shape)] if x.size == y.size and x.dtype == y.dtype else None
    return evaluate_with_tflm(g, op)


def evaluate_with_tflm(g: Graph, op: Operator) -> list[np.ndarray] | None:
    """The operator's outputs as TFLite Micro computes them from its (constant) inputs, or None
    when TFLite Micro cannot run it."""
    try:
        from tflite_micro.python.tflite_micro import runtime

        from ..tflwriter import single_op
    except ImportError:
        return None
    try:
        data = single_op(g, op)
    except Exception:
        return None
    arena = 64 * 1024 + 8 * sum(t.nbytes for t in g.op_inputs(op) + g.op_outputs(op) if t is not None)

    def invoke():
        interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
        interp.invoke()
        return [np.array(interp.get_output(k)) for k in range(len(op.outputs))]

    try:
        return isolated(invoke)
    except Exception:  # TFLite Micro refused (or crashed on) the operator: left for validation to report
        return None


def isolated(fn, timeout: float = 30.0):
    """fn() in a forked child, its result pickled back: TFLite Micro's kernels trust their inputs,
    and an operator Kiln's checks let through but TFLite Micro reads out of bounds on must not take
    the compiler (or the language server) down with it. A crash, a timeout or an exception in the
    child raises RuntimeError here. Without fork (Windows), fn() runs in this process."""
    import faulthandler
    import os
    import pickle
    import select

    if not hasattr(os, "fork"):
        return fn()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running any of the parent's cleanup
        code = 1
        try:
            faulthandler.disable()  # a crash here is the parent's RuntimeError, not a dump on stderr
            os.close(r)
            payload = pickle.dumps(fn())
            with os.fdopen(w, "wb") as f:
                f.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    try:
        with os.fdopen(r, "rb") as f:
            while True:
                ready, _, _ = select.select([f], [], [], timeout)
                if not ready:
                    os.kill(pid, 9)
                    raise RuntimeError("TFLite Micro took too long")
                chunk = f.read1(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"TFLite Micro failed (status {status})")
    return pickle.loads(b"".join(chunks))
