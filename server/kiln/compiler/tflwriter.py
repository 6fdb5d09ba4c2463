"""Writes a .tflite flatbuffer: the importer's inverse, for models Kiln makes itself.

Used to evaluate an operator with TFLite Micro at compile time (passes/constants.py folds
constant subgraphs exactly as TFLite Micro computes them) and by the tests to build single-operator
models. Builtin options are written from the same snake_case dict the importer reads, by
reflection over the `tflite` package's generated builders, so every option of every builtin
operator round-trips without a writer per operator.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

from ..errors import KilnError

TENSOR_TYPES = {"float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7,
                "int8": 9, "float64": 10, "uint64": 12, "resource": 13, "uint32": 15, "uint16": 16, "int4": 17}

# Operators whose options table is not named after the operator.
_OPTIONS_OF = {"MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
               "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
               "REDUCE_ALL": "ReducerOptions", "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
               "L2_POOL_2D": "Pool2DOptions", "MAXIMUM": "MaximumMinimumOptions",
               "MINIMUM": "MaximumMinimumOptions", "L2_NORMALIZATION": "L2NormOptions",
               "LOCAL_RESPONSE_NORMALIZATION": "LocalResponseNormalizationOptions",
               "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions", "SVDF": "SVDFOptions"}


@functools.lru_cache(maxsize=None)
def _option_classes() -> dict[str, int]:
    return {k: v for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_") and isinstance(v, int)}


def options_type(kind: str) -> str | None:
    """The builtin options table of an operator kind (e.g. GATHER -> GatherOptions), or None."""
    if kind in _OPTIONS_OF:
        return _OPTIONS_OF[kind]
    want = kind.replace("_", "").lower() + "options"
    for name in _option_classes():
        if name.lower() == want:
            return name
    return None


def _camel(snake: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


def _write_options(fb, cls: str, values: dict) -> int:
    vectors = {}
    for key, v in values.items():
        if isinstance(v, (list, tuple, np.ndarray)):
            vectors[key] = fb.CreateNumpyVector(np.asarray(v, dtype=np.int32).reshape(-1))
        elif isinstance(v, (str, bytes)):  # VAR_HANDLE's container and shared name
            vectors[key] = fb.CreateString(v)
    getattr(tflite, cls + "Start")(fb)
    for key, v in values.items():
        adder = getattr(tflite, f"{cls}Add{_camel(key)}", None)
        if adder is None:
            raise KilnError(f"{cls} has no field '{key}'")
        if key in vectors:
            adder(fb, vectors[key])
        elif isinstance(v, (bool, np.bool_)):
            adder(fb, bool(v))
        elif isinstance(v, (float, np.floating)):
            adder(fb, float(v))
        else:
            adder(fb, int(v))
    return getattr(tflite, cls + "End")(fb)


@dataclass
class _T:
    name: str
    shape: list[int]
    dtype: str
    scale: list[float] | None
    zero_point: list[int] | None
    axis: int
    data: bytes
    variable: bool = False


@dataclass
class _Op:
    kind: str  # a builtin's name, or CUSTOM(<custom code>)
    inputs: list[int]
    outputs: list[int]
    options: dict
    options_type: str | None
    version: int
    custom_options: bytes = b""  # a custom operator's options (flexbuffers)


@dataclass
class ModelWriter:
    """One subgraph: add tensors and operators, name the graph's inputs and outputs, build().
    subgraph() adds another one (for CALL_ONCE and friends), written after this one."""

    description: str = "written by kiln"
    tensors: list[_T] = field(default_factory=list)
    ops: list[_Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    extra: list["ModelWriter"] = field(default_factory=list)

    def subgraph(self) -> tuple["ModelWriter", int]:
        """A new subgraph (a writer of its own for tensors and operators) and its index."""
        w = ModelWriter()
        self.extra.append(w)
        return w, len(self.extra)

    def tensor(self, name: str, shape, dtype: str, scale=None, zero_point=None, axis: int = 0, data=None,
               variable: bool = False) -> int:
        """An activation, or a constant when `data` (an array) is given, or a variable tensor
        (state kept between invocations); returns its index."""
        if dtype not in TENSOR_TYPES:
            raise KilnError(f"the writer has no tensor type {dtype}")
        scales = None if scale is None else [float(s) for s in np.atleast_1d(scale)]
        zps = None
        if scales is not None:
            z = np.atleast_1d(0 if zero_point is None else zero_point)
            zps = [int(v) for v in (np.repeat(z, len(scales)) if z.size == 1 else z)]
        raw = b""
        if data is not None:
            raw = np.ascontiguousarray(np.asarray(data).astype(np.asarray(data).dtype.newbyteorder("<"))).tobytes()
        self.tensors.append(_T(name, [int(d) for d in shape], dtype, scales, zps, int(axis), raw, variable))
        return len(self.tensors) - 1

    def op(self, kind: str, inputs, outputs, options: dict | None = None, table: str | None = None,
           version: int = 1) -> None:
        """A builtin operator; `options` by snake_case field name, written to `table` (default: the
        kind's own options table, see options_type)."""
        self.ops.append(_Op(kind, list(inputs), list(outputs), dict(options or {}), table or options_type(kind),
                            version))

    def custom_op(self, code: str, inputs, outputs, custom_options: bytes = b"") -> None:
        """A custom operator (e.g. TFLite_Detection_PostProcess) with its flexbuffers options."""
        self.ops.append(_Op(f"CUSTOM({code})", list(inputs), list(outputs), {}, None, 1, bytes(custom_options)))

    def build(self) -> bytes:
        fb = flatbuffers.Builder(1024)
        graphs = [self] + self.extra
        codes = []
        for o in (o for w in graphs for o in w.ops):
            if (o.kind, o.version) not in codes:
                codes.append((o.kind, o.version))
        buffers = [self._buffer(fb, b"")]
        subs = []
        for k, w in enumerate(graphs):
            first = len(buffers)
            buffers += [self._buffer(fb, t.data) for t in w.tensors]
            tensors = [self._tensor(fb, t, first + j) for j, t in enumerate(w.tensors)]
            ops = [self._op(fb, o, codes.index((o.kind, o.version))) for o in w.ops]
            t_vec, o_vec = _offsets(fb, tensors), _offsets(fb, ops)
            i_vec = fb.CreateNumpyVector(np.asarray(w.inputs, np.int32))
            out_vec = fb.CreateNumpyVector(np.asarray(w.outputs, np.int32))
            name = fb.CreateString("main" if k == 0 else f"subgraph{k}")
            tflite.SubGraphStart(fb)
            tflite.SubGraphAddTensors(fb, t_vec)
            tflite.SubGraphAddInputs(fb, i_vec)
            tflite.SubGraphAddOutputs(fb, out_vec)
            tflite.SubGraphAddOperators(fb, o_vec)
            tflite.SubGraphAddName(fb, name)
            subs.append(tflite.SubGraphEnd(fb))
        code_tables = []
        for kind, version in codes:
            custom = fb.CreateString(kind[len("CUSTOM("):-1]) if kind.startswith("CUSTOM(") else None
            code = tflite.BuiltinOperator.CUSTOM if custom is not None else getattr(tflite.BuiltinOperator, kind)
            tflite.OperatorCodeStart(fb)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(fb, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(fb, code)
            if custom is not None:
                tflite.OperatorCodeAddCustomCode(fb, custom)
            tflite.OperatorCodeAddVersion(fb, version)
            code_tables.append(tflite.OperatorCodeEnd(fb))
        c_vec, s_vec, b_vec = _offsets(fb, code_tables), _offsets(fb, subs), _offsets(fb, buffers)
        desc = fb.CreateString(self.description)
        tflite.ModelStart(fb)
        tflite.ModelAddVersion(fb, 3)
        tflite.ModelAddOperatorCodes(fb, c_vec)
        tflite.ModelAddSubgraphs(fb, s_vec)
        tflite.ModelAddDescription(fb, desc)
        tflite.ModelAddBuffers(fb, b_vec)
        fb.Finish(tflite.ModelEnd(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())

    @staticmethod
    def _buffer(fb, data) -> int:
        if isinstance(data, tuple):  # ("external", offset, size): a large model's buffer after the flatbuffer
            tflite.BufferStart(fb)
            tflite.BufferAddOffset(fb, data[1])
            tflite.BufferAddSize(fb, data[2])
            return tflite.BufferEnd(fb)
        vec = None
        if data:
            fb.StartVector(1, len(data), 16)
            fb.head -= len(data)
            fb.Bytes[fb.head:fb.head + len(data)] = data
            vec = fb.EndVector()
        tflite.BufferStart(fb)
        if vec is not None:
            tflite.BufferAddData(fb, vec)
        return tflite.BufferEnd(fb)

    @staticmethod
    def _tensor(fb, t: _T, buffer: int) -> int:
        name = fb.CreateString(t.name)
        shape = fb.CreateNumpyVector(np.asarray(t.shape, np.int32))
        quant = None
        if t.scale is not None:
            sc = fb.CreateNumpyVector(np.asarray(t.scale, np.float32))
            zp = fb.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
            tflite.QuantizationParametersStart(fb)
            tflite.QuantizationParametersAddScale(fb, sc)
            tflite.QuantizationParametersAddZeroPoint(fb, zp)
            tflite.QuantizationParametersAddQuantizedDimension(fb, t.axis)
            quant = tflite.QuantizationParametersEnd(fb)
        tflite.TensorStart(fb)
        tflite.TensorAddShape(fb, shape)
        tflite.TensorAddType(fb, TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(fb, buffer)
        tflite.TensorAddName(fb, name)
        if t.variable:
            tflite.TensorAddIsVariable(fb, True)
        if quant is not None:
            tflite.TensorAddQuantization(fb, quant)
        return tflite.TensorEnd(fb)

    @staticmethod
    def _op(fb, o: _Op, code_index: int) -> int:
        ins = fb.CreateNumpyVector(np.asarray(o.inputs, np.int32))
        outs = fb.CreateNumpyVector(np.asarray(o.outputs, np.int32))
        opts = _write_options(fb, o.options_type, o.options) if o.options_type else None
        custom = fb.CreateNumpyVector(np.frombuffer(o.custom_options, np.uint8)) if o.custom_options else None
        tflite.OperatorStart(fb)
        tflite.OperatorAddOpcodeIndex(fb, code_index)
        tflite.OperatorAddInputs(fb, ins)
        tflite.OperatorAddOutputs(fb, outs)
        if opts is not None:
            tflite.OperatorAddBuiltinOptionsType(fb, _option_classes()[o.options_type])
            tflite.OperatorAddBuiltinOptions(fb, opts)
        if custom is not None:
            tflite.OperatorAddCustomOptions(fb, custom)
        return tflite.OperatorEnd(fb)


def _offsets(fb, items: list[int]) -> int:
    fb.StartVector(4, len(items), 4)
    for off in reversed(items):
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


def single_op(g, op) -> bytes:
    """A model of one operator of graph g: its constant inputs as constants, the others (and its
    outputs) as the model's inputs and outputs, its options as imported."""
    w = ModelWriter(description=f"kiln: {op.label}")
    index = {}

    def add(t):
        if t.index not in index:
            q = t.quant
            index[t.index] = w.tensor(t.name, t.shape, t.dtype, q.scale if q else None, q.zero_point if q else None,
                                      q.axis if q else 0, t.data if t.is_const else None)
        return index[t.index]

    ins = [add(g.tensor(i)) if i >= 0 else -1 for i in op.inputs]
    outs = [add(g.tensor(i)) for i in op.outputs]
    w.inputs = [index[i] for i in op.inputs if i >= 0 and not g.tensor(i).is_const]
    w.outputs = outs
    if op.kind.startswith("CUSTOM("):
        w.custom_op(op.kind[len("CUSTOM("):-1], ins, outs, op.options.get("custom_options", b""))
    else:
        w.op(op.kind, ins, outs, {k: v for k, v in op.options.items() if v is not None},
             op.options_type or options_type(op.kind))
    return w.build()

