"""The Kiln language server (DESIGN.md decision 7), driven as a subprocess through pytest-lsp."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pygls.exceptions import JsonRpcException  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

import modelgen as mg  # noqa: E402
from harness import tiny_board  # noqa: E402
import numpy as np  # noqa: E402

from kiln import compiler  # noqa: E402
from kiln.lsp import hints  # noqa: E402
from kiln.lsp.protocol import plain  # noqa: E402

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "kiln.lsp"])
aio = pytest.mark.asyncio(loop_scope="module")
EVENTS: list = []


@pytest_lsp.fixture(scope="module", config=SERVER)
async def client(lsp_client: LanguageClient):
    @lsp_client.feature("kiln/deviceEvent")
    def device_event(params):
        EVENTS.append(plain(params))

    @lsp_client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params):
        return None

    await lsp_client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("lsp")
    (d / "clf.tflite").write_bytes(mg.fc_softmax(1).data)
    (d / "lstm.tflite").write_bytes(mg.unsupported_operator("LSTM"))
    b = mg.ModelBuilder()
    x = b.input("input", (1, 8), "float32")
    for i in range(32):
        y = b.tensor(f"t{i}", (1, 8), "float32")
        b.op("RELU", [x], [y])
        x = y
    b.output(x)
    (d / "chain.tflite").write_bytes(b.build())
    import stateful_models

    (d / "ring.tflite").write_bytes(stateful_models.ring("int8"))
    return d


def uri(p: Path) -> str:
    return from_fs_path(str(p))


async def request(client: LanguageClient, method: str, params: dict):
    return plain(await client.protocol.send_request_async(method, params))


@aio
async def test_boards_lists_host(client):
    r = await request(client, "kiln/boards", {})
    names = [b["name"] for b in r["boards"]]
    assert "host" in names
    assert {"name", "cpu", "ram_bytes", "flash_bytes", "clock_hz", "description"} <= set(r["boards"][0])


@aio
async def test_compile_writes_files_and_summary(client, work):
    r = await request(client, "kiln/compile", {"uri": uri(work / "clf.tflite")})
    out = work / "kiln_out" / "clf"
    assert r["outDir"] == uri(out)
    names = {Path(f).name for f in r["files"]}
    assert {"clf.c", "clf.h", "clf_weights.h", "clf.kiln.json"} <= names
    s = r["summary"]
    assert [o["kind"] for o in s["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert s["macs"] == 320 and s["arena_bytes"] > 0 and s["flash_bytes"] > 0
    assert r["problems"] == []
    assert {"CMakeLists.txt", "kiln.mk"} <= names
    b = r["buildSystem"]  # whatever build lies above the work folder; the keys the extension reads are there
    assert {"kind", "file", "lines", "uses_model", "tested_here", "note", "model"} <= set(b) and b["model"] == "clf"
    assert any(tok for tok, reports in client.progress_reports.items() if reports and reports[-1].kind == "end")
    # no profile yet: no hints, but hover knows the operator
    c = out / "clf.c"
    assert await _hints(client, c) in (None, [])


async def _hints(client, c: Path):
    n = len(c.read_text().splitlines())
    return await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri(c)),
        range=types.Range(types.Position(0, 0), types.Position(n, 0))))


@aio
async def test_profile_then_hints_and_hover(client, work):
    model = work / "clf.tflite"
    EVENTS.clear()
    r = await request(client, "kiln/profile", {"uri": uri(model), "board": "host"})
    assert [o["kind"] for o in r["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"] and r["unit"] == "nanoseconds"
    for o in r["operators"]:
        assert o["cycles"] > 0 and o["micros"] > 0 and 0 < o["share"] <= 1
    assert r["total"]["cycles"] == pytest.approx(sum(o["cycles"] for o in r["operators"]), abs=2)
    assert any("building" in e["message"] for e in EVENTS), EVENTS

    c = work / "kiln_out" / "clf" / "clf.c"
    smap = json.loads((c.parent / "clf.kiln.json").read_text())
    got = await _hints(client, c)
    assert [h.position.line for h in got] == [op["line_start"] - 1 for op in smap["operators"]]
    lines = c.read_text().splitlines()
    for h, op, t in zip(got, smap["operators"], r["operators"]):
        assert op["function"] in lines[h.position.line]
        assert h.label == " " + hints.label(t) and "µs" in h.label and f"{100 * t['share']:.1f}%" in h.label
        assert f"{t['cycles']:,} nanoseconds" in h.tooltip  # the host's counter is its wall clock

    op0 = smap["operators"][0]
    hv = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri(c)), position=types.Position(op0["line_start"], 2)))
    assert "FULLY_CONNECTED" in hv.contents.value and "operator 0" in hv.contents.value
    assert "MACs: 320" in hv.contents.value and "µs" in hv.contents.value

    # an edit in the editor (two lines above everything): the hints follow their functions
    edited = "/* mine */\n/* mine too */\n" + c.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri(c), language_id="c", version=1, text=edited)))
    moved = await _hints(client, c)
    assert [h.position.line for h in moved] == [op["line_start"] + 1 for op in smap["operators"]]
    assert all(op["function"] in edited.splitlines()[h.position.line] for h, op in zip(moved, smap["operators"]))
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri(c))))
    assert len(await _hints(client, c)) == 2
    # a recompile drops them too
    await request(client, "kiln/compile", {"uri": uri(model)})
    assert await _hints(client, c) in (None, [])


@aio
async def test_run_compares_with_tflm(client, work):
    r = await request(client, "kiln/run", {"uri": uri(work / "clf.tflite")})
    (o,) = r["outputs"]
    assert o["shape"] == [1, 10] and o["dtype"] == "int8" and o["max_abs_diff"] == 0
    assert o["reference"] == o["values"] and len(o["values"]) == 10


@aio
async def test_run_and_profile_a_stateful_model_as_a_sequence(client, work):
    """A model that keeps state runs as a sequence from its reset state (10 invocations unless asked),
    each step compared with TFLite Micro's; its profile gives per-operator means."""
    from kiln.compiler import oracle
    from kiln.lsp import protocol

    model = work / "ring.tflite"
    r = await request(client, "kiln/run", {"uri": uri(model), "board": "host"})
    assert r["steps"] == protocol.SEQUENCE_STEPS and r["state_bytes"] == 20
    y, ring = r["outputs"]
    assert len(y["sequence"]) == protocol.SEQUENCE_STEPS and y["values"] == y["sequence"][-1]
    assert y["max_abs_diff"] == 0 and ring["max_abs_diff"] == 0
    records = oracle.random_inputs(compiler.compile_model(model).graph, seed=0, count=protocol.SEQUENCE_STEPS)
    ref = oracle.run_tflm(model, records, 2)
    assert ring["sequence"] == [np.asarray(s[1]).reshape(-1).tolist() for s in ref]
    r = await request(client, "kiln/run", {"uri": uri(model), "board": "host", "steps": 3})
    assert r["steps"] == 3 and len(r["outputs"][0]["sequence"]) == 3
    p = await request(client, "kiln/profile", {"uri": uri(model), "board": "qemu-m4", "steps": 4})
    assert p["steps"] == 4 and len(p["per_step_cycles"]) == 4
    assert p["per_step_cycles"][0] > p["per_step_cycles"][1]  # the first invocation runs CALL_ONCE's subgraph
    assert p["total"]["cycles"] == pytest.approx(sum(p["per_step_cycles"]) / 4, abs=len(p["operators"]))


@aio
async def test_report_lists_operators_and_the_memory_timeline(client, work):
    r = await request(client, "kiln/report", {"uri": uri(work / "clf.tflite")})
    assert [o["kind"] for o in r["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert r["problems"] == [] and r["totals"]["macs"] == sum(o["macs"] for o in r["operators"]) > 0
    assert all(o["live_bytes"] > 0 for o in r["operators"])
    # every buffer lies inside the arena, and buffers alive at the same step do not overlap
    arena = r["totals"]["arena_bytes"]
    bufs = r["buffers"]
    assert bufs and all(0 <= b["offset"] and b["offset"] + b["size"] <= arena for b in bufs)
    for a in bufs:
        for b in bufs:
            if a is not b and a["first"] <= b["last"] and b["first"] <= a["last"]:
                assert a["offset"] + a["size"] <= b["offset"] or b["offset"] + b["size"] <= a["offset"]


@aio
async def test_report_of_a_model_kiln_cannot_compile_names_the_problem(client, work):
    r = await request(client, "kiln/report", {"uri": uri(work / "lstm.tflite")})
    assert [o["kind"] for o in r["operators"]] == ["LSTM"] and r["operators"][0]["macs"] is None
    assert len(r["problems"]) == 1 and "LSTM" in r["problems"][0]
    with pytest.raises(JsonRpcException) as e:
        await request(client, "kiln/report", {"uri": uri(work / "missing.tflite")})
    assert "missing.tflite" in str(e.value)


@aio
async def test_tune_reports_variants_and_writes_the_log(client, tmp_path):
    import numpy as np

    model = tmp_path / "conv.tflite"
    model.write_bytes(mg.conv2d(np.random.default_rng(3), input_shape=(1, 10, 10, 8), out_channels=8).data)
    EVENTS.clear()
    r = await request(client, "kiln/tune", {"uri": uri(model), "board": "host"})
    (op,) = r["operators"]
    assert set(op["variants"]) == {"direct", "im2col", "direct16"} and op["chosen"] in op["variants"]
    assert r["before"]["operators"][0]["function"] == "op000_conv_2d" and r["after"]["total"]["cycles"] > 0
    assert (tmp_path / "kiln-tuning.json").is_file() and r["log"] == str(tmp_path / "kiln-tuning.json")
    assert any(e["request"] == "kiln/tune" and "round 3/3" in e["message"] for e in EVENTS)


@aio
async def test_stays_responsive_during_a_long_request(client, work):
    import asyncio

    long = asyncio.ensure_future(request(client, "kiln/run", {"uri": uri(work / "clf.tflite")}))
    await asyncio.sleep(0.05)
    boards = await request(client, "kiln/boards", {})
    assert not long.done(), "kiln/boards should answer while kiln/run builds and runs"
    assert boards["boards"]
    assert (await long)["outputs"][0]["max_abs_diff"] == 0


@aio
async def test_unsupported_operator_diagnostic(client, work):
    model = work / "lstm.tflite"
    client.messages.clear()
    with pytest.raises(JsonRpcException) as e:
        await request(client, "kiln/compile", {"uri": uri(model)})
    assert "LSTM" in str(e.value)
    (d,) = client.diagnostics[uri(model)]
    assert "LSTM" in d.message and d.range.start == types.Position(0, 0)
    assert d.severity == types.DiagnosticSeverity.Error
    assert any(m.type == types.MessageType.Error and "LSTM" in m.message for m in client.messages)
    # still up
    assert "host" in [b["name"] for b in (await request(client, "kiln/boards", {}))["boards"]]


@aio
async def test_a_model_that_does_not_compile_is_a_problem_on_it(client, tmp_path):
    model = tmp_path / "broken.tflite"
    model.write_bytes(b"this is not a TensorFlow Lite model")
    with pytest.raises(JsonRpcException):
        await request(client, "kiln/compile", {"uri": uri(model)})
    (d,) = client.diagnostics[uri(model)]
    assert "not a TensorFlow Lite model" in d.message and d.severity == types.DiagnosticSeverity.Error


@aio
async def test_latency_figures(client, work):
    """`kiln lsp` starts; printed, not asserted: start-to-initialized and inlay-hint latency on a 33-operator file."""
    t0 = time.perf_counter()
    other = await ClientServerConfig(server_command=[sys.executable, "-m", "kiln", "lsp"]).start()  # the CLI way
    await other.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    startup = time.perf_counter() - t0
    await other.shutdown_session()

    model = work / "chain.tflite"
    await request(client, "kiln/profile", {"uri": uri(model)})
    c = work / "kiln_out" / "chain" / "chain.c"
    got = await _hints(client, c)
    assert len(got) == 32
    times = []
    for _ in range(20):
        t = time.perf_counter()
        await _hints(client, c)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"\nkiln lsp: start to initialized {startup * 1000:.0f} ms; inlay hints for {len(got)} operators: "
          f"median {times[len(times) // 2] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")


def test_hints_pure():
    smap = {"operators": [{"index": 0, "kind": "ADD", "function": "op000_add", "line_start": 2, "line_end": 4, "macs": 0}]}
    prof = {"board": "host", "operators": [{"index": 0, "kind": "ADD", "function": "op000_add", "cycles": 1062000,
                                            "micros": 1062.0, "share": 0.141, "macs": 0}], "total": {"micros": 7500.0}}
    (h,) = hints.inlay_hints(smap, prof, "x\nstatic void op000_add(void)\n{\n}\n")
    assert (h.line, h.character) == (1, 27) and h.label == " ⏱ 1,062 µs · 14.1%"
    assert hints.inlay_hints(smap, None, "x\n") == []
    qemu = {"board": "qemu-m4", "unit": "instructions", "total": {"cycles": 7_500_000, "micros": None},
            "operators": [{**prof["operators"][0], "micros": None}]}
    (h,) = hints.inlay_hints(smap, qemu, "x\nstatic void op000_add(void)\n{\n}\n")
    assert h.label == " ⏱ 1,062,000 instructions · 14.1%" and "1,062,000 instructions" in h.tooltip
    hover = hints.hover_text(smap["operators"][0], qemu)
    assert "1,062,000 instructions (14.1% of 7,500,000 instructions)" in hover and "µs" not in hover
    text = "x\nstatic void op000_add(void)\n{\n}\n"
    assert hints.operator_at(smap, 3, text)["kind"] == "ADD" and hints.operator_at(smap, 0, text) is None


GENERATED = """/* header */
#include "m.h"

/* Operator 0: CONV_2D
 * { not a brace that counts }
 */
static void op000_conv_2d(uint8_t *arena)
{
    static const int p[2] = {1, 2};
    kiln_conv(arena, "}", '{', p);
}

/* Operator 1: SOFTMAX */
static void op001_softmax(uint8_t *arena)
{
    if (arena) {
        kiln_softmax(arena); // }
    }
}

static int run(void)
{
    op000_conv_2d(0);
    op001_softmax(0);
    return 0;
}
"""
SMAP = {"operators": [{"index": 0, "kind": "CONV_2D", "function": "op000_conv_2d", "line_start": 7, "line_end": 11},
                      {"index": 1, "kind": "SOFTMAX", "function": "op001_softmax", "line_start": 14, "line_end": 19}]}


def _spans(text):
    return {op["function"]: (op["line_start"], op["line_end"]) for op in hints.locate(SMAP, text)}


def test_positions_follow_edits():
    """Hints, hover and heat find each operator's function in the text as it is now (issue 20):
    the source map's lines are where they were at generation, the text may have moved since."""
    assert _spans(GENERATED) == {"op000_conv_2d": (7, 11), "op001_softmax": (14, 19)}
    above = "/* my note */\n/* another */\n" + GENERATED  # two lines added above everything
    assert _spans(above) == {"op000_conv_2d": (9, 13), "op001_softmax": (16, 21)}
    inside = GENERATED.replace("    static const int p[2]", "    int extra = 0;\n    (void)extra;\n    static const int p[2]")
    assert _spans(inside) == {"op000_conv_2d": (7, 13), "op001_softmax": (16, 21)}
    between = GENERATED.replace("/* Operator 1: SOFTMAX */", "static int helper(void) { return 1; }\n\n/* Operator 1 */")
    assert _spans(between) == {"op000_conv_2d": (7, 11), "op001_softmax": (16, 21)}
    deleted = GENERATED.replace(GENERATED[GENERATED.index("/* Operator 0"):GENERATED.index("/* Operator 1")], "")
    assert _spans(deleted) == {"op001_softmax": (5, 10)}
    prof = {"board": "qemu-m4", "operators": [{"index": i, "kind": k, "function": f, "cycles": 10, "micros": 1.0,
                                               "share": 0.5, "macs": 0} for i, (k, f) in enumerate(
        [("CONV_2D", "op000_conv_2d"), ("SOFTMAX", "op001_softmax")])], "total": {"micros": 2.0}}
    lines = above.splitlines()
    for h in hints.inlay_hints(SMAP, prof, above):  # on the `static void op...(` line, at its end
        assert lines[h.line].startswith("static void op") and h.character == len(lines[h.line])
    assert hints.operator_at(SMAP, 12, above)["kind"] == "CONV_2D"  # the closing brace, moved down by 2
    assert hints.operator_at(SMAP, 7, above) is None  # what is now the comment above it


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


@aio
async def test_build_and_flash_keep_the_deployment(client, work):
    model = work / "clf.tflite"
    EVENTS.clear()
    b = await request(client, "kiln/build", {"uri": uri(model), "board": "host"})
    art = Path(b["artifact"].removeprefix("file://"))
    assert art.is_file() and art.stat().st_size > 0 and b["board"] == "host"
    assert any(e["request"] == "kiln/build" and "building" in e["message"] for e in EVENTS), EVENTS

    f = await request(client, "kiln/flash", {"uri": uri(model), "board": "host"})
    assert f["board"] == "host" and f["url"] and f["model_sha256"] == _sha(model)
    EVENTS.clear()
    r = await request(client, "kiln/run", {"uri": uri(model), "board": "host"})
    assert r["outputs"][0]["max_abs_diff"] == 0
    assert any("using the firmware flashed" in e["message"] for e in EVENTS), EVENTS
    assert not any("building" in e["message"] for e in EVENTS), EVENTS
    EVENTS.clear()
    pr = await request(client, "kiln/profile", {"uri": uri(model), "board": "host"})
    assert [o["kind"] for o in pr["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert any("using the firmware flashed" in e["message"] for e in EVENTS), EVENTS
    # another flash replaces it (the old one is closed), and still serves runs
    f2 = await request(client, "kiln/flash", {"uri": uri(model), "board": "host"})
    assert f2["model_sha256"] == f["model_sha256"]
    r2 = await request(client, "kiln/run", {"uri": uri(model), "board": "host"})
    assert r2["outputs"][0]["values"] == r["outputs"][0]["values"]
    assert _devices("clf_rpc_device", want=1) == 1, "the replaced deployment should be closed"


def _devices(exe_name: str, want: int | None = None) -> int:
    """How many host-board device processes of this name run (waiting up to 5 s for ``want``)."""
    for _ in range(50):
        n = 0
        for d in Path("/proc").iterdir():
            try:
                if d.name.isdigit() and exe_name in (d / "cmdline").read_bytes().decode(errors="replace"):
                    n += 1
            except OSError:
                pass
        if want is None or n == want:
            return n
        time.sleep(0.1)
    return n


@aio
async def test_cancel_a_long_request(client, work, tmp_path):
    import asyncio

    import harness

    try:
        model = harness.shared_model("vww_96_int8.tflite")
    except pytest.skip.Exception:
        model = tmp_path / "conv.tflite"
        model.write_bytes(mg.conv2d(1, input_shape=(1, 48, 48, 16), out_channels=32).data)
    EVENTS.clear()
    fut = asyncio.ensure_future(client.protocol.send_request_async("kiln/profile", {"uri": uri(model), "board": "qemu-m4",
                                                             "outDir": str(tmp_path / "out")}, msg_id="cancel-me"))
    for _ in range(200):  # until it has started
        if any(e["request"] == "kiln/profile" for e in EVENTS):
            break
        await asyncio.sleep(0.05)
    assert EVENTS, "the profile never started"
    t0 = time.perf_counter()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as e:
        await asyncio.wait_for(fut, 10)
    assert time.perf_counter() - t0 < 5
    assert e.value.code == -32800, e.value
    assert "host" in [b["name"] for b in (await request(client, "kiln/boards", {}))["boards"]]


@aio
async def test_qemu_profile_is_exact_and_gives_hints(client, work, tmp_path):
    model = tmp_path / "small.tflite"
    model.write_bytes(mg.fc_softmax(3).data)
    out = tmp_path / "gen"
    params = {"uri": uri(model), "board": "qemu-m4", "outDir": str(out)}
    a = await request(client, "kiln/profile", params)
    b = await request(client, "kiln/profile", params)
    assert a["board"] == "qemu-m4" and a.get("exact")
    assert [o["kind"] for o in a["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert all(o["cycles"] > 0 for o in a["operators"])
    assert [o["cycles"] for o in a["operators"]] == [o["cycles"] for o in b["operators"]]
    got = await _hints(client, out / "small.c")
    assert len(got) == 2
    for h, t in zip(got, b["operators"]):
        # QEMU counts instructions, which are no real CPU's time: the count and its unit, no µs
        assert h.label == " " + hints.label(t, "instructions") == f" ⏱ {t['cycles']:,} instructions · {100 * t['share']:.1f}%"
        assert "on qemu-m4" in h.tooltip and f"{t['cycles']:,} instructions" in h.tooltip
    assert a["unit"] == "instructions" and all(o["micros"] is None for o in a["operators"]) and a["total"]["micros"] is None


@aio
async def test_a_model_too_big_for_the_board(client, tmp_path):
    big = tmp_path / "big.tflite"
    big.write_bytes(mg.fully_connected(3, in_features=64, out_features=64, batch=64).data)
    adapter = tiny_board(tmp_path)
    client.messages.clear()
    with pytest.raises(JsonRpcException) as e:
        await request(client, "kiln/build", {"uri": uri(big), "board": "tiny", "adapter": str(adapter)})
    assert "B of arena; tiny has 1,024 B" in str(e.value)
    (d,) = client.diagnostics[uri(big)]
    assert "big.tflite needs" in d.message and "1,024 B" in d.message
    assert any(m.type == types.MessageType.Error and "1,024 B" in m.message for m in client.messages)
    assert not list(tmp_path.glob("**/build"))


@aio
async def test_configuration_from_kiln_toml_and_settings(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(mg.fc_softmax(4).data)
    (tmp_path / "kiln.toml").write_text('board = "nope"\nout = "gen"\n')
    other = await SERVER.start()
    try:
        await other.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=uri(tmp_path),
            workspace_folders=[types.WorkspaceFolder(uri=uri(tmp_path), name="w")]))
        r = await request(other, "kiln/compile", {"uri": uri(model)})
        assert r["outDir"] == uri(tmp_path / "gen" / "m")
        with pytest.raises(JsonRpcException, match="nope"):  # kiln.toml's board
            await request(other, "kiln/run", {"uri": uri(model)})
        r = await request(other, "kiln/run", {"uri": uri(model), "board": "host"})  # params win
        assert r["board"] == "host"

        # client settings win over kiln.toml
        other.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"kiln": {"board": "host", "outDir": str(tmp_path / "elsewhere")}}))
        r = await request(other, "kiln/run", {"uri": uri(model)})
        assert r["board"] == "host"
        r = await request(other, "kiln/compile", {"uri": uri(model)})
        assert r["outDir"] == uri(tmp_path / "elsewhere" / "m")
        r = await request(other, "kiln/compile", {"uri": uri(model), "outDir": str(tmp_path / "mine")})
        assert r["outDir"] == uri(tmp_path / "mine")

        # settings cleared, kiln.toml edited: read again
        other.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"kiln": {}}))
        (tmp_path / "kiln.toml").write_text('board = "host"\nout = "gen2"\n')
        r = await request(other, "kiln/compile", {"uri": uri(model)})
        assert r["outDir"] == uri(tmp_path / "gen2" / "m")
        assert (await request(other, "kiln/run", {"uri": uri(model)}))["board"] == "host"
        f = await request(other, "kiln/flash", {"uri": uri(model)})
        assert f["board"] == "host" and _devices("m_rpc_device") == 1
    finally:
        await other.shutdown_session()
    assert _devices("m_rpc_device", want=0) == 0, "shutdown should close the flashed deployment"


@aio
async def test_compile_a_shared_model_into_a_workspace(client, tmp_path):
    from harness import shared_model

    model = tmp_path / "kws.tflite"
    model.write_bytes(shared_model("kws_ref_model.tflite").read_bytes())  # into a temporary workspace
    r = await request(client, "kiln/compile", {"uri": uri(model)})
    assert len(r["summary"]["operators"]) == 13 and r["summary"]["arena_bytes"] <= 16000  # at or below the naive bound
    assert any(Path(f).name == "kws.c" for f in r["files"])


@aio
async def test_a_device_error_is_a_clear_message_and_the_server_stays_up(client, work):
    client.messages.clear()
    with pytest.raises(JsonRpcException) as e:
        await request(client, "kiln/run", {"uri": uri(work / "clf.tflite"), "board": "nucleo-f746zg"})
    assert "no ST-LINK found" in str(e.value)
    assert any(m.type == types.MessageType.Error and "no ST-LINK found" in m.message for m in client.messages)
    assert "host" in [b["name"] for b in (await request(client, "kiln/boards", {}))["boards"]]


@aio
async def test_compile_for_a_board_too_small_is_a_diagnostic(client, tmp_path):
    """kiln/compile with a board: 8192 x 64 int8 activations in and out (1 MiB) do not fit the
    Nucleo's RAM; the same model compiles for qemu-m4 (4 MiB) and the diagnostic clears."""
    big = tmp_path / "wide.tflite"
    big.write_bytes(mg.fully_connected(3, in_features=64, out_features=64, batch=8192).data)
    client.messages.clear()
    with pytest.raises(JsonRpcException) as e:
        await request(client, "kiln/compile", {"uri": uri(big), "board": "nucleo-f746zg"})
    assert "B of arena; nucleo-f746zg has" in str(e.value)
    (d,) = client.diagnostics[uri(big)]
    assert "wide.tflite needs" in d.message and d.severity == types.DiagnosticSeverity.Error
    assert not (tmp_path / "kiln_out").exists()  # nothing written
    ok = await request(client, "kiln/compile", {"uri": uri(big), "board": "qemu-m4"})
    assert ok["summary"]["arena_bytes"] >= 1 << 20
    assert not client.diagnostics.get(uri(big))  # cleared


@aio
async def test_diff_marks_the_first_differing_operator_and_clears_when_stale(client, work):
    """kiln/diff: on the C as generated every operator matches and nothing is marked; after an edit
    to operator 0's function on disk, operator 0 carries an error and operator 1 an information
    mark; an edit in the editor clears them."""
    model = work / "clf.tflite"
    await request(client, "kiln/compile", {"uri": uri(model)})
    c = work / "kiln_out" / "clf" / "clf.c"
    EVENTS.clear()
    r = await request(client, "kiln/diff", {"uri": uri(model), "board": "host"})
    assert r["first_diverging"] is None and r["file"] == uri(c)
    assert [o["function"] for o in r["operators"]] == ["op000_fully_connected", "op001_softmax"]
    assert all(o["mismatches"] == 0 and o["max_abs_diff"] == 0 for o in r["operators"])
    assert any(e["request"] == "kiln/diff" for e in EVENTS)
    assert not client.diagnostics.get(uri(c))
    text = c.read_text()
    start = text.index("static void op000_fully_connected")
    body_end = text.index("\n}\n", start)
    assert ".act_max = 127" in text[start:body_end]
    c.write_text(text[:start] + text[start:body_end].replace(".act_max = 127", ".act_max = -100", 1) + text[body_end:])
    r = await request(client, "kiln/diff", {"uri": uri(model), "board": "host"})
    assert r["first_diverging"] == 0 and r["operators"][0]["mismatches"] > 0
    lines = c.read_text().splitlines()
    assert "op000_fully_connected" in lines[r["operators"][0]["line"]]
    diags = client.diagnostics[uri(c)]
    first = [d for d in diags if d.severity == types.DiagnosticSeverity.Error]
    assert len(first) == 1 and "first to differ" in first[0].message and "FULLY_CONNECTED" in first[0].message
    assert "op000_fully_connected" in lines[first[0].range.start.line]
    later = [d for d in diags if d.severity == types.DiagnosticSeverity.Information]
    assert all("op001_softmax" in lines[d.range.start.line] for d in later)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri(c), language_id="c", version=1, text=c.read_text())))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(c), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="/* fixed */\n" + c.read_text())]))
    for _ in range(50):
        if not client.diagnostics.get(uri(c)):
            break
        await asyncio.sleep(0.05)
    assert not client.diagnostics.get(uri(c)), "the marks outlived the text they were for"
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri(c))))
    c.unlink()  # the next test's compile writes it afresh
