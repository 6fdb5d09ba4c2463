"""The Kiln language server (DESIGN.md decision 7), driven as a subprocess through pytest-lsp."""
from __future__ import annotations

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
    assert [o["kind"] for o in r["operators"]] == ["FULLY_CONNECTED", "SOFTMAX"]
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
        assert f"{t['cycles']:,} cycles" in h.tooltip

    op0 = smap["operators"][0]
    hv = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri(c)), position=types.Position(op0["line_start"], 2)))
    assert "FULLY_CONNECTED" in hv.contents.value and "operator 0" in hv.contents.value
    assert "MACs: 320" in hv.contents.value and "µs" in hv.contents.value

    # an edit in the editor: the figures no longer belong to the text, the hints go
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri(c), language_id="c", version=1, text=c.read_text() + "\n/* mine */\n")))
    assert await _hints(client, c) in (None, [])
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
    assert hints.operator_at(smap, 3)["kind"] == "ADD" and hints.operator_at(smap, 0) is None
