"""Small stateful models written directly as flatbuffers (ModelWriter): resource variables,
CALL_ONCE initialisation, and the malformed cases Kiln must refuse."""
from __future__ import annotations

import numpy as np

from kiln.tflwriter import ModelWriter

Q = (0.05, -3)


def ring(dtype: str = "int8", frame: int = 4, frames: int = 3, init: str = "call_once") -> bytes:
    """A streaming model: each invocation shifts one new frame of `frame` values into a ring of
    `frames` frames kept in a resource variable, and a FULLY_CONNECTED reads the whole ring.
    Outputs: the layer's result and the ring. init: "call_once" (a CALL_ONCE subgraph assigns a
    constant: the zero point, or a ramp for float) or "none" (the variable starts at TFLite Micro's
    default, its zero point byte)."""
    q = Q if dtype == "int8" else (None, None)
    npdt = np.int8 if dtype == "int8" else np.float32
    n = frame * frames
    w = ModelWriter(description="kiln tests: streaming ring")
    x = w.tensor("x", [1, frame], dtype, *q)
    h = w.tensor("ring_handle", [], "resource")
    old = w.tensor("old", [1, n], dtype, *q)
    tail = w.tensor("tail", [1, n - frame], dtype, *q)
    b, e, s = (w.tensor(nm, [2], "int32", data=np.array(v, np.int32))
               for nm, v in (("begin", [0, frame]), ("end", [1, n]), ("strides", [1, 1])))
    new = w.tensor("new", [1, n], dtype, *q)
    rng = np.random.default_rng(0)
    if dtype == "int8":
        W = w.tensor("W", [3, n], "int8", 0.02, 0, data=rng.integers(-127, 128, (3, n)).astype(np.int8))
        B = w.tensor("B", [3], "int32", 0.05 * 0.02, 0, data=rng.integers(-500, 500, 3).astype(np.int32))
        y = w.tensor("y", [1, 3], "int8", 0.1, 2)
    else:
        W = w.tensor("W", [3, n], "float32", data=rng.uniform(-1, 1, (3, n)).astype(np.float32))
        B = w.tensor("B", [3], "float32", data=rng.uniform(-1, 1, 3).astype(np.float32))
        y = w.tensor("y", [1, 3], "float32")
    if init == "call_once":
        sub, k = w.subgraph()
        h0 = sub.tensor("ring_handle", [], "resource")
        start = np.full((1, n), Q[1], npdt) if dtype == "int8" else np.linspace(-1, 1, n, dtype=np.float32)[None]
        v0 = sub.tensor("ring_start", [1, n], dtype, *q, data=start)
        sub.op("VAR_HANDLE", [], [h0], {"shared_name": "ring"})
        sub.op("ASSIGN_VARIABLE", [h0, v0], [])
        w.op("CALL_ONCE", [], [], {"init_subgraph_index": k})
    w.op("VAR_HANDLE", [], [h], {"shared_name": "ring"})
    w.op("READ_VARIABLE", [h], [old])
    w.op("STRIDED_SLICE", [old, b, e, s], [tail])
    w.op("CONCATENATION", [tail, x], [new], {"axis": 1})
    w.op("ASSIGN_VARIABLE", [h, new], [])
    w.op("FULLY_CONNECTED", [new, W, B], [y])
    w.inputs, w.outputs = [x], [y, new]
    return w.build()


def accumulator() -> bytes:
    """Two variables, each reached through two handles (the sum's second one without a container,
    which matches any, as TFLite Micro resolves it): an int32 running sum of the input (starting at
    0) and an int8 running maximum (starting at its zero point, 7, TFLite Micro's default),
    neither initialised by CALL_ONCE."""
    w = ModelWriter(description="kiln tests: accumulators")
    x = w.tensor("x", [2, 3], "int32")
    xq = w.tensor("xq", [2, 3], "int8", 0.1, 7)
    outs = []
    for nm, dtype, q, kind in (("sum", "int32", (None, None), "ADD"), ("max", "int8", (0.1, 7), "MAXIMUM")):
        h1 = w.tensor(f"{nm}_h1", [], "resource")
        h2 = w.tensor(f"{nm}_h2", [], "resource")
        old = w.tensor(f"{nm}_old", [2, 3], dtype, *q)
        new = w.tensor(f"{nm}_new", [2, 3], dtype, *q)
        w.op("VAR_HANDLE", [], [h1], {"container": "a" if nm == "sum" else "b", "shared_name": nm})
        w.op("VAR_HANDLE", [], [h2], {"shared_name": nm} if nm == "sum" else {"container": "b", "shared_name": nm})
        w.op("READ_VARIABLE", [h1], [old])
        w.op(kind, [old, x if nm == "sum" else xq], [new])
        w.op("ASSIGN_VARIABLE", [h2, new], [])
        outs.append(new)
    w.inputs, w.outputs = [x, xq], outs
    return w.build()


def read_never_assigned() -> bytes:
    w = ModelWriter()
    x = w.tensor("x", [4], "float32")
    h = w.tensor("h", [], "resource")
    v = w.tensor("v", [4], "float32")
    y = w.tensor("y", [4], "float32")
    w.op("VAR_HANDLE", [], [h], {"shared_name": "never"})
    w.op("READ_VARIABLE", [h], [v])
    w.op("ADD", [x, v], [y])
    w.inputs, w.outputs = [x], [y]
    return w.build()


def call_once_out_of_range(index: int = 5) -> bytes:
    w = ModelWriter()
    x = w.tensor("x", [4], "float32")
    y = w.tensor("y", [4], "float32")
    w.op("CALL_ONCE", [], [], {"init_subgraph_index": index})
    w.op("RELU", [x], [y])
    w.inputs, w.outputs = [x], [y]
    return w.build()


def assign_other_shape() -> bytes:
    """A variable first assigned a [4] tensor, then a [2] one."""
    w = ModelWriter()
    x = w.tensor("x", [4], "float32")
    h = w.tensor("h", [], "resource")
    half = w.tensor("half", [2], "float32", data=np.zeros(2, np.float32))
    y = w.tensor("y", [4], "float32")
    w.op("VAR_HANDLE", [], [h], {"shared_name": "v"})
    w.op("ASSIGN_VARIABLE", [h, x], [])
    w.op("ASSIGN_VARIABLE", [h, half], [])
    w.op("RELU", [x], [y])
    w.inputs, w.outputs = [x], [y]
    return w.build()


def variable_tensor_input() -> bytes:
    """An ADD of the input and an int8 variable tensor (zero point 5) that nothing writes: it keeps
    TFLite Micro's reset value, its zero point, in the state area."""
    w = ModelWriter()
    x = w.tensor("x", [2, 4], "int8", 0.1, -2)
    v = w.tensor("v", [2, 4], "int8", 0.1, 5, variable=True)
    y = w.tensor("y", [2, 4], "int8", 0.2, 1)
    w.op("ADD", [x, v], [y])
    w.inputs, w.outputs = [x], [y]
    return w.build()
