"""The qemu-m4 board: generated C built with arm-none-eabi-gcc and run on QEMU's mps2-an386 (Cortex-M4F).

Outputs must equal TFLite Micro's (int8 bit for bit, float within FLOAT_RTOL); profiling figures
must be exact and repeatable; the timer's edge cases (wraps, overflow) must give right figures or
an error. Each firmware runs in well under a second of QEMU time.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, Pair, assert_match, shared_model
from kiln import compiler
from kiln.compiler import oracle
from kiln.boards import qemu
from kiln.errors import KilnError

RECORDS = 5

if not all(shutil.which(t) for t in (qemu.GCC, qemu.QEMU, "arm-none-eabi-nm", "arm-none-eabi-size")):
    pytest.skip(f"the Cortex-M toolchain or QEMU is missing: {qemu.SETUP_HINT}", allow_module_level=True)


def build_and_run(model, records, tmp_path, *, profile=False, exact=False, extra=None, name="model"):
    """Compiles model (a path or .tflite bytes), builds the firmware with records, runs it."""
    if isinstance(model, (bytes, bytearray)):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(model)
    else:
        path = model
    c = compiler.compile_model(path)
    src = tmp_path / "src"
    compiler.write(c, src)
    elf = qemu.build(src, c.name, tmp_path / "build", records, profile=profile, exact=exact,
                          graph=c.graph, extra=extra)
    return c, elf, qemu.run(elf, c.graph)


def check_against_tflm(model, records, tmp_path, what, name="model"):
    c, _, result = build_and_run(model, records, tmp_path, name=name)
    ref = oracle.run_tflm(c.source, records, len(c.graph.outputs))
    assert len(result.outputs) == len(records)
    assert_match(Pair(result.outputs, ref, c), what)
    return c, result


# ---- outputs against TFLite Micro ----

def test_hello_world_int8(tmp_path):
    path = shared_model("hello_world_int8.tflite")
    g = compiler.compile_model(path).graph
    check_against_tflm(path, oracle.random_inputs(g, seed=7, count=RECORDS), tmp_path, "hello_world_int8")


def test_hello_world_float(tmp_path):
    path = shared_model("hello_world_float.tflite")
    records = [[np.array([[x]], np.float32)] for x in np.linspace(0.1, 2 * np.pi - 0.1, RECORDS)]
    check_against_tflm(path, records, tmp_path, "hello_world_float")


def test_ad01_int8_random_and_golden(tmp_path):
    path = shared_model("ad01_int8.tflite")
    g = compiler.compile_model(path).graph
    golden_in = np.load(MODELS / "golden" / "ad01_int8_in0.npy")
    golden_out = np.load(MODELS / "golden" / "ad01_int8_out0.npy")
    records = oracle.random_inputs(g, seed=7, count=RECORDS) + [[golden_in]]
    _, result = check_against_tflm(path, records, tmp_path, "ad01_int8")
    got = result.outputs[-1][0]
    assert np.array_equal(got, golden_out.reshape(got.shape)), "ad01_int8: differs from the golden output"


GENERATED = {
    "fc_softmax_int8": lambda: mg.fc_softmax(1),
    "logistic_int8": lambda: mg.unary(2, "LOGISTIC", "int8", (1, 256)),
    "add_broadcast_int8": lambda: mg.elementwise(3, "ADD", "int8", (2, 1, 5), (1, 4, 1)),
    "quantized_fc_float_io": lambda: mg.quantized_fc_float_io(4),
    # float kernels that call newlib's libm (expf, tanhf) rather than glibc's
    "fc_softmax_float": lambda: mg.fc_softmax(5, dtype="float32"),
    "tanh_float": lambda: mg.unary(6, "TANH", "float32", (1, 64)),
    "logistic_float": lambda: mg.unary(7, "LOGISTIC", "float32", (1, 64)),
    "mul_broadcast_float": lambda: mg.elementwise(8, "MUL", "float32", (2, 1, 5), (1, 4, 1)),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_models(case, tmp_path):
    model = GENERATED[case]()
    rng = np.random.default_rng(11)
    records = [model.random_inputs(rng) for _ in range(RECORDS)]
    _, result = check_against_tflm(model.data, records, tmp_path, model.description, name=case)
    outs = np.stack([r[0].astype(np.float64).reshape(-1) for r in result.outputs])
    assert np.ptp(outs) > 0, f"{model.description}: output is constant, the test would prove nothing"


# ---- profiling ----

@pytest.mark.parametrize("name", ["hello_world_int8", "ad01_int8"])
def test_profile_is_exact_and_repeats(name, tmp_path):
    path = shared_model(f"{name}.tflite")
    g = compiler.compile_model(path).graph
    records = oracle.random_inputs(g, seed=3, count=1)
    c, elf, first = build_and_run(path, records, tmp_path, profile=True, exact=True)
    second = qemu.run(elf, c.graph)
    assert first.exact and second.exact
    assert first.total_ticks == second.total_ticks and first.op_ticks == second.op_ticks
    assert first.timer_ticks == second.timer_ticks
    ops = first.op_instructions[0]
    total = first.total_instructions[0]
    assert len(ops) == len(g.operators) and all(v > 0 for v in ops)
    # outside the operators: copying the input in and the output out, the calls: a fixed few dozen
    # instructions, more than 2% of hello_world's 1,800 or so
    assert sum(ops) <= total and total - sum(ops) <= max(0.02 * total, 100), (ops, total)
    # the exact figures agree with a single coarse measurement (one tick = 40 instructions)
    _, _, coarse = build_and_run(path, records, tmp_path / "coarse", profile=True, exact=False)
    assert coarse.total_phases == [1] and coarse.op_phases == [1]
    assert abs(coarse.total_instructions[0] - total) <= qemu.INSTRUCTIONS_PER_TICK
    for a, b in zip(coarse.op_instructions[0], ops):
        assert abs(a - b) <= qemu.INSTRUCTIONS_PER_TICK


def test_timer_resolution_is_one_instruction(tmp_path):
    """Blocks of exactly 0, 1000 and 1001 NOPs measure 1000 and 1001 instructions apart."""
    model = mg.fc_softmax(1)
    records = [model.random_inputs(np.random.default_rng(0))]
    _, _, result = build_and_run(model.data, records, tmp_path, exact=True, extra=["-DKILN_SELFTEST"])
    cal = result.calibration
    assert cal[1000] - cal[0] == 1000 and cal[1001] - cal[0] == 1001, cal


def test_counter_wraps_are_counted(tmp_path):
    """A 16-bit counter (wrapping every 65,536 ticks) gives exactly the 24-bit figures, and a 12-bit
    one (many wraps inside each inference) single measurements within a tick or two of them."""
    path = shared_model("ad01_int8.tflite")
    g = compiler.compile_model(path).graph
    records = oracle.random_inputs(g, seed=3, count=1)
    _, _, ref = build_and_run(path, records, tmp_path / "24", profile=True, exact=True)
    _, _, w16 = build_and_run(path, records, tmp_path / "16", profile=True, exact=False,
                              extra=["-DKILN_SYSTICK_BITS=16"])
    _, _, w12 = build_and_run(path, records, tmp_path / "12", profile=True, exact=True,
                              extra=["-DKILN_SYSTICK_BITS=12"])
    # ad01 takes about 35,500 ticks: beyond what a 12-bit counter can repeat 41 times between two
    # wraps, so the exact build falls back to single measurements (phases 1)
    assert w12.total_phases == [1] and w12.op_phases == [1]
    total = ref.total_instructions[0]
    for other in (w16, w12):
        # each wrap's interrupt adds a few instructions; the figures must not be off by 2^bits ticks
        assert abs(other.total_instructions[0] - total) <= 0.001 * total
        for a, b in zip(other.op_instructions[0], ref.op_instructions[0]):
            assert abs(a - b) <= 0.001 * b + 2 * qemu.INSTRUCTIONS_PER_TICK


def test_exact_with_a_short_counter(tmp_path):
    """With a 16-bit counter the exact measurements wait out the wraps and give the same figures."""
    path = shared_model("hello_world_int8.tflite")
    g = compiler.compile_model(path).graph
    records = oracle.random_inputs(g, seed=3, count=3)
    _, _, ref = build_and_run(path, records, tmp_path / "24", profile=True, exact=True)
    _, _, w16 = build_and_run(path, records, tmp_path / "16", profile=True, exact=True,
                              extra=["-DKILN_SYSTICK_BITS=16"])
    assert w16.exact
    assert (w16.total_ticks, w16.op_ticks) == (ref.total_ticks, ref.op_ticks)


def test_timer_overflow_is_an_error(tmp_path):
    """An inference longer than a 32-bit figure holds fails with a message, not a wrapped figure
    (the limit is lowered to 1000 ticks here so that the test need not run for minutes)."""
    model = mg.fc_softmax(1)
    records = [model.random_inputs(np.random.default_rng(0))]
    with pytest.raises(KilnError, match="timer overflow"):
        build_and_run(model.data, records, tmp_path, extra=["-DKILN_TICK_LIMIT=10u"])


# ---- errors, sizes, command line ----

def test_missing_toolchain_is_a_clear_error(tmp_path, monkeypatch):
    model = mg.fc_softmax(1)
    records = [model.random_inputs(np.random.default_rng(0))]
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(KilnError, match="scripts/setup.sh"):
        build_and_run(model.data, records, tmp_path)


def test_record_size_mismatch_is_caught_by_the_firmware(tmp_path):
    model = mg.fc_softmax(1)
    wrong = [[np.zeros(7, np.int8)]]  # the model takes 32 bytes; no graph given, so no check in Python
    c = compiler.compile_model(_write(tmp_path, model.data))
    compiler.write(c, tmp_path / "src")
    elf = qemu.build(tmp_path / "src", c.name, tmp_path / "build", wrong, profile=False, exact=False)
    with pytest.raises(KilnError, match="do not match the model"):
        qemu.run(elf, c.graph)


def _write(tmp_path, data: bytes):
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    return path


def test_flash_sizes(tmp_path):
    path = shared_model("ad01_int8.tflite")
    g = compiler.compile_model(path).graph
    c, elf, _ = build_and_run(path, oracle.random_inputs(g, seed=0, count=1), tmp_path)
    sizes = qemu.flash_sizes(elf, c.const_bytes, tmp_path / "src" / f"{c.name}_weights.h")
    assert sizes["weights"] == c.const_bytes  # every constant array kept, at its declared size
    assert sizes["records"] == g.tensor(g.inputs[0]).nbytes
    assert 1000 < sizes["code"] < 16384
    assert 500 < sizes["board"] < sizes["code"]  # startup, UART, runner: part of code, reported apart
    assert sizes["code"] + sizes["weights"] + sizes["records"] == sizes["total"]


def kiln(*args):
    proc = subprocess.run([sys.executable, "-m", "kiln", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr
    return proc


def test_cli_bench_json(tmp_path):
    model = _write(tmp_path, mg.fc_softmax(1).data)
    proc = kiln("bench", model, "--board", "qemu-m4", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert {"instructions", "macs", "instructions_per_mac", "arena_bytes", "flash_code_bytes",
            "flash_weight_bytes", "operators"} <= set(r)
    assert r["exact"] and r["macs"] == 320 and r["instructions"] > r["macs"]
    assert r["instructions_per_mac"] == pytest.approx(r["instructions"] / r["macs"])
    assert [o["kind"] for o in r["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert all({"index", "kind", "instructions", "macs", "share"} <= set(o) for o in r["operators"])
    assert sum(o["share"] for o in r["operators"]) == pytest.approx(1.0)
    # the weights as compiled for the board (its flash decides which layers store int16 weights)
    compiled = json.loads(kiln("compile", model, "--board", "qemu-m4", "--out", tmp_path / "c", "--json").stdout)
    assert r["flash_weight_bytes"] == compiled["weight_bytes"]
    again = json.loads(kiln("bench", model, "--json").stdout)
    assert again == r  # exact figures: the same every time


def test_cli_run_on_qemu(tmp_path):
    model = _write(tmp_path, mg.fc_softmax(1).data)
    proc = kiln("run", model, "--board", "qemu-m4", "--compare", "--profile", "--output", tmp_path / "out.npy")
    assert proc.returncode == 0, proc.stderr
    assert "bit-exact with TFLite Micro" in proc.stdout
    assert "per-operator instructions on qemu-m4 (exact" in proc.stdout
    assert np.load(tmp_path / "out.npy").shape == (1, 10)
    proc = kiln("run", model, "--board", "qemu-m4", "--json", "--profile")
    r = json.loads(proc.stdout)
    assert r["board"] == "qemu-m4" and r["timings"]["unit"] == "instructions"
    assert [o["kind"] for o in r["timings"]["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
