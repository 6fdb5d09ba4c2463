"""Kernel variants, the tuning log and `kiln tune` (docs/tuning.md)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import modelgen as mg
from harness import assert_match, compile_and_run
from kiln import compiler
from kiln.compiler import importer, tuning
from kiln.compiler.tflwriter import ModelWriter
from kiln.errors import KilnError

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc (scripts/setup.sh installs them)")


def conv_model(tmp_path, in_c=8, name="net.tflite"):
    m = mg.conv2d(np.random.default_rng(3), input_shape=(1, 10, 10, in_c), out_channels=8, kernel=(3, 3))
    p = tmp_path / name
    p.write_bytes(m.data)
    return p


def test_variants_where_the_paths_are_possible(tmp_path):
    g = importer.load(conv_model(tmp_path, in_c=8))
    assert tuning.variants(g.operators[0], g) == ["direct", "im2col", "direct16", "rows"]
    # what kiln tune measures: the DSP layouts on a DSP CPU; on one without, the portable layout first
    assert tuning.candidates(g.operators[0], g, "cortex-m4") == ["direct", "im2col", "direct16"]
    assert tuning.candidates(g.operators[0], g, "cortex-m0plus") == ["rows", "direct", "im2col", "direct16"]
    g = importer.load(conv_model(tmp_path, in_c=3, name="odd.tflite"))  # 3 channels: im2col only
    assert tuning.variants(g.operators[0], g) == ["im2col", "im2col16", "rows"]


def test_a_cpu_without_dsp_gets_the_portable_layouts_by_default(tmp_path):
    """compile for a Cortex-M0+: every CONV_2D, DEPTHWISE_CONV_2D (multiplier 1) and FULLY_CONNECTED
    takes the "rows" variant untuned (a tuning log or explicit variants still win); for an M4 none does."""
    from harness import shared_model

    path = shared_model("kws_ref_model.tflite")
    m0 = compiler.compile_model(path, cpu="cortex-m0plus", tuning_log=None).graph
    kinds = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    assert all(op.variant == "rows" for op in m0.operators if op.kind in kinds)
    assert "kiln_conv_s8_rows(" in compiler.compile_model(path, cpu="cortex-m0plus", tuning_log=None).files["kws_ref_model.c"]
    m4 = compiler.compile_model(path, cpu="cortex-m4", tuning_log=None).graph
    assert not any(op.variant for op in m4.operators)
    explicit = compiler.compile_model(path, cpu="cortex-m0plus", variants={0: "im2col"}, tuning_log=None).graph
    assert explicit.operators[0].variant == "im2col" and explicit.operators[2].variant == "rows"


def test_signature_names_what_decides_speed(tmp_path):
    g = importer.load(conv_model(tmp_path, in_c=8))
    sig = tuning.signature(g.operators[0], g)
    assert sig.startswith("CONV_2D int8[1x10x10x8] int8w[8x3x3x8] int32w[8] -> int8[1x10x10x8]")
    assert "stride_h=1" in sig and "padding=" in sig
    g2 = importer.load(conv_model(tmp_path, in_c=4, name="other.tflite"))
    assert tuning.signature(g2.operators[0], g2) != sig


def test_every_variant_is_bit_exact_and_im2col_takes_scratch(tmp_path):
    model = conv_model(tmp_path)
    direct = compiler.compile_model(model)
    (tmp_path / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"host": {
        tuning.signature(direct.graph.operators[0], direct.graph): {"variant": "im2col"}}}}))
    from harness import random_records

    tuned = compiler.compile_model(model, cpu="host")
    assert tuned.graph.operators[0].scratch_bytes > direct.graph.operators[0].scratch_bytes  # the im2col columns
    smap = json.loads(tuned.files["net.kiln.json"])
    assert smap["operators"][0]["variant"] == "im2col"
    pair = compile_and_run(model, random_records(tuned, 8, seed=5), tmp_path)  # takes the log beside the model
    assert pair.compiled.graph.operators[0].variant == "im2col"
    assert_match(pair, "im2col variant")
    assert compiler.compile_model(model, tuning_log=None).graph.operators[0].variant is None
    assert compiler.compile_model(model, cpu="cortex-m4").graph.operators[0].variant is None  # another CPU's log


def _log_variant(model, variant: str):
    """A tuning log beside model naming variant for its first operator on the host; returns the
    model compiled without it."""
    g = importer.load(model)
    (model.parent / "kiln-tuning.json").write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"host": {
        tuning.signature(g.operators[0], g): {"variant": variant}}}}))
    return compiler.compile_model(model, tuning_log=None)


@pytest.mark.parametrize("in_c, out_c, variant", [(8, 8, "direct16"), (8, 7, "direct16"), (3, 5, "im2col16"),
                                                  (4, 3, "im2col"), (3, 6, "im2col")])
def test_int16_filter_variants_are_bit_exact(tmp_path, in_c, out_c, variant):
    """The "16" variants store the filter pre-widened (twice the words) and give TFLite Micro's bits,
    odd output channel counts included (the last channel stays int8)."""
    m = mg.conv2d(np.random.default_rng(in_c + out_c), input_shape=(1, 7, 9, in_c), out_channels=out_c,
                  kernel=(3, 3), activation="RELU")
    model = tmp_path / "net.tflite"
    model.write_bytes(m.data)
    plain = _log_variant(model, variant)
    from harness import random_records

    pair = compile_and_run(model, random_records(plain, 6, seed=in_c), tmp_path)
    assert pair.compiled.graph.operators[0].variant == variant
    assert_match(pair, f"{variant} variant")
    if variant.endswith("16"):
        assert pair.compiled.graph.operators[0].params["packed"].size > plain.graph.operators[0].params["packed"].size


@pytest.mark.parametrize("variant", ["weights16", "both16", "rows"])
def test_fully_connected_variants_are_bit_exact(tmp_path, variant):
    """Each FULLY_CONNECTED variant on the portable path (host), with a depth tail (37 = 9 * 4 + 1),
    rows left over after the groups of four (11 = 8 + 3) and two batches: TFLite Micro's bits;
    "both16" widens each input into scratch (2 * 9 + 1 words)."""
    m = mg.fully_connected(77, in_features=37, out_features=11, batch=2)
    model = tmp_path / "fc.tflite"
    model.write_bytes(m.data)
    plain = _log_variant(model, variant)
    from harness import random_records

    pair = compile_and_run(model, random_records(plain, 6, seed=7), tmp_path)
    op = pair.compiled.graph.operators[0]
    assert op.variant == variant
    assert_match(pair, f"{variant} variant")
    assert op.scratch_bytes == (4 * (2 * 9 + 1) if variant == "both16" else 0)


@pytest.mark.parametrize("kind, shape_b, activation", [("ADD", (1, 5, 6, 7), "NONE"), ("SUB", (7,), "RELU"),
                                                       ("ADD", (1, 1, 6, 1), "RELU6")])
def test_add_and_sub_tables_are_bit_exact(tmp_path, kind, shape_b, activation):
    """int8 ADD and SUB reading each value's side from the compiler's tables ("tables"): TFLite
    Micro's bits on the host, same shapes and broadcasts, with and without a clamp; 512 words of
    tables in flash."""
    m = mg.elementwise(np.random.default_rng(len(shape_b)), kind=kind, shape_a=(1, 5, 6, 7), shape_b=shape_b,
                       activation=activation)
    model = tmp_path / "add.tflite"
    model.write_bytes(m.data)
    plain = _log_variant(model, "tables")
    from harness import random_records

    pair = compile_and_run(model, random_records(plain, 8, seed=3), tmp_path)
    op = pair.compiled.graph.operators[0]
    assert op.variant == "tables" and op.params["tables"].size == 512
    assert "kiln_addsub_s8_tables(" in pair.compiled.files["add.c"]
    assert_match(pair, f"{kind} tables")
    # untuned on a DSP CPU: where the board's flash holds the tables within half
    g = importer.load(model)
    assert tuning.flash_defaults(g, 4 << 20) == {0: "tables"} and tuning.flash_defaults(g, 2 << 10) == {}


def test_log_errors_name_the_file(tmp_path):
    model = conv_model(tmp_path)
    log = tmp_path / "kiln-tuning.json"
    for text, expect in [("{", "not JSON"), ('{"format": "x"}', '"format" must be'),
                         (json.dumps({"format": tuning.FORMAT, "cpus": {"m4": {"sig": {}}}}), '"cpus" must map')]:
        log.write_text(text)
        with pytest.raises(KilnError, match=expect) as e:
            compiler.compile_model(model)
        assert str(log) in str(e.value)
    log.write_text(json.dumps({"format": tuning.FORMAT, "cpus": {"host": {}}}))
    g = importer.load(model)
    with pytest.raises(KilnError, match=r"operator 0 \(CONV_2D\): no kernel variant 'unrolled' \(it has: direct, im2col, direct16, rows\)"):
        compiler.prepare_graph(g, {0: "unrolled"})


def test_log_lookup_by_cpu():
    log = tuning.Log()
    log.record("cortex-m4", "S", "im2col", {"direct": 2, "im2col": 1}, "qemu-m4", "a.tflite")
    assert log.lookup("S", "cortex-m4") == "im2col" and log.lookup("S", "cortex-m7") is None
    assert log.lookup("S", None) == "im2col"  # no CPU given: the one answer every CPU agrees on
    log.record("cortex-m7", "S", "direct", {"direct": 1, "im2col": 2}, "qemu-m7", "a.tflite")
    assert log.lookup("S", None) is None


@needs_qemu
def test_kiln_tune_on_qemu_m4(tmp_path):
    """Measures every variant over the RPC link, keeps only strictly faster bit-exact ones, writes the log."""
    model = conv_model(tmp_path, in_c=4)
    proc = subprocess.run([sys.executable, "-m", "kiln", "tune", str(model), "--board", "qemu-m4", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    (op,) = r["operators"]
    assert set(op["variants"]) == {"direct", "im2col", "direct16"} and all(c > 0 for c in op["variants"].values())
    assert op["after"] <= op["before"]  # never slower than the untuned build
    best = min(op["variants"], key=op["variants"].get)
    assert op["chosen"] == (best if op["variants"][best] < op["variants"]["direct"] else "direct")
    log = json.loads((tmp_path / "kiln-tuning.json").read_text())
    entry = log["cpus"]["cortex-m4"][op["signature"]]
    assert log["format"] == tuning.FORMAT and entry["variant"] == op["chosen"] and entry["cycles"] == op["variants"]
    # the next compile for that CPU takes the choice
    assert compiler.compile_model(model, cpu="cortex-m4").graph.operators[0].variant == op["chosen"]
    # tuning again updates the entry in place; other CPUs' entries stay
    log["cpus"]["cortex-m7"] = {"X": {"variant": "direct"}}
    (tmp_path / "kiln-tuning.json").write_text(json.dumps(log))
    proc = subprocess.run([sys.executable, "-m", "kiln", "tune", str(model), "--board", "qemu-m4"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "total" in proc.stdout and "build(s)" in proc.stdout
    assert set(json.loads((tmp_path / "kiln-tuning.json").read_text())["cpus"]) == {"cortex-m4", "cortex-m7"}


def test_tune_a_read_only_folder_says_where_to_write(tmp_path):
    from kiln.boards import tune

    model = conv_model(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    with pytest.raises(KilnError, match="--log"):
        tune.tune(model, "host", log_path=ro / "missing-dir" / "log.json", checks=1)


def test_operators_of_one_signature_take_one_variant(tmp_path, monkeypatch):
    """kws's four pointwise layers share a signature and so one log entry: the tuner decides for
    them together, by their cycles summed, even when one of them alone would choose otherwise.
    The device is replaced by a table of cycles: this checks the decision, not the measuring."""
    from harness import shared_model
    from kiln.boards import tune

    model = shared_model("kws_ref_model.tflite")
    g = importer.load(model)
    compiler.prepare_graph(g, {})
    sigs = {op.index: tuning.signature(op, g) for op in g.operators}
    pointwise = [i for i in sigs if list(sigs.values()).count(sigs[i]) == 4 and g.operators[i].kind == "CONV_2D"]
    assert len(pointwise) == 4

    def cycles(i, v):  # op pointwise[0] alone prefers im2col; summed, direct16 wins
        if i == pointwise[0]:
            return {"direct": 1000, "im2col": 700, "direct16": 800}.get(v, 1000)
        return {"direct": 1000, "im2col": 1100, "direct16": 900}.get(v, 1000)

    def fake_trial(model, board, variants, records, refs, repeats, progress, **deploy):
        return {"exact": True, "arena_bytes": 1, "profile": {},
                "cycles": [cycles(op.index, variants.get(op.index, "default")) for op in g.operators]}

    monkeypatch.setattr(tune, "_trial", fake_trial)
    log = tmp_path / "log.json"
    r = tune.tune(model, "qemu-m4", log_path=log)
    chosen = {op["index"]: op["chosen"] for op in r["operators"]}
    assert {chosen[i] for i in pointwise} == {"direct16"}
    entry = json.loads(log.read_text())["cpus"]["cortex-m4"][sigs[pointwise[0]]]
    assert entry["variant"] == "direct16" and entry["cycles"] == {"direct": 4000, "im2col": 4000, "direct16": 3500}


def test_on_silicon_a_variant_must_win_by_more_than_noise(tmp_path, monkeypatch):
    """Off an emulator the medians still wander by a tick or two: a variant 0.5% faster keeps the
    default, one 5% faster is taken (the device replaced by a table of cycles)."""
    from kiln.boards import tune

    model = conv_model(tmp_path, in_c=8)

    def run(gain):
        def fake_trial(model, board, variants, records, refs, repeats, progress, **deploy):
            v = variants.get(0, "direct")
            return {"exact": True, "arena_bytes": 1, "profile": {},
                    "cycles": [1000 if v == "direct" else (int(1000 * (1 - gain)) if v == "direct16" else 2000)]}

        monkeypatch.setattr(tune, "_trial", fake_trial)
        return tune.tune(model, "host", log_path=tmp_path / f"log{gain}.json")["operators"][0]["chosen"]

    assert run(0.005) == "direct"
    assert run(0.05) == "direct16"


def test_a_model_without_variants_is_refused_before_any_build(tmp_path):
    from kiln.boards import tune

    m = mg.conv2d(np.random.default_rng(1), dtype="float32", input_shape=(1, 6, 6, 4), out_channels=4)
    model = tmp_path / "float.tflite"
    model.write_bytes(m.data)
    with pytest.raises(KilnError, match="float.tflite: no operator has kernel variants"):
        tune.tune(model, "qemu-m4", log_path=tmp_path / "log.json")
    assert not (tmp_path / "log.json").exists()


def test_variants_too_big_together_are_measured_apart_and_chosen_to_fit(tmp_path, monkeypatch):
    """A board whose flash takes only 8 KB of int16 filters: the round of kws's four pointwise
    layers on direct16 does not fit and is measured in two halves; the chosen set does not fit
    either, so the choices that gain least per byte go back to their defaults until it does.
    (The device is a table of cycles and a flash limit: this checks the decisions.)"""
    from harness import shared_model
    from kiln.boards import tune

    model = shared_model("kws_ref_model.tflite")
    g = importer.load(model)
    compiler.prepare_graph(g, {})

    def extra_bytes(variants):  # what the "16" variants add: their filters once more
        return sum(g.tensor(g.operators[i].inputs[1]).nbytes for i, v in variants.items() if v.endswith("16"))

    builds = []

    def fake_trial(model, board, variants, records, refs, repeats, progress, **deploy):
        builds.append(dict(variants))
        if extra_bytes(variants) > 8192:
            raise KilnError("the firmware needs more flash than the board has")
        return {"exact": True, "arena_bytes": 1, "profile": {},
                "cycles": [900 if variants.get(op.index, "").endswith("16") else 1000 for op in g.operators]}

    monkeypatch.setattr(tune, "_trial", fake_trial)
    r = tune.tune(model, "qemu-m4", log_path=tmp_path / "log.json")
    ops = {op["index"]: op for op in r["operators"]}
    pointwise = [i for i, op in ops.items() if op["kind"] == "CONV_2D" and i != 0]
    assert all(ops[i]["variants"].get("direct16") == 900 for i in pointwise)  # measured, two at a time
    assert any(extra_bytes(b) > 8192 for b in builds)
    chosen = {i: op["chosen"] for i, op in ops.items() if op["variants"]}
    final = {i: v for i, v in chosen.items() if v.endswith("16")}
    assert final and extra_bytes(final) <= 8192 and builds[-1] == final
    assert all(chosen[i] == "direct" for i in pointwise)  # 16 KB of them cannot fit: they went back


def test_large_fully_connected_weights_widen_where_the_board_has_flash(tmp_path):
    """tuning.flash_defaults: on a DSP CPU whose board's flash is known, FULLY_CONNECTED layers store
    int16 weights while the constants stay within half the flash (at any size: fc 37 -> 11 takes 1,043
    instructions so, 1,197 with int8 weights); a smaller board, a CPU without DSP or no board keep int8."""
    big, small = tmp_path / "big.tflite", tmp_path / "small.tflite"
    big.write_bytes(mg.fully_connected(71, in_features=256, out_features=64).data)    # 16,384 MACs
    small.write_bytes(mg.fully_connected(72, in_features=37, out_features=11).data)   # 407 MACs
    g = importer.load(big)
    assert tuning.flash_defaults(g, 4 << 20) == {0: "weights16"}
    assert tuning.flash_defaults(g, 48 << 10) == {}  # 16 KB of weights, 16 KB more: over half of 48 KB
    assert tuning.flash_defaults(importer.load(small), 4 << 20) == {0: "weights16"}
    assert tuning.WIDE_MIN_MACS["FULLY_CONNECTED"] == 0 < tuning.WIDE_MIN_MACS["CONV_2D"]
    assert compiler.compile_model(big, cpu="cortex-m4", flash_bytes=4 << 20, tuning_log=None).graph.operators[0].params["wide"]
    for kw in (dict(cpu="cortex-m4"), dict(cpu="cortex-m0plus", flash_bytes=4 << 20), dict(flash_bytes=4 << 20)):
        assert not compiler.compile_model(big, tuning_log=None, **kw).graph.operators[0].params["wide"], kw


def test_convolution_filters_widen_where_the_board_has_flash(tmp_path):
    """The same for CONV_2D: "direct" becomes "direct16", "im2col" (a first layer of three channels)
    "im2col16"; the layers with the most MACs per weight first when the flash holds only some. A 3x3
    layer of one channel takes planes (depthwise.single_channel_conv): nothing to widen."""
    g = importer.load(conv_model(tmp_path, in_c=8))  # 10x10 pixels, 8 -> 8 channels, 3x3: 576 weights
    assert tuning.flash_defaults(g, 4 << 20) == {0: "direct16"}
    g = importer.load(conv_model(tmp_path, in_c=3, name="first.tflite"))
    assert tuning.flash_defaults(g, 4 << 20) == {0: "im2col16"}
    g = importer.load(conv_model(tmp_path, in_c=1, name="gray.tflite"))
    assert tuning.flash_defaults(g, 4 << 20) == {} and tuning.variants(g.operators[0], g)[0] == "planes"
    two = tmp_path / "two.tflite"  # a 3x3 convolution (100 pixels a weight) then an FC (1 row a weight)
    w = ModelWriter(description="conv then fc")
    x = w.tensor("x", [1, 10, 10, 8], "int8", 0.05, 0)
    f = w.tensor("f", [8, 3, 3, 8], "int8", [0.01] * 8, [0] * 8, axis=0,
                 data=np.random.default_rng(1).integers(-127, 128, (8, 3, 3, 8)).astype(np.int8))
    y = w.tensor("y", [1, 10, 10, 8], "int8", 0.1, 0)
    w.op("CONV_2D", [x, f], [y], {"padding": 0})
    r = w.tensor("r", [1, 800], "int8", 0.1, 0)
    w.op("RESHAPE", [y], [r], {"new_shape": [1, 800]})
    fw = w.tensor("fw", [16, 800], "int8", 0.01, 0, data=np.random.default_rng(2).integers(-127, 128, (16, 800)).astype(np.int8))
    z = w.tensor("z", [1, 16], "int8", 0.2, 0)
    w.op("FULLY_CONNECTED", [r, fw], [z], {})
    w.inputs, w.outputs = [x], [z]
    two.write_bytes(w.build())
    g = importer.load(two)
    consts = sum(t.nbytes for t in g.tensors if t.is_const)
    assert tuning.flash_defaults(g, 4 << 20) == {0: "direct16", 2: "weights16"}
    assert tuning.flash_defaults(g, 2 * (consts + 576)) == {0: "direct16"}  # room for the convolution's only
