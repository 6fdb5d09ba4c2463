"""Model inputs from .npy files, checked against the graph (float data for int8 inputs is quantized)."""
from __future__ import annotations

import sys

import numpy as np

from .errors import KilnError


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
            if t.dtype == "int8" and np.issubdtype(a.dtype, np.floating) and t.quant is not None:
                print(f"kiln: {p}: float values quantized to int8 with the input's scale {t.scale:.6g}, zero point {t.zero_point}", file=sys.stderr)
                a = np.clip(np.round(a / t.scale) + t.zero_point, -128, 127).astype(np.int8)
        arrays.append(a)
    return arrays
