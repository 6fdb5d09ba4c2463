"""The Python fuzz targets (atheris drives them in bench/fuzz_compiler.py and fuzz_host.py; the
regression test tests/test_fuzz_regressions.py replays the saved findings through them).

Each target takes arbitrary bytes. The only acceptable outcomes are a result or Kiln's own
one-line error; any other exception escapes, and the driver reports it as a finding (as it does a
run over 10 s or memory over 1 GB)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

_DIR = Path(tempfile.mkdtemp(prefix="kiln-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


def compile_bytes(data: bytes) -> None:
    """import, validation, planning and code generation (kiln compile without the writes)."""
    from kiln import compiler
    from kiln.errors import KilnError

    path = _DIR / "fuzz.tflite"
    path.write_bytes(data)
    try:
        c = compiler.compile_model(path, tuning_log=None)
    except KilnError as e:
        text = str(e)
        if not text or "\n" in text:
            raise AssertionError(f"not a one-line error: {text!r}") from None
        return
    assert c.files and all(isinstance(v, str) for v in c.files.values())


def host_decoder(data: bytes) -> None:
    """The host's frame decoder and answer parsers: any byte stream decodes to frames or counted
    errors; any payload parses or raises ProtocolError; a frame of any payload decodes to itself."""
    from kiln.device import framing
    from kiln.device import protocol as P
    from kiln.device.errors import ProtocolError

    d = framing.Decoder(max_payload=framing.DEFAULT_MAX_PAYLOAD)
    for event in d.feed_bytes(data):
        assert isinstance(event, (framing.Frame, framing.FrameError))
    for parse in (P.parse_info, P.parse_tensor_info, lambda b: P.parse_run(b, 1, 2)):
        try:
            parse(data)
        except ProtocolError:
            pass
    payload = data[2:2 + framing.DEFAULT_MAX_PAYLOAD]
    seq, type_ = (data[0], data[1]) if len(data) >= 2 else (0, 1)
    got = framing.Decoder(max_payload=framing.DEFAULT_MAX_PAYLOAD).feed_bytes(framing.encode(seq, type_, payload))
    assert got == [framing.Frame(seq, type_, payload)], got
