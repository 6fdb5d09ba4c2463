"""TFLite_Detection_PostProcess (ops/detection.py) against TFLite Micro: fast and regular
non-maximum suppression, with and without a background class, suppression that bites, fewer
detections than output rows; and an SSD-style detector ending with it (int8 convolutions, their
box and class heads dequantized into the post-processing), on the host and on qemu-m4."""
from __future__ import annotations

import numpy as np
import pytest
from flatbuffers import flexbuffers

from harness import FLOAT_ATOL, FLOAT_RTOL, compile_and_run
from kiln.compiler.tflwriter import ModelWriter
from opgen import random_records

KIND = "TFLite_Detection_PostProcess"  # the registry's "CUSTOM(TFLite_Detection_PostProcess)"


def anchors(n: int, rng) -> np.ndarray:
    """{y, x, h, w} anchors, crowded enough that neighbours overlap and suppression matters."""
    return np.stack([rng.uniform(0.3, 0.7, n), rng.uniform(0.3, 0.7, n), rng.uniform(0.2, 0.4, n),
                     rng.uniform(0.2, 0.4, n)], 1).astype(np.float32)


def options(max_det, classes, regular, per_det=1, per_class=4, score=0.3, iou=0.5) -> bytes:
    return flexbuffers.Dumps({"max_detections": max_det, "max_classes_per_detection": per_det,
                              "detections_per_class": per_class, "use_regular_nms": regular,
                              "nms_score_threshold": score, "nms_iou_threshold": iou, "num_classes": classes,
                              "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0})


def add_postprocess(w, box, sc, n, max_det, classes, regular, **kw):
    an = w.tensor("anchors", [n, 4], "float32", data=anchors(n, np.random.default_rng(n)))
    outs = [w.tensor("detection_boxes", [1, max_det, 4], "float32"), w.tensor("detection_classes", [1, max_det], "float32"),
            w.tensor("detection_scores", [1, max_det], "float32"), w.tensor("num_detections", [1], "float32")]
    w.custom_op(KIND, [box, sc, an], outs, options(max_det, classes, regular, **kw))
    return outs


def postprocess(n=40, classes=3, background=1, max_det=6, regular=False, **kw) -> bytes:
    w = ModelWriter(description="kiln tests: detection post-processing")
    box = w.tensor("box_encodings", [1, n, 4], "float32")
    sc = w.tensor("class_scores", [1, n, classes + background], "float32")
    w.inputs, w.outputs = [box, sc], add_postprocess(w, box, sc, n, max_det, classes, regular, **kw)
    return w.build()


def records(data, n=12):
    recs = random_records(data, n=n)
    rng = np.random.default_rng(8)
    for r in recs:
        r[1] = rng.uniform(0, 1, r[1].shape).astype(np.float32) ** 2  # scores in [0, 1), most low
    return recs


def compare(pair, rows_written_only=False):
    for step, (ours, ref) in enumerate(zip(pair.ours, pair.ref)):
        num = int(ours[3][0])
        assert num == int(np.asarray(ref[3]).reshape(-1)[0]), f"step {step}: {num} detections vs TFLite Micro's"
        for k in range(3):
            a, b = ours[k].reshape(ours[k].shape[1], -1), np.asarray(ref[k]).reshape(ours[k].shape[1], -1)
            rows = num if rows_written_only else a.shape[0]
            # float outputs: the stated tolerance (another libm's expf moves a LOGISTIC score by an ulp)
            np.testing.assert_allclose(a[:rows], b[:rows], rtol=FLOAT_RTOL, atol=FLOAT_ATOL,
                                       err_msg=f"step {step} output {k}")


@pytest.mark.parametrize("background", [0, 1])
@pytest.mark.parametrize("regular", [False, True], ids=["fast", "regular"])
def test_postprocess_against_tflm(regular, background, tmp_path):
    data = postprocess(regular=regular, background=background)
    pair = compile_and_run(data, records(data), tmp_path)
    compare(pair)
    nums = [int(r[3][0]) for r in pair.ours]
    assert max(nums) == 6, "every step should fill the detections"


def test_postprocess_fewer_detections_than_rows(tmp_path):
    """A high score threshold: fewer detections than rows. TFLite Micro leaves the other rows
    unwritten in fast NMS (Kiln zeroes them): the written rows and the count must agree."""
    for regular in (False, True):
        data = postprocess(regular=regular, score=0.8, max_det=10)
        (tmp_path / str(regular)).mkdir()
        pair = compile_and_run(data, records(data), tmp_path / str(regular))
        compare(pair, rows_written_only=not regular)
        assert min(int(r[3][0]) for r in pair.ours) < 10
        assert all(not r[0].reshape(10, 4)[int(r[3][0]):].any() for r in pair.ours)  # zeros after the count


def test_postprocess_refuses_what_tflm_cannot_decode(tmp_path):
    from kiln import compiler
    from kiln.errors import UnsupportedError

    w = ModelWriter()
    box = w.tensor("box", [1, 8, 4], "int8", 0.1, 0)
    sc = w.tensor("sc", [1, 8, 3], "float32")
    w.inputs, w.outputs = [box, sc], add_postprocess(w, box, sc, 8, 3, 2, False)
    path = tmp_path / "int8_boxes.tflite"
    path.write_bytes(w.build())
    with pytest.raises(UnsupportedError, match=f"operator 0 \\(CUSTOM\\({KIND}\\)\\): box encodings .* INT8"):
        compiler.compile_model(path)


def ssd_detector() -> bytes:
    """An SSD-style detector: int8 convolutions over an 8x8 image, a box head (4 values per
    anchor) and a class head (3 classes + background, logistic) per cell, dequantized and reshaped
    into TFLite_Detection_PostProcess: 64 anchors, fast NMS, 5 detections."""
    rng = np.random.default_rng(21)
    w = ModelWriter(description="kiln tests: SSD-style detector")
    x = w.tensor("image", [1, 8, 8, 3], "int8", 0.02, 0)

    def conv(name, inp, cin, cout, in_scale, out_scale, out_zp, act, gain=1.0):
        ws = [float(s) * gain for s in rng.uniform(0.005, 0.02, cout)]
        wt = w.tensor(f"{name}_w", [cout, 3, 3, cin], "int8", ws, [0] * cout,
                      data=rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8))
        b = w.tensor(f"{name}_b", [cout], "int32", [in_scale * s for s in ws], [0] * cout,
                     data=rng.integers(-200, 200, cout).astype(np.int32))
        y = w.tensor(name, [1, 8, 8, cout], "int8", out_scale, out_zp)
        w.op("CONV_2D", [inp, wt, b], [y], {"padding": 0, "stride_w": 1, "stride_h": 1,
                                              "fused_activation_function": act})
        return y

    f = conv("features", x, 3, 8, 0.02, 0.05, -128, 1)
    heads = []
    for name, ch, gain, scale in (("box_head", 4, 1.0, 0.08), ("class_head", 4, 0.05, 0.03)):
        h = conv(name, f, 8, ch, 0.05, scale, 0, 0, gain)  # class logits of a few units: probabilities vary
        flat = w.tensor(f"{name}_flat", [1, 64, ch], "int8", scale, 0)
        w.op("RESHAPE", [h, w.tensor(f"{name}_shape", [3], "int32", data=np.array([1, 64, ch], np.int32))], [flat])
        real = w.tensor(f"{name}_float", [1, 64, ch], "float32")
        w.op("DEQUANTIZE", [flat], [real])
        heads.append(real)
    probs = w.tensor("class_probabilities", [1, 64, 4], "float32")
    w.op("LOGISTIC", [heads[1]], [probs])
    w.inputs, w.outputs = [x], add_postprocess(w, heads[0], probs, 64, 5, 3, False, score=0.2)
    return w.build()


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_ssd_style_detector(board, tmp_path):
    data = ssd_detector()
    recs = random_records(data, n=12 if board == "host" else 4)
    if board == "host":
        pair = compile_and_run(data, recs, tmp_path)
        compare(pair, rows_written_only=True)
        assert len({r[0].tobytes() for r in pair.ours}) > 1
        assert pair.compiled.graph.arena_bytes <= pair.compiled.lower_bound
    else:  # check_on_qemu_m4's build and run; the count (always 5 here) may stay the same
        from harness import Pair
        from kiln import compiler
        from kiln.compiler import oracle
        from kiln.boards import qemu

        path = tmp_path / "ssd.tflite"
        path.write_bytes(data)
        c = compiler.compile_model(path)
        compiler.write(c, tmp_path / "src")
        elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", recs, graph=c.graph)
        ours = qemu.run(elf, c.graph).outputs
        compare(Pair(ours, oracle.run_tflm(path, recs, 4), c), rows_written_only=True)
        assert len({r[0].tobytes() for r in ours}) > 1
