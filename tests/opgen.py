"""Single-operator test models for any builtin operator, and the check every operator test runs.

    from opgen import T, model, check
    m = model("GATHER", [T([4, 3], "int8", 0.1, 3), T([5], "int32", data=np.array([0, 3, 1, 1, 2]))],
              [T([5, 3], "int8", 0.1, 3)], axis=0)
    check(m, tmp_path)                     # 20 random records, Kiln on the host vs TFLite Micro

Options are the operator's builtin options by snake_case field name (as kiln.compiler.importer reads them);
kiln.compiler.tflwriter writes them into the kind's options table by reflection, so every operator and
option is reachable without a writer per operator. `calibrate` picks an output quantization from
the float model's range on sample inputs, so quantized outputs spread over their range instead of
saturating.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness import TOOLCHAINS, assert_match, compile_and_run
from kiln.compiler import oracle
from kiln.compiler.tflwriter import ModelWriter

RECORDS = 20


@dataclass
class T:
    shape: list
    dtype: str = "float32"
    scale: float | list | None = None
    zero_point: int | list | None = None
    data: np.ndarray | None = None  # a constant
    axis: int = 0  # per-channel quantization's axis
    variable: bool = False  # a variable tensor (state kept between invocations): neither input nor constant

    @property
    def const(self) -> bool:
        return self.data is not None


def model(kind: str, ins: list[T | None], outs: list[T], table: str | None = None, **options) -> bytes:
    """One operator; inputs without data are the model's inputs (None: an omitted optional input).
    A kind "CUSTOM(code)" is a custom operator whose options are written as its flexbuffers map."""
    w = ModelWriter(description=f"kiln tests: {kind}")
    idx = []
    for k, t in enumerate(ins):
        if t is None:
            idx.append(-1)
            continue
        data = None if t.data is None else np.asarray(t.data)
        idx.append(w.tensor(f"in{k}", t.shape if data is None else list(data.shape), t.dtype, t.scale,
                            t.zero_point, t.axis, data, variable=t.variable))
        if data is None and not t.variable:
            w.inputs.append(idx[-1])
    out_idx = [w.tensor(f"out{k}", t.shape, t.dtype, t.scale, t.zero_point, t.axis) for k, t in enumerate(outs)]
    w.outputs = out_idx
    if kind.startswith("CUSTOM("):
        from flatbuffers import flexbuffers

        w.custom_op(kind[len("CUSTOM("):-1], idx, out_idx, flexbuffers.Dumps(options) if options else b"")
    else:
        w.op(kind, idx, out_idx, options, table)
    return w.build()


def reference(data: bytes, records):
    """TFLite Micro's outputs of a model: list (per record) of lists (per output)."""
    n_out = _n_outputs(data)
    return oracle.run_tflm(data, records, n_out)


def _n_outputs(data: bytes) -> int:
    import tflite

    m = tflite.Model.GetRootAsModel(data, 0)
    return m.Subgraphs(0).OutputsLength()


def _inputs_of(data: bytes):
    """(dtype, shape) of each model input."""
    import tflite

    from kiln.compiler.tflwriter import TENSOR_TYPES

    names = {v: k for k, v in TENSOR_TYPES.items()}
    sg = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    out = []
    for k in range(sg.InputsLength()):
        t = sg.Tensors(sg.Inputs(k))
        out.append((names[t.Type()], [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []))
    return out


def random_records(data: bytes, n: int = RECORDS, seed: int = 0,
                   gen: dict[int, Callable[[np.random.Generator], np.ndarray]] | None = None):
    """n records of random inputs (oracle.random_array per type); gen overrides input k's values
    (e.g. indices that must stay in range)."""
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(n):
        row = []
        for k, (dtype, shape) in enumerate(_inputs_of(data)):
            row.append(gen[k](rng) if gen and k in gen else oracle.random_array(rng, dtype, shape))
        recs.append(row)
    return recs


def check(data: bytes, tmp_path, records=None, seed: int = 0, gen=None, what: str = "",
          allow_constant: bool = False, **kw):
    """Kiln on the host against TFLite Micro on RECORDS random records (or those given); integer
    outputs bit for bit, float within harness.FLOAT_RTOL. Fails when every output is constant over
    all records (the test would prove nothing) unless allow_constant."""
    records = records if records is not None else random_records(data, seed=seed, gen=gen)
    pair = compile_and_run(data, records, tmp_path, **kw)
    assert_match(pair, what)
    if not allow_constant and len(records) > 1:
        flat = [np.concatenate([np.asarray(o, np.float64).reshape(-1) for o in r]) for r in pair.ours]
        assert any(not np.array_equal(flat[0], f) for f in flat[1:]) or np.ptp(flat[0]) > 0, \
            f"{what}: every output is the same on every record: the test would prove nothing"
    return pair


def check_toolchain(data: bytes, toolchain: str, tmp_path, what: str = ""):
    """check() on 12 random records with one of harness.TOOLCHAINS: a kernel builds warning-free
    with clang too, and runs clean (still exact) under ASan and UBSan."""
    import shutil

    tc = TOOLCHAINS[toolchain]
    assert shutil.which(tc["cc"]), f"{tc['cc']} is not installed (the setup script installs it)"
    return check(data, tmp_path, records=random_records(data, n=12), cc=tc["cc"], extra_flags=tc["extra_flags"],
                 opt=tc["opt"], what=f"{what} {toolchain}")


def qparams(lo: float, hi: float, dtype: str) -> tuple[float, int]:
    """Scale and zero point covering [lo, hi] (widened to include 0); int16 symmetric, zero point 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if dtype == "int16":
        return max(abs(lo), abs(hi), 1e-6) / 32767, 0
    qmin, qmax = (-128, 127) if dtype == "int8" else (0, 255)
    scale = max(hi - lo, 1e-6) / (qmax - qmin)
    return scale, int(np.clip(round(qmin - lo / scale), qmin, qmax))


def calibrate(kind: str, ins: list[T | None], outs: list[T], samples: int = 8, seed: int = 1, **options) -> list[T]:
    """`outs` with quantization chosen from the float version of the operator: each quantized
    input becomes float32 over its real range, the float model runs on random samples, and each
    quantized output gets the scale and zero point covering what came out."""
    def as_float(t):
        if t is None or t.dtype not in ("int8", "int16", "uint8") or t.scale is None:
            return t
        if t.data is not None:
            real = (np.asarray(t.data, np.float64) - np.asarray(t.zero_point or 0)) * np.asarray(t.scale)
            return T(list(np.shape(t.data)), "float32", data=real.astype(np.float32))
        return T(t.shape, "float32")

    fins = [as_float(t) for t in ins]
    fouts = [T(t.shape, "float32") if t.dtype in ("int8", "int16", "uint8") else t for t in outs]
    data = model(kind, fins, fouts, **options)
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(samples):
        row = []
        for t, ft in zip(ins, fins):
            if ft is None or ft.data is not None:
                continue
            if ft is not t:  # quantized input: values over its real range
                info = np.iinfo(np.dtype(t.dtype))
                q = rng.integers(info.min, info.max + 1, size=t.shape)
                row.append(((q - (t.zero_point or 0)) * t.scale).astype(np.float32))
            else:
                row.append(oracle.random_array(rng, t.dtype, t.shape))
        recs.append(row)
    res = oracle.run_tflm(data, recs, len(outs))
    out = []
    for k, t in enumerate(outs):
        if t.dtype in ("int8", "int16", "uint8"):
            vals = np.concatenate([np.asarray(r[k], np.float64).reshape(-1) for r in res])
            s, z = qparams(vals.min(), vals.max(), t.dtype)
            out.append(T(t.shape, t.dtype, s, z))
        else:
            out.append(t)
    return out


def tflm_refuses(data: bytes) -> bool:
    """TFLite Micro's interpreter fails to prepare the model (its kernels' Prepare checks)."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        runtime.Interpreter.from_bytes(data, arena_size=len(data) * 4 + (1 << 20))
    except Exception:  # the interpreter raises a bare RuntimeError with its log
        return True
    return False


def assert_rejected(kind: str, ins: list[T | None], outs: list[T], reason: str, tmp_path, tflm: bool = False,
                    **options) -> None:
    """Kiln refuses the one-operator model with an error naming operator 0, its kind and `reason`;
    tflm=True: TFLite Micro refuses it too (leave it False where TFLite Micro runs the model but
    computes nonsense, e.g. reads an int64 tensor as int32)."""
    import pytest

    from kiln import compiler
    from kiln.errors import UnsupportedError

    data = model(kind, ins, outs, **options)
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError) as e:
        compiler.compile_model(path)
    assert f"operator 0 ({kind})" in str(e.value) and reason in str(e.value), str(e.value)
    if tflm:
        assert tflm_refuses(data), f"TFLite Micro accepts the {kind} model Kiln refuses ({reason})"
