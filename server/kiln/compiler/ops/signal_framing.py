"""TFLite Micro's signal-library framing operators (custom codes SignalWindow, SignalFramer,
SignalStacker, SignalDelay, SignalOverlapAdd; kernels in runtime_c/src/kiln_framing.c):

  window       int16 frames x an int16 window, shifted down and saturated
  framer       int16 rows of new samples -> overlapping frames of frame_size every frame_step
               (with prefill, frame_size - frame_step zeros come first) and a bool "valid"
  stacker      each invocation's int16 channels stacked with left and right context frames,
               output every stacker_step invocations, and a bool "valid"
  delay        int16 rows delayed by delay_length samples
  overlap-add  int16 or float frames of frame_size added at every frame_step (inverse framing)

Framer, stacker, delay and overlap-add keep samples between invocations: that is the operator's
own state in the model's state area, zero bytes after a reset, which is the state TFLite Micro's
kernels start from and reset to. Where TFLite Micro leaves an output unwritten (a frame that is
not yet valid), Kiln writes zeros.
"""
from __future__ import annotations

from .base import arity, custom_options, dtype_in, options_summary, register, require

WINDOW, FRAMER, STACKER = "CUSTOM(SignalWindow)", "CUSTOM(SignalFramer)", "CUSTOM(SignalStacker)"
DELAY, OVERLAP_ADD = "CUSTOM(SignalDelay)", "CUSTOM(SignalOverlapAdd)"
FRAMER_KEYS = ("frame_size", "frame_step", "prefill")
STACKER_KEYS = ("num_channels", "stacker_left_context", "stacker_right_context", "stacker_step")


def _valid_flag(op, t) -> None:
    dtype_in(op, t, "output 1 (valid)", ("bool",))
    require(op, len(t.shape) == 0, f"output 1 (valid) {t.shape} must be a scalar")


def _positive(op, o: dict, key: str, least: int = 1) -> int:
    v = int(o[key])
    require(op, v >= least, f"{key} {v} must be at least {least}")
    return v


# ---- window ----
def check_window(op, g):
    arity(op, 2)
    o = custom_options(op, ("shift",))
    (x, w), (y,) = g.op_inputs(op), g.op_outputs(op)
    for role, t in (("input", x), ("input 1 (the window)", w), ("output", y)):
        dtype_in(op, t, role, ("int16",))
    require(op, len(w.shape) == 1 and w.size >= 1, f"the window {w.shape} must have one axis")
    require(op, len(x.shape) >= 1 and x.size % w.size == 0,
            f"input {x.shape} must hold whole windows of {w.size} samples")
    require(op, y.shape == x.shape, f"output {y.shape} must have the input's shape {x.shape}")
    require(op, 0 <= int(o["shift"]) < 32, f"shift {o['shift']} is outside 0..31")


def prepare_window(op, g):
    op.params = dict(shift=int(custom_options(op, ("shift",))["shift"]))
    op.macs = g.op_inputs(op)[0].size


def emit_window(op, g, c):
    (x, w), (y,) = g.op_inputs(op), g.op_outputs(op)
    return [f"kiln_window_s16({c.ptr(x)}, {c.ptr(w)}, {c.ptr(y)}, {x.size}, {w.size}, {op.params['shift']});"]


# ---- framer ----
def _framer(op, g) -> dict:
    o = custom_options(op, FRAMER_KEYS)
    (x,) = g.op_inputs(op)
    size, step = _positive(op, o, "frame_size"), _positive(op, o, "frame_step")
    inner = x.shape[-1] if x.shape else 0
    return dict(rows=x.size // max(inner, 1), steps=inner // step, step=step, frame_size=size,
                capacity=-(-size // step) * step, prefill=size - step if o["prefill"] else 0)


def framer_row_bytes(capacity: int) -> int:
    """kiln_framing.c's row of framer state: a count, then the samples, 8-byte aligned."""
    return (4 + 2 * capacity + 7) // 8 * 8


def check_framer(op, g):
    arity(op, 1, 2)
    (x,), (y, valid) = g.op_inputs(op), g.op_outputs(op)
    dtype_in(op, x, "input", ("int16",))
    dtype_in(op, y, "output 0", ("int16",))
    _valid_flag(op, valid)
    p = _framer(op, g)
    require(op, len(x.shape) >= 1 and len(y.shape) == len(x.shape) + 1,
            f"output {y.shape} must have one axis more than the input {x.shape}")
    require(op, x.shape[-1] >= p["step"] and x.shape[-1] % p["step"] == 0,
            f"the input's last axis ({x.shape[-1]}) must be a multiple of frame_step ({p['step']})")
    require(op, y.shape[:-2] == x.shape[:-1] and y.shape[-2:] == [p["steps"], p["frame_size"]],
            f"output {y.shape} must be {x.shape[:-1] + [p['steps'], p['frame_size']]}")
    require(op, p["prefill"] >= 0, f"prefill needs frame_size ({p['frame_size']}) >= frame_step ({p['step']})")


def prepare_framer(op, g):
    op.params = _framer(op, g)
    op.state_bytes = op.params["rows"] * framer_row_bytes(op.params["capacity"])


def emit_framer(op, g, c):
    (x,), (y, valid) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    vals = ", ".join(str(p[k]) for k in ("rows", "steps", "step", "frame_size", "capacity", "prefill"))
    return [f"static const kiln_framer_params_t params = {{{vals}}}; /* rows, steps, step, frame size, capacity, "
            "prefill */",
            f"kiln_framer_s16({c.ptr(x)}, {c.ptr(y)}, {c.ptr(valid)}, {c.state(op)}, &params);"]


# ---- stacker ----
def _stacker(op) -> dict:
    o = custom_options(op, STACKER_KEYS)
    ch = _positive(op, o, "num_channels")
    left, right = _positive(op, o, "stacker_left_context", 0), _positive(op, o, "stacker_right_context", 0)
    step = _positive(op, o, "stacker_step")
    require(op, step <= left + right + 1, f"stacker_step {step} is more than the {left + right + 1} frames stacked "
            "(TFLite Micro's buffer would give away frames it does not hold)")
    return dict(channels=ch, size=ch * (left + right + 1), step_size=ch * step, left=left)


def check_stacker(op, g):
    arity(op, 1, 2)
    (x,), (y, valid) = g.op_inputs(op), g.op_outputs(op)
    p = _stacker(op)
    for role, t, n in (("input", x, p["channels"]), ("output 0", y, p["size"])):
        dtype_in(op, t, role, ("int16",))
        require(op, len(t.shape) == 1 and t.size == n, f"{role} {t.shape} must be [{n}]")
    _valid_flag(op, valid)


def prepare_stacker(op, g):
    op.params = _stacker(op)
    op.state_bytes = (8 + 2 * op.params["size"] + 7) // 8 * 8  # count, started, the samples


def emit_stacker(op, g, c):
    (x,), (y, valid) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    return [f"static const kiln_stacker_params_t params = {{{p['channels']}, {p['size']}, {p['step_size']}, "
            f"{p['left']}}}; /* channels, stacked size, step size, left context */",
            f"kiln_stacker_s16({c.ptr(x)}, {c.ptr(y)}, {c.ptr(valid)}, {c.state(op)}, &params);"]


# ---- delay ----
def check_delay(op, g):
    arity(op, 1)
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    dtype_in(op, x, "input", ("int16",))
    dtype_in(op, y, "output", ("int16",))
    require(op, len(x.shape) >= 1 and y.shape == x.shape, f"output {y.shape} must have the input's shape {x.shape}")
    _positive(op, custom_options(op, ("delay_length",)), "delay_length", 0)


def prepare_delay(op, g):
    (x,) = g.op_inputs(op)
    delay = int(custom_options(op, ("delay_length",))["delay_length"])
    op.params = dict(rows=x.size // x.shape[-1], frame=x.shape[-1], delay=delay)
    op.state_bytes = 2 * op.params["rows"] * delay


def emit_delay(op, g, c):
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    if not p["delay"]:
        return [f"memcpy({c.ptr(y)}, {c.ptr(x)}, {y.nbytes}u); /* a delay of 0 */"]
    return [f"kiln_delay_s16({c.ptr(x)}, {c.ptr(y)}, {c.state(op, 'int16_t')}, {p['rows']}, {p['frame']}, {p['delay']});"]


# ---- overlap-add ----
def check_overlap_add(op, g):
    arity(op, 1)
    o = custom_options(op, ("T", "frame_step"))
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    dtype = {7: "int16", 0: "float32"}.get(int(o["T"]))
    require(op, dtype is not None, "its T option is not INT16 or FLOAT32 (the types TFLite Micro's overlap-add takes)")
    dtype_in(op, x, "input", (dtype,))
    dtype_in(op, y, "output", (dtype,))
    require(op, len(x.shape) >= 2 and len(y.shape) == len(x.shape) - 1,
            f"input {x.shape} must be [..., frames, frame_size] and the output {y.shape} one axis less")
    step = _positive(op, o, "frame_step")
    require(op, step <= x.shape[-1], f"frame_step {step} is more than frame_size {x.shape[-1]}")
    want = x.shape[:-2] + [x.shape[-2] * step]
    require(op, y.shape == want, f"output {y.shape} must be {want}")


def prepare_overlap_add(op, g):
    (x,) = g.op_inputs(op)
    frames, size = x.shape[-2], x.shape[-1]
    op.params = dict(rows=x.size // (frames * size) if frames * size else 0, frames=frames, frame_size=size,
                     step=int(custom_options(op, ("T", "frame_step"))["frame_step"]))
    op.state_bytes = op.params["rows"] * size * (2 if x.dtype == "int16" else 4)


def emit_overlap_add(op, g, c):
    (x,), (y,) = g.op_inputs(op), g.op_outputs(op)
    p = op.params
    suffix, ctype = ("s16", "int16_t") if x.dtype == "int16" else ("f32", "float")
    return [f"kiln_overlap_add_{suffix}({c.ptr(x)}, {c.ptr(y)}, {c.state(op, ctype)}, {p['rows']}, {p['frames']}, "
            f"{p['frame_size']}, {p['step']});"]


def _window_summary(op, g) -> str:
    w = g.op_inputs(op)[1]
    return f"window {w.size if w is not None else '?'}, shift {custom_options(op, ()).get('shift')}"


register(WINDOW, check_window, prepare_window, emit_window, types=("int16",), summary=_window_summary,
         notes="int16 samples x an int16 window, shifted and saturated")
register(FRAMER, check_framer, prepare_framer, emit_framer, types=("int16",), summary=options_summary(FRAMER_KEYS),
         notes="overlapping frames from streamed samples (state kept between invocations); valid flag")
register(STACKER, check_stacker, prepare_stacker, emit_stacker, types=("int16",), summary=options_summary(STACKER_KEYS),
         notes="stacks frames with left/right context (state kept between invocations); valid flag")
register(DELAY, check_delay, prepare_delay, emit_delay, types=("int16",), summary=options_summary(("delay_length",)),
         notes="delays each row by delay_length samples (state kept between invocations)")
register(OVERLAP_ADD, check_overlap_add, prepare_overlap_add, emit_overlap_add, types=("int16", "float32"),
         summary=options_summary(("frame_step",)),
         notes="overlap-add of frames at frame_step (state kept between invocations); int16 saturates")
