"""Reads a .tflite flatbuffer into the graph IR.

This is the only module that touches the `tflite` package, so its quirks stay here: absent
vectors read as 0 instead of an empty array, builtin options need a union step, large models may
keep buffers outside the flatbuffer. Anything malformed becomes a KilnError naming the file and
what was wrong, never a traceback.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import re
import struct
from pathlib import Path

import numpy as np

from ..errors import KilnError
from .ir import Graph, Operator, Quant, Tensor


@functools.lru_cache(maxsize=None)
def _enum_names(module: str, cls: str) -> dict[int, str]:
    enum = getattr(importlib.import_module(f"tflite.{module}"), cls)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _snake(name: str) -> str:
    """FusedActivationFunction -> fused_activation_function, DilationHFactor -> dilation_h_factor."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def text(raw: bytes) -> str:
    """A string from the model (a name): invalid UTF-8 as U+FFFD, control characters (line ends,
    escape sequences, NUL) as '?', so that every message naming it stays one line."""
    return "".join(ch if ch.isprintable() else "?" for ch in raw.decode(errors="replace"))


def c_identifier(stem: str) -> str:
    """The model's name in C identifiers and file names: [a-z0-9_], at most 64 characters (file
    names stay far below any file system's limit)."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", stem).lower()[:64].strip("_") or "model"
    # keep clear of C's rules and of the runtime's own file and symbol names (kiln_*)
    return "m_" + ident if ident[0].isdigit() or ident.startswith("kiln") else ident


def _vector(value) -> list:
    """tflite returns 0 for an absent vector; make that an empty list."""
    if isinstance(value, int) or value is None:
        return []
    return list(np.asarray(value).tolist())


def _options(op, op_name: str) -> tuple[dict, str]:
    """The union step: turn the builtin options table into a plain dict of snake_case fields (and
    the table's name, for kiln.compiler.tflwriter)."""
    kind = op.BuiltinOptionsType()
    if kind == 0:
        return {}, ""
    names = _enum_names("BuiltinOptions", "BuiltinOptions")
    cls_name = names.get(kind)
    if cls_name is None:
        raise KilnError(f"unknown builtin options type {kind} on {op_name}")
    cls = getattr(importlib.import_module(f"tflite.{cls_name}"), cls_name)
    table = op.BuiltinOptions()
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for attr in dir(cls):
        if attr.startswith("_") or attr in ("Init",) or attr.startswith("GetRootAs") or "BufferHasIdentifier" in attr:
            continue
        if attr.endswith(("AsNumpy", "Length", "IsNone")):
            continue
        fn = getattr(obj, attr)
        if not callable(fn):
            continue
        vector = hasattr(obj, attr + "Length")  # vector accessors take an index
        try:
            if not vector:
                value = fn()
            elif hasattr(obj, attr + "AsNumpy"):
                value = _vector(getattr(obj, attr + "AsNumpy")())
            else:
                value = [fn(k) for k in range(getattr(obj, attr + "Length")())]
        except Exception:  # bytes that are not the table they claim to be
            raise KilnError(f"{op_name}: its {cls_name} table is malformed (field {attr} cannot be read)") from None
        out[_snake(attr)] = value
    return out, cls_name


def load(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KilnError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise KilnError(f"{path}: is a directory, expected a .tflite file") from None
    except OSError as e:
        raise KilnError(f"{path}: cannot read ({e.strerror})") from None
    return parse(data, name=c_identifier(path.stem), where=str(path))


def parse(data: bytes, name: str = "model", where: str = "model") -> Graph:
    if len(data) < 8:
        raise KilnError(f"{where}: file is {len(data)} bytes, too short to be a TensorFlow Lite model (truncated?)")
    ident = data[4:8]
    if ident != b"TFL3":
        raise KilnError(
            f"{where}: not a TensorFlow Lite model (bytes 4-7 are {ident!r}, expected b'TFL3')")
    (root,) = struct.unpack_from("<I", data, 0)
    if root + 4 > len(data):
        raise KilnError(f"{where}: truncated or corrupt (root table at byte {root}, file is {len(data)} bytes)")
    from tflite.Model import Model  # imported here: heavy, and not needed by every CLI command

    step = "the model header"
    try:
        model = Model.GetRootAs(data, 0)
        step = "the subgraph list"
        n_sub = model.SubgraphsLength()
        if n_sub == 0:
            raise KilnError(f"{where}: the model has no subgraph")
        step = "the operator codes"
        opcodes = []
        op_names = _enum_names("BuiltinOperator", "BuiltinOperator")
        for i in range(model.OperatorCodesLength()):
            oc = model.OperatorCodes(i)
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            nm = op_names.get(code, f"BUILTIN_{code}")
            if nm == "CUSTOM":
                cc = oc.CustomCode()
                nm = f"CUSTOM({text(cc) if cc else '?'})"
            opcodes.append(nm)
        graphs = []
        for k in range(n_sub):
            step = f"subgraph {k}"
            sub_where = where if k == 0 else f"{where}: subgraph {k}"
            graphs.append(_subgraph(model, model.Subgraphs(k), k, name if k == 0 else f"{name}_sg{k}", opcodes,
                                    data, sub_where))
    except KilnError:
        raise
    except Exception as e:  # the flatbuffer library reads past the end or through bad offsets
        raise KilnError(f"{where}: truncated or corrupt flatbuffer (while reading {step}: {type(e).__name__})") from None
    sha = hashlib.sha256(data).hexdigest()
    for g in graphs:
        g.source_sha256 = sha
        g.subgraphs = graphs
    return graphs[0]


def _subgraph(model, sg, k: int, name: str, opcodes: list[str], data: bytes, where: str) -> Graph:
    """One subgraph's tensors and operators (operator labels name the subgraph when k > 0)."""
    step = "its tensors"
    try:
        type_names = _enum_names("TensorType", "TensorType")
        tensors = []
        n_buffers = model.BuffersLength()
        for ti in range(sg.TensorsLength()):
            step = f"tensor {ti}"
            t = sg.Tensors(ti)
            tname = text(t.Name() or b"") or f"tensor_{ti}"
            dtype = type_names.get(t.Type(), f"type{t.Type()}").lower()
            shape = [int(d) for d in _vector(t.ShapeAsNumpy())]
            if any(d < 0 for d in shape):
                raise KilnError(f"{where}: tensor {ti} ({tname}) has a dynamic shape {shape}; Kiln needs static shapes")
            quant = None
            q = t.Quantization()
            if q is not None:
                scales = [float(s) for s in _vector(q.ScaleAsNumpy())]
                zps = [int(z) for z in _vector(q.ZeroPointAsNumpy())]
                if scales:
                    if len(zps) < len(scales):
                        zps = zps + [0] * (len(scales) - len(zps))
                    quant = Quant(scales, zps, int(q.QuantizedDimension()))
            tensor = Tensor(ti, tname, shape, dtype, quant, variable=bool(t.IsVariable()))
            b = t.Buffer()
            if b >= n_buffers:
                raise KilnError(f"{where}: tensor {ti} ({tname}) refers to buffer {b}, but the model has {n_buffers}")
            if b > 0:
                tensor.data = _buffer(model, data, b, tensor, where)
            tensors.append(tensor)
        ops = []
        for oi in range(sg.OperatorsLength()):
            step = f"operator {oi}"
            o = sg.Operators(oi)
            ci = o.OpcodeIndex()
            if ci >= len(opcodes):
                raise KilnError(f"{where}: operator {oi} uses opcode {ci}, but the model defines {len(opcodes)}")
            kind = opcodes[ci]
            ins = [int(i) for i in _vector(o.InputsAsNumpy())]
            outs = [int(i) for i in _vector(o.OutputsAsNumpy())]
            for i in ins + outs:
                if i >= len(tensors) or i < -1:
                    raise KilnError(f"{where}: operator {oi} ({kind}) refers to tensor {i}, but there are {len(tensors)}")
            options, options_type = _options(o, f"operator {oi} ({kind})")
            if kind.startswith("CUSTOM(") and o.CustomOptionsLength():
                options["custom_options"] = o.CustomOptionsAsNumpy().tobytes()  # flexbuffers, read by the op
            ops.append(Operator(oi, kind, ins, outs, options, options_type=options_type, subgraph=k))
        step = "the graph inputs and outputs"
        g_in = [int(i) for i in _vector(sg.InputsAsNumpy())]
        g_out = [int(i) for i in _vector(sg.OutputsAsNumpy())]
        for i in g_in + g_out:
            if not 0 <= i < len(tensors):
                raise KilnError(f"{where}: graph input/output refers to tensor {i}, but there are {len(tensors)}")
    except KilnError:
        raise
    except Exception as e:
        raise KilnError(f"{where}: truncated or corrupt flatbuffer (while reading {step}: {type(e).__name__})") from None
    return Graph(name, tensors, ops, g_in, g_out, index=k)


def _buffer(model, data: bytes, b: int, tensor: Tensor, where: str) -> np.ndarray | None:
    from .ir import DTYPES

    buf = model.Buffers(b)
    if buf.Offset() > 1:  # large models keep buffers after the flatbuffer
        off, size = int(buf.Offset()), int(buf.Size())
        if off + size > len(data):
            raise KilnError(f"{where}: buffer {b} of tensor {tensor.index} ({tensor.name}) runs past the end of the file "
                            f"(bytes {off}..{off + size}, file is {len(data)}): truncated?")
        raw = data[off:off + size]
    else:
        if buf.DataLength() == 0:
            if tensor.size == 0 and tensor.dtype in DTYPES:  # an empty constant (e.g. no axes), not an activation
                return np.zeros(tensor.shape, DTYPES[tensor.dtype][0])
            return None
        raw = buf.DataAsNumpy().tobytes()
    if tensor.dtype == "int4":  # two a byte, low nibble first, sign-extended (TFLite Micro's unpacking)
        need = (tensor.size + 1) // 2
        if len(raw) != need:
            raise KilnError(f"{where}: tensor {tensor.index} ({tensor.name}) int4[{'x'.join(map(str, tensor.shape))}] "
                            f"needs {need} bytes of data, its buffer {b} holds {len(raw)}")
        packed = np.frombuffer(raw, dtype=np.uint8).astype(np.int16)
        nibbles = np.stack([packed & 15, packed >> 4], axis=1).reshape(-1)[:tensor.size]
        tensor.dtype, tensor.int4 = "int8", True
        return np.where(nibbles >= 8, nibbles - 16, nibbles).astype(np.int8).reshape(tensor.shape)
    if tensor.dtype not in DTYPES:
        return np.frombuffer(raw, dtype=np.uint8).copy()
    npdt = DTYPES[tensor.dtype][0]
    expected = tensor.size * np.dtype(npdt).itemsize
    if len(raw) != expected:
        raise KilnError(f"{where}: tensor {tensor.index} ({tensor.name}) {tensor.describe()} needs {expected} bytes "
                        f"of data, its buffer {b} holds {len(raw)}")
    return np.frombuffer(raw, dtype=npdt).reshape(tensor.shape).copy()
