"""The memory planner: no two live tensors overlap (but as an operator allows); chains reach the lower
bound; RESHAPE aliases; convolutions overlap their output with a dying input only where safe."""
from __future__ import annotations

import numpy as np
import pytest

import modelgen as mg
from harness import assert_match, compile_and_run
from kiln import compiler
from kiln.compiler.ir import DTYPES, Graph, Operator, Tensor
from kiln.compiler.ops import REGISTRY
from kiln.compiler.passes import plan


def random_graph(rng, n_ops: int, chain: bool) -> Graph:
    tensors = [Tensor(0, "in", [int(rng.integers(1, 300))], "int8")]
    ops = []
    for i in range(n_ops):
        if chain:
            ins = [len(tensors) - 1]
        else:
            ins = list(rng.choice(len(tensors), size=min(len(tensors), int(rng.integers(1, 3))), replace=False))
        dtype = "float32" if rng.random() < 0.3 else "int8"
        tensors.append(Tensor(len(tensors), f"t{i}", [int(rng.integers(1, 300))], dtype))
        ops.append(Operator(i, "ADD" if len(ins) == 2 else "RELU", [int(j) for j in ins], [len(tensors) - 1]))
    consumed = {j for op in ops for j in op.inputs}
    outputs = [t.index for t in tensors[1:] if t.index not in consumed] or [tensors[-1].index]
    return Graph("g", tensors, ops, [0], outputs)


def assert_no_overlap(bufs):
    for a in bufs:
        assert a.offset % a.align == 0
        for b in bufs:
            if a is not b and a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_never_overlap(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, int(rng.integers(1, 25)), chain=False)
    bufs = plan.run(g)
    assert_no_overlap(bufs)
    assert g.arena_bytes >= plan.lower_bound(bufs, len(g.operators))
    for t in g.activations:
        assert 0 <= t.offset and t.offset + t.nbytes <= g.arena_bytes


@pytest.mark.parametrize("seed", range(20))
def test_chains_reach_the_lower_bound(seed):
    rng = np.random.default_rng(100 + seed)
    g = random_graph(rng, int(rng.integers(1, 15)), chain=True)
    for t in g.tensors:  # one element size, so alignment cannot add padding
        t.dtype = "int8"
    bufs = plan.run(g)
    assert_no_overlap(bufs)
    assert g.arena_bytes == plan.lower_bound(bufs, len(g.operators))


def test_reshape_output_shares_the_input_buffer():
    t = [Tensor(0, "x", [1, 12], "int8"), Tensor(1, "r", [12], "int8"), Tensor(2, "y", [12], "int8"),
         Tensor(3, "shape", [1], "int32", data=np.array([12], np.int32))]
    ops = [Operator(0, "RESHAPE", [0, 3], [1]), Operator(1, "RELU", [1], [2])]
    g = Graph("g", t, ops, [0], [2])
    bufs = plan.run(g)
    assert t[1].offset == t[0].offset and t[1].alias_of == 0
    assert g.arena_bytes == 12  # x/r share 12 bytes, and the RELU writes over them in place
    assert_no_overlap(bufs)
    assert plan.lower_bound(plan.buffers(g, in_place=False), 2) == 24  # the naive bound


def _chain(kinds_and_inputs, outputs):
    t = [Tensor(i, f"t{i}", [16], "int8") for i in range(len(kinds_and_inputs) + 1)]
    ops = [Operator(k, kind, ins, [k + 1]) for k, (kind, ins) in enumerate(kinds_and_inputs)]
    return Graph("g", t, ops, [0], outputs)


def test_in_place_only_when_the_input_dies_there():
    # t1 = relu(t0); t2 = relu(t1); t3 = add(t1, t2): t2 may not overwrite t1 (read again later),
    # but t3 may overwrite t1 or t2, both last read there.
    g = _chain([("RELU", [0]), ("RELU", [1]), ("ADD", [1, 2])], [3])
    plan.run(g)
    t = g.tensors
    assert t[2].offset != t[1].offset
    assert t[3].offset in (t[1].offset, t[2].offset)
    assert t[1].offset == t[0].offset  # t0 dies at the first RELU
    assert g.arena_bytes == 32


def test_no_in_place_over_a_graph_output():
    g = _chain([("RELU", [0]), ("RELU", [1])], [1, 2])  # t1 is an output and an input of op 1
    plan.run(g)
    assert g.tensors[2].offset != g.tensors[1].offset


# ---- overlapped placement (OpDef.overlap): a convolution's output over its dying input ----

def _compile(model, tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(model.data)
    return compiler.compile_model(path)


def kernel_order(op, g):
    """Replays, byte by byte, the order in which kiln_conv.c's kernel for op reads its input and
    writes its output (written independently of OpDef.overlap, from the C loops): returns the
    time each input byte is last read (0: never) and the time each output byte is written."""
    p = op.params
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    es = DTYPES[x.dtype][2]
    last_read, written = np.zeros(x.nbytes, np.int64), np.zeros(y.nbytes, np.int64)
    clock = iter(range(1, 1 << 40))
    pixels = p["out_h"] * p["out_w"]

    def nbytes(elements):
        return (np.asarray(elements, np.int64)[:, None] * es + np.arange(es)).reshape(-1)

    def taps(b, q, channels):  # elements of pixel q's taps inside the image, at these channels
        oy, ox = divmod(q, p["out_w"])
        out = []
        for ky in range(p["k_h"]):
            iy = oy * p["stride_h"] - p["pad_top"] + ky * p["dil_h"]
            for kx in range(p["k_w"]):
                ix = ox * p["stride_w"] - p["pad_left"] + kx * p["dil_w"]
                if 0 <= iy < p["in_h"] and 0 <= ix < p["in_w"]:
                    out += [((b * p["in_h"] + iy) * p["in_w"] + ix) * p["in_c"] + c for c in channels]
        return out

    def read(elements):
        if elements:
            last_read[nbytes(elements)] = next(clock)

    def write(b, q, channels):
        written[nbytes([(b * pixels + q) * p["out_c"] + c for c in channels])] = next(clock)

    for b in range(p["batches"]):
        if op.kind == "CONV_2D" and x.dtype == "int8":  # kiln_conv_s8: two pixels, channel pairs
            for px in range(0, pixels, 2):
                pix = [q for q in (px, px + 1) if q < pixels]
                everything = [e for q in pix for e in taps(b, q, range(p["in_c"]))]
                if p.get("im2col"):  # im2col: both columns copied before any write
                    read(everything)
                for oc in range(0, p["out_c"], 2):
                    chans = [c for c in (oc, oc + 1) if c < p["out_c"]]
                    if not p.get("im2col"):  # in place: the odd last channel reads the taps again
                        read(everything)
                    for q in pix:
                        write(b, q, chans)
        elif op.kind == "DEPTHWISE_CONV_2D" and "planes" in p:  # the ring's new rows, then every channel of a row
            from kiln.compiler.ops import planes

            cols = min(p["in_w"], p["dil_w"] * planes.sub_width(p) - p["pad_left"])
            filled = -1
            for oy in range(p["out_h"]):
                top, last = oy * p["stride_h"], oy * p["stride_h"] + (p["k_h"] - 1) * p["dil_h"]
                for iy in range(max(filled + 1, top) - p["pad_top"], last + 1 - p["pad_top"]):
                    if 0 <= iy < p["in_h"]:
                        read([((b * p["in_h"] + iy) * p["in_w"] + ix) * p["in_c"] + c
                              for ix in range(cols) for c in range(p["in_c"])])
                filled = last
                for ox in range(p["out_w"]):
                    write(b, oy * p["out_w"] + ox, range(p["out_c"]))
        elif op.kind == "DEPTHWISE_CONV_2D" and "rowpairs" in p:  # per pass, per row: new pair-rows, then the row
            groups, n = p["out_c"] // 4, p["chunk"]
            cols = min(p["in_w"], (p["out_w"] - 1) * p["stride_w"] + 3 - p["pad_left"])
            dm = p["out_c"] // p["in_c"]
            for c0 in range(0, groups, n):
                chans = range(4 * c0, 4 * min(groups, c0 + n))
                ins = range(4 * c0 // dm, 4 * min(groups, c0 + n) // dm)
                nxt = 0
                for oy in range(p["out_h"]):
                    q = oy * p["stride_h"] >> 1
                    for k in range(nxt, q + 2):
                        for iy in (2 * k - p["pad_top"], 2 * k + 1 - p["pad_top"]):
                            if k >= q and 0 <= iy < p["in_h"]:
                                read([((b * p["in_h"] + iy) * p["in_w"] + ix) * p["in_c"] + c
                                      for ix in range(cols) for c in ins])
                    nxt = max(nxt, q + 2)
                    for ox in range(p["out_w"]):
                        write(b, oy * p["out_w"] + ox, chans)
        elif op.kind == "DEPTHWISE_CONV_2D" and "multiplier_filter" in p:  # per input channel, its outputs in pairs
            dm = p["depth_multiplier"]
            for q in range(pixels):
                for ic in range(p["in_c"]):
                    for m in range(0, dm, 2):
                        read(taps(b, q, [ic]))
                        write(b, q, [ic * dm + k for k in (m, m + 1) if k < dm])
        elif op.kind == "DEPTHWISE_CONV_2D" and "bias_folded" in p:  # four channels at a time
            for q in range(pixels):
                groups = [range(c, c + 4) for c in range(0, p["out_c"] // 4 * 4, 4)]
                groups += [[c] for c in range(p["out_c"] // 4 * 4, p["out_c"])]
                for chans in groups:
                    read(taps(b, q, chans))
                    write(b, q, chans)
        else:  # the general depthwise and the float kernels: one output value at a time
            dm = p["depth_multiplier"]
            for q in range(pixels):
                for oc in range(p["out_c"]):
                    read(taps(b, q, [oc // dm] if op.kind == "DEPTHWISE_CONV_2D" else range(p["in_c"])))
                    write(b, q, [oc])
    return last_read, written


def overwrites_unread(last_read, written, d) -> bool:
    """Whether, with the output starting d bytes below the input, some output byte lands on an
    input byte that is read after it was written."""
    r = np.arange(written.size) - d
    inside = (r >= 0) & (r < last_read.size)
    return bool(np.any(last_read[r[inside]] > written[inside]))


OVERLAP_CASES = {
    "conv_1x1_expand": lambda: mg.conv2d(61, input_shape=(1, 5, 6, 8), out_channels=16, kernel=(1, 1)),
    "conv_1x1_project_odd": lambda: mg.conv2d(62, input_shape=(1, 5, 5, 12), out_channels=7, kernel=(1, 1)),
    "conv_3x3_taps_in_place": lambda: mg.conv2d(63, input_shape=(1, 6, 5, 8), out_channels=8),
    "conv_3x3_stride2_valid": lambda: mg.conv2d(64, input_shape=(1, 9, 9, 4), out_channels=6, strides=(2, 2),
                                                padding="VALID"),
    "conv_im2col_first_layer": lambda: mg.conv2d(65, input_shape=(1, 12, 6, 1), out_channels=8, kernel=(5, 3),
                                                 strides=(2, 2)),
    "conv_im2col_dilation": lambda: mg.conv2d(66, input_shape=(1, 10, 10, 3), out_channels=6, dilation=(2, 2)),
    "conv_batch2": lambda: mg.conv2d(67, input_shape=(2, 5, 5, 4), out_channels=4),
    "conv_above_tap_limit": lambda: mg.conv2d(68, input_shape=(1, 4, 4, 4), out_channels=3, kernel=(9, 9)),
    "depthwise_3x3": lambda: mg.depthwise_conv2d(69, input_shape=(1, 7, 6, 12)),
    "depthwise_stride2_odd_channels": lambda: mg.depthwise_conv2d(70, input_shape=(1, 9, 7, 7), strides=(2, 2)),
    "depthwise_multiplier2": lambda: mg.depthwise_conv2d(71, input_shape=(1, 6, 6, 4), depth_multiplier=2),
    "depthwise_above_tap_limit": lambda: mg.depthwise_conv2d(76, input_shape=(1, 14, 6, 4), kernel=(9, 9)),  # planes
    "depthwise_multiplier2_5x5": lambda: mg.depthwise_conv2d(77, input_shape=(1, 6, 6, 4), kernel=(5, 5),
                                                             depth_multiplier=2),
    "depthwise_planes_stride2_dilation2": lambda: mg.depthwise_conv2d(78, input_shape=(2, 11, 9, 3), depth_multiplier=2,
                                                                      strides=(2, 2), dilation=(2, 2)),
    "conv_float": lambda: mg.conv2d(72, dtype="float32", input_shape=(1, 6, 6, 3), out_channels=5),
    "depthwise_float": lambda: mg.depthwise_conv2d(73, dtype="float32", input_shape=(1, 6, 6, 5)),
}


@pytest.mark.parametrize("case", sorted(OVERLAP_CASES))
def test_overlap_never_writes_over_an_input_byte_still_to_be_read(case, tmp_path):
    """For every offset the rule allows (d and above), replaying the kernel's reads and writes
    finds no output byte written over an input byte read later; and the rule gives away at most
    one step of the kernel's writes against the exact least offset."""
    c = _compile(OVERLAP_CASES[case](), tmp_path)
    g = c.graph
    op = g.operators[0]
    d = REGISTRY[op.kind].overlap(op, g)
    last_read, written = kernel_order(op, g)
    unsafe = [k for k in range(-last_read.size, written.size + 1) if overwrites_unread(last_read, written, k)]
    assert unsafe, f"{case}: the replay finds no unsafe offset, so it tests nothing"
    assert max(unsafe) < d, f"{case}: the rule allows offset {d}, but the kernel overwrites unread input at {max(unsafe)}"
    step = (2 if op.kind == "CONV_2D" and g.tensor(op.inputs[0]).dtype == "int8" else 1) * written.size // (
        op.params["batches"] * op.params["out_h"] * op.params["out_w"])
    assert d <= max(unsafe) + 1 + step, f"{case}: the rule asks for {d} bytes, {max(unsafe) + 1} would do"


@pytest.mark.parametrize("case", [dict(input_shape=(1, 7, 6, 12)), dict(input_shape=(2, 9, 7, 8), strides=(2, 2)),
                                  dict(input_shape=(1, 8, 9, 4), strides=(2, 1), padding="VALID"),
                                  dict(input_shape=(1, 6, 7, 8), depth_multiplier=2, strides=(2, 2)),
                                  dict(input_shape=(1, 4, 40, 64))],  # (the last in passes: no overlap)
                         ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_rowpairs_overlap_never_writes_over_an_input_byte_still_to_be_read(case, tmp_path):
    """The same replay for the rowpairs layout (rowpairs.overlap): pair-rows copied ahead of each
    output row; with several passes the output may not overlap the input at all."""
    path = tmp_path / "model.tflite"
    path.write_bytes(mg.depthwise_conv2d(79, **case).data)
    c = compiler.compile_model(path, variants={0: "rowpairs"})
    g = c.graph
    op = g.operators[0]
    assert "rowpairs" in op.params
    d = REGISTRY[op.kind].overlap(op, g)
    last_read, written = kernel_order(op, g)
    unsafe = [k for k in range(-last_read.size, written.size + 1) if overwrites_unread(last_read, written, k)]
    assert unsafe and max(unsafe) < d
    step = written.size // (op.params["batches"] * op.params["out_h"])  # a row of outputs
    assert d <= max(unsafe) + 1 + step or op.params["chunk"] * 4 < op.params["out_c"]


def test_overlapped_chain_is_smaller_and_bit_exact(tmp_path):
    """A MobileNet block (1x1 expand, 3x3 depthwise, 1x1 project): each output overlaps the
    input it replaces, the arena ends well below the naive bound, and results stay TFLite
    Micro's bit for bit."""
    model = mg.separable_block(74, input_shape=(1, 10, 10, 8), expand=16, out_channels=8)
    c = _compile(model, tmp_path)
    g = c.graph
    bufs = {b.root: b for b in c.buffers}
    ins = [bufs[g.tensor(op.inputs[0]).alias_of or op.inputs[0]] for op in g.operators]
    outs = [bufs[op.outputs[0]] for op in g.operators]
    assert all(y.below.get(x.root) is not None for x, y in zip(ins, outs))
    overlapped = [(x, y) for x, y in zip(ins, outs) if y.offset < x.offset + x.size and x.offset < y.offset + y.size]
    assert overlapped, "no output overlaps its input: the test proves nothing"
    for x, y in overlapped:
        assert x.offset - y.offset >= y.below[x.root]
    assert not plan.clashes(c.buffers)
    assert c.lower_bound == 3200  # naive: 1600-byte expanded and filtered tensors side by side
    assert g.arena_bytes <= 1900, g.arena_bytes
    rng = np.random.default_rng(0)
    assert_match(compile_and_run(model.data, [model.random_inputs(rng) for _ in range(5)], tmp_path), "block")


def test_no_overlap_with_an_input_read_later(tmp_path):
    """conv then ADD(input, conv): the input lives on past the convolution, so no overlap."""
    model = mg.conv_residual(75, input_shape=(1, 6, 6, 8))
    c = _compile(model, tmp_path)
    assert not any(b.below for b in c.buffers)
    assert not plan.clashes(c.buffers)
    rng = np.random.default_rng(1)
    assert_match(compile_and_run(model.data, [model.random_inputs(rng) for _ in range(3)], tmp_path), "residual")


def test_clashes_finds_an_overlap_closer_than_declared():
    x = plan.Buffer(0, 100, 1, 0, 0, [0], offset=60)
    y = plan.Buffer(1, 150, 1, 0, 1, [1], offset=0, below={0: 60})
    assert not plan.clashes([x, y]) and not plan.clashes([y, x])
    x.offset = 59
    assert plan.clashes([x, y]) and plan.clashes([y, x])
    y.below = {}
    x.offset = 150
    assert not plan.clashes([x, y])
    x.offset = 149
    assert plan.clashes([x, y])


@pytest.mark.parametrize("axis, in_place", [(1, True), (2, False), (3, False)])
def test_concatenation_in_place_where_its_inputs_are_contiguous_blocks(tmp_path, axis, in_place):
    """Concatenating along an axis with only 1s before it: both pools write straight into their
    block of the output and the copy goes away; along later axes the blocks are strided, so it
    stays a copy. TFLite Micro's bits either way."""
    model = mg.pools_concat(7, input_shape=(1, 8, 8, 4), axis=axis)
    path = tmp_path / "cat.tflite"
    path.write_bytes(model.data)
    c = compiler.compile_model(path)
    g = c.graph
    (cat,) = [op for op in g.operators if op.kind == "CONCATENATION"]
    a, b = (g.tensor(i) for i in cat.inputs)
    y = g.tensor(cat.outputs[0])
    placed = a.offset == y.offset and b.offset == y.offset + a.nbytes
    assert placed == in_place, (axis, a.offset, b.offset, y.offset)
    body = c.files[f"{c.name}.c"]
    fn = body[body.index("op002_concatenation(") :]
    fn = fn[: fn.index("\n}\n")]
    assert ("kiln_copy_nd" not in fn and fn.count("nothing to copy") == 2) if in_place else "kiln_copy_nd" in fn
    copying = plan._arena(plan._plan(g, plan.buffers(g, concat=False)))  # the plan with the copy is never smaller
    assert g.arena_bytes <= copying
    rng = np.random.default_rng(axis)
    pair = compile_and_run(path, [model.random_inputs(rng) for _ in range(4)], tmp_path)
    assert_match(pair, f"concatenation along axis {axis}")
