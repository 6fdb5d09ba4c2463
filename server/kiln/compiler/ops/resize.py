"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32) and RESIZE_BILINEAR (int8, float32), as TFLite
Micro: a 4-D NHWC input, a constant int32 size [out_h, out_w], align_corners / half_pixel_centers.

The source rows and columns (and bilinear weights) depend only on the shapes, so they are worked
out here at compile time, with TFLite's float32 (nearest, float bilinear) or 10-bit fixed-point
(int8 bilinear) arithmetic, into small tables the kernels walk. Values are copied, not requantized:
TFLite Micro ignores the output's quantization too.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import DTYPES
from .base import arity, dtype_in, register, require

F = np.float32


def _check(op, g, dtypes):
    arity(op, 2)
    x, size = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", dtypes)
    dtype_in(op, y, "output", (x.dtype,))
    require(op, len(x.shape) == 4, f"input must be 4-D NHWC, got shape {x.shape}")
    require(op, size is not None and size.dtype == "int32", "size must be an int32 tensor")
    require(op, size.is_const, "size must be a constant tensor (TFLite Micro does not support a run-time size)")
    require(op, len(size.shape) == 1 and size.size == 2, f"size must hold 2 values [height, width], has shape {size.shape}")
    oh, ow = (int(v) for v in size.data.reshape(-1))
    require(op, oh > 0 and ow > 0, f"size [{oh}, {ow}] must be positive")
    require(op, list(y.shape) == [x.shape[0], oh, ow, x.shape[3]],
            f"output shape {y.shape} does not match input {x.shape} resized to [{oh}, {ow}]")


def _flags(op):
    return bool(op.options.get("align_corners", False)), bool(op.options.get("half_pixel_centers", False))


def nearest_index(out_size: int, in_size: int, align: bool, half: bool) -> list[int]:
    """GetNearestNeighbor in float32 for every output coordinate."""
    if align and out_size > 1:
        scale = F(F(in_size - 1) / F(out_size - 1))
    else:
        scale = F(F(in_size) / F(out_size))
    off = F(0.5) if half else F(0.0)
    idx = []
    for v in range(out_size):
        s = F(F(F(v) + off) * scale)
        if align:
            r = int(math.floor(abs(float(s)) + 0.5)) * (1 if s >= 0 else -1)  # TfLiteRound: half away from 0
        else:
            r = int(math.floor(float(s)))
        r = min(r, in_size - 1)
        if half:
            r = max(0, r)
        idx.append(r)
    return idx


def bilinear_float(out_size: int, in_size: int, align: bool, half: bool):
    """ComputeInterpolationValues in float32: per output coordinate (lo, hi, 1 - d, d)."""
    scale = F(F(in_size) / F(out_size))
    if align and out_size > 1:
        scale = F(F(in_size - 1) / F(out_size - 1))
    lo, hi, wl, wh = [], [], [], []
    for v in range(out_size):
        s = F(F(F(F(v) + F(0.5)) * scale) - F(0.5)) if half else F(F(v) * scale)
        a = max(int(math.floor(float(s))), 0)
        b = min(int(math.ceil(float(s))), in_size - 1)
        d = F(s - F(a))
        lo.append(a)
        hi.append(b)
        wl.append(F(F(1) - d))
        wh.append(d)
    return lo, hi, wl, wh


def bilinear_int(out_size: int, in_size: int, align: bool, half: bool):
    """ComputeInterpolationValuesInteger (10 fractional bits): per output coordinate
    (lo, hi, 1024 - d, d)."""
    s10 = ((1 << 10) * in_size + out_size // 2) // out_size
    if align and out_size > 1:
        s10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    lo, hi, wl, wh = [], [], [], []
    for v in range(out_size):
        s = v * s10 + s10 // 2 - (1 << 9) if half else v * s10
        a = max(int(s / 1024), 0)  # C division truncates toward zero
        b = min(int((s + 1023) / 1024), in_size - 1)
        d = s - 1024 * a
        lo.append(a)
        hi.append(b)
        wl.append(1024 - d)
        wh.append(d)
    return lo, hi, wl, wh


# ---- RESIZE_NEAREST_NEIGHBOR ----

def check_nearest(op, g):
    _check(op, g, ("int8", "int16", "float32"))


def prepare_nearest(op, g):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    n, ih, iw, ch = x.shape
    _, oh, ow, _ = y.shape
    align, half = _flags(op)
    elem = DTYPES[x.dtype][2]
    row = iw * ch * elem
    op.params = dict(batches=n, in_h=ih, out_h=oh, out_w=ow, depth_bytes=ch * elem, batch_bytes=ih * row,
                     rows=[r * row for r in nearest_index(oh, ih, align, half)],
                     cols=[cidx * ch * elem for cidx in nearest_index(ow, iw, align, half)])
    op.macs = 0


def emit_nearest(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params
    rows = c.array(f"op{op.index}_rows", np.array(p["rows"], np.int32), "int32_t", "byte offset of each output row's source row")
    cols = c.array(f"op{op.index}_cols", np.array(p["cols"], np.int32), "int32_t", "byte offset of each output column's source pixel")
    return [f"static const kiln_resize_params_t params = {{{p['batches']}, {p['out_h']}, {p['out_w']}, "
            f"{p['depth_bytes']}, {p['batch_bytes']}}};",
            f"kiln_resize_nearest({c.ptr(x)}, {c.ptr(y)}, {rows}, {cols}, &params);"]


register("RESIZE_NEAREST_NEIGHBOR", check_nearest, prepare_nearest, emit_nearest, types=("int8", "int16", "float32"),
         notes="4-D NHWC, constant size, align_corners, half_pixel_centers")


# ---- RESIZE_BILINEAR ----

def check_bilinear(op, g):
    _check(op, g, ("int8", "float32"))
    align, half = _flags(op)
    require(op, not (align and half), "align_corners and half_pixel_centers cannot both be true")
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    fn = bilinear_float if x.dtype == "float32" else bilinear_int
    for axis in (1, 2):
        lo = fn(y.shape[axis], x.shape[axis], align, half)[0]
        # TFLite's 10-bit scale rounds up: a large enough upscale puts the last source row past the input
        require(op, max(lo) < x.shape[axis], f"resizing {x.shape[axis]} to {y.shape[axis]} along axis {axis} "
                f"would read past the input in TFLite's fixed-point arithmetic")


def prepare_bilinear(op, g):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    n, ih, iw, ch = x.shape
    _, oh, ow, _ = y.shape
    align, half = _flags(op)
    fn = bilinear_float if x.dtype == "float32" else bilinear_int
    ylo, yhi, ywl, ywh = fn(oh, ih, align, half)
    xlo, xhi, xwl, xwh = fn(ow, iw, align, half)
    row = iw * ch
    op.params = dict(batches=n, out_h=oh, out_w=ow, depth=ch, batch=ih * row,
                     yi=[v for a, b in zip(ylo, yhi) for v in (a * row, b * row)],
                     xi=[v for a, b in zip(xlo, xhi) for v in (a * ch, b * ch)],
                     yw=[v for a, b in zip(ywl, ywh) for v in (a, b)],
                     xw=[v for a, b in zip(xwl, xwh) for v in (a, b)])
    op.macs = 4 * n * oh * ow * ch


def emit_bilinear(op, g, c):
    x = g.op_inputs(op)[0]
    (y,) = g.op_outputs(op)
    p = op.params
    fl = x.dtype == "float32"
    wt, wn = ("float", np.float32) if fl else ("int32_t", np.int32)
    yi = c.array(f"op{op.index}_yi", np.array(p["yi"], np.int32), "int32_t", "per output row: element offsets of its two source rows")
    xi = c.array(f"op{op.index}_xi", np.array(p["xi"], np.int32), "int32_t", "per output column: element offsets of its two source pixels")
    yw = c.array(f"op{op.index}_yw", np.array(p["yw"], wn), wt,
                 "per output row: weights of its two source rows" + ("" if fl else " (10 fractional bits)"))
    xw = c.array(f"op{op.index}_xw", np.array(p["xw"], wn), wt,
                 "per output column: weights of its two source pixels" + ("" if fl else " (10 fractional bits)"))
    fn = "kiln_resize_bilinear_f32" if fl else "kiln_resize_bilinear_s8"
    return [f"static const kiln_resize_params_t params = {{{p['batches']}, {p['out_h']}, {p['out_w']}, "
            f"{p['depth']}, {p['batch']}}};",
            f"{fn}({c.ptr(x)}, {c.ptr(y)}, {yi}, {yw}, {xi}, {xw}, &params);"]


register("RESIZE_BILINEAR", check_bilinear, prepare_bilinear, emit_bilinear, types=("int8", "float32"),
         notes="4-D NHWC, constant size, align_corners, half_pixel_centers; int8 in TFLite's 10-bit fixed point")
