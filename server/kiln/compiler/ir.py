"""The graph IR: what the importer produces and every later stage reads.

Tensors and operators are plain dataclasses; passes add facts to them (constant data, lifetimes,
arena offsets, per-operator parameters) rather than building new graphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# dtype name -> (numpy dtype, C type, bytes per element)
DTYPES: dict[str, tuple[Any, str, int]] = {
    "float32": (np.float32, "float", 4),
    "int8": (np.int8, "int8_t", 1),
    "int32": (np.int32, "int32_t", 4),
    "int64": (np.int64, "int64_t", 8),
    "uint8": (np.uint8, "uint8_t", 1),
    "int16": (np.int16, "int16_t", 2),
    "bool": (np.bool_, "bool", 1),
    "uint32": (np.uint32, "uint32_t", 4),
    "uint64": (np.uint64, "uint64_t", 8),
}

# dtype name -> kiln_dtype_t (runtime_c/include/kiln_model.h; the RPC's TENSOR_INFO carries it)
DTYPE_CODES: dict[str, int] = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "uint8": 4, "bool": 5, "int64": 6,
                               "uint32": 7, "uint64": 8}
QUANTIZED = ("int8", "int16", "uint8")  # the types whose tensors may carry a scale and zero point


@dataclass
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel along axis."""

    scale: list[float]
    zero_point: list[int]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: list[int]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None  # constant contents, shaped, for weights and biases
    # A variable tensor (the state of a recurrent operator such as SVDF): kept in the state area,
    # not the arena, from one invocation to the next (passes/variables.py places it).
    variable: bool = False
    state_offset: int = -1
    # Weights the model packs as INT4 (two a byte): the importer unpacks them to int8 values in
    # -8..7, which is what TFLite Micro computes with (it unpacks them into its arena at each run).
    int4: bool = False
    # Filled by the planner:
    offset: int = -1  # byte offset in the arena
    alias_of: int | None = None  # tensor index whose memory this one shares (e.g. RESHAPE)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * DTYPES[self.dtype][2] if self.dtype in DTYPES else 0

    @property
    def scale(self) -> float:
        assert self.quant is not None
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None
        return self.quant.zero_point[0]

    def describe(self) -> str:
        """Shape, type and quantization, as the comments and the report show them."""
        s = f"{'int4' if self.int4 else self.dtype}[{'x'.join(str(d) for d in self.shape) or 'scalar'}]"
        if self.quant is not None and self.dtype != "float32":
            if self.quant.per_channel:
                s += f" per-channel(axis {self.quant.axis}, {len(self.quant.scale)} scales)"
            else:
                s += f" scale={self.quant.scale[0]:.9g} zp={self.quant.zero_point[0]}"
        return s


@dataclass
class Operator:
    index: int
    kind: str  # TFLite builtin name, e.g. "FULLY_CONNECTED"
    inputs: list[int]  # tensor indices; -1 for an absent optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # filled by the op's prepare step
    macs: int = 0
    scratch_bytes: int = 0  # arena space the kernel needs during this operator only
    scratch_offset: int = -1
    # Bytes the kernel keeps between invocations (a signal operator's frames, noise estimate...),
    # placed in the state area by passes/variables.place_operator_state; all zero after a reset.
    state_bytes: int = 0
    state_offset: int = -1
    variant: str | None = None  # the kernel variant (ops' OpDef.variants, chosen by kiln tune); None: the default
    options_type: str = ""  # the flatbuffer options table the options came from (e.g. "GatherOptions")
    folded: bool = False  # computed at compile time (passes/constants.py): its outputs are constants
    subgraph: int = 0  # the model's subgraph holding it (0: the main one)

    @property
    def label(self) -> str:
        where = f"subgraph {self.subgraph} " if self.subgraph else ""
        return f"{where}operator {self.index} ({self.kind})"


def function_name(index: int, kind: str, subgraph: int = 0) -> str:
    """The C function of an operator in the generated code (and in profiles and the source map):
    op007_conv_2d, sg1_op000_assign_variable, op003_custom_tflite_detection_postprocess."""
    kind_c = "".join(ch if ch.isalnum() else "_" for ch in kind.lower()).strip("_")
    while "__" in kind_c:
        kind_c = kind_c.replace("__", "_")
    return (f"sg{subgraph}_" if subgraph else "") + f"op{index:03d}_{kind_c}"


@dataclass
class Variable:
    """A resource variable (VAR_HANDLE's container and shared name, as TFLite Micro resolves them):
    bytes in the state area that keep their value from one invocation to the next. Its type and
    shape are those of the first value assigned to it; reset fills it with `default`, the byte
    TFLite Micro fills it with (the low byte of the assigned tensor's zero point)."""

    container: str
    shared_name: str
    dtype: str
    shape: list[int]
    default: int
    offset: int = -1  # in the state area

    @property
    def nbytes(self) -> int:
        n = DTYPES[self.dtype][2]
        for d in self.shape:
            n *= d
        return n

    @property
    def label(self) -> str:
        return f"variable '{self.shared_name}'" + (f" (container '{self.container}')" if self.container else "")


@dataclass
class Graph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    source_sha256: str = ""
    arena_bytes: int = 0
    # Every subgraph of the model, index-aligned with the flatbuffer (subgraphs[0] is the main
    # graph itself); the others run through CALL_ONCE. Filled by the importer.
    subgraphs: list["Graph"] = field(default_factory=list)
    index: int = 0  # this graph's subgraph index
    # Resource variables (passes/variables.py): resource tensor index -> its variable, per graph;
    # the model's variables and state layout on the main graph.
    resources: dict[int, Variable] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)
    variable_tensors: list[Tensor] = field(default_factory=list)
    operator_state: list[Operator] = field(default_factory=list)  # operators with state_bytes
    flag_bytes: int = 0  # the CALL_ONCE flags at the start of the state area
    state_bytes: int = 0

    def tensor(self, i: int) -> Tensor:
        return self.tensors[i]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    @property
    def activations(self) -> list[Tensor]:
        """Tensors that live in the arena: everything that is not constant."""
        used = set(self.inputs) | set(self.outputs)
        for op in self.operators:
            used.update(i for i in op.inputs if i >= 0)
            used.update(op.outputs)
        return [t for t in self.tensors
                if t.index in used and not t.is_const and not t.variable and t.dtype != "resource"]
