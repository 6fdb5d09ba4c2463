"""Generated C a reader understands without the kernel headers: every parameter struct's fields
named (kiln.compiler.codegen.designate: the header gives the field order, nested structs and arrays are
designated too, and an emit step that writes more values than its struct has fields fails loudly
instead of emitting wrong C); tensor names in comments short, the full ones in the source map and
the editor's hover. (tests/test_op_samples.py checks every operator's generated C is designated.)"""
from __future__ import annotations

import pytest

from kiln.compiler.codegen import designate, literals
from kiln.errors import KilnError
from kiln.lsp import hints

HEADER = """
typedef struct { int32_t a, b; } kiln_inner_t;   /* a comment; with ; inside */
typedef struct {
    kiln_inner_t g;
    const int32_t *mult, *shift; // pointers
    int32_t dims[6];
    kiln_inner_t pairs[2];
    const char *name;
    int (*run)(const void *x, int n);
} kiln_outer_t;
"""


def test_fields_in_header_order():
    structs = designate.parse_structs(HEADER)
    assert [f.name for f in structs["kiln_outer_t"]] == ["g", "mult", "shift", "dims", "pairs", "name", "run"]
    fields = {f.name: f for f in structs["kiln_outer_t"]}
    assert fields["g"].type == "kiln_inner_t" and not fields["g"].array
    assert fields["dims"].array and fields["pairs"].array and fields["mult"].type == "int32_t *"


def test_nested_structs_arrays_strings_and_comments(monkeypatch):
    monkeypatch.setattr(designate, "runtime_structs", lambda: designate.parse_structs(HEADER))
    text = ('static const kiln_outer_t params = {{1, (int32_t)-2}, op_mult, NULL, {1, 2, 3, 0, 0, 0},\n'
            '    {{5, 6}, {7, 8}}, "a, {b}", fn /* the runner, {x} */};\nint x = {1, 2};')
    out = designate.designate(text)
    assert ".g = {.a = 1, .b = (int32_t)-2}" in out and ".mult = op_mult" in out and ".shift = NULL" in out
    assert ".dims = {1, 2, 3, 0, 0, 0}" in out and ".pairs = {{.a = 5, .b = 6}, {.a = 7, .b = 8}}" in out
    assert '.name = "a, {b}"' in out and ".run = fn /* the runner, {x} */" in out
    assert out.endswith("int x = {1, 2};")  # not a runtime struct: untouched


def test_array_of_structs_and_partial_initialiser(monkeypatch):
    monkeypatch.setattr(designate, "runtime_structs", lambda: designate.parse_structs(HEADER))
    out = designate.designate("static const kiln_inner_t t[] = {{1, 2}, {3}};")
    assert out == "static const kiln_inner_t t[] = {\n    {.a = 1, .b = 2},\n    {.a = 3},\n};"


@pytest.mark.parametrize("text, problem", [
    ("static const kiln_inner_t p = {1, 2, 3};", "3 values for a struct of 2 fields"),
    ("static const kiln_inner_t p = {{1}, 2};", "brace list for the plain field a"),
    ("static const kiln_missing_t p = {1};", "kiln_missing_t is not a struct"),
])
def test_wrong_initialisers_fail_loudly(monkeypatch, text, problem):
    monkeypatch.setattr(designate, "runtime_structs", lambda: designate.parse_structs(HEADER))
    with pytest.raises(KilnError, match=problem):
        designate.designate(text)


def test_every_runtime_struct_parses():
    structs = designate.runtime_structs()
    for name in ("kiln_conv_s8_params_t", "kiln_fc_s8_params_t", "kiln_lstm_q_params_t", "kiln_model_t"):
        assert structs[name], name
    assert [f.name for f in structs["kiln_conv_geometry_t"]][:4] == ["batches", "in_h", "in_w", "in_c"]


@pytest.mark.parametrize("name, short", [
    ("functional_1/activation/Relu;functional_1/batch_normalization/FusedBatchNormV3;functional_1/conv2d/Conv2D",
     "conv2d/Conv2D"),
    ("functional_1/dense/BiasAdd/ReadVariableOp/resource", "dense/BiasAdd"),
    ("input_1", "input_1"),
    ("a/b;", "a/b"),
    ("/*evil*/;x??/", "x? ?"),
    ("m/" + "n" * 500, "m/" + "n" * 20 + "...." + "n" * 22),
])
def test_short_names(name, short):
    assert literals.short_name(name) == short


def test_hover_gives_the_full_names():
    op = {"index": 3, "kind": "CONV_2D", "function": "op003_conv_2d", "macs": 10,
          "tensors": [{"role": "input 0", "index": 7, "name": "a/very/long;fused`name", "type": "int8[1x4]"}]}
    text = hints.hover_text(op, None)
    assert "input 0: `a/very/long;fused'name` int8[1x4]" in text
