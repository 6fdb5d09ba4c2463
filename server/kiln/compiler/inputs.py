"""Model inputs from .npy files, checked against the graph (float data for quantized inputs is quantized)."""
from __future__ import annotations

import sys

import numpy as np

from ..errors import KilnError
from .ir import DTYPES, QUANTIZED


def load_inputs(paths: list[str], g) -> list[np.ndarray]:
    arrays = []
    for k, p in enumerate(paths):
        try:
            a = np.load(p, allow_pickle=False)
        except FileNotFoundError:
            raise KilnError(f"{p}: no such file") from None
        except Exception as e:
            raise KilnError(f"{p}: not a readable .npy file ({type(e).__name__})") from None
        if k < len(g.inputs):
            t = g.tensor(g.inputs[k])
            if t.dtype in QUANTIZED and np.issubdtype(a.dtype, np.floating) and t.quant is not None:
                print(f"kiln: {p}: float values quantized to {t.dtype} with the input's scale {t.scale:.6g}, "
                      f"zero point {t.zero_point}", file=sys.stderr)
                info = np.iinfo(DTYPES[t.dtype][0])
                a = np.clip(np.round(a / t.scale) + t.zero_point, info.min, info.max).astype(DTYPES[t.dtype][0])
        arrays.append(a)
    return arrays


def as_type(a: np.ndarray, dtype, what: str) -> np.ndarray:
    """`a` as the tensor's type, refusing what would change its values (floats for an integer
    tensor, integers out of the type's range)."""
    npdt = np.dtype(dtype)
    name = "bool" if npdt.kind == "b" else str(npdt)
    if a.dtype == npdt:
        return a
    if npdt.kind in "iub" and not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        hint = "; quantize them first" if name in ("int8", "int16", "uint8") else ""
        raise KilnError(f"{what} is {name}, got {a.dtype} values{hint}")
    if npdt.kind in "iu" and a.size:
        info = np.iinfo(npdt)
        if a.min() < info.min or a.max() > info.max:
            raise KilnError(f"{what} is {name}, values outside {info.min}..{info.max} given")
    return a.astype(npdt)
