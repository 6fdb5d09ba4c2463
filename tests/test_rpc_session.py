"""The device RPC link end to end: the host device (board_support/host/rpc_main.c, the C RPC server
on a pseudo-terminal) driven by kiln.device.Session.

Outputs must equal the host runner's and TFLite Micro's; the device must refuse every bad request
with the right status; a device that dies, resets, or carries another model must be reported
clearly and in time; and over a link that drops, flips and duplicates bytes every inference must
end with the right outputs or a clear KilnError, never a wrong result and never a hang."""
from __future__ import annotations

import hashlib
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import serial

import modelgen as mg
from harness import FLOAT_ATOL, FLOAT_RTOL, shared_model
from kiln import compiler
from kiln.boards import host
from kiln.compiler import oracle
from kiln.device import (CorruptFrameError, DeviceGoneError, DeviceResetError, HashMismatchError,
                         NoAnswerError, ProtocolError, RemoteError, Session, TimerOverflowError)
from kiln.device import framing
from kiln.device import protocol as P
from kiln.device.faults import FaultyLink
from kiln.boards.host_device import HostDevice, build
from kiln.errors import KilnError


@dataclass
class Built:
    path: Path
    compiled: compiler.Compiled
    device: Path  # the RPC host device executable
    runner: Path  # the plain host runner (board_support/host/runner.c)
    sha256: str

    def records(self, count: int, seed: int):
        return oracle.random_inputs(self.compiled.graph, seed=seed, count=count)

    def runner_outputs(self, records):
        return host.run(self.runner, self.compiled.graph, records).outputs


def build_model(model, tmp: Path, name: str, *, profile: bool = True) -> Built:
    if isinstance(model, (bytes, bytearray)):
        path = tmp / f"{name}.tflite"
        path.write_bytes(model)
    else:
        path = Path(model)
    c = compiler.compile_model(path)
    src = tmp / "src"
    compiler.write(c, src)
    device = build(src, c.name, tmp / "build", profile=profile)
    runner = host.build(src, c.name, tmp / "build")
    return Built(path, c, device, runner, hashlib.sha256(path.read_bytes()).hexdigest())


def typed_io_model() -> bytes:
    """Inputs and outputs of every integer width and bool: int16 and int32 in; int32, bool, int8 out."""
    from kiln.compiler.tflwriter import ModelWriter

    w = ModelWriter()
    x = w.tensor("x_int16", [3, 5], "int16")
    y = w.tensor("y_int32", [7], "int32")
    outs = [w.tensor("x_as_int32", [3, 5], "int32"), w.tensor("y_as_bool", [7], "bool"),
            w.tensor("y_as_int8", [7], "int8")]
    w.op("CAST", [x], [outs[0]])
    w.op("CAST", [y], [outs[1]])
    w.op("CAST", [y], [outs[2]])
    w.inputs, w.outputs = [x, y], outs
    return w.build()


MODELS = {
    "typed_io": typed_io_model,
    "fc_softmax": lambda: mg.fc_softmax(1).data,
    "float_io": lambda: mg.quantized_fc_float_io(10).data,  # float32 inputs and outputs
    "add_two_inputs": lambda: mg.elementwise(4, "ADD", "int8", (2, 1, 5), (1, 4, 1)).data,
    "conv_pool_chunked": lambda: mg.conv_pool(5, input_shape=(1, 16, 16, 3), out_channels=8).data,  # 768 B in, 512 B out
    "hello_world_int8": lambda: shared_model("hello_world_int8.tflite"),
}


@pytest.fixture(scope="module")
def fc(tmp_path_factory) -> Built:
    return build_model(MODELS["fc_softmax"](), tmp_path_factory.mktemp("fc"), "fc_softmax")


@pytest.fixture
def device(fc):
    with HostDevice(fc.device) as dev:
        yield dev


def assert_same(ours, ref, what):
    for k, (a, b) in enumerate(zip(ours, ref)):
        b = np.asarray(b).reshape(a.shape)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=FLOAT_RTOL, atol=FLOAT_ATOL, err_msg=f"{what} output {k}")
        else:
            assert a.dtype == b.dtype and np.array_equal(a, b), f"{what} output {k}: {a.ravel()} vs {b.ravel()}"


# ---- a working link ----

def test_info_describes_the_model(fc, device):
    g = fc.compiled.graph
    with Session(device.url, timeout=1.0) as s:
        info = s.info()
        assert info.protocol == P.PROTOCOL_VERSION and info.max_payload == 256
        assert info.name == g.name
        assert info.sha256 == fc.sha256
        assert info.arena_bytes == g.arena_bytes
        assert info.op_count == len(g.operators)
        assert info.profiling and info.taps  # a profiling build carries tensor taps (kiln diff)
        assert info.timer_hz == 1_000_000_000
        assert info.session == s.token != 0
        assert list(info.input_bytes) == [g.tensor(i).nbytes for i in g.inputs]
        assert list(info.output_bytes) == [g.tensor(i).nbytes for i in g.outputs]
        for t, i in zip(s.inputs + s.outputs, list(g.inputs) + list(g.outputs)):
            ref = g.tensor(i)
            assert t.shape == tuple(ref.shape) and t.dtype == np.dtype(ref.dtype) and t.bytes == ref.nbytes
            assert t.name == ref.name[:64]
            assert t.scale == pytest.approx(ref.scale if ref.scale is not None else 0.0, rel=1e-6)
            assert t.zero_point == (ref.zero_point or 0)


@pytest.mark.parametrize("name", list(MODELS))
def test_outputs_equal_runner_and_tflm(name, tmp_path):
    built = build_model(MODELS[name](), tmp_path, name)
    records = built.records(6, seed=11)
    runner = built.runner_outputs(records)
    tflm = oracle.run_tflm(built.path, records, len(built.compiled.graph.outputs))
    with HostDevice(built.device) as dev, Session(dev.url, expect_sha256=built.sha256) as s:
        for r, record in enumerate(records):
            outs = s.infer(record)
            assert [o.shape for o in outs] == [o.shape for o in runner[r]]
            for a, b in zip(outs, runner[r]):  # the same C, the same compiler: identical bytes
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{name} record {r}: device != runner"
            assert_same(outs, tflm[r], f"{name} record {r} vs TFLite Micro")
            assert s.last_run.run_count == r + 1
        again = [s.get_output(k) for k in range(len(s.outputs))]  # reading twice gives the same
        assert all(a.tobytes() == b.tobytes() for a, b in zip(again, outs))
        assert s.stats["resends"] == 0 and s.stats["corrupt"] == 0


def test_profiled_run_and_timings(fc, device):
    records = fc.records(3, seed=5)
    with Session(device.url) as s:
        outs = s.infer(records[0], profile=True)
        assert_same(outs, fc.runner_outputs(records[:1])[0], "profiled")
        ticks = s.last_timings
        assert len(ticks) == s.info_.op_count == len(fc.compiled.graph.operators)
        assert s.last_run.profiled and s.last_run.ticks is not None
        assert all(t >= 0 for t in ticks) and sum(ticks) > 0
        assert sum(ticks) <= s.last_run.ticks  # nanoseconds of each operator within the whole run
        assert s.get_timings() == ticks  # read again: the same figures
        # a plain run keeps no timings
        s.infer(records[1])
        assert not s.last_run.profiled and s.last_run.ticks > 0
        with pytest.raises(KilnError, match="profiled"):
            s.get_timings()
        st, data = s.request(P.GET_TIMINGS, struct.pack("<IIH", s.token, 0, 1))
        assert st == P.NOT_READY


def test_no_profiling_build_says_so(tmp_path):
    built = build_model(MODELS["fc_softmax"](), tmp_path, "fc_softmax", profile=False)
    with HostDevice(built.device) as dev, Session(dev.url) as s:
        assert not s.info_.profiling
        with pytest.raises(RemoteError, match="profiling"):
            s.run(profile=True)
        st, _ = s.request(P.RUN, struct.pack("<IB", s.token, P.RUN_PROFILE))
        assert st == P.NOT_SUPPORTED
        assert not s.info_.taps  # nor tensor taps: a normal build has none of kiln diff's machinery
        for cmd, payload in ((P.STEP, struct.pack("<II", 0, 0)), (P.GET_TENSOR, struct.pack("<HIH", 0, 0, 1))):
            assert s.request(cmd, struct.pack("<I", s.token) + payload)[0] == P.NOT_SUPPORTED
        with pytest.raises(RemoteError, match="taps"):
            s.step(0, 0)
        assert_same(s.infer(built.records(1, 3)[0]), built.runner_outputs(built.records(1, 3))[0], "no profiling")


def test_timer_overflow_is_an_error_not_a_number(fc):
    with HostDevice(fc.device, args=["--timer-limit", "0"]) as dev, Session(dev.url) as s:
        record = fc.records(1, seed=9)[0]
        with pytest.raises(TimerOverflowError):
            s.infer(record, profile=True)
        result = s.run()  # unprofiled: the outputs are fine, the total time is not given
        assert result.timer_overflow and result.ticks is None
        assert_same([s.get_output(0)], fc.runner_outputs([record])[0], "after overflow")


def test_clang_build(fc, tmp_path):
    src = tmp_path / "src"
    compiler.write(fc.compiled, src)
    exe = build(src, fc.compiled.name, tmp_path / "build", cc="clang")  # strict flags, -Werror
    records = fc.records(2, seed=12)
    with HostDevice(exe) as dev, Session(dev.url) as s:
        for rec, ref in zip(records, fc.runner_outputs(records)):
            assert_same(s.infer(rec, profile=True), ref, "clang build")


def test_socket_url(fc):
    records = fc.records(2, seed=8)
    with HostDevice(fc.device, transport="tcp") as dev:
        assert dev.url.startswith("socket://127.0.0.1:")
        with Session(dev.url) as s:
            for rec, ref in zip(records, fc.runner_outputs(records)):
                assert_same(s.infer(rec), ref, "over TCP")


# ---- refusals ----

def test_device_refuses_bad_requests_with_status(fc, device):
    g = fc.compiled.graph
    in_bytes, out_bytes, ops = g.tensor(g.inputs[0]).nbytes, g.tensor(g.outputs[0]).nbytes, len(g.operators)
    with Session(device.url) as s:
        tok = struct.pack("<I", s.token)

        def status(cmd, payload=b""):
            st, data = s.request(cmd, payload)
            return st, (struct.unpack_from("<I", data)[0] if len(data) >= 4 else None)

        assert status(P.SET_INPUT, tok + struct.pack("<HI", 1, 0) + b"x") == (P.BAD_INDEX, 1)
        assert status(P.SET_INPUT, tok + struct.pack("<HI", 0, in_bytes) + b"x") == (P.BAD_RANGE, in_bytes)
        assert status(P.SET_INPUT, tok + struct.pack("<HI", 0, in_bytes - 1) + b"xy") == (P.BAD_RANGE, in_bytes)
        assert status(P.SET_INPUT, tok + struct.pack("<HI", 0, 0xFFFFFFFF) + b"x") == (P.BAD_RANGE, in_bytes)
        assert status(P.SET_INPUT, tok + struct.pack("<HI", 0, 0))[0] == P.BAD_LENGTH  # no data
        assert status(P.SET_INPUT, struct.pack("<IHI", s.token ^ 1, 0, 0) + b"x")[0] == P.NO_SESSION
        assert status(P.GET_OUTPUT, tok + struct.pack("<HIH", 0, 0, 1))[0] == P.NOT_READY  # nothing ran yet
        assert status(P.GET_OUTPUT, tok + struct.pack("<HIH", 1, 0, 1)) == (P.BAD_INDEX, 1)
        assert status(P.GET_OUTPUT, tok + struct.pack("<HIH", 0, 0, 0))[0] == P.BAD_RANGE
        assert status(P.GET_OUTPUT, tok + struct.pack("<HIH", 0, 0, 256))[0] == P.BAD_RANGE
        assert status(P.GET_OUTPUT, tok + struct.pack("<HIH", 0, out_bytes, 1)) == (P.BAD_RANGE, out_bytes)
        assert status(P.GET_OUTPUT, tok + struct.pack("<HI", 0, 0))[0] == P.BAD_LENGTH
        assert status(P.GET_TIMINGS, tok + struct.pack("<IH", ops, 1)) == (P.BAD_RANGE, ops)
        assert status(P.GET_TIMINGS, tok + struct.pack("<IH", 0, 64))[0] == P.BAD_RANGE  # > 254 / 4
        assert status(P.RUN, tok + b"\x02")[0] == P.BAD_ARGUMENT
        assert status(P.RUN, tok[:3])[0] == P.BAD_LENGTH
        assert status(P.INFO, b"\x00\x00\x00\x00")[0] == P.BAD_ARGUMENT  # token 0 is no session
        assert status(P.INFO, b"\x01\x02")[0] == P.BAD_LENGTH
        assert status(P.TENSOR_INFO, struct.pack("<BH", 2, 0))[0] == P.BAD_ARGUMENT
        assert status(P.TENSOR_INFO, struct.pack("<BH", 1, 1)) == (P.BAD_INDEX, 1)
        assert status(0x33, b"anything") == (P.UNKNOWN_COMMAND, 0x33)
        taps = len(fc.compiled.graph.operators)  # fc_softmax: one output per operator
        last_tap = g.tensor(g.operators[-1].outputs[0]).nbytes
        assert status(P.GET_TENSOR, tok + struct.pack("<HIH", taps, 0, 1)) == (P.BAD_INDEX, taps)
        assert status(P.GET_TENSOR, tok + struct.pack("<HIH", taps - 1, 0, 0))[0] == P.BAD_RANGE
        assert status(P.GET_TENSOR, tok + struct.pack("<HIH", taps - 1, last_tap, 1)) == (P.BAD_RANGE, last_tap)
        assert status(P.GET_TENSOR, tok + struct.pack("<HIH", taps - 1, 0xFFFFFFFF, 1)) == (P.BAD_RANGE, last_tap)
        assert status(P.GET_TENSOR, struct.pack("<IHIH", s.token ^ 1, 0, 0, 1))[0] == P.NO_SESSION
        assert status(P.STEP, tok + struct.pack("<II", 1, 0)) == (P.BAD_RANGE, ops)  # first after last
        assert status(P.STEP, tok + struct.pack("<II", 0, ops)) == (P.BAD_RANGE, ops)
        assert status(P.STEP, tok + struct.pack("<I", 0))[0] == P.BAD_LENGTH
        assert status(P.RESET, b"x")[0] == P.BAD_LENGTH
        # host-side checks come before anything is sent
        with pytest.raises(KilnError, match="no input 1"):
            s.set_input(1, np.zeros(in_bytes, np.int8))
        with pytest.raises(KilnError, match="needs"):
            s.set_input(0, np.zeros(in_bytes + 1, np.int8))
        with pytest.raises(KilnError, match="quantize"):
            s.set_input(0, np.zeros(in_bytes, np.float32))
        # a frame with a bad CRC is answered with a NAK, not acted on
        bad = bytearray(framing.encode(0x55, P.RUN, tok + b"\x00"))
        bad[-1] ^= 0xFF
        s.link.write(bytes(bad))
        deadline, naks = time.monotonic() + 10, []  # generous: a loaded machine answers late
        while not naks and time.monotonic() < deadline:
            naks = [e for e in s.decoder.feed_bytes(s.link.read(64)) if isinstance(e, framing.Frame) and e.type == P.NAK]
        assert naks and naks[0].payload == bytes([P.BAD_FRAME, framing.ERR_CRC])
        assert s.info().run_count == 0  # nothing ran
        # after all that the device still works
        rec = fc.records(1, seed=1)
        assert_same(s.infer(rec[0]), fc.runner_outputs(rec)[0], "after refusals")


def test_repeated_request_is_answered_not_rerun(fc, device):
    with Session(device.url) as s:
        s.infer(fc.records(1, seed=2)[0])
        runs = s.last_run.run_count
        seq = s._next_seq()
        frame = framing.encode(seq, P.RUN, struct.pack("<IB", s.token, 0))
        s.link.write(frame + frame)  # as if the first answer had been lost and the host resent
        answers, deadline = [], time.monotonic() + 10
        while len(answers) < 2 and time.monotonic() < deadline:
            answers += [e for e in s.decoder.feed_bytes(s.link.read(64))
                        if isinstance(e, framing.Frame) and e.type == P.RUN | P.RESPONSE]
        assert len(answers) == 2 and answers[0] == answers[1]
        assert P.parse_run(answers[0].payload[1:], 1, 1).run_count == runs + 1  # ran once
        # the session did not see that run: its run-count check notices the extra inference
        with pytest.raises(ProtocolError, match="more than once"):
            s.run()


def test_reset_clears_the_device(fc, device):
    rec = fc.records(1, seed=3)
    with Session(device.url) as s:
        s.infer(rec[0])
        old = s.token
        s.reset()
        assert s.token != old and s.info().session == s.token
        st, _ = s.request(P.GET_OUTPUT, struct.pack("<IHIH", s.token, 0, 0, 1))
        assert st == P.NOT_READY
        st, _ = s.request(P.RUN, struct.pack("<IB", old, 0))
        assert st == P.NO_SESSION  # the old session is gone
        assert_same(s.infer(rec[0]), fc.runner_outputs(rec)[0], "after reset")


# ---- a device that is not what, or not where, it should be ----

def test_hash_mismatch(fc, device, tmp_path):
    with pytest.raises(HashMismatchError, match="fc_softmax"):
        Session(device.url, expect_sha256="00" * 32)
    with Session(device.url, expect_sha256=fc.sha256) as s:  # the right model is accepted
        assert s.info_.sha256 == fc.sha256
    other = build_model(mg.fully_connected(2).data, tmp_path, "other")
    with HostDevice(other.device) as dev2:
        with pytest.raises(HashMismatchError, match="built from model 'other'"):
            Session(dev2.url, expect_sha256=fc.sha256)


@pytest.mark.parametrize("announce", [True, False])
def test_device_reset_mid_session(fc, announce):
    rec = fc.records(1, seed=4)
    args = [] if announce else ["--no-announce"]
    with HostDevice(fc.device, args=args) as dev, Session(dev.url, timeout=0.5, retries=2) as s:
        s.set_input(0, rec[0][0])
        dev.restart()  # the board resets: RAM (inputs, session) is gone
        time.sleep(0.2)
        t0 = time.monotonic()
        with pytest.raises(DeviceResetError, match="restarted|reset"):
            s.run()
        assert time.monotonic() - t0 < 3 * 0.5 + 1
        with pytest.raises(DeviceResetError):
            s.get_output(0)  # nothing pretends to work afterwards
        s.open()
        assert_same(s.infer(rec[0]), fc.runner_outputs(rec)[0], "after the device reset")


@pytest.mark.parametrize("hangup", [True, False])
def test_device_killed_mid_run(fc, hangup):
    timeout, retries, run_timeout = 0.3, 2, 2.0
    with HostDevice(fc.device, args=["--slow-run", "1500"]) as dev:
        s = Session(dev.url, timeout=timeout, retries=retries, run_timeout=run_timeout)
        s.set_input(0, fc.records(1, seed=6)[0][0])
        threading.Timer(0.4, dev.kill, kwargs={"hangup": hangup}).start()
        t0 = time.monotonic()
        with pytest.raises(DeviceGoneError if hangup else NoAnswerError) as err:
            s.run()
        elapsed = time.monotonic() - t0
        s.close()
    bound = (retries + 1) * timeout + run_timeout + 0.5
    assert elapsed < bound, f"{type(err.value).__name__} after {elapsed:.2f} s, bound {bound:.2f} s"
    if hangup:
        assert elapsed < 1.5  # a closed port is noticed at once
    print(f"killed device (hangup={hangup}) reported as {type(err.value).__name__} after {elapsed:.2f} s")


def test_no_device_behind_the_port():
    t0 = time.monotonic()
    with pytest.raises(NoAnswerError, match="no answer to INFO"):
        Session("loop://", timeout=0.1, retries=1)  # our own frames come back: not answers
    assert time.monotonic() - t0 < 1.0
    with pytest.raises(DeviceGoneError, match="cannot open"):
        Session("/dev/kiln-no-such-port")


# ---- a damaged link ----

FAULTS = {  # drop, flip, duplicate: per byte, each direction
    "drop": (0.005, 0, 0),
    "flip": (0, 0.005, 0),
    "duplicate": (0, 0, 0.005),
    "mixed": (0.003, 0.003, 0.003),
    "heavy": (0.02, 0.02, 0.02),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_faulty_link_gives_right_results_or_clear_errors(fc, kind):
    drop, flip, dup = FAULTS[kind]
    count = 12 if kind == "heavy" else 20
    records = fc.records(count, seed=100)
    expected = fc.runner_outputs(records)
    timeout, retries, run_timeout = 0.15, 6, 2.0
    per_call = (retries + 1) * timeout + 0.1  # one request's bound
    bound = 3 * per_call + run_timeout + 1.0  # set_input, run, get_output, slack
    ok, errors, worst = 0, {}, 0.0
    with HostDevice(fc.device) as dev:
        link = FaultyLink(serial.serial_for_url(dev.url, timeout=0.02), drop=drop, flip=flip, duplicate=dup,
                          seed=hash(kind) & 0xFFFF)
        link.paused = True
        s = Session(link, timeout=timeout, retries=retries, run_timeout=run_timeout)
        link.paused = False
        for rec, ref in zip(records, expected):
            t0 = time.monotonic()
            try:
                outs = s.infer(rec)
            except (NoAnswerError, CorruptFrameError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            else:
                assert outs[0].tobytes() == ref[0].tobytes(), f"{kind}: a wrong result was reported as right"
                ok += 1
            elapsed = time.monotonic() - t0
            worst = max(worst, elapsed)
            assert elapsed < bound, f"{kind}: an inference took {elapsed:.2f} s (bound {bound:.2f} s)"
        injected = {k: v for k, v in link.counts.items() if k != "bytes"}
        # the link is healed: the same session carries on correctly
        link.paused = True
        assert s.infer(records[0])[0].tobytes() == expected[0][0].tobytes()
        s.close()
    print(f"{kind}: {ok}/{count} right, errors {errors}, worst {worst:.2f} s, faults {injected}, "
          f"session {s.stats}")
    assert sum(injected.values()) > 0
    assert s.stats["resends"] > 0  # recovery was exercised
    if kind != "heavy":
        assert ok >= 0.75 * count, f"{kind}: only {ok} of {count} inferences got through"
