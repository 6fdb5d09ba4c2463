"""Write small, valid .tflite models for tests (no TensorFlow needed).

Two layers:

* ``ModelBuilder`` -- a thin, explicit writer of the TFLite flatbuffer schema
  (version 3, file identifier "TFL3").  You add tensors, constants and
  operators by name and call ``build()`` to get the bytes.

* Model helpers (``fully_connected``, ``elementwise``, ``conv2d`` ...) -- make
  complete single-operator (and a few two/three-operator) models with random
  but sensible weights and quantization parameters, deterministic from a
  ``numpy.random.Generator``.  Output quantization parameters are chosen from
  the float range the op actually produces on sample inputs, so int8 outputs
  spread over the int8 range instead of saturating.  Each helper returns a
  ``GeneratedModel`` with the bytes, a description, the input/output tensor
  descriptions and a float ``reference`` function.

Example::

    b = ModelBuilder()
    x = b.input("x", shape=[1, 8], dtype="int8", scale=0.1, zero_point=-3)
    w = b.const("w", np.ones((4, 8), np.int8), scale=[0.02] * 4, zero_point=0)
    y = b.tensor("y", shape=[1, 4], dtype="int8", scale=0.05, zero_point=1)
    b.op("FULLY_CONNECTED", inputs=[x, w, -1], outputs=[y], fused_activation="RELU")
    b.output(y)
    data = b.build()
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import flatbuffers
import numpy as np
import tflite

# --------------------------------------------------------------------------
# Schema constants
# --------------------------------------------------------------------------

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"

# dtype name -> (TensorType enum value, numpy dtype or None if numpy has none)
DTYPES = {
    "float32": (tflite.TensorType.FLOAT32, np.float32),
    "float16": (tflite.TensorType.FLOAT16, np.float16),
    "float64": (tflite.TensorType.FLOAT64, np.float64),
    "int8": (tflite.TensorType.INT8, np.int8),
    "uint8": (tflite.TensorType.UINT8, np.uint8),
    "int16": (tflite.TensorType.INT16, np.int16),
    "uint16": (tflite.TensorType.UINT16, np.uint16),
    "int32": (tflite.TensorType.INT32, np.int32),
    "uint32": (tflite.TensorType.UINT32, np.uint32),
    "int64": (tflite.TensorType.INT64, np.int64),
    "uint64": (tflite.TensorType.UINT64, np.uint64),
    "bool": (tflite.TensorType.BOOL, np.bool_),
    "string": (tflite.TensorType.STRING, None),
    "complex64": (tflite.TensorType.COMPLEX64, np.complex64),
}

ACTIVATIONS = {
    "NONE": tflite.ActivationFunctionType.NONE,
    "RELU": tflite.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": tflite.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": tflite.ActivationFunctionType.RELU6,
    "TANH": tflite.ActivationFunctionType.TANH,
    "SIGN_BIT": tflite.ActivationFunctionType.SIGN_BIT,
}

PADDINGS = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}

WEIGHTS_FORMATS = {
    "DEFAULT": tflite.FullyConnectedOptionsWeightsFormat.DEFAULT,
    "SHUFFLED4x16INT8": tflite.FullyConnectedOptionsWeightsFormat.SHUFFLED4x16INT8,
}


def dtype_name(np_dtype) -> str:
    """The modelgen dtype name of a numpy dtype (e.g. np.int8 -> "int8")."""
    np_dtype = np.dtype(np_dtype)
    for name, (_, candidate) in DTYPES.items():
        if candidate is not None and np.dtype(candidate) == np_dtype:
            return name
    raise ValueError(f"no TFLite tensor type for numpy dtype {np_dtype}")


def builtin_code(op_name: str) -> int:
    """BuiltinOperator enum value of an operator name such as "CONV_2D"."""
    code = getattr(tflite.BuiltinOperator, op_name, None)
    if not isinstance(code, int):
        raise ValueError(f"unknown builtin operator {op_name!r}")
    return code


# --------------------------------------------------------------------------
# Builtin options writers.  Each writes one options table and returns its
# offset (or None for "no options table").  The keyword arguments of each
# writer are exactly the options ModelBuilder.op() accepts for that operator.
# --------------------------------------------------------------------------


def _int32_vector(fb, values):
    return fb.CreateNumpyVector(np.asarray(values, dtype=np.int32).reshape(-1))


def _fully_connected_options(fb, fused_activation="NONE", keep_num_dims=False,
                             weights_format="DEFAULT"):
    tflite.FullyConnectedOptionsStart(fb)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    tflite.FullyConnectedOptionsAddWeightsFormat(fb, WEIGHTS_FORMATS[weights_format])
    tflite.FullyConnectedOptionsAddKeepNumDims(fb, bool(keep_num_dims))
    return tflite.FullyConnectedOptionsEnd(fb)


def _add_options(fb, fused_activation="NONE"):
    tflite.AddOptionsStart(fb)
    tflite.AddOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.AddOptionsEnd(fb)


def _sub_options(fb, fused_activation="NONE"):
    tflite.SubOptionsStart(fb)
    tflite.SubOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.SubOptionsEnd(fb)


def _mul_options(fb, fused_activation="NONE"):
    tflite.MulOptionsStart(fb)
    tflite.MulOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.MulOptionsEnd(fb)


def _softmax_options(fb, beta=1.0):
    tflite.SoftmaxOptionsStart(fb)
    tflite.SoftmaxOptionsAddBeta(fb, float(beta))
    return tflite.SoftmaxOptionsEnd(fb)


def _reshape_options(fb, new_shape=None):
    if new_shape is None:  # shape given by the second (shape tensor) input
        return None
    shape = _int32_vector(fb, new_shape)
    tflite.ReshapeOptionsStart(fb)
    tflite.ReshapeOptionsAddNewShape(fb, shape)
    return tflite.ReshapeOptionsEnd(fb)


def _empty_options(start, end):
    def write(fb):
        start(fb)
        return end(fb)
    return write


def _conv_2d_options(fb, padding="SAME", stride_w=1, stride_h=1, dilation_w=1,
                     dilation_h=1, fused_activation="NONE"):
    tflite.Conv2DOptionsStart(fb)
    tflite.Conv2DOptionsAddPadding(fb, PADDINGS[padding])
    tflite.Conv2DOptionsAddStrideW(fb, stride_w)
    tflite.Conv2DOptionsAddStrideH(fb, stride_h)
    tflite.Conv2DOptionsAddDilationWFactor(fb, dilation_w)
    tflite.Conv2DOptionsAddDilationHFactor(fb, dilation_h)
    tflite.Conv2DOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.Conv2DOptionsEnd(fb)


def _depthwise_conv_2d_options(fb, padding="SAME", stride_w=1, stride_h=1, dilation_w=1,
                               dilation_h=1, depth_multiplier=1, fused_activation="NONE"):
    tflite.DepthwiseConv2DOptionsStart(fb)
    tflite.DepthwiseConv2DOptionsAddPadding(fb, PADDINGS[padding])
    tflite.DepthwiseConv2DOptionsAddStrideW(fb, stride_w)
    tflite.DepthwiseConv2DOptionsAddStrideH(fb, stride_h)
    tflite.DepthwiseConv2DOptionsAddDilationWFactor(fb, dilation_w)
    tflite.DepthwiseConv2DOptionsAddDilationHFactor(fb, dilation_h)
    tflite.DepthwiseConv2DOptionsAddDepthMultiplier(fb, depth_multiplier)
    tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.DepthwiseConv2DOptionsEnd(fb)


def _pool_2d_options(fb, padding="VALID", stride_w=1, stride_h=1, filter_width=1,
                     filter_height=1, fused_activation="NONE"):
    tflite.Pool2DOptionsStart(fb)
    tflite.Pool2DOptionsAddPadding(fb, PADDINGS[padding])
    tflite.Pool2DOptionsAddStrideW(fb, stride_w)
    tflite.Pool2DOptionsAddStrideH(fb, stride_h)
    tflite.Pool2DOptionsAddFilterWidth(fb, filter_width)
    tflite.Pool2DOptionsAddFilterHeight(fb, filter_height)
    tflite.Pool2DOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.Pool2DOptionsEnd(fb)


def _concatenation_options(fb, axis=0, fused_activation="NONE"):
    tflite.ConcatenationOptionsStart(fb)
    tflite.ConcatenationOptionsAddAxis(fb, axis)
    tflite.ConcatenationOptionsAddFusedActivationFunction(fb, ACTIVATIONS[fused_activation])
    return tflite.ConcatenationOptionsEnd(fb)


def _reducer_options(fb, keep_dims=False):
    tflite.ReducerOptionsStart(fb)
    tflite.ReducerOptionsAddKeepDims(fb, bool(keep_dims))
    return tflite.ReducerOptionsEnd(fb)


def _strided_slice_options(fb, begin_mask=0, end_mask=0, ellipsis_mask=0,
                           new_axis_mask=0, shrink_axis_mask=0, offset=False):
    tflite.StridedSliceOptionsStart(fb)
    tflite.StridedSliceOptionsAddBeginMask(fb, begin_mask)
    tflite.StridedSliceOptionsAddEndMask(fb, end_mask)
    tflite.StridedSliceOptionsAddEllipsisMask(fb, ellipsis_mask)
    tflite.StridedSliceOptionsAddNewAxisMask(fb, new_axis_mask)
    tflite.StridedSliceOptionsAddShrinkAxisMask(fb, shrink_axis_mask)
    tflite.StridedSliceOptionsAddOffset(fb, bool(offset))
    return tflite.StridedSliceOptionsEnd(fb)


_BO = tflite.BuiltinOptions
# operator name -> (BuiltinOptions union type, writer)
OPTION_WRITERS = {
    "FULLY_CONNECTED": (_BO.FullyConnectedOptions, _fully_connected_options),
    "ADD": (_BO.AddOptions, _add_options),
    "SUB": (_BO.SubOptions, _sub_options),
    "MUL": (_BO.MulOptions, _mul_options),
    "SOFTMAX": (_BO.SoftmaxOptions, _softmax_options),
    "RESHAPE": (_BO.ReshapeOptions, _reshape_options),
    "QUANTIZE": (_BO.QuantizeOptions,
                 _empty_options(tflite.QuantizeOptionsStart, tflite.QuantizeOptionsEnd)),
    "DEQUANTIZE": (_BO.DequantizeOptions,
                   _empty_options(tflite.DequantizeOptionsStart, tflite.DequantizeOptionsEnd)),
    "PAD": (_BO.PadOptions, _empty_options(tflite.PadOptionsStart, tflite.PadOptionsEnd)),
    "CONV_2D": (_BO.Conv2DOptions, _conv_2d_options),
    "DEPTHWISE_CONV_2D": (_BO.DepthwiseConv2DOptions, _depthwise_conv_2d_options),
    "AVERAGE_POOL_2D": (_BO.Pool2DOptions, _pool_2d_options),
    "MAX_POOL_2D": (_BO.Pool2DOptions, _pool_2d_options),
    "CONCATENATION": (_BO.ConcatenationOptions, _concatenation_options),
    "MEAN": (_BO.ReducerOptions, _reducer_options),
    "STRIDED_SLICE": (_BO.StridedSliceOptions, _strided_slice_options),
}
# Any other builtin (LOGISTIC, TANH, RELU, RELU6, LSTM, ...) gets no options table.


# --------------------------------------------------------------------------
# ModelBuilder
# --------------------------------------------------------------------------


@dataclass
class _Tensor:
    name: str
    shape: list
    dtype: str
    buffer: int
    scale: Optional[list] = None
    zero_point: Optional[list] = None
    quantized_dimension: int = 0


@dataclass
class _Operator:
    name: str
    version: int
    inputs: list
    outputs: list
    options: dict


class ModelBuilder:
    """Collects tensors and operators of one subgraph and writes a .tflite model.

    Every tensor gets its own buffer (empty for activations) and buffer 0 is
    the empty sentinel, as the TFLite converter writes them.
    """

    def __init__(self, description: str = "kiln tests/modelgen"):
        self.description = description
        self.buffers: list[bytes] = [b""]  # buffer 0: empty sentinel
        self.tensors: list[_Tensor] = []
        self.operators: list[_Operator] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    # -- tensors -----------------------------------------------------------

    def tensor(self, name, shape, dtype, scale=None, zero_point=None,
               quantized_dimension=0, data: Optional[bytes] = None) -> int:
        """Add a tensor (an activation unless ``data`` is given); return its index.

        ``scale`` is None (not quantized), a float, or a list (per channel
        along ``quantized_dimension``); ``zero_point`` likewise (default 0).
        """
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; known: {sorted(DTYPES)}")
        scales = zero_points = None
        if scale is not None:
            scales = [float(s) for s in np.atleast_1d(scale)]
            zps = np.atleast_1d(0 if zero_point is None else zero_point)
            if zps.size == 1 and len(scales) > 1:
                zps = np.repeat(zps, len(scales))
            zero_points = [int(z) for z in zps]
            if len(zero_points) != len(scales):
                raise ValueError(f"{name}: {len(scales)} scales but {len(zero_points)} zero points")
        self.buffers.append(data or b"")
        self.tensors.append(_Tensor(name, [int(d) for d in shape], dtype, len(self.buffers) - 1,
                                    scales, zero_points, int(quantized_dimension)))
        return len(self.tensors) - 1

    def input(self, name, shape, dtype, scale=None, zero_point=None) -> int:
        """Add a subgraph input tensor; return its index."""
        index = self.tensor(name, shape, dtype, scale, zero_point)
        self.inputs.append(index)
        return index

    def const(self, name, array, scale=None, zero_point=None, quantized_dimension=0) -> int:
        """Add a constant tensor holding ``array`` (dtype taken from the array)."""
        array = np.asarray(array)
        dtype = dtype_name(array.dtype)
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        return self.tensor(name, array.shape, dtype, scale, zero_point, quantized_dimension, data)

    def output(self, *tensors: int) -> None:
        """Mark tensors as subgraph outputs."""
        self.outputs.extend(tensors)

    # -- operators ---------------------------------------------------------

    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int],
           version: int = 1, **options) -> int:
        """Add a builtin operator by name (use -1 for an omitted optional input).

        ``options`` are the builtin options of the operator (see the writers
        in OPTION_WRITERS); operators without a writer take none.
        """
        builtin_code(name)  # validate the name early
        if name in OPTION_WRITERS:
            inspect.signature(OPTION_WRITERS[name][1]).bind(None, **options)
        elif options:
            raise TypeError(f"{name} takes no options in modelgen, got {sorted(options)}")
        self.operators.append(_Operator(name, version, list(inputs), list(outputs), options))
        return len(self.operators) - 1

    # -- serialisation -----------------------------------------------------

    def build(self, extra_subgraphs: int = 0) -> bytes:
        """Serialise the model.  ``extra_subgraphs`` appends that many copies
        of the subgraph (named "extra_1", ...) for multi-subgraph tests."""
        fb = flatbuffers.Builder(1024)
        opcodes = self._opcode_list()
        buffers = [self._write_buffer(fb, data) for data in self.buffers]
        subgraphs = [self._write_subgraph(fb, "main" if i == 0 else f"extra_{i}", opcodes)
                     for i in range(1 + extra_subgraphs)]
        opcode_tables = [self._write_opcode(fb, name, version) for name, version in opcodes]
        description = fb.CreateString(self.description)

        opcode_vec = _offset_vector(fb, opcode_tables)
        subgraph_vec = _offset_vector(fb, subgraphs)
        buffer_vec = _offset_vector(fb, buffers)
        tflite.ModelStart(fb)
        tflite.ModelAddVersion(fb, SCHEMA_VERSION)
        tflite.ModelAddOperatorCodes(fb, opcode_vec)
        tflite.ModelAddSubgraphs(fb, subgraph_vec)
        tflite.ModelAddDescription(fb, description)
        tflite.ModelAddBuffers(fb, buffer_vec)
        fb.Finish(tflite.ModelEnd(fb), file_identifier=FILE_IDENTIFIER)
        return bytes(fb.Output())

    def _opcode_list(self):
        opcodes = []
        for op in self.operators:
            if (op.name, op.version) not in opcodes:
                opcodes.append((op.name, op.version))
        return opcodes

    @staticmethod
    def _write_opcode(fb, name, version):
        code = builtin_code(name)
        tflite.OperatorCodeStart(fb)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(fb, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(fb, code)
        tflite.OperatorCodeAddVersion(fb, version)
        return tflite.OperatorCodeEnd(fb)

    @staticmethod
    def _write_buffer(fb, data: bytes):
        data_vec = _aligned_bytes(fb, data) if data else None
        tflite.BufferStart(fb)
        if data_vec is not None:
            tflite.BufferAddData(fb, data_vec)
        return tflite.BufferEnd(fb)

    @staticmethod
    def _write_tensor(fb, t: _Tensor):
        name = fb.CreateString(t.name)
        shape = _int32_vector(fb, t.shape)
        quant = None
        if t.scale is not None:
            scale = fb.CreateNumpyVector(np.asarray(t.scale, dtype=np.float32))
            zero_point = fb.CreateNumpyVector(np.asarray(t.zero_point, dtype=np.int64))
            tflite.QuantizationParametersStart(fb)
            tflite.QuantizationParametersAddScale(fb, scale)
            tflite.QuantizationParametersAddZeroPoint(fb, zero_point)
            tflite.QuantizationParametersAddQuantizedDimension(fb, t.quantized_dimension)
            quant = tflite.QuantizationParametersEnd(fb)
        tflite.TensorStart(fb)
        tflite.TensorAddShape(fb, shape)
        tflite.TensorAddType(fb, DTYPES[t.dtype][0])
        tflite.TensorAddBuffer(fb, t.buffer)
        tflite.TensorAddName(fb, name)
        if quant is not None:
            tflite.TensorAddQuantization(fb, quant)
        return tflite.TensorEnd(fb)

    @staticmethod
    def _write_operator(fb, op: _Operator, opcode_index):
        inputs = _int32_vector(fb, op.inputs)
        outputs = _int32_vector(fb, op.outputs)
        options_type, options = tflite.BuiltinOptions.NONE, None
        if op.name in OPTION_WRITERS:
            options_type, writer = OPTION_WRITERS[op.name]
            options = writer(fb, **op.options)
        tflite.OperatorStart(fb)
        tflite.OperatorAddOpcodeIndex(fb, opcode_index)
        tflite.OperatorAddInputs(fb, inputs)
        tflite.OperatorAddOutputs(fb, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(fb, options_type)
            tflite.OperatorAddBuiltinOptions(fb, options)
        return tflite.OperatorEnd(fb)

    def _write_subgraph(self, fb, name, opcodes):
        tensors = [self._write_tensor(fb, t) for t in self.tensors]
        operators = [self._write_operator(fb, op, opcodes.index((op.name, op.version)))
                     for op in self.operators]
        tensor_vec = _offset_vector(fb, tensors)
        operator_vec = _offset_vector(fb, operators)
        inputs = _int32_vector(fb, self.inputs)
        outputs = _int32_vector(fb, self.outputs)
        name = fb.CreateString(name)
        tflite.SubGraphStart(fb)
        tflite.SubGraphAddTensors(fb, tensor_vec)
        tflite.SubGraphAddInputs(fb, inputs)
        tflite.SubGraphAddOutputs(fb, outputs)
        tflite.SubGraphAddOperators(fb, operator_vec)
        tflite.SubGraphAddName(fb, name)
        return tflite.SubGraphEnd(fb)


def _offset_vector(fb, offsets):
    fb.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


def _aligned_bytes(fb, data: bytes, alignment: int = 16):
    """A [ubyte] vector whose data starts on an ``alignment`` boundary, as the
    converter writes buffers (schema: ``data:[ubyte] (force_align: 16)``)."""
    fb.StartVector(1, len(data), alignment)
    fb.head -= len(data)
    fb.Bytes[fb.head:fb.head + len(data)] = data
    return fb.EndVector()


# --------------------------------------------------------------------------
# Quantization arithmetic
# --------------------------------------------------------------------------

QUANTIZED_DTYPES = ("int8", "uint8", "int16")


def qrange(dtype: str) -> tuple[int, int]:
    info = np.iinfo(DTYPES[dtype][1])
    return int(info.min), int(info.max)


def choose_qparams(lo: float, hi: float, dtype: str = "int8") -> tuple[float, int]:
    """Affine (scale, zero_point) covering [lo, hi] (widened to include 0);
    int16 is symmetric with zero point 0, as TFLite requires."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmin, qmax = qrange(dtype)
    if dtype == "int16":
        return max(abs(lo), abs(hi), 1e-6) / qmax, 0
    scale = max(hi - lo, 1e-6) / (qmax - qmin)
    zero_point = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return scale, zero_point


def quantize_array(x, scale, zero_point, dtype="int8", axis=None):
    """Round float ``x`` to ``dtype``; per-channel when ``scale`` is a vector along ``axis``."""
    scale, zero_point = _broadcast_qparams(x, scale, zero_point, axis)
    qmin, qmax = qrange(dtype) if dtype != "int32" else (-(2**31), 2**31 - 1)
    q = np.round(np.asarray(x, np.float64) / scale) + zero_point
    return np.clip(q, qmin, qmax).astype(DTYPES[dtype][1])


def dequantize_array(q, scale, zero_point, axis=None):
    scale, zero_point = _broadcast_qparams(q, scale, zero_point, axis)
    return (np.asarray(q, np.float64) - zero_point) * scale


def _broadcast_qparams(x, scale, zero_point, axis):
    scale = np.asarray(scale, np.float64)
    zero_point = np.asarray(zero_point, np.float64)
    if axis is not None and scale.ndim == 1 and scale.size > 1:
        shape = [1] * np.ndim(x)
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), np.broadcast_to(zero_point, scale.shape).reshape(shape)
    return scale, zero_point


def symmetric_weights(w, axis: int, per_channel: bool):
    """Quantize float weights to int8 with zero point 0, one scale per slice
    along ``axis`` (per channel) or a single scale.  Returns (q, scales)."""
    w = np.asarray(w, np.float64)
    reduce_axes = tuple(i for i in range(w.ndim) if i != axis)
    max_abs = np.max(np.abs(w), axis=reduce_axes) if per_channel else np.array([np.max(np.abs(w))])
    scales = np.maximum(max_abs, 1e-8) / 127.0
    q = quantize_array(w, scales if per_channel else scales[0], 0, "int8", axis)
    return q, [float(s) for s in scales]


# --------------------------------------------------------------------------
# Float reference kernels (numpy, NHWC)
# --------------------------------------------------------------------------


def apply_activation(x, activation: str):
    if activation == "NONE":
        return x
    if activation == "RELU":
        return np.maximum(x, 0.0)
    if activation == "RELU6":
        return np.clip(x, 0.0, 6.0)
    if activation == "RELU_N1_TO_1":
        return np.clip(x, -1.0, 1.0)
    raise ValueError(f"unsupported fused activation {activation!r}")


def _out_size_and_pad(size, k, stride, dilation, padding):
    effective = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride if padding == "SAME" else (size - effective) // stride + 1
    total = max((out - 1) * stride + effective - size, 0)
    return out, (total // 2, total - total // 2)


def _windows(x, kernel, strides, dilation, padding, pad_value=0.0):
    """Yield (i, j, patch): for each kernel tap, the [N, OH, OW, C] input
    values it sees, with TFLite's SAME/VALID padding."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation
    oh, pad_h = _out_size_and_pad(x.shape[1], kh, sh, dh, padding)
    ow, pad_w = _out_size_and_pad(x.shape[2], kw, sw, dw, padding)
    xp = np.pad(x, [(0, 0), pad_h, pad_w, (0, 0)], constant_values=pad_value)
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                           j * dw: j * dw + sw * (ow - 1) + 1: sw, :]


def conv2d_ref(x, filters, bias, strides, dilation, padding):
    """filters: [out, kh, kw, in]."""
    y = sum(patch @ filters[:, i, j, :].T
            for i, j, patch in _windows(x, filters.shape[1:3], strides, dilation, padding))
    return y + (0.0 if bias is None else bias)


def depthwise_conv2d_ref(x, filters, bias, strides, dilation, padding):
    """filters: [1, kh, kw, in * depth_multiplier]."""
    multiplier = filters.shape[3] // x.shape[3]
    y = sum(np.repeat(patch, multiplier, axis=-1) * filters[0, i, j, :]
            for i, j, patch in _windows(x, filters.shape[1:3], strides, dilation, padding))
    return y + (0.0 if bias is None else bias)


def pool2d_ref(x, kind, kernel, strides, padding):
    if kind == "MAX":
        patches = [p for _, _, p in _windows(x, kernel, strides, (1, 1), padding, -np.inf)]
        return np.max(patches, axis=0)
    total = sum(p for _, _, p in _windows(x, kernel, strides, (1, 1), padding))
    count = sum(p for _, _, p in _windows(np.ones_like(x), kernel, strides, (1, 1), padding))
    return total / count


def strided_slice_ref(x, begin, end, strides, begin_mask=0, end_mask=0, shrink_axis_mask=0,
                      ellipsis_mask=0, new_axis_mask=0, offset=False):
    """TFLite STRIDED_SLICE through numpy indexing: entry d of begin/end/strides
    becomes ``...`` (ellipsis bit), ``None`` (new axis bit), an integer index
    (shrink bit) or a slice; ``offset`` means end is relative to begin."""
    index = []
    for d, (b, e, s) in enumerate(zip(begin, end, strides)):
        if ellipsis_mask >> d & 1:
            index.append(Ellipsis)
        elif new_axis_mask >> d & 1:
            index.append(None)
        elif shrink_axis_mask >> d & 1:
            index.append(b)
        else:
            e = b + e if offset else e
            index.append(slice(None if begin_mask >> d & 1 else b,
                               None if end_mask >> d & 1 else e, s))
    return x[tuple(index)]


def softmax_ref(x, beta=1.0):
    z = beta * (x - np.max(x, axis=-1, keepdims=True))
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------
# Generated models
# --------------------------------------------------------------------------


@dataclass
class TensorInfo:
    """An input or output of a generated model.  ``lo``/``hi`` is the float
    range the model was designed for (inputs are sampled from it)."""
    name: str
    shape: tuple
    dtype: str
    scale: Optional[float] = None
    zero_point: Optional[int] = None
    lo: float = -1.0
    hi: float = 1.0

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def random(self, rng) -> np.ndarray:
        """A random value for this tensor in its own dtype."""
        if self.quantized:
            qmin, qmax = qrange(self.dtype)
            return rng.integers(qmin, qmax, self.shape, endpoint=True).astype(DTYPES[self.dtype][1])
        return rng.uniform(self.lo, self.hi, self.shape).astype(DTYPES[self.dtype][1])

    def to_float(self, value) -> np.ndarray:
        if self.quantized:
            return dequantize_array(value, self.scale, self.zero_point)
        return np.asarray(value, np.float64)

    def float_limits(self) -> tuple[float, float]:
        """Representable float range (+-inf for float tensors)."""
        if not self.quantized:
            return -np.inf, np.inf
        qmin, qmax = qrange(self.dtype)
        return (qmin - self.zero_point) * self.scale, (qmax - self.zero_point) * self.scale


@dataclass
class GeneratedModel:
    """A model plus what a test needs to drive and check it.

    ``reference(*float_inputs)`` computes the float result (inputs and
    weights as the quantized model sees them, no output rounding); the
    quantized output should match it within ``atol`` after clipping to the
    output's representable range.
    """
    data: bytes
    description: str
    inputs: list
    outputs: list
    reference: Optional[Callable] = None
    atol: float = 0.0
    details: dict = field(default_factory=dict)

    def random_inputs(self, rng) -> list:
        return [t.random(rng) for t in self.inputs]

    def expected(self, input_values) -> np.ndarray:
        floats = [t.to_float(v) for t, v in zip(self.inputs, input_values)]
        lo, hi = self.outputs[0].float_limits()
        return np.clip(self.reference(*floats), lo, hi)


class _Net:
    """ModelBuilder plus the bookkeeping the helpers share: float ranges and
    quantization of inputs/activations, quantized weights and biases."""

    def __init__(self, dtype: str, rng):
        self.b = ModelBuilder()
        self.dtype = dtype
        self.rng = rng
        self.quantized = dtype in QUANTIZED_DTYPES
        self.inputs: list[TensorInfo] = []
        self.infos: dict[int, TensorInfo] = {}

    def input(self, name, shape, lo, hi, qparams=None, dtype=None) -> int:
        index = self.activation(name, shape, lo, hi, qparams, dtype)
        self.b.inputs.append(index)
        self.inputs.append(self.infos[index])
        return index

    def activation(self, name, shape, lo, hi, qparams=None, dtype=None) -> int:
        """Tensor for values in [lo, hi]; quantized from that range (or
        ``qparams``) when the dtype is quantized."""
        dtype = dtype or self.dtype
        scale = zero_point = None
        if dtype in QUANTIZED_DTYPES:
            scale, zero_point = qparams or choose_qparams(lo, hi, dtype)
        index = self.b.tensor(name, shape, dtype, scale, zero_point)
        self.infos[index] = TensorInfo(name, tuple(shape), dtype, scale, zero_point, lo, hi)
        return index

    def result(self, name, reference, qparams=None, dtype=None, margin=0.1) -> int:
        """Output tensor of ``reference`` applied to the current inputs: shape
        from the reference, quantization from its range on sample inputs."""
        shape = reference(*[np.zeros(t.shape) for t in self.inputs]).shape
        lo, hi = sample_range(reference, self.inputs, self.rng)
        pad = margin * (hi - lo)
        return self.activation(name, shape, lo - pad, hi + pad, qparams, dtype)

    def weights(self, name, w, axis, per_channel=True):
        """Const weights: int8 symmetric when quantized.  Returns (index,
        float weights as the model sees them, scales or None)."""
        if not self.quantized:
            return self.b.const(name, np.asarray(w, np.float32)), np.asarray(w, np.float32), None
        q, scales = symmetric_weights(w, axis, per_channel)
        index = self.b.const(name, q, scale=scales, zero_point=0,
                             quantized_dimension=axis if per_channel else 0)
        return index, dequantize_array(q, scales if per_channel else scales[0], 0, axis), scales

    def bias(self, name, bias, input_index, weight_scales):
        """Const bias (int32 with scale input_scale * weight_scale[c] when
        quantized).  Returns (index, float bias as the model sees it)."""
        if bias is None:
            return -1, None
        if not self.quantized:
            return self.b.const(name, np.asarray(bias, np.float32)), np.asarray(bias, np.float32)
        scales = self.infos[input_index].scale * np.asarray(weight_scales)
        if scales.size == 1:  # per-tensor weights: one bias scale
            q = quantize_array(bias, scales[0], 0, "int32")
            return self.b.const(name, q, scale=float(scales[0]), zero_point=0), q * scales[0]
        q = quantize_array(bias, scales, 0, "int32", axis=0)
        return self.b.const(name, q, scale=list(scales), zero_point=0), q * scales

    def finish(self, output, description, reference, atol_steps=1.0) -> GeneratedModel:
        self.b.output(output)
        info = self.infos[output]
        atol = atol_steps * info.scale if info.quantized else 1e-4 * (1 + max(abs(info.lo), abs(info.hi)))
        return GeneratedModel(self.b.build(), description, self.inputs, [info], reference, atol)


def sample_range(reference, inputs, rng, samples=64) -> tuple[float, float]:
    """Min and max of ``reference`` over random float inputs in their ranges."""
    values = [reference(*[rng.uniform(t.lo, t.hi, t.shape) for t in inputs])
              for _ in range(samples)]
    return float(np.min(values)), float(np.max(values))


def _random_range(rng, low=0.5, high=4.0) -> tuple[float, float]:
    """A random float range around zero, e.g. (-1.7, 3.2)."""
    return -float(rng.uniform(low, high)), float(rng.uniform(low, high))


def _tag(**flags) -> str:
    return " ".join(f"{k}={v}" for k, v in flags.items())


def _seeded(helper):
    """Let a model helper take an int seed as well as a numpy Generator."""
    @functools.wraps(helper)
    def wrapper(rng, *args, **kwargs):
        return helper(np.random.default_rng(rng), *args, **kwargs)
    return wrapper


# --------------------------------------------------------------------------
# Single-operator helpers
# --------------------------------------------------------------------------


@_seeded
def fully_connected(rng, dtype="int8", batch=1, in_features=16, out_features=8,
                    per_channel=True, bias=True, activation="NONE", keep_num_dims=False,
                    input_rank=2) -> GeneratedModel:
    """FULLY_CONNECTED with input [batch, 2, ..., in_features] (rank ``input_rank``)."""
    net = _Net(dtype, rng)
    lead = [batch] + [2] * (input_rank - 2)
    out_shape = lead + [out_features] if keep_num_dims else [math.prod(lead), out_features]
    x = net.input("input", lead + [in_features], *_random_range(rng))
    w_idx, w, w_scales = net.weights("weights", rng.normal(0, 1 / math.sqrt(in_features),
                                                           (out_features, in_features)), 0, per_channel)
    b_idx, b = net.bias("bias", rng.normal(0, 0.5, out_features) if bias else None, x, w_scales)

    def reference(x):
        y = x.reshape(-1, in_features) @ w.T + (0.0 if b is None else b)
        return apply_activation(y, activation).reshape(out_shape)

    y = net.result("output", reference)
    net.b.op("FULLY_CONNECTED", [x, w_idx, b_idx], [y], fused_activation=activation,
             keep_num_dims=keep_num_dims)
    return net.finish(y, "FULLY_CONNECTED " + _tag(
        dtype=dtype, batch=batch, inp=in_features, out=out_features, per_channel=per_channel,
        bias=bias, act=activation, keep_num_dims=keep_num_dims, rank=input_rank), reference)


_ELEMENTWISE = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}


@_seeded
def elementwise(rng, kind="ADD", dtype="int8", shape_a=(1, 4, 4, 3), shape_b=(3,),
                activation="NONE", const_b=False) -> GeneratedModel:
    """ADD/SUB/MUL of two inputs with numpy broadcasting (``const_b``: the
    second operand is a constant instead of an input)."""
    net = _Net(dtype, rng)
    a = net.input("a", shape_a, *_random_range(rng))
    if const_b:
        b_float = rng.uniform(-2, 2, shape_b)
        if net.quantized:
            scale, zp = choose_qparams(b_float.min(), b_float.max())
            b_q = quantize_array(b_float, scale, zp)
            b = net.b.const("b", b_q, scale=scale, zero_point=zp)
            b_float = dequantize_array(b_q, scale, zp)
        else:
            b = net.b.const("b", b_float.astype(np.float32))
    else:
        b = net.input("b", shape_b, *_random_range(rng))

    def reference(x, y=None):
        y = b_float if const_b else y
        return apply_activation(_ELEMENTWISE[kind](x, y), activation)

    out = net.result("output", reference)
    net.b.op(kind, [a, b], [out], fused_activation=activation)
    return net.finish(out, f"{kind} " + _tag(dtype=dtype, a=list(shape_a), b=list(shape_b),
                                              act=activation, const_b=const_b), reference)


_UNARY = {
    "RELU": (lambda x: np.maximum(x, 0.0), (-4.0, 4.0)),
    "RELU6": (lambda x: np.clip(x, 0.0, 6.0), (-3.0, 9.0)),
    "LOGISTIC": (sigmoid, (-8.0, 8.0)),
    "TANH": (np.tanh, (-4.0, 4.0)),
}
# Output quantization TFLite requires for int8 LOGISTIC / TANH.
_FIXED_INT8_OUTPUT = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}


@_seeded
def unary(rng, kind="RELU", dtype="int8", shape=(1, 8, 8, 3)) -> GeneratedModel:
    """One of RELU, RELU6, LOGISTIC, TANH (no options).

    int8 RELU6 keeps the input quantization: TFLite Micro's int8 RELU6 only
    clamps and does not rescale, so other output parameters give wrong results.
    """
    fn, (lo, hi) = _UNARY[kind]
    net = _Net(dtype, rng)
    x = net.input("input", shape, lo * rng.uniform(0.8, 1.0), hi * rng.uniform(0.8, 1.0))
    fixed = _FIXED_INT8_OUTPUT.get(kind) if dtype == "int8" else None
    if kind == "RELU6":
        fixed = _same_qparams(net, x)
    y = net.result("output", fn, qparams=fixed, margin=0.0)
    net.b.op(kind, [x], [y])
    return net.finish(y, f"{kind} " + _tag(dtype=dtype, shape=list(shape)), fn,
                      atol_steps=2.0 if kind in _FIXED_INT8_OUTPUT else 1.0)


@_seeded
def softmax(rng, dtype="int8", shape=(1, 10), beta=1.0) -> GeneratedModel:
    """SOFTMAX over the last axis; int8 output is scale 1/256, zero point -128."""
    net = _Net(dtype, rng)
    x = net.input("logits", shape, *_random_range(rng, 2.0, 6.0))

    def reference(x):
        return softmax_ref(x, beta)

    y = net.result("output", reference, qparams=(1 / 256, -128) if dtype == "int8" else None)
    net.b.op("SOFTMAX", [x], [y], beta=beta)
    return net.finish(y, "SOFTMAX " + _tag(dtype=dtype, shape=list(shape), beta=beta),
                      reference, atol_steps=2.0)


@_seeded
def quantize(rng, in_dtype="float32", out_dtype="int8", shape=(1, 16)) -> GeneratedModel:
    """QUANTIZE float32->int8, or a requantize int8->int8 (new scale and zero point)."""
    net = _Net(in_dtype, rng)
    lo, hi = _random_range(rng)
    x = net.input("input", shape, lo, hi)
    # a requantize gets a different (here: wider, shifted) output range
    out_lo, out_hi = (lo, hi) if in_dtype == "float32" else (lo * 1.7 - 0.5, hi * 1.3)
    y = net.activation("output", shape, out_lo, out_hi, dtype=out_dtype)

    def reference(x):
        return x

    net.b.op("QUANTIZE", [x], [y])
    return net.finish(y, "QUANTIZE " + _tag(inp=in_dtype, out=out_dtype, shape=list(shape)),
                      reference)


@_seeded
def dequantize(rng, shape=(1, 16)) -> GeneratedModel:
    """DEQUANTIZE int8->float32."""
    net = _Net("int8", rng)
    lo, hi = _random_range(rng)
    x = net.input("input", shape, lo, hi)
    y = net.activation("output", shape, lo, hi, dtype="float32")

    def reference(x):
        return x

    net.b.op("DEQUANTIZE", [x], [y])
    return net.finish(y, "DEQUANTIZE " + _tag(shape=list(shape)), reference)


@_seeded
def reshape(rng, dtype="int8", in_shape=(1, 4, 4, 3), out_shape=(1, 48),
            form="option") -> GeneratedModel:
    """RESHAPE with the shape in ReshapeOptions.new_shape ("option") or in an
    int32 const second input ("tensor").  ``out_shape`` may contain -1."""
    net = _Net(dtype, rng)
    lo, hi = _random_range(rng)
    x = net.input("input", in_shape, lo, hi)
    concrete = np.zeros(in_shape).reshape(out_shape).shape
    y = net.activation("output", concrete, lo, hi, qparams=_same_qparams(net, x))

    def reference(x):
        return x.reshape(concrete)

    if form == "option":
        net.b.op("RESHAPE", [x], [y], new_shape=list(out_shape))
    elif form == "tensor":
        shape_tensor = net.b.const("shape", np.asarray(out_shape, np.int32))
        net.b.op("RESHAPE", [x, shape_tensor], [y])
    else:
        raise ValueError(f"form must be 'option' or 'tensor', not {form!r}")
    return net.finish(y, "RESHAPE " + _tag(dtype=dtype, inp=list(in_shape), out=list(out_shape),
                                            form=form), reference)


def _same_qparams(net, index):
    info = net.infos[index]
    return (info.scale, info.zero_point) if info.quantized else None


# --------------------------------------------------------------------------
# Convolutional helpers (NHWC)
# --------------------------------------------------------------------------


@_seeded
def conv2d(rng, dtype="int8", input_shape=(1, 8, 8, 3), out_channels=4, kernel=(3, 3),
           strides=(1, 1), dilation=(1, 1), padding="SAME", activation="NONE",
           per_channel=True, bias=True) -> GeneratedModel:
    """CONV_2D; filters [out, kh, kw, in], int8 per-channel along dimension 0."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    fan_in = kernel[0] * kernel[1] * input_shape[3]
    f_idx, f, f_scales = net.weights(
        "filters", rng.normal(0, 1 / math.sqrt(fan_in), (out_channels, *kernel, input_shape[3])),
        0, per_channel)
    b_idx, b = net.bias("bias", rng.normal(0, 0.5, out_channels) if bias else None, x, f_scales)

    def reference(x):
        return apply_activation(conv2d_ref(x, f, b, strides, dilation, padding), activation)

    y = net.result("output", reference)
    net.b.op("CONV_2D", [x, f_idx, b_idx], [y], padding=padding, stride_h=strides[0],
             stride_w=strides[1], dilation_h=dilation[0], dilation_w=dilation[1],
             fused_activation=activation)
    return net.finish(y, "CONV_2D " + _tag(
        dtype=dtype, inp=list(input_shape), out_ch=out_channels, k=list(kernel), s=list(strides),
        d=list(dilation), pad=padding, act=activation, per_channel=per_channel, bias=bias),
        reference)


@_seeded
def depthwise_conv2d(rng, dtype="int8", input_shape=(1, 8, 8, 3), depth_multiplier=1,
                     kernel=(3, 3), strides=(1, 1), dilation=(1, 1), padding="SAME",
                     activation="NONE", per_channel=True, bias=True) -> GeneratedModel:
    """DEPTHWISE_CONV_2D; filters [1, kh, kw, in*multiplier], int8 per-channel along dimension 3.

    ``bias=False`` writes a valid model (bias input -1) but TFLite Micro
    crashes (segfault while preparing) on depthwise convolutions without bias.
    """
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    channels = input_shape[3] * depth_multiplier
    f_idx, f, f_scales = net.weights(
        "filters", rng.normal(0, 1 / math.sqrt(kernel[0] * kernel[1]), (1, *kernel, channels)),
        3, per_channel)
    b_idx, b = net.bias("bias", rng.normal(0, 0.5, channels) if bias else None, x, f_scales)

    def reference(x):
        return apply_activation(depthwise_conv2d_ref(x, f, b, strides, dilation, padding),
                                activation)

    y = net.result("output", reference)
    net.b.op("DEPTHWISE_CONV_2D", [x, f_idx, b_idx], [y], padding=padding, stride_h=strides[0],
             stride_w=strides[1], dilation_h=dilation[0], dilation_w=dilation[1],
             depth_multiplier=depth_multiplier, fused_activation=activation)
    return net.finish(y, "DEPTHWISE_CONV_2D " + _tag(
        dtype=dtype, inp=list(input_shape), mult=depth_multiplier, k=list(kernel),
        s=list(strides), d=list(dilation), pad=padding, act=activation,
        per_channel=per_channel, bias=bias), reference)


@_seeded
def pool2d(rng, kind="MAX", dtype="int8", input_shape=(1, 8, 8, 3), filter_size=(2, 2),
           strides=(2, 2), padding="VALID", activation="NONE") -> GeneratedModel:
    """MAX_POOL_2D or AVERAGE_POOL_2D; int8 output shares the input quantization."""
    net = _Net(dtype, rng)
    lo, hi = _random_range(rng)  # mostly positive (as after a RELU), so RELU keeps values
    x = net.input("input", input_shape, -min(-lo, hi) / 2, max(-lo, hi))

    def reference(x):
        return apply_activation(pool2d_ref(x, kind, filter_size, strides, padding), activation)

    y = net.result("output", reference, qparams=_same_qparams(net, x))
    net.b.op(f"{kind}_POOL_2D", [x], [y], padding=padding, stride_h=strides[0],
             stride_w=strides[1], filter_height=filter_size[0], filter_width=filter_size[1],
             fused_activation=activation)
    return net.finish(y, f"{kind}_POOL_2D " + _tag(
        dtype=dtype, inp=list(input_shape), f=list(filter_size), s=list(strides), pad=padding,
        act=activation), reference)


@_seeded
def pad(rng, dtype="int8", input_shape=(1, 4, 4, 3),
        paddings=((0, 0), (1, 2), (2, 1), (0, 0))) -> GeneratedModel:
    """PAD with an int32 const paddings input [rank, 2]; pads with (quantized) 0."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    p = net.b.const("paddings", np.asarray(paddings, np.int32))

    def reference(x):
        return np.pad(x, paddings)

    y = net.result("output", reference, qparams=_same_qparams(net, x))
    net.b.op("PAD", [x, p], [y])
    return net.finish(y, "PAD " + _tag(dtype=dtype, inp=list(input_shape),
                                        paddings=[list(q) for q in paddings]), reference)


@_seeded
def concatenation(rng, dtype="int8", shapes=((1, 4, 4, 3), (1, 4, 4, 5)), axis=-1,
                  activation="NONE") -> GeneratedModel:
    """CONCATENATION of several inputs; int8 inputs and output share quantization."""
    net = _Net(dtype, rng)
    lo, hi = _random_range(rng)
    first = net.input("input_0", shapes[0], lo, hi)
    xs = [first] + [net.input(f"input_{i}", s, lo, hi, qparams=_same_qparams(net, first))
                    for i, s in enumerate(shapes[1:], 1)]

    def reference(*xs):
        return apply_activation(np.concatenate(xs, axis=axis), activation)

    y = net.result("output", reference, qparams=_same_qparams(net, first))
    net.b.op("CONCATENATION", xs, [y], axis=axis, fused_activation=activation)
    return net.finish(y, "CONCATENATION " + _tag(dtype=dtype, shapes=[list(s) for s in shapes],
                                                  axis=axis, act=activation), reference)


@_seeded
def pools_concat(rng, dtype="int8", input_shape=(1, 8, 8, 4), axis=1) -> GeneratedModel:
    """MAX_POOL_2D and AVERAGE_POOL_2D (2x2, stride 2) of one input, then CONCATENATION of the
    two along ``axis``. With every dimension before the axis 1, each pool's output is a
    contiguous block of the result, which the planner may place in its block (no copy)."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))

    def maxed(x):
        return pool2d_ref(x, "MAX", (2, 2), (2, 2), "VALID")

    def averaged(x):
        return pool2d_ref(x, "AVERAGE", (2, 2), (2, 2), "VALID")

    def reference(x):
        return np.concatenate([maxed(x), averaged(x)], axis=axis)

    a = net.result("max", maxed, qparams=_same_qparams(net, x))
    b = net.result("avg", averaged, qparams=_same_qparams(net, x))
    y = net.result("output", reference, qparams=_same_qparams(net, x))
    pool = dict(padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    net.b.op("MAX_POOL_2D", [x], [a], **pool)
    net.b.op("AVERAGE_POOL_2D", [x], [b], **pool)
    net.b.op("CONCATENATION", [a, b], [y], axis=axis, fused_activation="NONE")
    return net.finish(y, "POOLS+CONCATENATION " + _tag(dtype=dtype, inp=list(input_shape), axis=axis),
                      reference, atol_steps=1.5)


@_seeded
def mean(rng, dtype="int8", input_shape=(1, 4, 4, 8), axis=(1, 2), keep_dims=True,
         same_qparams=False) -> GeneratedModel:
    """MEAN over ``axis`` (int32 const input); int8 output quantization is
    chosen from the output range unless ``same_qparams``."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    a = net.b.const("axis", np.asarray(axis, np.int32))

    def reference(x):
        return np.mean(x, axis=tuple(axis), keepdims=keep_dims)

    y = net.result("output", reference, qparams=_same_qparams(net, x) if same_qparams else None)
    net.b.op("MEAN", [x, a], [y], keep_dims=keep_dims)
    return net.finish(y, "MEAN " + _tag(dtype=dtype, inp=list(input_shape), axis=list(axis),
                                         keep_dims=keep_dims, same_q=same_qparams), reference)


@_seeded
def strided_slice(rng, dtype="int8", input_shape=(1, 8, 8, 3), begin=(0, 1, 0, 0),
                  end=(1, 7, 8, 3), strides=(1, 2, 1, 1), begin_mask=0, end_mask=0,
                  shrink_axis_mask=0, ellipsis_mask=0, new_axis_mask=0,
                  offset=False) -> GeneratedModel:
    """STRIDED_SLICE with int32 const begin/end/strides; output shares input quantization."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    consts = [net.b.const(n, np.asarray(v, np.int32))
              for n, v in (("begin", begin), ("end", end), ("strides", strides))]

    def reference(x):
        return strided_slice_ref(x, begin, end, strides, begin_mask, end_mask,
                                 shrink_axis_mask, ellipsis_mask, new_axis_mask, offset)

    y = net.result("output", reference, qparams=_same_qparams(net, x))
    net.b.op("STRIDED_SLICE", [x, *consts], [y], begin_mask=begin_mask, end_mask=end_mask,
             shrink_axis_mask=shrink_axis_mask, ellipsis_mask=ellipsis_mask,
             new_axis_mask=new_axis_mask, offset=offset)
    return net.finish(y, "STRIDED_SLICE " + _tag(
        dtype=dtype, inp=list(input_shape), begin=list(begin), end=list(end),
        strides=list(strides), begin_mask=begin_mask, end_mask=end_mask,
        shrink=shrink_axis_mask, ellipsis=ellipsis_mask, new_axis=new_axis_mask,
        offset=offset), reference)


# --------------------------------------------------------------------------
# Multi-operator helpers
# --------------------------------------------------------------------------


@_seeded
def fc_softmax(rng, dtype="int8", batch=1, in_features=32, classes=10) -> GeneratedModel:
    """FULLY_CONNECTED -> SOFTMAX: a classifier head."""
    net = _Net(dtype, rng)
    x = net.input("input", [batch, in_features], *_random_range(rng))
    w_idx, w, w_scales = net.weights("weights", rng.normal(0, 2 / math.sqrt(in_features),
                                                           (classes, in_features)), 0, True)
    b_idx, b = net.bias("bias", rng.normal(0, 0.5, classes), x, w_scales)

    def logits(x):
        return x @ w.T + b

    def reference(x):
        return softmax_ref(logits(x))

    z = net.result("logits", logits)
    y = net.result("probabilities", reference,
                   qparams=(1 / 256, -128) if dtype == "int8" else None)
    net.b.op("FULLY_CONNECTED", [x, w_idx, b_idx], [z])
    net.b.op("SOFTMAX", [z], [y], beta=1.0)
    return net.finish(y, "FULLY_CONNECTED+SOFTMAX " + _tag(dtype=dtype, batch=batch,
                                                            inp=in_features, classes=classes),
                      reference, atol_steps=4.0)


@_seeded
def conv_pool(rng, dtype="int8", input_shape=(1, 8, 8, 3), out_channels=8) -> GeneratedModel:
    """CONV_2D (3x3 SAME, RELU) -> MAX_POOL_2D (2x2 stride 2)."""
    net = _Net(dtype, rng)
    x = net.input("input", input_shape, *_random_range(rng))
    f_idx, f, f_scales = net.weights(
        "filters", rng.normal(0, 1 / math.sqrt(9 * input_shape[3]),
                              (out_channels, 3, 3, input_shape[3])), 0, True)
    b_idx, b = net.bias("bias", rng.normal(0, 0.2, out_channels), x, f_scales)

    def features(x):
        return apply_activation(conv2d_ref(x, f, b, (1, 1), (1, 1), "SAME"), "RELU")

    def reference(x):
        return pool2d_ref(features(x), "MAX", (2, 2), (2, 2), "VALID")

    h = net.result("features", features)
    y = net.result("output", reference, qparams=_same_qparams(net, h))
    net.b.op("CONV_2D", [x, f_idx, b_idx], [h], padding="SAME", fused_activation="RELU")
    net.b.op("MAX_POOL_2D", [h], [y], padding="VALID", stride_w=2, stride_h=2,
             filter_width=2, filter_height=2)
    return net.finish(y, "CONV_2D+MAX_POOL_2D " + _tag(dtype=dtype, inp=list(input_shape),
                                                        out_ch=out_channels),
                      reference, atol_steps=1.5)


@_seeded
def quantized_fc_float_io(rng, batch=1, in_features=16, out_features=8) -> GeneratedModel:
    """QUANTIZE -> FULLY_CONNECTED (int8) -> DEQUANTIZE: float interface, int8 inside."""
    net = _Net("int8", rng)
    lo, hi = _random_range(rng)
    x_float = net.input("input", [batch, in_features], lo, hi, dtype="float32")
    x = net.activation("input_int8", [batch, in_features], lo, hi)
    w_idx, w, w_scales = net.weights("weights", rng.normal(0, 1 / math.sqrt(in_features),
                                                           (out_features, in_features)), 0, True)
    b_idx, b = net.bias("bias", rng.normal(0, 0.5, out_features), x, w_scales)

    def reference(x):
        return x @ w.T + b

    y = net.result("output_int8", reference)
    y_info = net.infos[y]
    y_float = net.activation("output", y_info.shape, y_info.lo, y_info.hi, dtype="float32")
    net.b.op("QUANTIZE", [x_float], [x])
    net.b.op("FULLY_CONNECTED", [x, w_idx, b_idx], [y])
    net.b.op("DEQUANTIZE", [y], [y_float])
    model = net.finish(y_float, "QUANTIZE+FULLY_CONNECTED+DEQUANTIZE " + _tag(
        batch=batch, inp=in_features, out=out_features), reference)
    # error: input rounding (half a step of the int8 input, through the
    # weights) plus one output step
    x_step = net.infos[x].scale
    model.atol = y_info.scale + 0.5 * x_step * float(np.abs(w).sum(axis=1).max())
    return model


# --------------------------------------------------------------------------
# Models for "unsupported ..." tests (well-formed, but not for Kiln)
# --------------------------------------------------------------------------


def unsupported_operator(name="LSTM", dtype="float32", shape=(1, 4)) -> bytes:
    """One builtin operator ``name`` (no options) from an input to an output."""
    b = ModelBuilder()
    x = b.input("input", shape, dtype)
    y = b.tensor("output", shape, dtype)
    b.op(name, [x], [y])
    b.output(y)
    return b.build()


def several_subgraphs(count=2) -> bytes:
    """A RELU model with ``count`` subgraphs."""
    b = ModelBuilder()
    x = b.input("input", [1, 4], "float32")
    y = b.tensor("output", [1, 4], "float32")
    b.op("RELU", [x], [y])
    b.output(y)
    return b.build(extra_subgraphs=count - 1)


def unsupported_dtype(dtype="int16", shape=(1, 4)) -> bytes:
    """RESHAPE of a ``dtype`` tensor (int16 gets symmetric quantization)."""
    b = ModelBuilder()
    q = dict(scale=1 / 4096, zero_point=0) if dtype == "int16" else {}
    x = b.input("input", shape, dtype, **q)
    y = b.tensor("output", [math.prod(shape)], dtype, **q)
    b.op("RESHAPE", [x], [y], new_shape=[math.prod(shape)])
    b.output(y)
    return b.build()


@_seeded
def separable_block(rng, dtype="int8", input_shape=(1, 10, 10, 8), expand=16, out_channels=8,
                    strides=(1, 1)) -> GeneratedModel:
    """CONV_2D 1x1 (expand, RELU6) -> DEPTHWISE_CONV_2D 3x3 (RELU6) -> CONV_2D 1x1 (project): a
    MobileNet block, a chain whose activations the planner may overlap."""
    net = _Net(dtype, rng)
    c = input_shape[3]
    x = net.input("input", input_shape, *_random_range(rng))
    w1_idx, w1, s1 = net.weights("expand_filters", rng.normal(0, 1 / math.sqrt(c), (expand, 1, 1, c)), 0, True)
    b1_idx, b1 = net.bias("expand_bias", rng.normal(0, 0.2, expand), x, s1)

    def expanded(x):
        return apply_activation(conv2d_ref(x, w1, b1, (1, 1), (1, 1), "SAME"), "RELU6")

    t1 = net.result("expanded", expanded)
    w2_idx, w2, s2 = net.weights("depthwise_filters", rng.normal(0, 1 / 3, (1, 3, 3, expand)), 3, True)
    b2_idx, b2 = net.bias("depthwise_bias", rng.normal(0, 0.2, expand), t1, s2)

    def filtered(x):
        return apply_activation(depthwise_conv2d_ref(expanded(x), w2, b2, strides, (1, 1), "SAME"), "RELU6")

    t2 = net.result("filtered", filtered)
    w3_idx, w3, s3 = net.weights("project_filters", rng.normal(0, 1 / math.sqrt(expand), (out_channels, 1, 1, expand)),
                                 0, True)
    b3_idx, b3 = net.bias("project_bias", rng.normal(0, 0.2, out_channels), t2, s3)

    def reference(x):
        return conv2d_ref(filtered(x), w3, b3, (1, 1), (1, 1), "SAME")

    y = net.result("output", reference)
    net.b.op("CONV_2D", [x, w1_idx, b1_idx], [t1], padding="SAME", fused_activation="RELU6")
    net.b.op("DEPTHWISE_CONV_2D", [t1, w2_idx, b2_idx], [t2], padding="SAME", stride_h=strides[0],
             stride_w=strides[1], depth_multiplier=1, fused_activation="RELU6")
    net.b.op("CONV_2D", [t2, w3_idx, b3_idx], [y], padding="SAME")
    return net.finish(y, "CONV_2D+DEPTHWISE_CONV_2D+CONV_2D " + _tag(
        dtype=dtype, inp=list(input_shape), expand=expand, out_ch=out_channels, s=list(strides)),
        reference, atol_steps=3.0)


@_seeded
def conv_residual(rng, dtype="int8", input_shape=(1, 6, 6, 8)) -> GeneratedModel:
    """CONV_2D 3x3 (C -> C) -> ADD with the block's input: the input is read again after the
    convolution, so the convolution may not write over it."""
    net = _Net(dtype, rng)
    c = input_shape[3]
    x = net.input("input", input_shape, *_random_range(rng))
    w_idx, w, s = net.weights("filters", rng.normal(0, 1 / math.sqrt(9 * c), (c, 3, 3, c)), 0, True)
    b_idx, b = net.bias("bias", rng.normal(0, 0.2, c), x, s)

    def features(x):
        return conv2d_ref(x, w, b, (1, 1), (1, 1), "SAME")

    def reference(x):
        return features(x) + x

    h = net.result("features", features)
    y = net.result("output", reference)
    net.b.op("CONV_2D", [x, w_idx, b_idx], [h], padding="SAME")
    net.b.op("ADD", [x, h], [y])
    return net.finish(y, "CONV_2D+ADD " + _tag(dtype=dtype, inp=list(input_shape)), reference, atol_steps=3.0)
