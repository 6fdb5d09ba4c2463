"""TFLite Micro (PyPI tflite-micro) as the numerical reference."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import KilnError


def _interpreter(model: str | Path | bytes, preserve_all: bool = False):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise KilnError("TFLite Micro is not installed: pip install tflite-micro") from None
    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    # kPreserveAllTensors: TFLite Micro plans no reuse, so every intermediate keeps its value
    config = runtime.InterpreterConfig.kPreserveAllTensors if preserve_all else runtime.InterpreterConfig.kAllocationRecording
    try:
        return runtime.Interpreter.from_bytes(data, arena_size=len(data) * 4 + (4 << 20), intrepreter_config=config)
    except RuntimeError as e:  # its Prepare refused an operator; it printed which above
        raise KilnError(f"TFLite Micro cannot run this model ({e}; its log above names the operator), so there is "
                        "nothing to compare with: Kiln computes some things TFLite Micro refuses, such as shapes "
                        "it folds at compile time") from None


def _invoke(interp, inputs) -> None:
    for k, arr in enumerate(inputs):
        det = interp.get_input_details(k)
        interp.set_input(np.asarray(arr).astype(det["dtype"]).reshape(det["shape"]), k)
    interp.invoke()


def run_tflm(model: str | Path | bytes, records: list[list[np.ndarray]], n_outputs: int = 1) -> list[list[np.ndarray]]:
    interp = _interpreter(model)
    results = []
    for inputs in records:
        _invoke(interp, inputs)
        results.append([np.array(interp.get_output(k)) for k in range(n_outputs)])
    return results


def intermediates(model: str | Path | bytes, records: list[list[np.ndarray]], tensors: list[int]) -> list[dict]:
    """TFLite Micro's value of each of `tensors` (indices in the main subgraph) after each record,
    in sequence (variables carried): what kiln diff holds every operator's outputs to."""
    interp = _interpreter(model, preserve_all=True)
    results = []
    for inputs in records:
        _invoke(interp, inputs)
        values = {}
        for i in tensors:
            t = interp.GetTensor(i, 0)
            values[i] = np.array(t["tensor_data"]).astype(t["dtype"], copy=False).reshape(t["shape"])
        results.append(values)
    return results


def differences(ours: np.ndarray, ref) -> dict:
    """The largest absolute difference from the reference (and the relative one, for floats)."""
    ours = np.asarray(ours)
    ref = np.asarray(ref).reshape(ours.shape)
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    out = {"max_abs_diff": float(diff.max()) if diff.size else 0.0}
    if ours.dtype.kind == "f":
        out["max_rel_diff"] = float((diff / np.maximum(np.abs(ref), 1e-30)).max()) if diff.size else 0.0
    return out


def compare(model: str | Path | bytes, records: list, outputs: list) -> list[dict]:
    """Kiln's outputs (per record, per model output) against TFLite Micro's on the same records, in
    order (a sequence carries TFLite Micro's variables as Kiln's state): per model output the
    largest difference over the records (differences() of the worst record), the first record
    that differs (None), and TFLite Micro's output for the last record ("reference")."""
    n = len(outputs[0]) if outputs else 0
    ref = run_tflm(model, records, n)
    result = []
    for k in range(n):
        per = [differences(o[k], r[k]) for o, r in zip(outputs, ref)]
        worst = max(per, key=lambda d: d["max_abs_diff"])
        first = next((s for s, d in enumerate(per) if d["max_abs_diff"] > 0), None)
        result.append({**worst, "first_differing_step": first, "reference": np.asarray(ref[-1][k])})
    return result


def random_inputs(g, seed: int = 0, count: int = 1) -> list[list[np.ndarray]]:
    """Deterministic random inputs: the full range of 8- and 16-bit integers, -100..100 for wider
    ones, either truth value for bool, floats in [-1, 1)."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(count):
        records.append([random_array(rng, g.tensor(i).dtype, g.tensor(i).shape) for i in g.inputs])
    return records


def random_array(rng, dtype: str, shape) -> np.ndarray:
    from .ir import DTYPES

    npdt = np.dtype(DTYPES[dtype][0])
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if npdt.kind in "iu":
        info = np.iinfo(npdt)
        lo, hi = (int(info.min), int(info.max)) if npdt.itemsize <= 2 else (-100, 100)
        return rng.integers(lo, hi + 1, size=shape).astype(npdt)
    return rng.uniform(-1.0, 1.0, size=shape).astype(npdt)
