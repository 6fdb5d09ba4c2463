"""One small sample model per operator kind, for the benchmark (bench/operators.py) and for the
tests that every registered operator must pass (tests/test_op_samples.py: a sanitized clang build
against TFLite Micro, and the arena against the lower bound). A kind added to the table without a
sample here fails that test, so every operator gets both.

Each sample is a one-operator model on a 16x16x16 tensor (4 KB int8, or its float32/int32/bool
equivalent); the specs are (shape, dtype, (scale, zero point) or None, constant data or None).
"""
from __future__ import annotations

import numpy as np

from ..tflwriter import ModelWriter

S = [1, 16, 16, 16]
Q = (0.05, 3)  # int8 activations' scale and zero point
Q2 = (0.04, -5)


def act(shape=S, dtype="int8", q=Q):
    """An activation (a model input or output)."""
    return (shape, dtype, q if dtype == "int8" else None, None)


def const(array, q=None, axis: int = 0):
    """A constant tensor holding `array` (per-channel quantization along `axis`)."""
    a = np.asarray(array)
    return (list(a.shape), {np.dtype(np.int32): "int32", np.dtype(np.int64): "int64", np.dtype(np.int8): "int8",
                            np.dtype(np.float32): "float32"}[a.dtype], q, a, axis)


def i32(*v):
    return const(np.array(v, np.int32))


# kind -> (inputs, outputs, options): each a spec (shape, dtype, (scale, zp) or None, const data or None)
BINARY = {k: ([act(), act(q=Q2)], [act()], {"fused_activation_function": 0} if k in ("ADD", "SUB", "MUL", "DIV") else {})
          for k in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM")}
BINARY["SQUARED_DIFFERENCE"] = ([act(), act(q=Q2)], [act(q=(0.02, -128))], {})
COMPARE = {k: ([act(), act(q=Q2)], [act(dtype="bool")], {})
           for k in ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")}
UNARY_I8 = {k: ([act()], [act(q=Q2)], {}) for k in ("ABS", "LEAKY_RELU", "HARD_SWISH", "ELU", "RELU", "RELU6")}
UNARY_I8["RSQRT"] = ([act(q=(0.05, -128))], [act(q=(0.02, -128))], {})  # int8 RSQRT refuses negative inputs
UNARY_I8["LOGISTIC"] = ([act()], [act(q=(1 / 256, -128))], {})
UNARY_I8["TANH"] = ([act()], [act(q=(1 / 128, 0))], {})
UNARY_F = {k: ([act(dtype="float32")], [act(dtype="float32")], {})
           for k in ("SQRT", "EXP", "LOG", "SIN", "COS", "FLOOR", "CEIL", "ROUND", "NEG", "SQUARE")}
SPECS = {
    **BINARY, **COMPARE, **UNARY_I8, **UNARY_F,
    "DIV": ([act(), act(q=Q2)], [act(q=(0.5, 0))], {"fused_activation_function": 0}),
    "FLOOR_DIV": ([act(dtype="float32"), act(dtype="float32")], [act(dtype="float32")], {}),
    "FLOOR_MOD": ([act(dtype="float32"), act(dtype="float32")], [act(dtype="float32")], {}),
    "ADD_N": ([act(dtype="float32")] * 3, [act(dtype="float32")], {}),
    "LOGICAL_AND": ([act(dtype="bool"), act(dtype="bool")], [act(dtype="bool")], {}),
    "LOGICAL_OR": ([act(dtype="bool"), act(dtype="bool")], [act(dtype="bool")], {}),
    "LOGICAL_NOT": ([act(dtype="bool")], [act(dtype="bool")], {}),
    "SELECT_V2": ([act(dtype="bool"), act(), act()], [act()], {}),
    "CAST": ([act()], [act(dtype="float32")], {}),
    "PRELU": ([act(), const(np.full([16], 3, np.int8), (0.01, 0))], [act(q=Q2)], {}),
    "LOG_SOFTMAX": ([act([16, 256])], [act([16, 256], q=(16 / 256, 127))], {}),
    "SOFTMAX": ([act([16, 256])], [act([16, 256], q=(1 / 256, -128))], {"beta": 1.0}),
    "TRANSPOSE": ([act(), i32(0, 3, 1, 2)], [act()], {}),
    "SQUEEZE": ([act()], [act([16, 16, 16])], {"squeeze_dims": [0]}),
    "EXPAND_DIMS": ([act([16, 16, 16]), i32(0)], [act()], {}),
    "PACK": ([act([16, 16, 16])] * 2, [act([2, 16, 16, 16])], {"values_count": 2, "axis": 0}),
    "UNPACK": ([act([2, 16, 16, 8])], [act([16, 16, 8])] * 2, {"num": 2, "axis": 0}),
    "SPLIT": ([i32(3), act()], [act([1, 16, 16, 8])] * 2, {"num_splits": 2}),
    "SPLIT_V": ([act(), i32(4, 12), i32(3)], [act([1, 16, 16, 4]), act([1, 16, 16, 12])], {"num_splits": 2}),
    "SLICE": ([act(), i32(0, 2, 2, 0), i32(1, 12, 12, 16)], [act([1, 12, 12, 16])], {}),
    "STRIDED_SLICE": ([act(), i32(0, 0, 0, 0), i32(1, 16, 16, 16), i32(1, 2, 2, 1)], [act([1, 8, 8, 16])], {}),
    "GATHER": ([act([256, 16]), i32(*range(255, -1, -1))], [act([256, 16])], {"axis": 0}),
    "CONCATENATION": ([act([1, 16, 16, 8])] * 2, [act()], {"axis": 3}),
    "PAD": ([act([1, 14, 14, 16]), i32(0, 0, 1, 1, 1, 1, 0, 0)], [act()], {}),
    "MIRROR_PAD": ([act([1, 14, 14, 16]), const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [act()],
                   {"mode": 0}),
    "REVERSE_V2": ([act(), i32(2)], [act()], {}),
    "DEPTH_TO_SPACE": ([act()], [act([1, 32, 32, 4])], {"block_size": 2}),
    "SPACE_TO_DEPTH": ([act()], [act([1, 8, 8, 64])], {"block_size": 2}),
    "BROADCAST_TO": ([act([1, 1, 16, 16]), i32(1, 16, 16, 16)], [act()], {}),
    "MEAN": ([act(), i32(1, 2)], [act([1, 1, 1, 16])], {"keep_dims": True}),
    "SUM": ([act(), i32(3)], [act([1, 16, 16, 1])], {"keep_dims": True}),
    "REDUCE_MAX": ([act(), i32(1, 2)], [act([1, 16])], {"keep_dims": False}),
    "REDUCE_MIN": ([act(), i32(1, 2)], [act([1, 16])], {"keep_dims": False}),
    "ARG_MAX": ([act(), i32(3)], [act([1, 16, 16], "int32")], {"output_type": 2}),
    "ARG_MIN": ([act(), i32(3)], [act([1, 16, 16], "int32")], {"output_type": 2}),
    "CUMSUM": ([act(), i32(3)], [act(q=(0.4, 0))], {}),
    "L2_NORMALIZATION": ([act()], [act(q=(1 / 128, 0))], {}),
}
_RNG = np.random.default_rng(12)
_W = _RNG.integers(-127, 128, size=(16, 3, 3, 16)).astype(np.int8)
_WD = _RNG.integers(-127, 128, size=(1, 3, 3, 16)).astype(np.int8)
_WF = _RNG.integers(-127, 128, size=(32, 256)).astype(np.int8)
_BIAS = _RNG.integers(-2000, 2000, size=16).astype(np.int32)
_WS = [0.003 + 0.0001 * k for k in range(16)]
_BS = [0.05 * w for w in _WS]
SPECS.update({
    "CONV_2D": ([act(), const(_W, (_WS, 0)), const(_BIAS, (_BS, 0))], [act(q=(0.5, -2))],
                {"padding": 0, "stride_w": 1, "stride_h": 1, "dilation_w_factor": 1, "dilation_h_factor": 1}),
    "DEPTHWISE_CONV_2D": ([act(), const(_WD, (_WS, 0), axis=3), const(_BIAS, (_BS, 0))], [act(q=(0.2, 1))],
                          {"padding": 0, "stride_w": 1, "stride_h": 1, "depth_multiplier": 1,
                           "dilation_w_factor": 1, "dilation_h_factor": 1}),
    "FULLY_CONNECTED": ([act([16, 256]), const(_WF, (0.004, 0)), None], [act([16, 32], q=(0.6, 0))], {}),
    "AVERAGE_POOL_2D": ([act()], [act([1, 8, 8, 16])], {"padding": 1, "stride_w": 2, "stride_h": 2,
                                                         "filter_width": 2, "filter_height": 2}),
    "MAX_POOL_2D": ([act()], [act([1, 8, 8, 16])], {"padding": 0, "stride_w": 2, "stride_h": 2,
                                                     "filter_width": 3, "filter_height": 3}),
    "QUANTIZE": ([act()], [act(q=Q2)], {}),
    "DEQUANTIZE": ([act()], [act(dtype="float32")], {}),
    "RESHAPE": ([act()], [act([16, 256])], {"new_shape": [16, 256]}),
    "PADV2": ([act([1, 14, 14, 16]), i32(0, 0, 1, 1, 1, 1, 0, 0), const(np.array([7], np.int8), Q)], [act()], {}),
    "GATHER_ND": ([act([16, 16, 16]), const(np.array([[k, 15 - k] for k in range(16)], np.int32))],
                  [act([16, 16])], {}),
    "SPACE_TO_BATCH_ND": ([act(), i32(2, 2), const(np.zeros((2, 2), np.int32))], [act([4, 8, 8, 16])], {}),
    "BATCH_TO_SPACE_ND": ([act([4, 8, 8, 16]), i32(2, 2), const(np.zeros((2, 2), np.int32))], [act()], {}),
    # a shape of ones broadcasts with any other (TFLite Micro aborts on shapes that do not broadcast)
    "BROADCAST_ARGS": ([i32(1, 1, 1), act([4], "int32")], [act([4], "int32")], {}),
    "FILL": ([i32(1, 16, 16, 16), act([], "float32")], [act(dtype="float32")], {}),
    "ZEROS_LIKE": ([act(dtype="float32")], [act(dtype="float32")], {}),
    "SHAPE": ([act()], [act([4], "int32")], {"out_type": 2}),
    "RESIZE_NEAREST_NEIGHBOR": ([act([1, 8, 8, 16]), i32(16, 16)], [act()], {"half_pixel_centers": True}),
    "RESIZE_BILINEAR": ([act([1, 8, 8, 16]), i32(16, 16)], [act()], {"half_pixel_centers": True}),
    "BATCH_MATMUL": ([act([4, 16, 32]), act([4, 32, 16], q=(0.04, 0))], [act([4, 16, 16], q=(0.3, 0))], {}),
    "TRANSPOSE_CONV": ([i32(1, 16, 16, 16), const(_W, (_WS, 0)), act([1, 8, 8, 16]), const(_BIAS, (_BS, 0))],
                       [act(q=(0.3, -2))], {"padding": 0, "stride_w": 2, "stride_h": 2}),
    # constant ids: TFLite Micro fails the inference on an id out of range
    "EMBEDDING_LOOKUP": ([i32(*range(15, -1, -1)), act([16, 256])], [act([16, 256])], {}),
    "L2_POOL_2D": ([act(dtype="float32")], [act([1, 8, 8, 16], dtype="float32")],
                   {"padding": 1, "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}),
})



# ---- kinds that need more than one operator (state, subgraphs): a small model each, and the
# index of the operator the sample is about (what the benchmark reports) ----

def _variables_model() -> bytes:
    """A running sum kept in a resource variable that a CALL_ONCE subgraph starts at the zero point."""
    w = ModelWriter(description="kiln sample: resource variables")
    init, k = w.subgraph()
    h0 = init.tensor("acc_handle", [], "resource")
    start = init.tensor("acc_start", S, "int8", *Q, data=np.full(S, Q[1], np.int8))
    init.op("VAR_HANDLE", [], [h0], {"shared_name": "acc"})
    init.op("ASSIGN_VARIABLE", [h0, start], [])
    x = w.tensor("x", S, "int8", *Q)
    h = w.tensor("acc_handle", [], "resource")
    old, new = w.tensor("acc", S, "int8", *Q), w.tensor("acc_next", S, "int8", *Q)
    w.op("CALL_ONCE", [], [], {"init_subgraph_index": k})
    w.op("VAR_HANDLE", [], [h], {"shared_name": "acc"})
    w.op("READ_VARIABLE", [h], [old])
    w.op("ADD", [old, x], [new], {"fused_activation_function": 0})
    w.op("ASSIGN_VARIABLE", [h, new], [])
    w.inputs, w.outputs = [x], [new]
    return w.build()


def _if_model() -> bytes:
    w = ModelWriter(description="kiln sample: IF")
    branches = []
    for kind in ("RELU", "ABS"):
        sub, k = w.subgraph()
        a, b = sub.tensor("x", S, "int8", *Q), sub.tensor("y", S, "int8", *Q2)
        sub.op(kind, [a], [b])
        sub.inputs, sub.outputs = [a], [b]
        branches.append(k)
    flag, x, y = w.tensor("flag", [], "bool"), w.tensor("x", S, "int8", *Q), w.tensor("y", S, "int8", *Q2)
    w.op("IF", [flag, x], [y], {"then_subgraph_index": branches[0], "else_subgraph_index": branches[1]})
    w.inputs, w.outputs = [flag, x], [y]
    return w.build()


def _while_model() -> bytes:
    """x = x * 0.5 + 1, three times (float32)."""
    w = ModelWriter(description="kiln sample: WHILE")
    cond, kc = w.subgraph()
    body, kb = w.subgraph()
    for sub in (cond, body):
        sub.inputs = [sub.tensor("i", [], "int32"), sub.tensor("x", S, "float32")]
    again = cond.tensor("again", [], "bool")
    cond.op("LESS", [cond.inputs[0], cond.tensor("n", [], "int32", data=np.array(3, np.int32))], [again])
    cond.outputs = [again]
    i, x = body.inputs
    i2, half, x2 = body.tensor("i_next", [], "int32"), body.tensor("half", S, "float32"), body.tensor("x_next", S, "float32")
    body.op("ADD", [i, body.tensor("one", [], "int32", data=np.array(1, np.int32))], [i2])
    body.op("MUL", [x, body.tensor("k", [1], "float32", data=np.array([0.5], np.float32))], [half])
    body.op("ADD", [half, body.tensor("b", [1], "float32", data=np.array([1.0], np.float32))], [x2])
    body.outputs = [i2, x2]
    x_in, i0 = w.tensor("x", S, "float32"), w.tensor("i0", [], "int32", data=np.array(0, np.int32))
    outs = [w.tensor("i_out", [], "int32"), w.tensor("x_out", S, "float32")]
    w.op("WHILE", [i0, x_in], outs, {"cond_subgraph_index": kc, "body_subgraph_index": kb})
    w.inputs, w.outputs = [x_in], [outs[1]]
    return w.build()


def _detection_model() -> bytes:
    """TFLite_Detection_PostProcess over 256 anchors, 4 classes and a background, fast NMS."""
    from flatbuffers import flexbuffers

    rng = np.random.default_rng(5)
    n = 256
    w = ModelWriter(description="kiln sample: TFLite_Detection_PostProcess")
    box, sc = w.tensor("box_encodings", [1, n, 4], "float32"), w.tensor("class_scores", [1, n, 5], "float32")
    anchors = np.stack([rng.uniform(0.2, 0.8, n), rng.uniform(0.2, 0.8, n), rng.uniform(0.1, 0.3, n),
                        rng.uniform(0.1, 0.3, n)], 1).astype(np.float32)
    an = w.tensor("anchors", [n, 4], "float32", data=anchors)
    outs = [w.tensor("boxes", [1, 10, 4], "float32"), w.tensor("classes", [1, 10], "float32"),
            w.tensor("scores", [1, 10], "float32"), w.tensor("count", [1], "float32")]
    opts = {"max_detections": 10, "max_classes_per_detection": 1, "detections_per_class": 10, "use_regular_nms": False,
            "nms_score_threshold": 0.0, "nms_iou_threshold": 0.5, "num_classes": 4, "y_scale": 10.0, "x_scale": 10.0,
            "h_scale": 5.0, "w_scale": 5.0}
    w.custom_op("TFLite_Detection_PostProcess", [box, sc, an], outs, flexbuffers.Dumps(opts))
    w.inputs, w.outputs = [box, sc], outs
    return w.build()


def _lstm_model() -> bytes:
    """An int8 LSTM (int16 cell state) over 16 batches of 16 steps of 16 values, 16 cells: its output
    and cell states are variable tensors."""
    rng = np.random.default_rng(0)
    w = ModelWriter(description="kiln sample: UNIDIRECTIONAL_SEQUENCE_LSTM")
    x = w.tensor("input", [16, 16, 16], "int8", 1 / 128, 5)
    weights = [w.tensor(f"w{k}", [16, 16], "int8", 0.01, 0, data=rng.integers(-127, 128, [16, 16]).astype(np.int8))
               for k in range(8)]
    biases = [w.tensor(f"b{k}", [16], "int32", 0.01 / 128, 0, data=rng.integers(-6000, 6000, 16).astype(np.int32))
              for k in range(4)]
    h = w.tensor("output_state", [16, 16], "int8", 1 / 128, -3, variable=True)
    c = w.tensor("cell_state", [16, 16], "int16", 2.0 ** -11, 0, variable=True)
    y = w.tensor("output", [16, 16, 16], "int8", 1 / 128, -3)
    w.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *weights, -1, -1, -1, *biases, -1, -1, h, c, -1, -1, -1, -1], [y],
         {"fused_activation_function": 4, "cell_clip": 0.0, "proj_clip": 0.0, "time_major": False})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def _svdf_model() -> bytes:
    """An int8 SVDF with an int16 state, as the converter writes a keyword spotter's: 40 features
    into 64 filters of rank 1 and memory 8; its state is a variable tensor."""
    rng = np.random.default_rng(0)
    w = ModelWriter(description="kiln sample: SVDF")
    x = w.tensor("input", [1, 40], "int8", 1 / 128, 0)
    wf = w.tensor("weights_feature", [64, 40], "int8", 0.01, 0, data=rng.integers(-127, 128, [64, 40]).astype(np.int8))
    wt = w.tensor("weights_time", [64, 8], "int16", 2.0 ** -15, 0,
                  data=rng.integers(-20000, 20000, [64, 8]).astype(np.int16))
    b = w.tensor("bias", [64], "int32", 2.0 ** -26, 0, data=rng.integers(-1 << 24, 1 << 24, 64).astype(np.int32))
    s = w.tensor("activation_state", [1, 512], "int16", 2.0 ** -11, 0, variable=True)
    y = w.tensor("output", [1, 64], "int8", 0.05, 0)
    w.op("SVDF", [x, wf, wt, b, s], [y], {"rank": 1, "fused_activation_function": 1})
    w.inputs, w.outputs = [x], [y]
    return w.build()


def _frontend_model() -> bytes:
    """The audio front end (kiln/compiler/audio_frontend.py): 320 new samples to 40 int8 log-mel features."""
    from ..audio_frontend import write

    return write()


def _synthesis_model() -> bytes:
    """The signal operators a front end does not use: an inverse FFT of 4 frames of 65 int16 bins,
    their overlap-add at 64 samples, a delay of 40 samples; and a stacker of 16 channels with three
    frames of left context (valid from the first invocation: TFLite Micro leaves invalid outputs
    unwritten)."""
    from flatbuffers import flexbuffers

    w = ModelWriter(description="kiln sample: signal synthesis operators")
    bins, stack_in = w.tensor("bins", [4, 130], "int16"), w.tensor("channels", [16], "int16")
    frames, added = w.tensor("frames", [4, 128], "int16"), w.tensor("added", [256], "int16")
    delayed, stacked, valid = w.tensor("delayed", [256], "int16"), w.tensor("stacked", [64], "int16"), w.tensor(
        "stacked_valid", [], "bool")
    w.custom_op("SignalIrfft", [bins], [frames], flexbuffers.Dumps({"T": 7, "fft_length": 128}))
    w.custom_op("SignalOverlapAdd", [frames], [added], flexbuffers.Dumps({"T": 7, "frame_step": 64}))
    w.custom_op("SignalDelay", [added], [delayed], flexbuffers.Dumps({"delay_length": 40}))
    w.custom_op("SignalStacker", [stack_in], [stacked, valid], flexbuffers.Dumps(
        {"num_channels": 16, "stacker_left_context": 3, "stacker_right_context": 0, "stacker_step": 1}))
    w.inputs, w.outputs = [bins, stack_in], [delayed, stacked, valid]
    return w.build()


# kind -> (the model's builder, the index of the operator of that kind in it)
MODELS = {"CALL_ONCE": (_variables_model, 0), "VAR_HANDLE": (_variables_model, 1),
          "READ_VARIABLE": (_variables_model, 2), "ASSIGN_VARIABLE": (_variables_model, 4),
          "IF": (_if_model, 0), "WHILE": (_while_model, 0),
          "CUSTOM(TFLite_Detection_PostProcess)": (_detection_model, 0),
          "UNIDIRECTIONAL_SEQUENCE_LSTM": (_lstm_model, 0), "SVDF": (_svdf_model, 0),
          "CUSTOM(SignalFramer)": (_frontend_model, 0), "CUSTOM(SignalWindow)": (_frontend_model, 1),
          "CUSTOM(SignalFftAutoScale)": (_frontend_model, 3), "CUSTOM(SignalRfft)": (_frontend_model, 4),
          "CUSTOM(SignalEnergy)": (_frontend_model, 5), "CUSTOM(SignalFilterBank)": (_frontend_model, 6),
          "CUSTOM(SignalFilterBankSquareRoot)": (_frontend_model, 7),
          "CUSTOM(SignalFilterBankSpectralSubtraction)": (_frontend_model, 8),
          "CUSTOM(SignalPCAN)": (_frontend_model, 9), "CUSTOM(SignalFilterBankLog)": (_frontend_model, 10),
          "CUSTOM(SignalIrfft)": (_synthesis_model, 0), "CUSTOM(SignalOverlapAdd)": (_synthesis_model, 1),
          "CUSTOM(SignalDelay)": (_synthesis_model, 2), "CUSTOM(SignalStacker)": (_synthesis_model, 3)}


def kinds() -> list[str]:
    """Every kind with a sample."""
    return sorted(set(SPECS) | set(MODELS))


# the data-movement kinds: the benchmark sets them beside a memcpy of the bytes they write
MOVEMENT = {"RESHAPE", "PADV2", "GATHER_ND", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "TRANSPOSE", "PACK", "UNPACK",
            "SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE", "GATHER", "CONCATENATION", "PAD", "MIRROR_PAD",
            "REVERSE_V2", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BROADCAST_TO"}


def build_model(kind: str, spec=None) -> bytes:
    """The sample model of an operator kind (or of the spec given)."""
    if spec is None and kind in MODELS:
        return MODELS[kind][0]()
    ins, outs, options = spec or SPECS[kind]
    w = ModelWriter(description=f"kiln sample: {kind}")
    idx = []
    for k, spec_k in enumerate(ins):
        if spec_k is None:  # an omitted optional input
            idx.append(-1)
            continue
        shape, dtype, q, data = spec_k[:4]
        axis = spec_k[4] if len(spec_k) > 4 else 0
        idx.append(w.tensor(f"in{k}", shape, dtype, q[0] if q else None, q[1] if q else None, axis, data=data))
        if data is None:
            w.inputs.append(idx[-1])
    w.outputs = [w.tensor(f"out{k}", shape, dtype, q[0] if q else None, q[1] if q else None)
                 for k, (shape, dtype, q, _) in enumerate(outs)]
    w.op(kind, idx, w.outputs, options)
    return w.build()
