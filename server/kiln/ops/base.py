"""What every operator provides, and the registry the compiler walks.

An operator module registers an OpDef with three steps, as TFLite Micro's kernels have
Prepare and Eval:
  check(op, g)    raise UnsupportedError naming the operator and what is unsupported;
  prepare(op, g)  compute everything constant (multipliers, folded biases, lookup tables) into
                  op.params, and op.macs;
  emit(op, g, c)  return the C statements of the operator's function body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UnsupportedError
from ..ir import Graph, Operator, Tensor

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass
class OpDef:
    kind: str
    check: Callable[[Operator, Graph], None]
    prepare: Callable[[Operator, Graph], None]
    emit: Callable[..., list[str]]
    alias_output: bool = False  # the output shares the input's memory (no data movement)
    # Element-wise operators: which input (position) the output may overwrite, or None. The
    # kernel must read element i of that input before writing element i of the output.
    in_place: Callable[[Operator, Graph], int | None] | None = None
    # Windowed operators whose kernel writes its output in ascending order: the least number of
    # bytes by which the output's start must lie below its first input's start for no output byte
    # to land on an input byte still to be read (after prepare; see passes/plan.py). The planner
    # may then overlap the two when the input dies there.
    overlap: Callable[[Operator, Graph], int] | None = None
    # The ways the kernel can run (blocking, im2col or direct...), the default first; prepare and
    # emit honour op.variant. Variants differ in speed and scratch only, never in results: kiln
    # tune measures them on a device and records the fastest in the tuning log (kiln/tuning.py).
    variants: Callable[[Operator, Graph], list[str]] | None = None


REGISTRY: dict[str, OpDef] = {}


def register(kind: str, check, prepare, emit, alias_output: bool = False, in_place=None, overlap=None,
             variants=None) -> None:
    REGISTRY[kind] = OpDef(kind, check, prepare, emit, alias_output, in_place, overlap, variants)


def same_shape_input(op: Operator, g: Graph) -> int | None:
    """in_place for element-wise operators: the first input of the output's shape and type."""
    y = g.tensor(op.outputs[0])
    for k, i in enumerate(op.inputs):
        t = g.tensor(i) if i >= 0 else None
        if t is not None and not t.is_const and t.shape == y.shape and t.dtype == y.dtype:
            return k
    return None


def require(op: Operator, cond: bool, what: str) -> None:
    if not cond:
        raise UnsupportedError(f"{op.label}: {what}")


def fused_activation(op: Operator, allowed=("NONE", "RELU", "RELU6", "RELU_N1_TO_1")) -> str:
    act = ACTIVATIONS.get(op.options.get("fused_activation_function", 0), "UNKNOWN")
    require(op, act in allowed, f"fused activation {act} is not supported (supported: {', '.join(allowed)})")
    return act


def arity(op: Operator, n_in: int | tuple[int, ...], n_out: int = 1) -> None:
    ok_in = (n_in,) if isinstance(n_in, int) else n_in
    require(op, len(op.inputs) in ok_in, f"expects {' or '.join(map(str, ok_in))} inputs, has {len(op.inputs)}")
    require(op, len(op.outputs) == n_out, f"expects {n_out} output(s), has {len(op.outputs)}")


def dtype_in(op: Operator, t: Tensor | None, role: str, allowed: tuple[str, ...]) -> None:
    require(op, t is not None, f"{role} is missing")
    require(op, t.dtype in allowed,
            f"{role} '{t.name}' has type {t.dtype.upper()}, supported: {', '.join(a.upper() for a in allowed)}")


def one_in_one_out(op: Operator, g: Graph, dtypes: tuple[str, ...] = ("int8", "float32")) -> tuple[Tensor, Tensor]:
    """The common check of single-input operators whose output has the input's type."""
    arity(op, 1)
    (x,) = g.op_inputs(op)
    (y,) = g.op_outputs(op)
    dtype_in(op, x, "input", dtypes)
    dtype_in(op, y, "output", (x.dtype,))
    return x, y


def quantized(op: Operator, t: Tensor, role: str, per_tensor: bool = True) -> None:
    require(op, t.quant is not None, f"{role} '{t.name}' is {t.dtype} without quantization parameters")
    if per_tensor:
        require(op, not t.quant.per_channel, f"{role} '{t.name}' is per-channel quantized; only per-tensor is supported here")


def same_size(op: Operator, a: Tensor, b: Tensor) -> None:
    require(op, a.size == b.size, f"input has {a.size} elements but output has {b.size}")
