"""Small stateful models written directly as flatbuffers (ModelWriter): resource variables,
CALL_ONCE initialisation, and the malformed cases Kiln must refuse."""
from __future__ import annotations

import numpy as np

from kiln.compiler.tflwriter import ModelWriter

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


def streaming_kws(layers: int = 12, channels: int = 16, kernel: int = 3, features: int = 40, seed: int = 0) -> bytes:
    """A streaming keyword spotter of the kind open-source wake-word projects ship: a uint8 slice of
    one feature frame per invocation, QUANTIZE to int8, then `layers` temporal convolutions
    (depthwise and full, alternating), each keeping its last kernel-1 input frames in a resource
    variable (CONCATENATION of the past and the new frame, STRIDED_SLICE of the new past,
    ASSIGN_VARIABLE) that a CALL_ONCE subgraph initialises; a FULLY_CONNECTED, LOGISTIC and a
    QUANTIZE to a uint8 score end it. One variable per layer: 12 by default."""
    rng = np.random.default_rng(seed)
    w = ModelWriter(description="kiln tests: streaming keyword spotter")
    init, sub = w.subgraph()
    x = w.tensor("features_u8", [1, 1, 1, features], "uint8", 0.05, 128)
    w.op("CALL_ONCE", [], [], {"init_subgraph_index": sub})
    scale, zp = 0.05, 0
    h = w.tensor("features", [1, 1, 1, features], "int8", scale, zp)
    w.op("QUANTIZE", [x], [h])
    c_in = features
    for layer in range(layers):
        name = f"stream{layer}"
        past_shape = [1, kernel - 1, 1, c_in]
        hv = init.tensor(f"{name}_handle", [], "resource")
        zeros = init.tensor(f"{name}_start", past_shape, "int8", scale, zp, data=np.full(past_shape, zp, np.int8))
        init.op("VAR_HANDLE", [], [hv], {"shared_name": name})
        init.op("ASSIGN_VARIABLE", [hv, zeros], [])
        handle = w.tensor(f"{name}_handle", [], "resource")
        past = w.tensor(f"{name}_past", past_shape, "int8", scale, zp)
        window = w.tensor(f"{name}_window", [1, kernel, 1, c_in], "int8", scale, zp)
        new_past = w.tensor(f"{name}_new_past", past_shape, "int8", scale, zp)
        b, e, s = (w.tensor(f"{name}_{k}", [4], "int32", data=np.array(v, np.int32))
                   for k, v in (("begin", [0, 1, 0, 0]), ("end", [1, kernel, 1, c_in]), ("strides", [1, 1, 1, 1])))
        w.op("VAR_HANDLE", [], [handle], {"shared_name": name})
        w.op("READ_VARIABLE", [handle], [past])
        w.op("CONCATENATION", [past, h], [window], {"axis": 1})
        w.op("STRIDED_SLICE", [window, b, e, s], [new_past])
        w.op("ASSIGN_VARIABLE", [handle, new_past], [])
        depthwise = layer % 2 == 0 and layer > 0
        c_out = c_in if depthwise else channels
        w_scale = [float(v) for v in rng.uniform(0.004, 0.01, c_out)]
        taps = kernel * (1 if depthwise else c_in)
        out_scale = scale * float(np.mean(w_scale)) * 127 * np.sqrt(taps) * 0.3
        wshape = [1, kernel, 1, c_out] if depthwise else [c_out, kernel, 1, c_in]
        wt = w.tensor(f"{name}_weights", wshape, "int8", w_scale, [0] * c_out, axis=3 if depthwise else 0,
                      data=rng.integers(-127, 128, wshape).astype(np.int8))
        bias = w.tensor(f"{name}_bias", [c_out], "int32", [scale * v for v in w_scale], [0] * c_out,
                        data=rng.integers(-300, 300, c_out).astype(np.int32))
        y = w.tensor(f"{name}_out", [1, 1, 1, c_out], "int8", out_scale, -128)
        opts = {"padding": 1, "stride_h": 1, "stride_w": 1, "fused_activation_function": 1}
        if depthwise:
            w.op("DEPTHWISE_CONV_2D", [window, wt, bias], [y], dict(opts, depth_multiplier=1))
        else:
            w.op("CONV_2D", [window, wt, bias], [y], opts)
        h, scale, zp, c_in = y, out_scale, -128, c_out
    flat = w.tensor("flat", [1, c_in], "int8", scale, zp)
    shape = w.tensor("flat_shape", [2], "int32", data=np.array([1, c_in], np.int32))
    w.op("RESHAPE", [h, shape], [flat])
    fw = w.tensor("fc_weights", [2, c_in], "int8", 0.002, 0, data=rng.integers(-127, 128, (2, c_in)).astype(np.int8))
    fb = w.tensor("fc_bias", [2], "int32", scale * 0.002, 0, data=rng.integers(-500, 500, 2).astype(np.int32))
    logits = w.tensor("logits", [1, 2], "int8", 0.05, 0)
    w.op("FULLY_CONNECTED", [flat, fw, fb], [logits])
    prob = w.tensor("probability", [1, 2], "int8", 1 / 256, -128)
    w.op("LOGISTIC", [logits], [prob])
    score = w.tensor("score_u8", [1, 2], "uint8", 1 / 256, 0)
    w.op("QUANTIZE", [prob], [score])
    w.inputs, w.outputs = [x], [score]
    return w.build()


def while_loop() -> bytes:
    """acc = x; i = 0; while i < n: acc = acc * 0.5 + x; i += 1 (n an int32 input, so the
    iteration count changes with the record). Loop variables (i, n, acc, x); x passes through
    the body unchanged (its output is its input tensor)."""
    w = ModelWriter(description="kiln tests: WHILE")
    cond, kc = w.subgraph()
    body, kb = w.subgraph()
    shapes = {"i": ([], "int32"), "n": ([], "int32"), "acc": ([4], "float32"), "x": ([4], "float32")}
    for sub in (cond, body):
        sub.inputs = [sub.tensor(f"{k}_in", s, d) for k, (s, d) in shapes.items()]
    c_out = cond.tensor("again", [], "bool")
    cond.op("LESS", [cond.inputs[0], cond.inputs[1]], [c_out])
    cond.outputs = [c_out]
    i, n, acc, x = body.inputs
    one = body.tensor("one", [], "int32", data=np.array(1, np.int32))
    half = body.tensor("half", [1], "float32", data=np.array([0.5], np.float32))
    i2, scaled, acc2 = body.tensor("i_next", [], "int32"), body.tensor("scaled", [4], "float32"), \
        body.tensor("acc_next", [4], "float32")
    body.op("ADD", [i, one], [i2])
    body.op("MUL", [acc, half], [scaled])
    body.op("ADD", [scaled, x], [acc2])
    body.outputs = [i2, n, acc2, x]
    n_in, x_in = w.tensor("n", [], "int32"), w.tensor("x", [4], "float32")
    zero = w.tensor("zero", [], "int32", data=np.array(0, np.int32))
    outs = [w.tensor(f"{k}_out", s, d) for k, (s, d) in shapes.items()]
    w.op("WHILE", [zero, n_in, x_in, x_in], outs, {"cond_subgraph_index": kc, "body_subgraph_index": kb})
    w.inputs, w.outputs = [n_in, x_in], [outs[0], outs[2]]
    return w.build()


def if_branch() -> bytes:
    """IF flag: then RELU(x), else NEG(x)."""
    w = ModelWriter(description="kiln tests: IF")
    then, kt = w.subgraph()
    other, ke = w.subgraph()
    for sub, kind in ((then, "RELU"), (other, "NEG")):
        a = sub.tensor("x", [2, 5], "float32")
        b = sub.tensor("y", [2, 5], "float32")
        sub.op(kind, [a], [b])
        sub.inputs, sub.outputs = [a], [b]
    flag = w.tensor("flag", [], "bool")
    x = w.tensor("x", [2, 5], "float32")
    y = w.tensor("y", [2, 5], "float32")
    w.op("IF", [flag, x], [y], {"then_subgraph_index": kt, "else_subgraph_index": ke})
    w.inputs, w.outputs = [flag, x], [y]
    return w.build()


def while_changing_shape() -> bytes:
    """A WHILE whose body gives back a loop variable of another shape."""
    w = ModelWriter()
    cond, kc = w.subgraph()
    body, kb = w.subgraph()
    ci = cond.tensor("x", [4], "float32")
    flag = cond.tensor("flag", [], "bool", data=np.array(False))
    cond.inputs, cond.outputs = [ci], [flag]
    bi = body.tensor("x", [4], "float32")
    bo = body.tensor("y", [2, 2], "float32")
    body.op("RESHAPE", [bi, body.tensor("shape", [2], "int32", data=np.array([2, 2], np.int32))], [bo])
    body.inputs, body.outputs = [bi], [bo]
    x, y = w.tensor("x", [4], "float32"), w.tensor("y", [4], "float32")
    w.op("WHILE", [x], [y], {"cond_subgraph_index": kc, "body_subgraph_index": kb})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def gru_while(steps: int = 5, features: int = 3, units: int = 4, seed: int = 0) -> bytes:
    """A float GRU over `steps` time steps as a WHILE loop, the way a recurrent layer with unroll
    off converts: loop variables (t, h, xs); the body GATHERs x_t, computes the gates with
    FULLY_CONNECTED, LOGISTIC and TANH, and gives back (t + 1, h', xs); the condition is t < steps."""
    rng = np.random.default_rng(seed)
    w = ModelWriter(description="kiln tests: GRU as a WHILE loop")
    cond, kc = w.subgraph()
    body, kb = w.subgraph()
    var_shapes = [([], "int32"), ([1, units], "float32"), ([steps, 1, features], "float32")]
    for sub in (cond, body):
        sub.inputs = [sub.tensor(f"v{k}", s, d) for k, (s, d) in enumerate(var_shapes)]
    limit = cond.tensor("steps", [], "int32", data=np.array(steps, np.int32))
    again = cond.tensor("again", [], "bool")
    cond.op("LESS", [cond.inputs[0], limit], [again])
    cond.outputs = [again]

    t, h, xs = body.inputs

    def f32(name, shape):
        return body.tensor(name, shape, "float32")

    def const(name, shape):
        return body.tensor(name, shape, "float32", data=rng.uniform(-0.8, 0.8, shape).astype(np.float32))

    x = f32("x_t", [1, features])
    body.op("GATHER", [xs, t], [x], {"axis": 0})

    def gate(name, act, recurrent=None):
        wx = f32(f"{name}_x", [1, units])
        body.op("FULLY_CONNECTED", [x, const(f"W_{name}", [units, features]), const(f"b_{name}", [units])], [wx])
        uh = f32(f"{name}_h", [1, units])
        body.op("FULLY_CONNECTED", [h, const(f"U_{name}", [units, units]), -1], [uh])
        if recurrent is not None:
            scaled = f32(f"{name}_rh", [1, units])
            body.op("MUL", [recurrent, uh], [scaled])
            uh = scaled
        s = f32(f"{name}_sum", [1, units])
        body.op("ADD", [wx, uh], [s])
        out = f32(name, [1, units])
        body.op(act, [s], [out])
        return out

    z = gate("z", "LOGISTIC")
    r = gate("r", "LOGISTIC")
    n = gate("n", "TANH", recurrent=r)
    one = body.tensor("one", [1], "float32", data=np.ones(1, np.float32))
    keep, fresh, old, h2 = f32("one_minus_z", [1, units]), f32("fresh", [1, units]), f32("old", [1, units]), \
        f32("h_next", [1, units])
    body.op("SUB", [one, z], [keep])
    body.op("MUL", [keep, n], [fresh])
    body.op("MUL", [z, h], [old])
    body.op("ADD", [fresh, old], [h2])
    t2 = body.tensor("t_next", [], "int32")
    body.op("ADD", [t, body.tensor("inc", [], "int32", data=np.array(1, np.int32))], [t2])
    body.outputs = [t2, h2, xs]

    xs_in = w.tensor("xs", [steps, 1, features], "float32")
    t0 = w.tensor("t0", [], "int32", data=np.array(0, np.int32))
    h0 = w.tensor("h0", [1, units], "float32", data=np.zeros((1, units), np.float32))
    outs = [w.tensor("t_out", [], "int32"), w.tensor("h_out", [1, units], "float32"),
            w.tensor("xs_out", [steps, 1, features], "float32")]
    w.op("WHILE", [t0, h0, xs_in], outs, {"cond_subgraph_index": kc, "body_subgraph_index": kb})
    w.inputs, w.outputs = [xs_in], [outs[1]]
    return w.build()
