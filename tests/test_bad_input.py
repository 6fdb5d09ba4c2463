"""Bad input: one clear line naming the problem, exit status 2, no traceback, nothing written."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import modelgen as mg
from kiln import compiler
from kiln.errors import KilnError


def kiln(*args, cwd=None):
    env = dict(os.environ)
    env.pop("KILN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kiln", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def assert_clean_failure(proc, out_dir, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {proc.stderr!r}"
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    assert not out_dir.exists() or not any(out_dir.iterdir()), "something was written to the output folder"


@pytest.fixture
def good_model():
    return mg.fully_connected(1, in_features=8, out_features=4).data


@pytest.mark.parametrize("keep", [0, 7, 20, 100, "half", -16])
def test_truncated_file(keep, good_model, tmp_path):
    n = len(good_model) // 2 if keep == "half" else (keep if keep >= 0 else len(good_model) + keep)
    path = tmp_path / "cut.tflite"
    path.write_bytes(good_model[:n])
    out = tmp_path / "out"
    proc = kiln("compile", path, "--out", out)
    assert_clean_failure(proc, out, "cut.tflite")
    assert any(w in proc.stderr for w in ("truncated", "too short", "not a TensorFlow Lite")), proc.stderr


@pytest.mark.parametrize("content", [b"hello, this is a text file\n" * 4, b"\x89PNG\r\n\x1a\n" + bytes(200),
                                     bytes(range(256))])
def test_not_tflite(content, tmp_path):
    path = tmp_path / "notes.tflite"
    path.write_bytes(content)
    out = tmp_path / "out"
    proc = kiln("compile", path, "--out", out)
    assert_clean_failure(proc, out, "notes.tflite", "not a TensorFlow Lite model", "TFL3")


def test_unsupported_operator(tmp_path):
    path = tmp_path / "lstm.tflite"
    path.write_bytes(mg.unsupported_operator("LSTM"))
    out = tmp_path / "out"
    proc = kiln("compile", path, "--out", out)
    assert_clean_failure(proc, out, "1 operator kind is not supported: LSTM (operator 0)", "Next: re-export the model")


def test_unsupported_operator_after_supported_ones(tmp_path):
    b = mg.ModelBuilder()
    x = b.input("x", [1, 4], "float32")
    y = b.tensor("y", [1, 4], "float32")
    z = b.tensor("z", [1, 4], "float32")
    b.op("RELU", [x], [y])
    b.op("LSTM", [y], [z])
    b.output(z)
    path = tmp_path / "mixed.tflite"
    path.write_bytes(b.build())
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out, "not supported: LSTM (operator 1)")


def test_every_unsupported_kind_named_at_once(tmp_path):
    """The error names each unsupported kind with all its indices, so a user sees the whole gap."""
    b = mg.ModelBuilder()
    t = [b.input("x", [1, 4], "float32")] + [b.tensor(f"t{i}", [1, 4], "float32") for i in range(5)]
    for i, kind in enumerate(["LSTM", "RELU", "RNN", "RNN", "LSTM"]):
        b.op(kind, [t[i]], [t[i + 1]])
    b.output(t[-1])
    path = tmp_path / "gaps.tflite"
    path.write_bytes(b.build())
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out,
                         "2 operator kinds are not supported: LSTM (operators 0, 4), RNN (operators 2, 3)")
    inspect = kiln("inspect", path)
    for k in (0, 2, 3, 4):
        assert f"operator {k} (" in inspect.stdout + inspect.stderr


def test_subgraphs_nothing_runs_are_left_out(tmp_path):
    """Subgraphs no CALL_ONCE runs (TFLite Micro would not run them either) compile to nothing."""
    path = tmp_path / "multi.tflite"
    path.write_bytes(mg.several_subgraphs(3))
    out = tmp_path / "out"
    proc = kiln("compile", path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "sg1_" not in (out / "multi.c").read_text()


@pytest.mark.parametrize("dtype", ["string", "complex64", "float64", "uint16", "float16"])
def test_unsupported_tensor_type(dtype, tmp_path):
    path = tmp_path / f"{dtype}.tflite"
    path.write_bytes(mg.unsupported_dtype(dtype))
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out, dtype.upper(), "operator 0 (RESHAPE)")


def test_unsupported_option(tmp_path):
    """A fused activation TFLite Micro's FULLY_CONNECTED kernels do not implement."""
    b = mg.ModelBuilder()
    x = b.input("x", [1, 4], "float32")
    w = b.const("w", np.ones((2, 4), np.float32))
    y = b.tensor("y", [1, 2], "float32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y], fused_activation="TANH")
    b.output(y)
    path = tmp_path / "fc_tanh.tflite"
    path.write_bytes(b.build())
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", path, "--out", out), out, "operator 0 (FULLY_CONNECTED)", "TANH")


def test_missing_file(tmp_path):
    out = tmp_path / "out"
    assert_clean_failure(kiln("compile", tmp_path / "nope.tflite", "--out", out), out, "nope.tflite", "no such file")


def test_corrupted_bytes_never_crash(good_model, tmp_path):
    """Random byte flips anywhere in a model: a clean compile or a KilnError, never anything else."""
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "error": 0}
    for trial in range(150):
        data = bytearray(good_model)
        for pos in rng.integers(0, len(data), size=rng.integers(1, 6)):
            data[pos] = rng.integers(0, 256)
        path = tmp_path / f"m{trial}.tflite"
        path.write_bytes(bytes(data))
        try:
            compiler.compile_model(path)
            outcomes["ok"] += 1
        except KilnError as e:
            assert str(e) and "\n" not in str(e)
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and outcomes["ok"] > 0, outcomes


# Issue 22's classes of hostile names: comment delimiters, a trigraph line splice, a backslash at a
# line end, markup, a path, NUL, bytes that are not UTF-8, and a name of 10,000 characters.
HOSTILE = ["/*", "*/", "??/", "tail\\", "</script><img src=x onerror=alert(1)>", "../../../etc/passwd",
           "nul\x00byte", b"bad\xff\xfeutf-8", "L" * 10_000, "\x1b[31mred\x1b[0m\nnext line"]


def _hostile_chain() -> bytes:
    """A RELU chain whose every tensor carries one of the hostile names (the model's too)."""
    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter(description="*/ ??/ </script>")
    ts = [w.tensor(n, [1, 6], "float32") for n in HOSTILE]
    for a, b in zip(ts, ts[1:]):
        w.op("RELU", [a], [b])
    w.inputs, w.outputs = [ts[0]], [ts[-1]]
    return w.build()


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_hostile_name_classes_build_strictly_and_stay_inside(cc, tmp_path):
    """Every hostile name class in one model: it builds under -Werror -pedantic with gcc and clang
    and equals TFLite Micro; the generated files are only the model's own, inside the output
    folder, with short lines (long names shortened); the text report is printable, the JSON one
    valid and holding each name exactly."""
    import json

    from harness import assert_match, compile_and_run
    from kiln.compiler import report
    from kiln.compiler.passes import validate

    data = _hostile_chain()
    model = tmp_path / "../hostile name*/.tflite".replace("/", "_")
    model.write_bytes(data)
    rng = np.random.default_rng(1)
    pair = compile_and_run(model, [[rng.uniform(-1, 1, (1, 6)).astype(np.float32)] for _ in range(3)], tmp_path,
                           cc=cc, extra_flags=["-Wcomment", "-Wtrigraphs", "-Woverlength-strings"])
    assert_match(pair, f"hostile names with {cc}")
    src = tmp_path / "src"
    assert all(p.parent == src for p in src.rglob("*") if p.is_file())
    longest = max(len(line) for p in src.iterdir() if p.is_file() and p.suffix in (".c", ".h") for line in
                  p.read_text().splitlines())
    assert longest < 300, longest
    g = compiler.load(model)
    assert not validate.problems(g)
    r = report.build(g, compiler.prepare_graph(g))
    text = report.text(r)
    assert all(ch.isprintable() for line in text.splitlines() for ch in line)
    from kiln.compiler.importer import text as model_text

    names = " = ".join(b["name"] for b in json.loads(json.dumps(r))["buffers"])  # RELUs in place: one buffer
    for n in HOSTILE:  # as the importer reads them: control characters as '?', bad UTF-8 as U+FFFD
        assert model_text(n if isinstance(n, bytes) else n.encode()) in names, n
    assert "nul?byte" in names and "bad\ufffd\ufffdutf-8" in names and "?[31mred?[0m?next line" in names


@pytest.mark.parametrize("name", ["x/*evil", "end*/ int bad;", "trigraph??/", "???=??(", "back\\", "line\nbreak",
                                  'quote"\'', "caf\u00e9 \u2603", "/*/*/", ""])
def test_hostile_tensor_names_build_strictly(name, tmp_path):
    """Names from the model reach comments and strings in the generated C: none may change how C
    reads them (comment delimiters, trigraphs, line splices), under -Werror."""
    from harness import assert_match, compile_and_run
    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter()
    x = w.tensor(name, [1, 6], "float32")
    y = w.tensor(name + "_out", [1, 6], "float32")
    w.op("RELU", [x], [y])
    w.inputs, w.outputs = [x], [y]
    data = w.build()
    rng = np.random.default_rng(0)
    pair = compile_and_run(data, [[rng.uniform(-1, 1, (1, 6)).astype(np.float32)] for _ in range(3)], tmp_path,
                           cc="clang", extra_flags=["-Wcomment", "-Wtrigraphs"])
    assert_match(pair, f"tensor named {name!r}")


MEMORY_BOUND = 1 << 30  # `kiln compile` on any input: at most 1 GiB of address space (docs: README)


def _oversized() -> dict[str, tuple[bytes, str]]:
    """Models whose declarations ask for absurd resources, and what their error must name."""
    from kiln.compiler.tflwriter import ModelWriter

    def relu(shape):
        w = ModelWriter()
        x, y = w.tensor("x", shape, "float32"), w.tensor("y", shape, "float32")
        w.op("RELU", [x], [y])
        w.inputs, w.outputs = [x], [y]
        return w.build()

    def add(shape):  # two inputs, live together: each under the tensor limit, both over the arena's
        w = ModelWriter()
        a, b, y = (w.tensor(n, shape, "float32") for n in ("a", "b", "y"))
        w.op("ADD", [a, b], [y])
        w.inputs, w.outputs = [a, b], [y]
        return w.build()

    w = ModelWriter()
    x = w.tensor("x", [1, 4], "float32")
    c = w.tensor("c", [1, 4], "float32", data=np.ones([1, 4], np.float32))
    y = w.tensor("y", [1, 4], "float32")
    w.op("ADD", [x, c], [y])
    w.inputs, w.outputs = [x], [y]
    w.tensors[c].data = ("external", 1 << 40, 16)  # a large model's buffer, supposedly 1 TB into the file
    past_end = w.build()

    w = ModelWriter()
    x = w.tensor("x", [1, 8, 8, 2], "float32")
    f = w.tensor("f", [2, 3, 3, 2], "float32", data=np.ones([2, 3, 3, 2], np.float32))
    y = w.tensor("y", [1, 1, 1, 2], "float32")
    w.op("CONV_2D", [x, f], [y], {"padding": 1, "stride_h": 2 ** 31 - 1, "stride_w": -7})
    w.inputs, w.outputs = [x], [y]
    return {
        "billions of elements": (relu([1, 100_000, 100_000, 100]), "4,000,000,000,000 bytes"),
        "an arena beyond any board": (add([1, 512, 512, 640]), "arena of"),
        "a buffer past the file end": (past_end, "past the end of the file"),
        "absurd strides": (w.build(), "stride_w"),
    }


@pytest.mark.parametrize("case", list(_oversized()))
def test_oversized_declarations_fail_fast_within_the_memory_bound(case, tmp_path):
    """One-line errors naming the problem, in seconds, with `kiln compile` held to MEMORY_BOUND of
    address space (prlimit): nothing is allocated at the declared sizes."""
    import shutil
    import time

    data, needle = _oversized()[case]
    model = tmp_path / "big.tflite"
    model.write_bytes(data)
    out = tmp_path / "out"
    assert shutil.which("prlimit"), "prlimit (util-linux) not found"
    t0 = time.monotonic()
    proc = subprocess.run(["prlimit", f"--as={MEMORY_BOUND}", sys.executable, "-m", "kiln", "compile", str(model),
                           "--out", str(out)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    took = time.monotonic() - t0
    assert proc.returncode != 0 and took < 10, (proc.returncode, took)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiln: error:") and needle in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())
