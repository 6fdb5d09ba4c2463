"""The CLI's JSON contracts and main flows, run as a user would."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import modelgen as mg


def kiln(*args):
    proc = subprocess.run([sys.executable, "-m", "kiln", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr
    return proc


def test_compile_json(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(1).data)
    proc = kiln("compile", model, "--out", tmp_path / "out", "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert {"arena_bytes", "weight_bytes", "macs", "operators", "files"} <= set(s)
    assert [o["kind"] for o in s["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert s["macs"] == sum(o["macs"] for o in s["operators"]) > 0
    assert all((tmp_path / "out").joinpath(f.split("/")[-1]).exists() for f in s["files"])
    smap = json.loads((tmp_path / "out" / "net.kiln.json").read_text())
    lines = (tmp_path / "out" / "net.c").read_text().splitlines()
    for op in smap["operators"]:  # the source map points at each operator's function
        assert lines[op["line_start"] - 1].startswith(f"static void {op['function']}(")


def test_run_with_inputs_outputs_and_compare(tmp_path):
    m = mg.fully_connected(2, in_features=10, out_features=3)
    model = tmp_path / "fc.tflite"
    model.write_bytes(m.data)
    x = m.random_inputs(np.random.default_rng(0))[0]
    np.save(tmp_path / "in0.npy", x)
    proc = kiln("run", model, "--board", "host", "--input", tmp_path / "in0.npy", "--output", tmp_path / "out0.npy",
                "--compare", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["outputs"][0]["max_abs_diff"] == 0
    y = np.load(tmp_path / "out0.npy")
    assert y.dtype == np.int8 and y.shape == (1, 3)
    assert y.reshape(-1).tolist() == r["outputs"][0]["values"]


def test_run_without_input_is_deterministic_and_profiles(tmp_path):
    model = tmp_path / "fc.tflite"
    model.write_bytes(mg.fc_softmax(5).data)
    a = json.loads(kiln("run", model, "--profile", "--json").stdout)
    b = json.loads(kiln("run", model, "--json").stdout)
    assert a["outputs"] == b["outputs"]
    ops = a["timings"]["operators"]
    assert [o["kind"] for o in ops] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert abs(sum(o["share"] for o in ops) - 1) < 1e-6 and all(o["ns"] >= 0 for o in ops)


def test_run_rejects_wrong_input_count_and_unknown_board(tmp_path):
    model = tmp_path / "fc.tflite"
    model.write_bytes(mg.fc_softmax(5).data)
    np.save(tmp_path / "x.npy", np.zeros((1, 32), np.int8))
    p = kiln("run", model, "--input", tmp_path / "x.npy", "--input", tmp_path / "x.npy")
    assert p.returncode == 2 and "1 input(s), 2 --input given" in p.stderr
    p = kiln("run", model, "--board", "nosuchboard")
    assert p.returncode == 2 and "unknown board 'nosuchboard'" in p.stderr
    np.save(tmp_path / "bad.npy", np.zeros((1, 5), np.int8))
    p = kiln("run", model, "--input", tmp_path / "bad.npy")
    assert p.returncode == 2 and "needs 32 values" in p.stderr


def test_inspect_text_and_json(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.quantized_fc_float_io(3).data)
    r = json.loads(kiln("inspect", model, "--json").stdout)
    kinds = [o["kind"] for o in r["operators"]]
    assert kinds == ["QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"]
    fc = r["operators"][1]
    assert fc["macs"] == 16 * 8 and fc["weight_bytes"] > 0 and fc["live_bytes"] > 0
    assert r["totals"]["arena_bytes"] >= r["totals"]["arena_lower_bound"] > 0
    text = kiln("inspect", model).stdout
    assert "FULLY_CONNECTED" in text and "total: 3 operators" in text


def test_inspect_unsupported_model_names_the_operator(tmp_path):
    model = tmp_path / "lstm.tflite"
    model.write_bytes(mg.unsupported_operator("LSTM"))
    p = kiln("inspect", model)
    assert p.returncode == 2 and "operator 0 (LSTM)" in p.stderr


def test_build_error_in_edited_c_names_the_users_file(tmp_path):
    """A compile error in generated C the user edited points at their file and line (for $gcc matchers)."""
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(1).data)
    out = tmp_path / "out"
    assert kiln("compile", model, "--out", out).returncode == 0
    c = out / "net.c"
    lines = c.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("static void op000_")) + 1  # the line of '{'
    lines[k] = lines[k] + " this_is_not_c;"
    c.write_text("\n".join(lines) + "\n")
    proc = kiln("build", model, "--board", "host", "--out", out)
    assert proc.returncode != 0
    assert f"{c.resolve()}:{k + 1}:" in proc.stderr and "kiln-deploy-" not in proc.stderr
    assert "this_is_not_c" in c.read_text()  # the user's edit is kept


def test_build_keeps_its_firmware_in_the_output_folder(tmp_path):
    """kiln build puts the board's project and its artifact in <out>/build/<board>/ (nothing left in
    the temporary folder, the printed path still there), rebuilt from scratch each time; a folder
    there that Kiln did not make is refused, untouched."""
    model = tmp_path / "m.tflite"
    model.write_bytes(mg.fc_softmax(8).data)
    out = tmp_path / "gen"
    for _ in range(2):
        proc = kiln("build", model, "--board", "host", "--out", out)
        assert proc.returncode == 0, proc.stderr
        artifact = Path(proc.stdout.split("built ", 1)[1].strip())
        assert artifact.exists() and (out / "build" / "host") in artifact.parents
    mine = tmp_path / "gen2" / "build" / "host"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    proc = kiln("build", model, "--board", "host", "--out", tmp_path / "gen2")
    assert proc.returncode != 0 and "is not a Kiln build folder" in proc.stderr
    assert (mine / "notes.txt").read_text() == "mine"
