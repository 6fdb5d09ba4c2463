"""The device link's framing: the Python framing round-trips and rejects what is malformed, and the
C framing (runtime_c/rpc/kiln_frame.c, driven by tests/c/frame_tool.c) produces and decodes exactly
the same bytes and events. The RPC runtime compiles cleanly with gcc, clang and arm-none-eabi-gcc."""
from __future__ import annotations

import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from kiln.device import framing as F
from kiln.paths import RUNTIME

ROOT = Path(__file__).resolve().parents[1]
RPC = RUNTIME / "rpc"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"]


@pytest.fixture(scope="module")
def tool(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("frame_tool") / "frame_tool"
    cmd = ["gcc", *STRICT, "-O1", *SANITIZE, "-I", str(RPC), str(RPC / "kiln_frame.c"),
           str(ROOT / "tests" / "c" / "frame_tool.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run_tool(exe: Path, mode: str, data: bytes) -> str:
    proc = subprocess.run([str(exe), mode], input=data, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def python_events(data: bytes, max_payload: int = 256) -> list[str]:
    d = F.Decoder(max_payload)
    lines = []
    for ev in d.feed_bytes(data):
        if isinstance(ev, F.Frame):
            lines.append(f"FRAME {ev.seq} {ev.type} {ev.payload.hex() or '-'}")
        else:
            lines.append(f"ERR {ev.kind} {'-' if ev.seq_hint is None else ev.seq_hint}")
    return lines


def random_payload(rng: random.Random, n: int) -> bytes:
    # plenty of the two special bytes, so that escaping is exercised
    return bytes(rng.choice([0x7E, 0x7D, 0x5E, 0x5D, 0x20, 0x00, 0xFF, rng.randrange(256)]) for _ in range(n))


def mutate(stream: bytes, rng: random.Random, rate: float) -> bytes:
    out = bytearray()
    for b in stream:
        r = rng.random()
        if r < rate:
            continue  # drop
        if r < 2 * rate:
            out.append(b ^ (1 << rng.randrange(8)))
        elif r < 3 * rate:
            out += bytes([b, b])
        elif r < 4 * rate:
            out += bytes([b, rng.choice([0x7E, 0x7D, rng.randrange(256)])])
        else:
            out.append(b)
    return bytes(out)


# ---- CRCs ----

def test_crc_check_values():
    assert F.crc16_ccitt(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE
    assert F.crc16_ccitt(b"") == 0xFFFF
    assert F.crc32(b"123456789") == 0xCBF43926
    # chaining equals one pass
    assert F.crc16_ccitt(b"6789", F.crc16_ccitt(b"12345")) == 0x29B1
    assert F.crc32(b"6789", F.crc32(b"12345")) == 0xCBF43926


def test_c_crcs_match_python(tool):
    assert run_tool(tool, "crc", b"123456789").split() == ["29b1", "cbf43926"]
    rng = random.Random(1)
    for n in (0, 1, 2, 17, 255, 256, 1000, 4099):
        data = bytes(rng.randrange(256) for _ in range(n))
        crc16, crc32 = run_tool(tool, "crc", data).split()
        assert int(crc16, 16) == F.crc16_ccitt(data), n
        assert int(crc32, 16) == zlib.crc32(data), n


# ---- Python framing ----

def test_round_trip_and_no_start_byte_inside():
    rng = random.Random(2)
    stream, sent = bytearray(), []
    for k in range(300):
        payload = random_payload(rng, rng.choice([0, 1, 2, 3, 10, 100, 255, 256]))
        seq, typ = rng.randrange(256), rng.randrange(256)
        frame = F.encode(seq, typ, payload)
        assert frame[0] == F.START and F.START not in frame[1:]
        assert len(frame) <= 1 + 2 * (4 + len(payload) + 2)
        sent.append(F.Frame(seq, typ, payload))
        stream += bytes(rng.choice([0x00, 0x55, 0x5E, 0xFF]) for _ in range(rng.randrange(3)))  # noise between
        stream += frame
    got = F.Decoder().feed_bytes(bytes(stream))
    assert got == sent


def test_decoder_rejects_and_resynchronises():
    good = F.encode(7, 3, b"hello")
    # a wrong CRC
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 0x01
    assert python_events(bytes(bad_crc) + good) == ["ERR 2 7", "FRAME 7 3 68656c6c6f"]
    # a length above the limit is refused after the header, before any payload is stored
    long_header = F.START.to_bytes(1, "little") + bytes([9, 1, 0x01, 0x01])  # length 257
    assert python_events(long_header + b"\x00" * 300 + good) == ["ERR 3 9", "FRAME 7 3 68656c6c6f"]
    assert python_events(F.encode(1, 1, bytes(257), max_payload=300), max_payload=256)[0] == "ERR 3 1"
    # an escape of a byte that is never escaped; two escapes in a row
    assert python_events(b"\x7e\x01\x7d\x41" + good) == ["ERR 4 1", "FRAME 7 3 68656c6c6f"]
    assert python_events(b"\x7e\x01\x7d\x7d" + good) == ["ERR 4 1", "FRAME 7 3 68656c6c6f"]
    # a frame cut short by the next start byte
    assert python_events(good[:6] + good) == ["ERR 5 -", "FRAME 7 3 68656c6c6f"]
    # idle start bytes are not errors
    assert python_events(b"\x7e\x7e\x7e" + good + b"\x7e") == ["FRAME 7 3 68656c6c6f"]
    with pytest.raises(ValueError):
        F.encode(1, 1, bytes(257), max_payload=256)


def test_every_single_byte_corruption_is_caught():
    rng = random.Random(3)
    frame = F.encode(42, 5, random_payload(rng, 40))
    for i in range(1, len(frame)):
        for bit in range(8):
            bad = bytearray(frame)
            bad[i] ^= 1 << bit
            events = python_events(bytes(bad))
            assert not any(e.startswith("FRAME") for e in events), (i, bit)


# ---- C against Python ----

def test_c_encoder_matches_python(tool):
    rng = random.Random(4)
    cases = [(rng.randrange(256), rng.randrange(256), random_payload(rng, rng.choice([0, 1, 5, 64, 200, 256])))
             for _ in range(400)]
    text = "".join(f"{s} {t} {p.hex() or '-'}\n" for s, t, p in cases) + "1 2 " + "00" * 257 + "\n"
    lines = run_tool(tool, "encode", text.encode()).split()
    assert len(lines) == len(cases) + 1
    for (s, t, p), line in zip(cases, lines):
        assert bytes.fromhex(line) == F.encode(s, t, p), (s, t, p.hex())
    assert lines[-1] == "ERROR"  # 257 bytes exceed KILN_FRAME_MAX_PAYLOAD


@pytest.mark.parametrize("seed,rate", [(10, 0.0), (11, 0.002), (12, 0.01), (13, 0.05), (14, 0.2)])
def test_c_decoder_matches_python_on_damaged_streams(tool, seed, rate):
    rng = random.Random(seed)
    stream = bytearray()
    for _ in range(300):
        stream += F.encode(rng.randrange(256), rng.randrange(256), random_payload(rng, rng.choice([0, 1, 7, 100, 256])))
        if rng.random() < 0.1:  # noise between frames (without start bytes: those begin a frame)
            stream += bytes(rng.choice([b for b in range(256) if b != 0x7E]) for _ in range(rng.randrange(20)))
    data = mutate(bytes(stream), rng, rate)
    ours = python_events(data)
    theirs = run_tool(tool, "decode", data).splitlines()
    assert theirs == ours
    frames = sum(e.startswith("FRAME") for e in ours)
    errors = len(ours) - frames
    if rate == 0.0:
        assert frames == 300 and errors == 0
    else:
        assert errors > 0
    print(f"rate {rate}: {len(data)} bytes, {frames} frames, {errors} errors, C and Python agree")


def test_c_decoder_matches_python_on_noise(tool):
    rng = random.Random(20)
    # random bytes with a high share of start and escape bytes
    data = bytes(rng.choice([0x7E, 0x7D, 0x5E, 0x5D, rng.randrange(256), 0, 1]) for _ in range(200_000))
    assert run_tool(tool, "decode", data).splitlines() == python_events(data)


# ---- the runtime builds cleanly everywhere ----

COMPILERS = {
    "gcc": ["gcc"],
    "clang": ["clang"],
    "arm-none-eabi-gcc-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "arm-none-eabi-gcc-m0": ["arm-none-eabi-gcc", "-mcpu=cortex-m0", "-mthumb"],
}


@pytest.mark.parametrize("compiler", list(COMPILERS))
def test_rpc_runtime_compiles_strictly(compiler, tmp_path):
    cc = COMPILERS[compiler]
    assert shutil.which(cc[0]), f"{cc[0]} is not installed (scripts/setup.sh installs it)"
    for defines in ([], ["-DKILN_PROFILE"], ["-DKILN_FRAME_MAX_PAYLOAD=160u"]):
        for src in ("kiln_frame.c", "kiln_rpc.c"):
            cmd = [*cc, *STRICT, "-O2", *defines, "-I", str(RPC), "-I", str(RUNTIME / "include"), "-c",
                   str(RPC / src), "-o", str(tmp_path / "x.o")]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    # a payload limit too small for INFO is refused at compile time
    proc = subprocess.run([*cc, *STRICT, "-DKILN_FRAME_MAX_PAYLOAD=100u", "-I", str(RPC), "-I", str(RUNTIME / "include"),
                           "-c", str(RPC / "kiln_rpc.c"), "-o", str(tmp_path / "y.o")], capture_output=True, text=True)
    assert proc.returncode != 0 and "at least 160" in proc.stderr
