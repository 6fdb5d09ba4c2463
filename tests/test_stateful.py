"""Stateful models (issue 14): resource variables, CALL_ONCE, the state area and sequences.

Every sequence is compared with TFLite Micro, which keeps its variables between invoke() calls
as Kiln's generated code keeps them in its state area; a reset starts a sequence anew (compared
with a fresh TFLite Micro interpreter, whose CALL_ONCE runs again)."""
from __future__ import annotations

import numpy as np
import pytest

import stateful_models as sm
import test_ops_lstm as lstm_ops
import test_ops_svdf as svdf_ops
from harness import SANITIZE, assert_match, check_on_qemu_m4, compile_and_run
from kiln import compiler
from kiln.compiler import oracle
from kiln.compiler.audio_frontend import write as frontend_model
from kiln.device import Session
from kiln.boards.host_device import HostDevice, build
from opgen import random_records
from test_bad_input import assert_clean_failure, kiln

STEPS = 14


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("init", ["call_once", "none"])
def test_ring_sequence_matches_tflm(dtype, init, tmp_path):
    data = sm.ring(dtype, init=init)
    pair = compile_and_run(data, random_records(data, n=STEPS), tmp_path)
    assert_match(pair, f"{dtype} ring")
    rings = [r[1].reshape(-1) for r in pair.ours]
    assert np.array_equal(rings[5][:8], rings[4][4:]), "the ring did not carry its frames to the next invocation"
    c = pair.compiled
    assert c.graph.state_bytes >= 12 * (1 if dtype == "int8" else 4) and c.summary()["state_bytes"] == c.graph.state_bytes
    text = c.files[f"{c.name}.h"]
    assert f"void {c.name}_reset(void);" in text and "void *state, size_t state_bytes" in text


def test_ring_under_sanitizers(tmp_path):
    data = sm.ring("int8")
    pair = compile_and_run(data, random_records(data, n=STEPS), tmp_path, cc="clang", extra_flags=SANITIZE, opt="-O1")
    assert_match(pair, "int8 ring under ASan and UBSan")


def test_variables_by_container_and_name_start_at_tflm_default(tmp_path):
    """Two handles per variable (one without a container, matching any); an int8 variable starts
    at its zero point, as TFLite Micro fills it."""
    data = sm.accumulator()
    pair = compile_and_run(data, random_records(data, n=STEPS), tmp_path)
    assert_match(pair, "accumulators")
    assert len(pair.compiled.graph.variables) == 2
    assert pair.ours[0][1].min() >= 7  # max(zero point, x) on the first step


def test_variable_tensor_lives_in_the_state(tmp_path):
    data = sm.variable_tensor_input()
    pair = compile_and_run(data, random_records(data, n=4), tmp_path)
    assert_match(pair, "variable tensor")
    c = pair.compiled
    assert c.graph.state_bytes == 8 and "state + 0" in c.files[f"{c.name}.c"]
    assert c.graph.arena_bytes == 8  # the output over the input; the variable is not in the arena


def test_ring_on_qemu_m4(tmp_path):
    """The sequence on the Cortex-M4, whose runner repeats each record to time it: every repeat
    starts from the state before the record, so outputs and state follow the plain sequence."""
    data = sm.ring("int8")
    check_on_qemu_m4(data, random_records(data, n=12), tmp_path, "ring on qemu-m4")


RESET_MODELS = {  # a variable (resource variable, SVDF's activation state, LSTM's hidden and cell states),
    # or operators' own state (the audio front end's framer and noise estimate)
    "ring": lambda: sm.ring("int8"),
    "frontend": lambda: frontend_model(),
    "svdf": lambda: svdf_ops.svdf_model("int8", 1, 7, 6, 2, 5, seed=3),
    "lstm": lambda: lstm_ops.lstm_model("int8", 1, 2, 5, 4, False, seed=3),
}


@pytest.mark.parametrize("which", list(RESET_MODELS))
def test_reset_over_rpc_starts_the_sequence_anew(which, tmp_path):
    """Six steps, a reset in the middle of the sequence, six more: TFLite Micro's two fresh interpreters."""
    data = RESET_MODELS[which]()
    path = tmp_path / "ring.tflite"
    path.write_bytes(data)
    c = compiler.compile_model(path)
    compiler.write(c, tmp_path / "src")
    device = build(tmp_path / "src", c.name, tmp_path / "build", profile=True)
    first, second = random_records(data, n=6, seed=1), random_records(data, n=6, seed=2)
    n_out = len(c.graph.outputs)
    ref = oracle.run_tflm(path, first, n_out) + oracle.run_tflm(path, second, n_out)  # two fresh interpreters
    with HostDevice(device) as dev, Session(dev.url) as s:
        assert s.info_.stateful
        got = [s.infer(r, profile=(k % 2 == 0)) for k, r in enumerate(first)]
        s.reset_state()
        got += [s.infer(r) for r in second]
    for k, (ours, theirs) in enumerate(zip(got, ref)):
        for a, b in zip(ours, theirs):
            assert np.array_equal(a, np.asarray(b).reshape(a.shape)), f"step {k}: {a.ravel()} vs {b.ravel()}"


def test_c_api_reset_and_own_state(tmp_path):
    """The generated entry points: invoke with the static state, reset, and invoke with the
    caller's arena and state (checked for size and alignment)."""
    import subprocess

    data = sm.ring("int8")
    path = tmp_path / "ring.tflite"
    path.write_bytes(data)
    c = compiler.compile_model(path)
    src = tmp_path / "src"
    compiler.write(c, src)
    n, N = c.name, c.name.upper()
    (src / "main.c").write_text(f"""#include <stdio.h>
#include "{n}.h"
static union {{ unsigned char b[{N}_ARENA_BYTES + 8]; unsigned long long a; }} arena;
static union {{ unsigned char b[{N}_STATE_BYTES + 8]; unsigned long long a; }} state;
static void show(const {n}_output_t *o) {{ int i; for (i = 0; i < 3; ++i) printf("%d ", o->y[i]); printf("\\n"); }}
int main(void) {{
    {n}_input_t in; {n}_output_t out; int i, k;
    for (k = 0; k < 3; ++k) {{ for (i = 0; i < 4; ++i) in.x[i] = (signed char)(10 * k + i); {n}_invoke(&in, &out); show(&out); }}
    {n}_reset();
    for (i = 0; i < 4; ++i) in.x[i] = (signed char)i;
    {n}_invoke(&in, &out); show(&out);
    printf("%d %d\\n", {n}_invoke_with_arena(&in, &out, arena.b, sizeof arena.b, state.b, {N}_STATE_BYTES - 1),
           {n}_invoke_with_arena(&in, &out, arena.b, sizeof arena.b, state.b + 4, {N}_STATE_BYTES));
    {n}_reset_state(state.b);
    for (k = 0; k < 3; ++k) {{ for (i = 0; i < 4; ++i) in.x[i] = (signed char)(10 * k + i);
        if ({n}_invoke_with_arena(&in, &out, arena.b, sizeof arena.b, state.b, sizeof state.b) != 0) {{ return 1; }}
        show(&out); }}
    return 0;
}}
""")
    exe = tmp_path / "app"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-I", str(src), "-o", str(exe),
                    *map(str, sorted(src.glob("*.c")))], check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    recs = [[np.array([[10 * k + i for i in range(4)]], np.int8)] for k in range(3)]
    ref = [" ".join(str(v) for v in r[0].reshape(-1)) + " " for r in oracle.run_tflm(path, recs, 2)]
    assert lines[:3] == ref and lines[3] == ref[0], lines  # the reset replays the first step
    assert lines[4] == "-3 -4", lines[4]  # KILN_ERR_STATE_TOO_SMALL, KILN_ERR_STATE_MISALIGNED
    assert lines[5:8] == ref, lines  # the caller's own state, reset, gives the same sequence


def test_compile_reports_state_bytes(tmp_path):
    import json

    path = tmp_path / "ring.tflite"
    path.write_bytes(sm.ring("int8"))
    proc = kiln("compile", path, "--out", tmp_path / "out")
    assert proc.returncode == 0 and "state            20 B" in proc.stdout and "ring_reset()" in proc.stdout, proc.stdout
    proc = kiln("compile", path, "--out", tmp_path / "out", "--json")
    assert json.loads(proc.stdout)["state_bytes"] == 20  # the CALL_ONCE flag (4), then the ring (12) at 8


def _while_records(data, n=12):
    recs = random_records(data, n=n)
    for k, r in enumerate(recs):  # iteration counts 0..5, and one negative (no iteration)
        r[0] = np.array(k % 6 if k != 7 else -3, np.int32)
    return recs


def test_while_loop(tmp_path):
    data = sm.while_loop()
    pair = compile_and_run(data, _while_records(data), tmp_path)
    assert_match(pair, "WHILE")
    assert [int(r[0]) for r in pair.ours][:7] == [0, 1, 2, 3, 4, 5, 0]  # i ran up to n
    assert "while (" in pair.compiled.files[f"{pair.compiled.name}.c"]


def test_while_loop_on_qemu_m4(tmp_path):
    data = sm.while_loop()
    check_on_qemu_m4(data, _while_records(data), tmp_path, "WHILE on qemu-m4")


def test_if_branches(tmp_path):
    data = sm.if_branch()
    recs = random_records(data, n=12)
    pair = compile_and_run(data, recs, tmp_path)
    assert_match(pair, "IF")
    assert {bool(r[0]) for r in recs} == {True, False}, "both branches must be taken"


@pytest.mark.parametrize("make,needles", [
    (sm.read_never_assigned, ["operator 1 (READ_VARIABLE)", "variable 'never'", "ever assigns"]),
    (sm.call_once_out_of_range, ["operator 0 (CALL_ONCE)", "init_subgraph_index 5 is out of range"]),
    (sm.assign_other_shape, ["operator 2 (ASSIGN_VARIABLE)", "float32[2]", "float32[4]"]),
    (sm.while_changing_shape, ["operator 0 (WHILE)", "as the body (subgraph 2) gives it back", "float32[2x2]",
                               "static shapes"]),
])
def test_bad_stateful_models_fail_cleanly(make, needles, tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(make())
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out, *needles)


def test_an_operator_of_a_called_subgraph_is_checked_and_named(tmp_path):
    """Operators inside a CALL_ONCE subgraph follow the main graph's rules; errors name the subgraph."""
    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter()
    sub, k = w.subgraph()
    a = sub.tensor("a", [3], "float32", data=np.ones(3, np.float32))
    b = sub.tensor("b", [3], "float32")
    sub.op("LSTM", [a], [b])
    x, y = w.tensor("x", [4], "float32"), w.tensor("y", [4], "float32")
    w.op("CALL_ONCE", [], [], {"init_subgraph_index": k})
    w.op("RELU", [x], [y])
    w.inputs, w.outputs = [x], [y]
    path = tmp_path / "m.tflite"
    path.write_bytes(w.build())
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out, "LSTM (operator 0 in subgraph 1)")


def test_kiln_run_sequence_writes_stacked_outputs(tmp_path):
    """kiln run --sequence: the first axis of --input is the invocation; the outputs are written
    stacked the same way and compared with TFLite Micro step by step."""
    import json

    path = tmp_path / "ring.tflite"
    path.write_bytes(sm.ring("int8"))
    xs = np.random.default_rng(4).integers(-128, 128, (13, 1, 4)).astype(np.int8)
    np.save(tmp_path / "xs.npy", xs)
    ys, rings = tmp_path / "ys.npy", tmp_path / "rings.npy"
    proc = kiln("run", path, "--sequence", "--input", tmp_path / "xs.npy", "--output", ys, "--output", rings,
                "--compare", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["steps"] == 13 and all(o["first_differing_step"] is None for o in report["outputs"])
    ref = oracle.run_tflm(path, [[x] for x in xs], 2)
    assert np.array_equal(np.load(ys), np.stack([r[0] for r in ref]))
    assert np.load(rings).shape == (13, 1, 12) and np.array_equal(np.load(rings)[-1, 0, 8:], xs[-1, 0])
    np.save(tmp_path / "bad.npy", xs[:, :, :3])
    bad = kiln("run", path, "--sequence", "--input", tmp_path / "bad.npy")
    assert bad.returncode == 2 and "first axis counts invocations" in bad.stderr and "[steps, 1, 4]" in bad.stderr


@pytest.fixture(scope="module")
def kws_stream(tmp_path_factory):
    """The streaming keyword spotter (12 resource variables, CALL_ONCE, uint8 input), compiled once."""
    tmp = tmp_path_factory.mktemp("kws_stream")
    path = tmp / "kws_stream.tflite"
    path.write_bytes(sm.streaming_kws())
    return path


def _fifty(path):
    return random_records(path.read_bytes(), n=50, seed=5)


def test_streaming_kws_on_the_host(kws_stream, tmp_path):
    pair = compile_and_run(kws_stream, _fifty(kws_stream), tmp_path)
    assert_match(pair, "streaming kws")
    g = pair.compiled.graph
    assert len(g.variables) == 12 and g.state_bytes >= sum(v.nbytes for v in g.variables)
    assert len({r[0].tobytes() for r in pair.ours}) > 10, "the score hardly changes: the test proves little"


def test_streaming_kws_on_qemu_m4(kws_stream, tmp_path):
    check_on_qemu_m4(kws_stream.read_bytes(), _fifty(kws_stream), tmp_path, "streaming kws on qemu-m4")


def test_streaming_kws_over_rpc(kws_stream, tmp_path):
    c = compiler.compile_model(kws_stream)
    compiler.write(c, tmp_path / "src")
    device = build(tmp_path / "src", c.name, tmp_path / "build", profile=False)
    records = _fifty(kws_stream)
    ref = oracle.run_tflm(kws_stream, records, 1)
    with HostDevice(device) as dev, Session(dev.url) as s:
        got = [s.infer(r)[0] for r in records]
    assert all(np.array_equal(a, np.asarray(b).reshape(a.shape)) for a, (b,) in zip(got, ref))


def test_kiln_profile_sequence_on_qemu(tmp_path):
    """kiln profile --sequence: exact per-operator counts of each invocation and their mean; the
    first invocation runs the CALL_ONCE subgraph, the later ones do not."""
    import json

    path = tmp_path / "ring.tflite"
    path.write_bytes(sm.ring("int8"))
    proc = kiln("profile", path, "--board", "qemu-m4", "--sequence", "--steps", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["steps"] == 4 and len(r["total"]["per_step"]) == 4
    once = next(o for o in r["operators"] if o["kind"] == "CALL_ONCE")
    assert once["per_step"][0] > once["per_step"][1] == once["per_step"][3]
    fc = next(o for o in r["operators"] if o["kind"] == "FULLY_CONNECTED")
    assert fc["mean_cycles"] == sum(fc["per_step"]) / 4 and fc["mean_cycles"] > 100


def test_inspect_and_report_show_the_state(tmp_path):
    from kiln.compiler import report

    path = tmp_path / "ring.tflite"
    path.write_bytes(sm.ring("int8"))
    r = report.for_model(path)
    assert r["totals"]["state_bytes"] == 20
    assert [(p["kind"], p["offset"], p["size"]) for p in r["state"]] == [("flags", 0, 4), ("variable", 8, 12)]
    proc = kiln("inspect", path)
    assert proc.returncode == 0 and "state: 20 B kept between invocations" in proc.stdout
    assert "variable 'ring'  int8[1x12]" in proc.stdout


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_gru_as_a_while_loop(board, tmp_path):
    """A recurrent layer with unroll off: a WHILE over the time steps whose body gathers x_t and
    runs the GRU cell; its final state against TFLite Micro's."""
    data = sm.gru_while()
    records = random_records(data, n=12)
    if board == "host":
        assert_match(compile_and_run(data, records, tmp_path), "GRU as a WHILE loop")
    else:
        check_on_qemu_m4(data, records, tmp_path, "GRU as a WHILE loop on qemu-m4")


@pytest.mark.parametrize("which", ["svdf", "lstm", "frontend"])
def test_reset_over_rpc_on_qemu_m4(which, tmp_path):
    """The recurrent layers' Cortex-M kernels over RPC on qemu-m4: seven steps, a reset request in the
    middle of the sequence, seven more; TFLite Micro's two fresh interpreters."""
    from kiln.boards.deploy import Deployment

    path = tmp_path / f"{which}.tflite"
    path.write_bytes(RESET_MODELS[which]())
    first, second = random_records(path.read_bytes(), n=7, seed=1), random_records(path.read_bytes(), n=7, seed=2)
    ref = oracle.run_tflm(path, first, 1) + oracle.run_tflm(path, second, 1)
    with Deployment(path, "qemu-m4") as d:
        got = [d.session.infer(r) for r in first]
        d.session.reset_state()
        got += [d.session.infer(r) for r in second]
    for k, (ours, theirs) in enumerate(zip(got, ref)):
        assert np.array_equal(ours[0], np.asarray(theirs[0]).reshape(ours[0].shape)), f"step {k}"
    assert len({o[0].tobytes() for o in got}) > 3, "the output hardly changes: the test proves little"
