"""TFLite_Detection_PostProcess, the custom operator SSD-style detectors end with (kernel:
runtime_c/src/kiln_detection.c).

Its options come as flexbuffers in the operator's custom_options. As TFLite Micro: float32 box
encodings [1, boxes, >= 4] ({y, x, h, w}), class scores [1, boxes, classes (+1 background)] and
anchors [boxes, 4]; outputs boxes [1, rows, 4], classes [1, rows], scores [1, rows] and the count
[1], all float32. Fast NMS (each anchor's max_classes_per_detection best classes, one suppression
over the anchors) or regular NMS (use_regular_nms: one suppression per class). Where TFLite Micro
leaves output rows unwritten (fewer detections than rows), Kiln writes zeros.
"""
from __future__ import annotations

from .base import arity, custom_options, dtype_in, register, require

KIND = "CUSTOM(TFLite_Detection_PostProcess)"
REQUIRED = ("max_detections", "max_classes_per_detection", "nms_score_threshold", "nms_iou_threshold",
            "num_classes", "y_scale", "x_scale", "h_scale", "w_scale")


def options(op) -> dict:
    return custom_options(op, REQUIRED, {"detections_per_class": 100, "use_regular_nms": False},
                          "max_detections, num_classes, ...")


def check(op, g):
    arity(op, 3, 4)
    enc, sc, anchors = g.op_inputs(op)
    for role, t in (("box encodings", enc), ("class predictions", sc), ("anchors", anchors)):
        dtype_in(op, t, role, ("float32",))  # TFLite Micro decodes float inputs only
    for k, t in enumerate(g.op_outputs(op)):
        dtype_in(op, t, f"output {k}", ("float32",))
    o = options(op)
    require(op, len(enc.shape) == 3 and enc.shape[0] == 1 and enc.shape[2] >= 4,
            f"box encodings {enc.shape} must be [1, boxes, 4 or more]")
    n = enc.shape[1]
    require(op, len(sc.shape) == 3 and sc.shape[:2] == [1, n], f"class predictions {sc.shape} must be [1, {n}, classes]")
    require(op, list(anchors.shape) == [n, 4], f"anchors {anchors.shape} must be [{n}, 4]")
    classes = int(o["num_classes"])
    require(op, classes >= 1 and 0 <= sc.shape[2] - classes <= 1,
            f"num_classes {classes} against {sc.shape[2]} class scores (at most one background class)")
    require(op, 0.0 < float(o["nms_iou_threshold"]) <= 1.0, f"nms_iou_threshold {o['nms_iou_threshold']} is not in (0, 1]")
    require(op, int(o["max_detections"]) >= 0, "max_detections is negative")
    if o["use_regular_nms"]:
        require(op, int(o["detections_per_class"]) > 0, "detections_per_class must be positive")
    else:
        require(op, int(o["max_classes_per_detection"]) > 0, "max_classes_per_detection must be positive")
    boxes, classes_out, scores_out, num = g.op_outputs(op)
    rows = boxes.shape[1] if len(boxes.shape) == 3 else -1
    require(op, len(boxes.shape) == 3 and boxes.shape[0] == 1 and boxes.shape[2] == 4,
            f"output 0 {boxes.shape} must be [1, rows, 4]")
    require(op, list(classes_out.shape) == [1, rows] and list(scores_out.shape) == [1, rows] and num.size == 1,
            f"outputs 1 and 2 must be [1, {rows}] and output 3 one value")


def prepare(op, g):
    enc, sc, _ = g.op_inputs(op)
    o = options(op)
    n, classes = enc.shape[1], int(o["num_classes"])
    regular = bool(o["use_regular_nms"])
    cats = 0 if regular else min(int(o["max_classes_per_detection"]), classes)
    p = dict(num_boxes=n, encoding_stride=enc.shape[2], num_classes=classes, classes_with_background=sc.shape[2],
             max_detections=int(o["max_detections"]), categories=cats,
             detections_per_class=int(o["detections_per_class"]), regular=int(regular),
             out_rows=g.op_outputs(op)[0].shape[1], score_threshold=float(o["nms_score_threshold"]),
             iou_threshold=float(o["nms_iou_threshold"]), y_scale=float(o["y_scale"]), x_scale=float(o["x_scale"]),
             h_scale=float(o["h_scale"]), w_scale=float(o["w_scale"]))
    cand = p["max_detections"] + p["detections_per_class"]
    order = max(n, cand, classes)
    # kiln_detection.c's carve(): boxes, two float rows, two candidate float rows, then the int32
    # arrays (kept, order and its merge scratch, selected, two candidate rows, top classes), flags
    op.scratch_bytes = 16 * n + 8 * n + 8 * cand + 4 * (n + 2 * order + n + 2 * cand + n * cats) + n
    op.params = p


FIELDS = ["num_boxes", "encoding_stride", "num_classes", "classes_with_background", "max_detections", "categories",
          "detections_per_class", "regular", "out_rows"]
FLOATS = ["score_threshold", "iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale"]


def emit(op, g, c):
    enc, sc, anchors = g.op_inputs(op)
    boxes, classes, scores, num = g.op_outputs(op)
    p = op.params
    ints = ", ".join(str(p[k]) for k in FIELDS)
    floats = ", ".join(c.f32(p[k]) for k in FLOATS)
    return [f"static const kiln_detection_params_t params = {{{ints},",
            f"    {floats}}};",
            f"kiln_detection_postprocess({c.ptr(enc)}, {c.ptr(sc)}, {c.ptr(anchors)}, {c.ptr(boxes)}, {c.ptr(classes)},",
            f"                           {c.ptr(scores)}, {c.ptr(num)}, &params, {c.scratch(op)});"]


register(KIND, check, prepare, emit, types=("float32",),
         notes="SSD post-processing: fast and regular NMS as TFLite Micro (float inputs, as it takes them)")
