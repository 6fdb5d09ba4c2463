"""The untuned layouts a DSP board takes by spending arena on scratch (compiler/scratch_layouts.py):
their arena allowance stays below TFLite Micro's arena, and rowpairs' ring is sized so that one
pass (with the output overlapping the input) is taken wherever it costs the arena less."""
from __future__ import annotations

import re

import pytest

from harness import MODELS, shared_model
from kiln import boards, compiler
from kiln.compiler import scratch_layouts
from kiln.compiler.ops import rowpairs

INT8 = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "hello_world_int8"]


def tflm_arena(name: str) -> int:
    """TFLite Micro's whole arena for the model (MANIFEST.md: RecordingMicroAllocator's total)."""
    text = (MODELS / "MANIFEST.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {name}.tflite "))
    total = re.search(r"\|\s*(\d+)/(\d+)\s*\|", row)
    assert total, f"MANIFEST.md's row for {name} has no TFLM arena total/head figure: {row}"
    return int(total.group(1))


@pytest.mark.parametrize("name", INT8)
def test_allowance_and_arena_below_tflite_micro(name):
    """The allowance (the activations' lower bound plus TFLite Micro's per-channel requantization
    arrays) is below TFLite Micro's measured arena, and the arena compiled for qemu-m4 (with rowpairs'
    and planes' rings where they fit) within the allowance."""
    path = shared_model(f"{name}.tflite")
    host = compiler.compile_model(path, tuning_log=None)  # no board: no ring taken
    allowance = scratch_layouts.allowance(host.graph)
    assert host.lower_bound <= allowance < tflm_arena(name)
    board = "qemu-m4"
    c = compiler.compile_model(path, cpu=boards.cpu(board), flash_bytes=boards.flash(board),
                               ram_bytes=boards.ram(board), tuning_log=None)
    assert c.graph.arena_bytes <= max(allowance, host.graph.arena_bytes)


def test_allowance_counts_each_channel_of_the_convolutions():
    """kws: nine CONV_2D and DEPTHWISE_CONV_2D layers of 64 output channels, 8 B each (a multiplier
    and a shift in TFLite Micro's OpData), above the activations' bound."""
    c = compiler.compile_model(shared_model("kws_ref_model.tflite"), tuning_log=None)
    assert scratch_layouts.allowance(c.graph) - c.lower_bound == 9 * 64 * 8


def _dw(h: int, w: int, c: int, stride: int = 1, dm: int = 1) -> dict:
    out_h, out_w = -(-h // stride), -(-w // stride)
    pad = max((out_h - 1) * stride + 3 - h, 0) // 2
    return dict(k_h=3, k_w=3, dil_h=1, dil_w=1, stride_h=stride, stride_w=stride, in_h=h, in_w=w,
                in_c=c, out_h=out_h, out_w=out_w, out_c=c * dm, batches=1, pad_top=pad, pad_left=pad)


@pytest.mark.parametrize("shape, passes", [
    ((8, 8, 32), 1),       # MobileNetV2's 8x8x32: a 3 KB ring, more than the input, less than both images
    ((6, 6, 128), 1),      # vww's: 9 KB against 9 KB of images
    ((25, 5, 64), 1),      # kws
    ((3, 3, 256), 3),      # vww's 3x3x256: 192 B a group, 24 groups within its 4.5 KB of images
    ((2, 2, 64, 2, 2), 2),  # rows of 2, stride 2, multiplier 2: 384 B of images, so RING_MIN decides
])
def test_one_pass_where_the_ring_is_within_the_images(shape, passes):
    p = _dw(*shape)
    n = rowpairs.chunk(p)
    assert -(-p["out_c"] // 4 // n) == passes
    # one pass declares the overlap that saves about an image; several declare none
    assert (rowpairs.overlap(p) < p["out_h"] * p["out_w"] * p["out_c"]) == (passes == 1)
