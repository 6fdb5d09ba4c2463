"""Issue 16's examples, built for real from a copy of examples/ as a user would: the models
compiled with `kiln compile`, the RPC component written by `kiln rpc`, then
- examples/firmware-cmake: CMake + arm-none-eabi-gcc, a Cortex-M4 application with its own
  start-up, porting layer and main loop, two models and the RPC component, run in QEMU
  (mps2-an386); both models' outputs over the RPC link equal TFLite Micro's, and
  `kiln profile --port` (attached: nothing built or flashed) gives the same per-operator
  instructions as the standalone `kiln profile --board qemu-m4`, to the instruction;
- examples/firmware-make: the same application built with its Makefile;
- examples/host-cmake: both models in a native program."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import ROOT
from kiln import cli, compiler
from kiln.compiler import oracle
from kiln.boards import qemu_rpc
from kiln.device import protocol as P
from kiln.device.errors import HashMismatchError, RemoteError
from kiln.device.session import Session

EXAMPLES = ROOT / "examples"
MODELS = {name: EXAMPLES / "firmware-cmake" / "models" / f"{name}.tflite" for name in ("sine", "keyword")}
ICOUNT_SHIFT = 7  # 128 ns an instruction: the example's 25 MHz SysTick ticks 3.2 times an instruction
INSTRUCTIONS_HZ = 1e9 / 2 ** ICOUNT_SHIFT


def kiln(*argv: str) -> None:
    assert cli.main([str(a) for a in argv]) == 0, f"kiln {' '.join(map(str, argv))} failed"


def prepare(folder: Path, rpc: bool = True, board: str | None = None) -> None:
    """What the example's README asks before building: the models' C (for the board the firmware
    runs on, whose CPU and flash pick the kernels' layouts) and the RPC component."""
    for name, model in MODELS.items():
        kiln("compile", model, "--out", folder / "kiln_out" / name, *(["--board", board] if board else []))
    if rpc:
        kiln("rpc", "--out", folder / "kiln_out" / "kiln_rpc")


def run(cmd: list, cwd: Path) -> None:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("examples")
    for name in ("firmware-cmake", "firmware-make", "host-cmake"):
        shutil.copytree(EXAMPLES / name, root / name)
    return root


@pytest.fixture(scope="module")
def cmake_elf(examples) -> Path:
    app = examples / "firmware-cmake"
    prepare(app, board="qemu-m4")
    run(["cmake", "-B", "build", "-S", "."], app)
    run(["cmake", "--build", "build"], app)
    return app / "build" / "app.elf"


def check_models_over_rpc(url: str) -> None:
    """Each model, found by its SHA-256 among the firmware's two, on three random inputs."""
    for name, model in MODELS.items():
        g = compiler.compile_model(model).graph
        records = oracle.random_inputs(g, seed=5, count=3)
        expected = oracle.run_tflm(model, records, len(g.outputs))
        with Session(url, timeout=5.0, run_timeout=60.0, expect_sha256=g.source_sha256) as s:
            assert s.info_.model_count == 2 and s.info_.name == name
            for rec, ref in zip(records, expected):
                got = s.infer(rec)
                for k, (a, b) in enumerate(zip(got, ref)):
                    assert np.array_equal(a, b), f"{name} output {k} differs from TFLite Micro: {a} vs {b}"


def test_cmake_firmware_serves_both_models_on_qemu(cmake_elf):
    with qemu_rpc.QemuDevice(cmake_elf, shift=ICOUNT_SHIFT) as q:
        check_models_over_rpc(q.url)
        with Session(q.url, timeout=5.0) as s:
            with pytest.raises(RemoteError) as e:  # only two models: index 2 does not exist
                s.select_model(2)
            assert e.value.status == P.BAD_INDEX and e.value.detail == 2
            assert s.timer_cost() > 0
        with pytest.raises(HashMismatchError) as e:  # a model the firmware does not hold: both named
            Session(q.url, timeout=5.0, expect_sha256="00" * 32)
        assert "'sine'" in str(e.value) and "'keyword'" in str(e.value)


@pytest.fixture(scope="module")
def standalone_keyword() -> list[int]:
    """Per-operator instructions of the keyword model from Kiln's own exact-count firmware."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        kiln("profile", MODELS["keyword"], "--board", "qemu-m4", "--json")
    figures = [o["cycles"] for o in json.loads(buf.getvalue())["operators"]]
    assert sum(figures) > 100_000
    return figures


def test_profile_port_matches_standalone_to_the_instruction(cmake_elf, standalone_keyword, capsys):
    """`kiln profile --port` on the application's firmware (the model inside it, attached over the
    RPC link) against `kiln profile --board qemu-m4` (Kiln's own exact-count firmware): the same
    instructions for every operator."""
    with qemu_rpc.QemuDevice(cmake_elf, shift=ICOUNT_SHIFT) as q:
        capsys.readouterr()
        kiln("profile", MODELS["keyword"], "--port", q.url, "--cpu-hz", INSTRUCTIONS_HZ, "--json")
        attached = json.loads(capsys.readouterr().out)
    assert attached["board"] == f"the firmware at {q.url}"
    got = [o["cycles"] for o in attached["operators"]]
    assert got == standalone_keyword, f"attached {got} vs standalone {standalone_keyword}"


@pytest.mark.asyncio
async def test_editor_profile_attaches_to_the_firmware(cmake_elf, standalone_keyword):
    """The editor's Profile (kiln/profile) with the firmware's port (the setting kiln.firmwarePort,
    here as the request's attach): the same figures, and inlay hints on the C the firmware was
    built from."""
    from lsprotocol import types
    from pygls.uris import from_fs_path
    from pytest_lsp import client_capabilities, make_test_lsp_client

    from kiln.lsp.protocol import plain

    gen = cmake_elf.parent.parent / "kiln_out" / "keyword"
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "kiln.lsp")
    try:
        await client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
        with qemu_rpc.QemuDevice(cmake_elf, shift=ICOUNT_SHIFT) as q:
            r = plain(await client.protocol.send_request_async("kiln/profile", {
                "uri": from_fs_path(str(MODELS["keyword"])), "attach": q.url, "cpuHz": INSTRUCTIONS_HZ,
                "outDir": str(gen)}))
        assert r["board"] == f"the firmware at {q.url}"
        assert [o["cycles"] for o in r["operators"]] == standalone_keyword
        hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=from_fs_path(str(gen / "keyword.c"))),
            range=types.Range(start=types.Position(0, 0), end=types.Position(100000, 0))))
        assert len(hints) == len(standalone_keyword)
        assert all(f"on the firmware at {q.url}" in h.tooltip for h in hints)
    finally:
        await client.shutdown_session()
        await client.stop()


def test_make_firmware_on_qemu(examples, capsys):
    """The Makefile build; then `kiln run --port` (attached) on it compares with TFLite Micro."""
    app = examples / "firmware-make"
    prepare(app, board="qemu-m4")
    run(["make", "-j2"], app)
    with qemu_rpc.QemuDevice(app / "build" / "app.elf", shift=ICOUNT_SHIFT) as q:
        check_models_over_rpc(q.url)
        capsys.readouterr()
        kiln("run", MODELS["keyword"], "--port", q.url, "--compare", "--seed", 4, "--json")
        report = json.loads(capsys.readouterr().out)
    assert report["board"] == f"the firmware at {q.url}"
    assert [o["max_abs_diff"] for o in report["outputs"]] == [0]


def test_host_cmake_application(examples):
    app = examples / "host-cmake"
    prepare(app, rpc=False)
    run(["cmake", "-B", "build", "-S", "."], app)
    run(["cmake", "--build", "build"], app)
    inputs, expected = [], []
    for name, model in MODELS.items():
        g = compiler.compile_model(model).graph
        rec = oracle.random_inputs(g, seed=9)[0]
        (app / f"{name}.bin").write_bytes(rec[0].tobytes())
        expected.append(oracle.run_tflm(model, [rec], len(g.outputs))[0][0].reshape(-1).tolist())
        inputs.append(app / f"{name}.bin")
    proc = subprocess.run([app / "build" / "host_app", *inputs], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [f"{name}: {' '.join(map(str, values))}" for name, values in zip(MODELS, expected)]


def test_rpc_component_keeps_an_edited_build_file(tmp_path, capsys):
    out = tmp_path / "kiln_rpc"
    kiln("rpc", "--out", out)
    for name in ("kiln_rpc.c", "kiln_rpc.h", "kiln_platform.h", "CMakeLists.txt", "kiln_rpc.mk"):
        assert "kiln-hash:" in (out / name).read_text().splitlines()[0], name
    edited = (out / "CMakeLists.txt").read_text() + "# my change\n"
    (out / "CMakeLists.txt").write_text(edited)
    capsys.readouterr()
    kiln("rpc", "--out", out)
    err = capsys.readouterr().err
    assert (out / "CMakeLists.txt").read_text() == edited
    assert (out / "CMakeLists.txt.kiln-new").exists() and "CMakeLists.txt.kiln-new" in err
