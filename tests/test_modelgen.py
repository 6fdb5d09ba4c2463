"""Every model tests/modelgen.py can make loads and runs in TFLite Micro,
matches its float reference, and has non-constant, unsaturated outputs."""

import itertools
import zlib

import numpy as np
import pytest
import tflite
from tflite_micro.python.tflite_micro.runtime import Interpreter

import modelgen as mg

ARENA_SIZE = 1 << 20
RUNS = 3  # invocations per model, on fresh random inputs


def _rng(description: str) -> np.random.Generator:
    """A generator seeded from the test case, so every case is reproducible."""
    return np.random.default_rng(zlib.crc32(description.encode()))


def check_runs_in_tflm(model: mg.GeneratedModel, rng: np.random.Generator):
    interpreter = Interpreter.from_bytes(model.data, arena_size=ARENA_SIZE)
    out_info = model.outputs[0]
    results = []
    for _ in range(RUNS):
        inputs = model.random_inputs(rng)
        for i, value in enumerate(inputs):
            interpreter.set_input(value, i)
        interpreter.invoke()
        out = interpreter.get_output(0)
        assert out.shape == out_info.shape, model.description
        assert out.dtype == mg.DTYPES[out_info.dtype][1], model.description
        if model.reference is not None:
            np.testing.assert_allclose(out_info.to_float(out), model.expected(inputs),
                                       rtol=0, atol=model.atol, err_msg=model.description)
        results.append(out.ravel())
    values = np.concatenate(results)
    assert len(np.unique(values)) > 1, f"constant output: {model.description}"
    if out_info.quantized:
        qmin, qmax = mg.qrange(out_info.dtype)
        spread = int(values.max()) - int(values.min())
        assert spread >= (qmax - qmin) // 16, f"output spread {spread}: {model.description}"
        assert np.mean(values == qmax) < 0.5, f"saturated output: {model.description}"
    return values


def _id(value):
    return str(value).replace(" ", "")


# -- FULLY_CONNECTED --------------------------------------------------------

FC_CASES = [
    dict(dtype=dtype, per_channel=pc, bias=bias, activation=act, keep_num_dims=keep,
         input_rank=rank, batch=1 if rank == 4 else 2)
    for dtype in ("int8", "float32")
    for pc in ((True, False) if dtype == "int8" else (False,))
    for bias, act, keep, rank in itertools.product(
        (True, False), ("NONE", "RELU", "RELU6"), (False, True), (2, 3, 4))
]


@pytest.mark.parametrize("kw", FC_CASES, ids=_id)
def test_fully_connected(kw):
    rng = _rng(_id(kw))
    check_runs_in_tflm(mg.fully_connected(rng, in_features=24, out_features=10, **kw), rng)


def test_fully_connected_sizes():
    rng = _rng("fc sizes")
    for inp, out, batch in ((1, 1, 1), (3, 17, 5), (64, 32, 1)):
        check_runs_in_tflm(mg.fully_connected(rng, batch=batch, in_features=inp,
                                              out_features=out, bias=True), rng)


# -- ADD / SUB / MUL --------------------------------------------------------

SHAPE_PAIRS = [((1, 4, 4, 3), (3,)), ((2, 3), (1, 3)), ((1, 8), (1, 8)),
               ((2, 1, 3), (1, 4, 1)), ((1, 4, 4, 3), (1, 1, 1, 1))]


@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=_id)
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6"])
def test_elementwise(kind, dtype, shapes, activation):
    rng = _rng(f"{kind}{dtype}{shapes}{activation}")
    check_runs_in_tflm(mg.elementwise(rng, kind, dtype, *shapes, activation=activation), rng)


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_elementwise_const_operand(kind, dtype):
    rng = _rng(f"const {kind}{dtype}")
    check_runs_in_tflm(mg.elementwise(rng, kind, dtype, (1, 4, 4, 3), (3,), const_b=True), rng)


# -- unary, softmax, (de)quantize, reshape ----------------------------------

@pytest.mark.parametrize("kind", ["RELU", "RELU6", "LOGISTIC", "TANH"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape", [(1, 8, 8, 3), (2, 100)], ids=_id)
def test_unary(kind, dtype, shape):
    rng = _rng(f"{kind}{dtype}{shape}")
    check_runs_in_tflm(mg.unary(rng, kind, dtype, shape), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape", [(1, 10), (4, 5), (1, 4, 4, 8)], ids=_id)
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_softmax(dtype, shape, beta):
    rng = _rng(f"softmax{dtype}{shape}{beta}")
    check_runs_in_tflm(mg.softmax(rng, dtype, shape, beta), rng)


@pytest.mark.parametrize("in_dtype,out_dtype", [("float32", "int8"), ("int8", "int8")])
@pytest.mark.parametrize("shape", [(1, 16), (1, 4, 4, 3)], ids=_id)
def test_quantize(in_dtype, out_dtype, shape):
    rng = _rng(f"quantize{in_dtype}{out_dtype}{shape}")
    model = mg.quantize(rng, in_dtype, out_dtype, shape)
    if in_dtype == out_dtype:
        assert (model.inputs[0].scale, model.inputs[0].zero_point) != \
               (model.outputs[0].scale, model.outputs[0].zero_point)
    check_runs_in_tflm(model, rng)


@pytest.mark.parametrize("shape", [(1, 16), (2, 3, 5)], ids=_id)
def test_dequantize(shape):
    rng = _rng(f"dequantize{shape}")
    check_runs_in_tflm(mg.dequantize(rng, shape), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("form", ["option", "tensor"])
@pytest.mark.parametrize("shapes", [((1, 4, 4, 3), (1, 48)), ((2, 6), (3, 4)),
                                    ((1, 4, 4, 3), (1, -1)), ((1, 12), (1, 2, 2, 3))], ids=_id)
def test_reshape(dtype, form, shapes):
    rng = _rng(f"reshape{dtype}{form}{shapes}")
    check_runs_in_tflm(mg.reshape(rng, dtype, *shapes, form=form), rng)


# -- convolutional helpers --------------------------------------------------

CONV_CASES = [
    dict(padding=p, strides=s, dilation=d, activation=a)
    for p, s, d, a in itertools.product(("SAME", "VALID"), ((1, 1), (2, 2), (2, 1)),
                                        ((1, 1), (2, 2)), ("NONE", "RELU6"))
    if not (s != (1, 1) and d != (1, 1))  # TFLite converters never emit both
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kw", CONV_CASES, ids=_id)
def test_conv2d(dtype, kw):
    rng = _rng(f"conv{dtype}{kw}")
    check_runs_in_tflm(mg.conv2d(rng, dtype, input_shape=(1, 9, 8, 3), out_channels=5, **kw), rng)


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kernel,shape", [((1, 1), (2, 5, 5, 4)), ((3, 2), (1, 6, 7, 2))], ids=_id)
def test_conv2d_variants(per_channel, bias, kernel, shape):
    rng = _rng(f"convv{per_channel}{bias}{kernel}{shape}")
    check_runs_in_tflm(mg.conv2d(rng, "int8", shape, 6, kernel, activation="RELU",
                                 per_channel=per_channel, bias=bias), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("kw", CONV_CASES, ids=_id)
def test_depthwise_conv2d(dtype, multiplier, kw):
    rng = _rng(f"dw{dtype}{multiplier}{kw}")
    check_runs_in_tflm(mg.depthwise_conv2d(rng, dtype, (1, 9, 8, 3), multiplier, **kw), rng)


@pytest.mark.parametrize("per_channel", [True, False])
def test_depthwise_conv2d_variants(per_channel):
    rng = _rng(f"dwv{per_channel}")
    check_runs_in_tflm(mg.depthwise_conv2d(rng, "int8", (1, 6, 6, 4), 1, (3, 3),
                                           per_channel=per_channel), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_depthwise_conv2d_without_bias_is_well_formed(dtype):
    # TFLite Micro segfaults preparing DEPTHWISE_CONV_2D without a bias, so
    # this model is only read back, not run.
    model = mg.depthwise_conv2d(np.random.default_rng(0), dtype, bias=False)
    op = _read(model.data).Subgraphs(0).Operators(0)
    assert list(op.InputsAsNumpy()) == [0, 1, -1]


@pytest.mark.parametrize("kind", ["MAX", "AVERAGE"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("window", [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((3, 2), (2, 1))], ids=_id)
@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_pool2d(kind, dtype, padding, window, activation):
    rng = _rng(f"pool{kind}{dtype}{padding}{window}{activation}")
    check_runs_in_tflm(mg.pool2d(rng, kind, dtype, (1, 7, 8, 3), *window, padding, activation), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shape,paddings", [
    ((1, 4, 4, 3), ((0, 0), (1, 2), (2, 1), (0, 0))),
    ((2, 5), ((1, 0), (0, 3))),
    ((1, 3, 3, 2), ((0, 0), (0, 0), (0, 0), (1, 1))),
], ids=_id)
def test_pad(dtype, shape, paddings):
    rng = _rng(f"pad{dtype}{shape}{paddings}")
    check_runs_in_tflm(mg.pad(rng, dtype, shape, paddings), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("shapes,axis", [
    (((1, 4, 4, 3), (1, 4, 4, 5)), -1),
    (((1, 4, 4, 3), (1, 4, 4, 5)), 3),
    (((1, 2, 4, 3), (1, 3, 4, 3), (1, 1, 4, 3)), 1),
    (((2, 3), (1, 3)), 0),
], ids=_id)
def test_concatenation(dtype, shapes, axis):
    rng = _rng(f"concat{dtype}{shapes}{axis}")
    check_runs_in_tflm(mg.concatenation(rng, dtype, shapes, axis), rng)


@pytest.mark.xfail(raises=RuntimeError, strict=True,
                   reason="TFLite Micro CONCATENATION rejects fused activations")
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_concatenation_with_activation(dtype):
    rng = _rng(f"concat relu {dtype}")
    check_runs_in_tflm(mg.concatenation(rng, dtype, activation="RELU"), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("axis,keep_dims", [((1, 2), True), ((1, 2), False), ((3,), True),
                                            ((1,), False), ((2, 1), True)], ids=_id)
@pytest.mark.parametrize("same_qparams", [False, True])
def test_mean(dtype, axis, keep_dims, same_qparams):
    rng = _rng(f"mean{dtype}{axis}{keep_dims}{same_qparams}")
    check_runs_in_tflm(mg.mean(rng, dtype, (1, 4, 5, 8), axis, keep_dims, same_qparams), rng)


STRIDED_SLICE_CASES = [
    dict(begin=(0, 1, 0, 0), end=(1, 7, 8, 3), strides=(1, 2, 1, 1)),
    dict(begin=(0, 1, 2, 0), end=(1, 5, 6, 2), strides=(1, 1, 2, 1), begin_mask=0b1001,
         end_mask=0b1001),
    dict(begin=(0, 2, 0, 1), end=(1, 3, 8, 2), strides=(1, 1, 1, 1), shrink_axis_mask=0b1010),
    dict(begin=(0, -1, 0, 0), end=(1, -9, 8, 3), strides=(1, -1, 1, 1)),
    dict(begin=(0, -3, 0, 0), end=(0, 0, 0, 0), strides=(1, 1, 1, 1), end_mask=0b1111),
    dict(begin=(0, 1, 0, 2), end=(1, 8, 8, 3), strides=(1, 3, 3, 1)),
] + [
    # Well-formed, but TFLite Micro's STRIDED_SLICE fails to prepare these:
    # it ignores ``offset`` and does not implement ellipsis/new-axis masks.
    pytest.param(kw, marks=pytest.mark.xfail(raises=RuntimeError, strict=True,
                                             reason="not supported by TFLite Micro"))
    for kw in (
        dict(begin=(0, 1, 1, 0), end=(1, 4, 3, 3), strides=(1, 1, 1, 1), offset=True),
        dict(begin=(0, 1, 0), end=(0, 3, 0), strides=(1, 1, 1), ellipsis_mask=0b100,
             begin_mask=1, end_mask=1),
        dict(begin=(0, 0, 1, 0, 0), end=(1, 0, 4, 8, 3), strides=(1, 1, 1, 1, 1),
             new_axis_mask=0b10),
    )
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kw", STRIDED_SLICE_CASES, ids=_id)
def test_strided_slice(dtype, kw):
    rng = _rng(f"ss{dtype}{kw}")
    check_runs_in_tflm(mg.strided_slice(rng, dtype, (1, 8, 8, 3), **kw), rng)


# -- multi-operator models --------------------------------------------------

@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("batch", [1, 3])
def test_fc_softmax(dtype, batch):
    rng = _rng(f"fcsm{dtype}{batch}")
    check_runs_in_tflm(mg.fc_softmax(rng, dtype, batch), rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_conv_pool(dtype):
    rng = _rng(f"convpool{dtype}")
    check_runs_in_tflm(mg.conv_pool(rng, dtype), rng)


def test_quantized_fc_float_io():
    rng = _rng("qfc")
    check_runs_in_tflm(mg.quantized_fc_float_io(rng, batch=2), rng)


# -- determinism and file format ---------------------------------------------

def test_helpers_are_deterministic():
    a = mg.conv2d(np.random.default_rng(7), "int8")
    b = mg.conv2d(np.random.default_rng(7), "int8")
    c = mg.conv2d(np.random.default_rng(8), "int8")
    assert a.data == b.data and a.data != c.data
    assert mg.softmax(5).data == mg.softmax(np.random.default_rng(5)).data


def _read(data: bytes):
    assert data[4:8] == b"TFL3"
    model = tflite.Model.GetRootAs(data, 0)
    assert model.Version() == 3
    assert model.Buffers(0).DataLength() == 0  # empty sentinel buffer
    return model


def _opcode(model, op):
    code = model.OperatorCodes(op.OpcodeIndex())
    return code.BuiltinCode(), code.DeprecatedBuiltinCode()


def test_builder_example_layout():
    b = mg.ModelBuilder()
    x = b.input("x", shape=[1, 8], dtype="int8", scale=0.1, zero_point=-3)
    w = b.const("w", np.arange(32, dtype=np.int8).reshape(4, 8), scale=[0.02, 0.03, 0.04, 0.05],
                zero_point=0, quantized_dimension=0)
    bias = b.const("b", np.arange(4, dtype=np.int32), scale=[0.002, 0.003, 0.004, 0.005])
    y = b.tensor("y", shape=[1, 4], dtype="int8", scale=0.05, zero_point=1)
    b.op("FULLY_CONNECTED", inputs=[x, w, bias], outputs=[y], fused_activation="RELU",
         keep_num_dims=True)
    b.output(y)
    model = _read(b.build())
    graph = model.Subgraphs(0)
    assert model.SubgraphsLength() == 1 and graph.OperatorsLength() == 1
    assert list(graph.InputsAsNumpy()) == [x] and list(graph.OutputsAsNumpy()) == [y]
    wt = graph.Tensors(w)
    assert wt.Type() == tflite.TensorType.INT8 and list(wt.ShapeAsNumpy()) == [4, 8]
    assert np.allclose(wt.Quantization().ScaleAsNumpy(), [0.02, 0.03, 0.04, 0.05])
    assert list(wt.Quantization().ZeroPointAsNumpy()) == [0, 0, 0, 0]
    data = model.Buffers(wt.Buffer()).DataAsNumpy()
    assert bytes(data) == np.arange(32, dtype=np.int8).tobytes()
    xt = graph.Tensors(x)
    assert xt.Quantization().ZeroPointAsNumpy()[0] == -3
    assert model.Buffers(xt.Buffer()).DataLength() == 0
    op = graph.Operators(0)
    assert _opcode(model, op) == (tflite.BuiltinOperator.FULLY_CONNECTED,) * 2
    assert op.BuiltinOptionsType() == tflite.BuiltinOptions.FullyConnectedOptions
    options = tflite.FullyConnectedOptions()
    options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
    assert options.FusedActivationFunction() == tflite.ActivationFunctionType.RELU
    assert options.KeepNumDims()


def test_buffers_are_16_byte_aligned():
    data = mg.conv2d(np.random.default_rng(0), "int8").data
    model = _read(data)
    for i in range(1, model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.DataLength():
            # offset of the first data byte inside the file
            start = buf._tab.Vector(buf._tab.Offset(4))
            assert start % 16 == 0


def test_rejects_bad_options_and_names():
    b = mg.ModelBuilder()
    x = b.input("x", [1, 4], "float32")
    with pytest.raises(TypeError):
        b.op("ADD", [x, x], [x], keep_dims=True)
    with pytest.raises(TypeError):
        b.op("RELU", [x], [x], fused_activation="RELU")
    with pytest.raises(ValueError):
        b.op("NOT_AN_OP", [x], [x])


# -- models for "unsupported ..." tests --------------------------------------

@pytest.mark.parametrize("name", ["LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "GELU", "BATCH_MATMUL"])
def test_unsupported_operator_is_well_formed(name):
    model = _read(mg.unsupported_operator(name))
    op = model.Subgraphs(0).Operators(0)
    code = mg.builtin_code(name)
    assert _opcode(model, op) == (code, min(code, 127))
    assert op.BuiltinOptionsType() == tflite.BuiltinOptions.NONE


@pytest.mark.parametrize("count", [2, 3])
def test_several_subgraphs_is_well_formed(count):
    model = _read(mg.several_subgraphs(count))
    assert model.SubgraphsLength() == count
    names = [model.Subgraphs(i).Name() for i in range(count)]
    assert len(set(names)) == count


@pytest.mark.parametrize("dtype,tensor_type", [
    ("int16", tflite.TensorType.INT16), ("string", tflite.TensorType.STRING),
    ("complex64", tflite.TensorType.COMPLEX64), ("int64", tflite.TensorType.INT64),
    ("bool", tflite.TensorType.BOOL), ("uint8", tflite.TensorType.UINT8),
])
def test_unsupported_dtype_is_well_formed(dtype, tensor_type):
    model = _read(mg.unsupported_dtype(dtype))
    graph = model.Subgraphs(0)
    assert {graph.Tensors(i).Type() for i in range(graph.TensorsLength())} == {tensor_type}


def test_several_subgraphs_first_graph_still_runs():
    data = mg.several_subgraphs(2)
    interpreter = Interpreter.from_bytes(data, arena_size=ARENA_SIZE)
    interpreter.set_input(np.array([[-1, 2, -3, 4]], np.float32), 0)
    interpreter.invoke()
    assert interpreter.get_output(0).tolist() == [[0, 2, 0, 4]]
