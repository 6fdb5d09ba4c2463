"""The board-adapter protocol: every method, malformed and unknown requests, a failing build whose
compiler errors reach the caller intact; and the device path through it (compile, generate,
build, flash, RPC) on host, qemu-m4 and qemu-m7."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, shared_model, tiny_board
from kiln import boards, compiler
from kiln.compiler import oracle
from kiln.boards.deploy import Deployment
from kiln.errors import KilnError

ROOT = boards.BOARDS.parent


def raw_adapter(board):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "server"))
    return subprocess.Popen([sys.executable, str(boards.find(board).folder / "adapter.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def ask(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


@pytest.fixture
def generated(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(2).data)
    c = compiler.compile_model(model)
    compiler.write(c, tmp_path / "gen")
    return model, c, tmp_path / "gen"


def test_boards_are_listed_with_their_facts():
    names = [b.name for b in boards.available()]
    assert {"host", "qemu-m4", "qemu-m7", "qemu-m0plus", "qemu-rv32", "qemu-m55"} <= set(names)
    for b in boards.available():
        s = b.summary()
        assert s["cpu"] and s["ram_bytes"] > 0 and s["flash_bytes"] > 0, s


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_malformed_and_unknown_requests_get_errors_and_the_adapter_lives_on(board):
    proc = raw_adapter(board)
    try:
        assert ask(proc, "{not json")["error"]["code"] == -32700
        assert ask(proc, json.dumps({"jsonrpc": "2.0", "method": "nosuch", "id": 1}))["error"]["code"] == -32601
        missing = ask(proc, json.dumps({"jsonrpc": "2.0", "method": "build", "params": {}, "id": 2}))
        assert missing["error"]["code"] == -32602
        early = ask(proc, json.dumps({"jsonrpc": "2.0", "method": "open_transport", "params": {}, "id": 3}))
        assert "flash first" in early["error"]["message"]
        info = ask(proc, json.dumps({"jsonrpc": "2.0", "method": "server_info", "id": 4}))
        assert info["result"]["name"] == board and info["id"] == 4
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0


def test_generate_project_rejects_a_folder_that_is_not_kiln_output(tmp_path):
    (tmp_path / "junk").mkdir()
    with boards.AdapterClient(boards.find("host").folder / "adapter.py") as a:
        with pytest.raises(KilnError, match="not a Kiln output folder"):
            a.call("generate_project", model_dir=str(tmp_path / "junk"), project_dir=str(tmp_path / "p"))


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_a_failing_build_returns_the_compiler_errors_intact(board, generated, tmp_path):
    model, c, gen = generated
    with boards.AdapterClient(boards.find(board).folder / "adapter.py") as a:
        files = a.call("generate_project", model_dir=str(gen), project_dir=str(tmp_path / "p"))["files"]
        broken = next(f for f in files if f.endswith("net.c"))
        with open(broken, "a") as f:
            f.write("\nint kiln_broken_on_purpose(void) { return undeclared_name; }\n")
        with pytest.raises(KilnError) as err:
            a.call("build", project_dir=str(tmp_path / "p"), options={"model": str(model)})
    text = str(err.value)
    assert "undeclared_name" in text and "net.c" in text and "error" in text


@pytest.mark.parametrize("board", ["host", "qemu-m4", "qemu-m7", "qemu-rv32", "qemu-m55"])
def test_every_method_and_an_inference_through_the_adapter(board, generated, tmp_path):
    model, c, gen = generated
    rng = np.random.default_rng(0)
    records = [mg.fc_softmax(2).random_inputs(rng) for _ in range(3)]
    with Deployment(model, board) as d:
        info = d.session.info()
        assert info.sha256 == c.graph.source_sha256 and info.op_count == 2
        got = [d.session.infer(r) for r in records]
        # the adapter relays the transport too: after the session, the same device answers through it
    ref = oracle.run_tflm(model, records, 1)
    for a, b in zip(got, ref):
        assert np.array_equal(a[0], b[0].reshape(a[0].shape))


def test_golden_vectors_over_rpc_on_qemu(tmp_path):
    path = shared_model("kws_ref_model.tflite")
    x = np.load(MODELS / "golden" / "kws_ref_model_in0.npy")
    want = np.load(MODELS / "golden" / "kws_ref_model_out0.npy")
    for board in ("qemu-m4", "qemu-m7"):
        with Deployment(path, board) as d:
            out = d.session.infer([x])[0]
        assert np.array_equal(out.reshape(-1), want.reshape(-1)), board


def kiln_json(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "kiln", *map(str, args), "--json"], capture_output=True, text=True,
                          timeout=600, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7"])
def test_kiln_profile_on_qemu_repeats_exactly_and_sums_to_the_whole_run(board):
    path = shared_model("ad01_int8.tflite")
    first, second = (kiln_json("profile", path, "--board", board) for _ in range(2))
    assert first["exact"]
    assert [o["cycles"] for o in first["operators"]] == [o["cycles"] for o in second["operators"]]
    assert first["total"] == second["total"] and first["total"]["cycles"] > 0
    assert abs(first["total"]["cycles"] - first["run"]["cycles"]) <= 0.02 * first["run"]["cycles"]
    assert abs(sum(o["share"] for o in first["operators"]) - 1) < 1e-9


def test_rpc_profile_on_qemu_is_good_to_one_tick():
    path = shared_model("ad01_int8.tflite")
    g = compiler.compile_model(path).graph
    x = oracle.random_inputs(g, seed=3, count=1)[0]
    with Deployment(path, "qemu-m4") as d:
        first, second = d.profile(x), d.profile(x)
    for a, b in zip(first["operators"], second["operators"]):
        assert abs(a["cycles"] - b["cycles"]) <= 40  # one SysTick tick: 40 instructions
    assert abs(first["total"]["cycles"] - first["run"]["cycles"]) <= 0.02 * first["run"]["cycles"]


def test_a_model_too_big_for_the_board_is_refused_before_building(tmp_path):
    """Through a user's own adapter (--adapter): a board folder anywhere, with 1 KB of RAM."""
    big = mg.fully_connected(3, in_features=64, out_features=64, batch=64)
    model = tmp_path / "big.tflite"
    model.write_bytes(big.data)
    adapter = tiny_board(tmp_path)
    with pytest.raises(KilnError, match="needs .* B of arena; tiny has 1,024 B"):
        Deployment(model, "tiny", adapter=adapter)
    assert not (tmp_path / "project").exists()


def test_cli_profile_json_and_kiln_toml(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(2).data)
    (tmp_path / "kiln.toml").write_text('board = "qemu-m4"\n')
    proc = subprocess.run([sys.executable, "-m", "kiln", "profile", str(model), "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["board"] == "qemu-m4"
    assert [o["kind"] for o in r["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert {"cycles", "micros"} <= set(r["total"])
    assert r["unit"] == "instructions" and r["total"]["micros"] is None  # QEMU: no real time
    text = subprocess.run([sys.executable, "-m", "kiln", "profile", str(model)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300).stdout
    assert "(instructions)" in text and " instructions" in text and " us " not in text and "cycles" not in text
    # out: <out>/<model name>, relative to kiln.toml, as the language server and the editor's tasks
    (tmp_path / "kiln.toml").write_text('board = "host"\nout = "gen"\n')
    (tmp_path / "sub").mkdir()
    proc = subprocess.run([sys.executable, "-m", "kiln", "run", str(model)], cwd=tmp_path / "sub",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "gen" / "net" / "net.c").is_file(), sorted(str(p) for p in tmp_path.rglob("*.c"))
    (tmp_path / "kiln.toml").write_text('bord = "x"\n')
    bad = subprocess.run([sys.executable, "-m", "kiln", "profile", str(model)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown key(s) bord" in bad.stderr


@pytest.mark.parametrize("board", ["nucleo-f746zg", "nrf5340dk"])
def test_real_boards_build_their_rpc_firmware_and_say_what_is_missing(board, generated, tmp_path, monkeypatch):
    model, c, gen = generated
    with boards.AdapterClient(boards.find(board).folder / "adapter.py") as a:
        a.call("generate_project", model_dir=str(gen), project_dir=str(tmp_path / "p"))
        built = a.call("build", project_dir=str(tmp_path / "p"), options={"model": str(model)})
        assert built["artifact"].endswith(".hex") and 0 < built["flash_bytes"] <= boards.find(board).config["flash_bytes"] + 65536
        for method, params in (("flash", {"project_dir": str(tmp_path / "p")}), ("open_transport", {})):
            with pytest.raises(KilnError, match="no (ST-LINK|J-Link OB) found .*connect"):
                a.call(method, **params)


@pytest.mark.parametrize("board", ["host", "qemu-m4", "qemu-m7"])
def test_shared_models_over_rpc_equal_tflm(board):
    """The issue's acceptance: hello_world_int8 and ad01_int8 through compile, build, flash, run."""
    for name in ("hello_world_int8", "ad01_int8", "kws_ref_model"):
        path = shared_model(f"{name}.tflite")
        g = compiler.compile_model(path).graph
        records = oracle.random_inputs(g, seed=5, count=3)
        golden = sorted((MODELS / "golden").glob(f"{name}_in*.npy"))
        records += [[np.load(p)] for p in golden]
        with Deployment(path, board) as d:
            got = [d.session.infer(r) for r in records]
        for a, b in zip(got, oracle.run_tflm(path, records, 1)):
            assert np.array_equal(a[0], b[0].reshape(a[0].shape)), (board, name)


def test_cli_run_on_a_real_board_without_a_probe_is_one_clear_line(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(2).data)
    proc = subprocess.run([sys.executable, "-m", "kiln", "run", str(model), "--board", "nrf5340dk"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no J-Link OB found" in proc.stderr.strip().splitlines()[-1]


def test_transport_relayed_through_the_adapter(generated, tmp_path):
    """read_transport / write_transport / close_transport: an INFO request and its answer carried
    by the adapter itself, for clients that cannot open the device's URL."""
    from kiln.device import framing, protocol

    model, c, gen = generated
    with boards.AdapterClient(boards.find("host").folder / "adapter.py") as a:
        a.call("generate_project", model_dir=str(gen), project_dir=str(tmp_path / "p"))
        a.call("build", project_dir=str(tmp_path / "p"))
        a.call("flash", project_dir=str(tmp_path / "p"))
        assert a.write(framing.encode(7, protocol.INFO, b"")) > 0
        decoder, frames = framing.Decoder(), []
        for _ in range(40):
            frames += [f for f in decoder.feed_bytes(a.read(256, timeout=0.25)) if isinstance(f, framing.Frame)]
            if any(f.type == (protocol.INFO | 0x80) for f in frames):
                break
        assert a.call("close_transport") == {}
    answer = next(f for f in frames if f.type == (protocol.INFO | 0x80))
    assert answer.seq == 7 and answer.payload[0] == 0  # status OK
    assert protocol.parse_info(answer.payload[1:]).sha256 == c.graph.source_sha256
