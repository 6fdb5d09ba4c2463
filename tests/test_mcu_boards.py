"""The real boards (NUCLEO-F746ZG, nRF5340 DK): their firmware builds here with the strict flags and
fits the part, its vector table is sound, and with no probe or tool connected flashing and port
lookup fail with a message that says what to connect or install. No hardware is needed: the USB
port list and the tool lookup are replaced, so these tests behave the same with or without a board
plugged in."""
from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import modelgen as mg
from harness import MODELS, random_records, shared_model
from kiln import compiler
from kiln.boards import firmware, mcu, qemu
from kiln.errors import KilnError

BOARDS = ["nucleo-f746zg", "nrf5340dk"]
NM = "arm-none-eabi-nm"


def _kws():
    path = shared_model("kws_ref_model.tflite")
    return path, [[np.load(MODELS / "golden" / "kws_ref_model_in0.npy")]]


def _hello():
    return shared_model("hello_world_int8.tflite"), None


def _conv():
    return mg.conv2d(1, input_shape=(1, 8, 8, 8), out_channels=8), None


MODEL_MAKERS = {"hello_world_int8": _hello, "kws_ref_model": _kws, "conv2d_8x8x8": _conv}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Model name -> (Compiled, source folder, records), compiled once per module."""
    cache = {}

    def get(key):
        if key not in cache:
            model, records = MODEL_MAKERS[key]()
            tmp = tmp_path_factory.mktemp(key)
            if isinstance(model, mg.GeneratedModel):
                records = [model.random_inputs(np.random.default_rng(0))]
                path = tmp / "model.tflite"
                path.write_bytes(model.data)
            else:
                path = model
            c = compiler.compile_model(path)
            compiler.write(c, tmp / "src")
            if records is None:
                records = random_records(c, 1, seed=0)
            cache[key] = (c, tmp / "src", records)
        return cache[key]
    return get


@pytest.fixture(scope="module")
def built(compiled, tmp_path_factory):
    """(board, model) -> Firmware, built once per module."""
    cache = {}

    def get(board, key):
        if (board, key) not in cache:
            c, src, records = compiled(key)
            cache[(board, key)] = mcu.build(src, c.name, tmp_path_factory.mktemp(f"{board}-{key}"), records,
                                                 board=board, graph=c.graph)
        return cache[(board, key)]
    return get


def _symbol(elf, name):
    out = subprocess.run([NM, str(elf)], capture_output=True, text=True, check=True).stdout
    m = re.search(rf"^([0-9a-f]+) \w {re.escape(name)}$", out, re.M)
    assert m, f"{name} not in {elf.name}"
    return int(m.group(1), 16)


def _first_hex_address(path):
    """The address of the first data record of an Intel hex file."""
    base = 0
    for ln in path.read_text().splitlines():
        count, addr, kind = int(ln[1:3], 16), int(ln[3:7], 16), int(ln[7:9], 16)
        if kind == 4:
            base = int(ln[9:9 + 2 * count], 16) << 16
        elif kind == 0:
            return base + addr
    raise AssertionError(f"{path.name}: no data record")


# ---- the boards as data ----

@pytest.mark.parametrize("board", BOARDS)
def test_board_json_describes_the_part(board):
    b = mcu.board_info(board)
    assert b.flash_total == 1024 * 1024 and b.ram_total in (320 * 1024, 512 * 1024)
    assert 0 < b.model_flash_bytes < b.flash_total and 0 < b.model_ram_bytes < b.ram_total - b.stack_bytes
    assert "-mthumb" in b.flags and "-mfloat-abi=hard" in b.flags and f"-mcpu={b.cpu}" in b.flags
    assert b.usb and b.tools and b.baud == 115200
    for name in (*b.sources, b.linker_script, "board.h", "README.md"):
        assert (b.dir / name).exists(), name


def test_the_qemu_boards_are_not_real_boards():
    assert set(mcu.BOARDS_BY_NAME) == set(BOARDS)
    with pytest.raises(KilnError, match="unknown board 'qemu-m4'"):
        mcu.board_info("qemu-m4")


# ---- firmware ----

@pytest.mark.parametrize("key", list(MODEL_MAKERS))
@pytest.mark.parametrize("board", BOARDS)
def test_firmware_builds_strict_and_fits(board, key, built, compiled):
    assert {"-Wall", "-Wextra", "-Werror", "-pedantic", "-std=c99"} <= set(qemu.COMMON_CFLAGS)
    fw = built(board, key)
    b = mcu.board_info(board)
    c = compiled(key)[0]
    for f in (fw.elf, fw.hex, fw.bin, fw.map):
        assert f.exists() and f.stat().st_size > 0, f
    # the runner is the QEMU boards' main.c, byte for byte
    assert (fw.elf.parent / "runner" / "main.c").read_bytes() == mcu.RUNNER.read_bytes()
    # every allocated section lies inside the part's flash or RAM, and the totals fit
    def inside(lo, size, region):
        return region[0] <= lo and lo + size <= region[0] + region[1]

    for s in firmware.sections(fw.elf):
        if s.alloc:
            assert inside(s.vma, s.size, b.flash) or inside(s.vma, s.size, b.ram), s
        if s.loaded:
            assert inside(s.lma, s.size, b.flash), s
    assert fw.flash_bytes <= b.flash_total and fw.ram_bytes <= b.ram_total
    assert fw.bin.stat().st_size == fw.flash_bytes  # one contiguous image from the flash origin
    # board.json's figures for the model leave room for the board support and the runner
    assert 0 < fw.board_flash_bytes <= b.flash_total - b.model_flash_bytes
    assert fw.flash_bytes - fw.board_flash_bytes <= b.model_flash_bytes
    assert c.graph.arena_bytes <= b.model_ram_bytes
    ram = {s.name: s.size for s in firmware.sections(fw.elf)}
    assert ram[".stack"] == b.stack_bytes
    assert ram[".bss"] >= c.graph.arena_bytes  # the runner's static arena


@pytest.mark.parametrize("key", list(MODEL_MAKERS))
@pytest.mark.parametrize("board", BOARDS)
def test_vector_table_at_flash_origin(board, key, built):
    fw = built(board, key)
    b = mcu.board_info(board)
    sp, reset = firmware.vector_table(fw.bin)
    assert _first_hex_address(fw.hex) == b.flash_origin
    assert _symbol(fw.elf, "vectors") == b.flash_origin
    # initial SP: the top of the stack, inside RAM, 8-byte aligned (AAPCS)
    assert b.ram_origin < sp <= b.ram_origin + b.ram_total and sp % 8 == 0
    assert sp == _symbol(fw.elf, "kiln_stack_top")
    # reset vector: a Thumb address (bit 0 set) of the reset handler, inside the image
    assert reset & 1 == 1
    assert reset - 1 == _symbol(fw.elf, "kiln_reset_handler")
    assert b.flash_origin <= reset - 1 < b.flash_origin + fw.flash_bytes
    # the other handlers are Thumb addresses in the image too (or 0 for reserved entries)
    words = np.frombuffer(fw.bin.read_bytes()[:16 * 4], "<u4")
    for k, w in enumerate(words[2:], start=2):
        assert w == 0 or (w & 1 and b.flash_origin <= w - 1 < b.flash_origin + fw.flash_bytes), (k, hex(w))


@pytest.mark.parametrize("board", BOARDS)
def test_options_build_too(board, compiled, tmp_path):
    """A plain build (no profiling) and the optional code paths (wait for the host, a cycle
    counter started near its wrap) compile under the strict flags as well."""
    c, src, records = compiled("conv2d_8x8x8")
    fw = mcu.build(src, c.name, tmp_path, records, board=board, graph=c.graph, profile=False,
                        extra=["-DKILN_WAIT_FOR_HOST=1", "-DKILN_CYCCNT_START=0xFFF00000u"])
    assert fw.elf.name.endswith(f"_{board}.elf") and fw.flash_bytes > 0


@pytest.mark.parametrize("board", BOARDS)
def test_exact_mode_is_refused(board, compiled, tmp_path):
    c, src, records = compiled("conv2d_8x8x8")
    with pytest.raises(KilnError, match="exact=True is for QEMU"):
        mcu.build(src, c.name, tmp_path, records, board=board, exact=True)


def test_a_model_too_big_for_flash_is_reported(compiled, tmp_path):
    model = mg.fully_connected(7, in_features=1024, out_features=1040)  # 1.04 MB of int8 weights
    path = tmp_path / "big.tflite"
    path.write_bytes(model.data)
    c = compiler.compile_model(path)
    compiler.write(c, tmp_path / "src")
    with pytest.raises(KilnError, match=r"nrf5340dk: the firmware does not fit: FLASH overflowed by [\d,]+ bytes "
                                        r"\(the board has 1,048,576\)"):
        mcu.build(tmp_path / "src", c.name, tmp_path / "build", [model.random_inputs(np.random.default_rng(0))],
                       board="nrf5340dk", graph=c.graph)


# ---- probes, ports, flashing (no hardware: the port list and tool lookup are replaced) ----

def _port(device, vid, pid, serial="0671FF485550755187121723", location="1-1:1.2"):
    return SimpleNamespace(device=device, vid=vid, pid=pid, serial_number=serial, location=location,
                           description="test port")


@pytest.fixture
def no_hardware(monkeypatch):
    monkeypatch.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyUSB7", 0x0403, 0x6001)])  # an FTDI cable
    monkeypatch.setattr(mcu, "_which", lambda name: None)

    def no_run(*a, **k):
        raise AssertionError("no tool may run without a probe")
    monkeypatch.setattr(mcu, "_run", no_run)
    return monkeypatch


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "fw.hex"
    p.write_text(":00000001FF\n")
    return p


def test_flash_nucleo_without_probe_or_tool(no_hardware, image):
    with pytest.raises(KilnError) as e:
        mcu.flash("nucleo-f746zg", image)
    msg = str(e.value)
    assert msg.startswith("nucleo-f746zg: no ST-LINK found (USB 0483:374b/")
    assert "connect the Nucleo board's ST-LINK USB port (CN1" in msg
    assert "install a flashing tool: openocd (apt-get install openocd) or pyocd (pip install pyocd)" in msg


def test_flash_nrf_without_probe_tool_present(no_hardware, image):
    no_hardware.setattr(mcu, "_which", lambda name: "/usr/bin/nrfjprog" if name == "nrfjprog" else None)
    with pytest.raises(KilnError) as e:
        mcu.flash("nrf5340dk", image)
    msg = str(e.value)
    assert msg.startswith("nrf5340dk: no J-Link OB found (USB 1366:1051/")
    assert "connect the DK's interface-MCU USB port (J2" in msg and "install" not in msg


def test_flash_with_probe_but_no_tool(no_hardware, image):
    no_hardware.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyACM0", 0x0483, 0x374B)])
    with pytest.raises(KilnError, match=r"nucleo-f746zg: ST-LINK found \(/dev/ttyACM0\) but no flashing tool on "
                                        r"PATH: install openocd \(apt-get install openocd\) or pyocd"):
        mcu.flash("nucleo-f746zg", image)


def test_flash_missing_image(no_hardware, tmp_path):
    with pytest.raises(KilnError, match="not found \\(build the firmware first\\)"):
        mcu.flash("nucleo-f746zg", tmp_path / "nothing.hex")


def _fake_run(calls, returncode=0, stderr=""):
    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, "", stderr)
    return run


def test_flash_nucleo_runs_openocd(monkeypatch, image):
    calls = []
    monkeypatch.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyACM0", 0x0483, 0x374B)])
    monkeypatch.setattr(mcu, "_which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(mcu, "_run", _fake_run(calls))
    cmd = mcu.flash("nucleo-f746zg", image)
    assert calls == [cmd]
    assert cmd == ["/usr/bin/openocd", "-f", "board/st_nucleo_f7.cfg", "-c", f"program {image} verify reset exit"]
    # a chosen probe is named to the tool
    cmd = mcu.flash("nucleo-f746zg", image, serial="0671FF485550755187121723")
    assert cmd[3:5] == ["-c", "adapter serial 0671FF485550755187121723"]


def test_flash_nrf_runs_nrfjprog_else_pyocd(monkeypatch, image):
    calls = []
    monkeypatch.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyACM1", 0x1366, 0x1051, "001050012345", "1-2:1.2"),
                                                          _port("/dev/ttyACM0", 0x1366, 0x1051, "001050012345", "1-2:1.0")])
    monkeypatch.setattr(mcu, "_which", lambda name: f"/opt/bin/{name}")
    monkeypatch.setattr(mcu, "_run", _fake_run(calls))
    cmd = mcu.flash("nrf5340dk", image, serial="001050012345")
    assert cmd == ["/opt/bin/nrfjprog", "-f", "NRF53", "--coprocessor", "CP_APPLICATION", "--snr", "1050012345",
                   "--program", str(image), "--chiperase", "--verify", "--reset"]
    monkeypatch.setattr(mcu, "_which", lambda name: "/usr/local/bin/pyocd" if name == "pyocd" else None)
    cmd = mcu.flash("nrf5340dk", image)
    assert cmd == ["/usr/local/bin/pyocd", "flash", "-t", "nrf5340_xxaa", str(image)]


def test_flash_tool_failure_shows_its_output(monkeypatch, image):
    monkeypatch.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyACM0", 0x0483, 0x374E)])
    monkeypatch.setattr(mcu, "_which", lambda name: "/usr/bin/openocd" if name == "openocd" else None)
    monkeypatch.setattr(mcu, "_run", _fake_run([], 1, "Error: open failed\nError: no device found"))
    with pytest.raises(KilnError, match=r"nucleo-f746zg: openocd failed \(exit 1\):\nError: open failed\n"
                                        r"Error: no device found"):
        mcu.flash("nucleo-f746zg", image)


@pytest.mark.parametrize("board,probe,ids", [("nucleo-f746zg", "ST-LINK", "0483:374b/"),
                                             ("nrf5340dk", "J-Link OB", "1366:1051/")])
def test_find_port_without_device(no_hardware, board, probe, ids):
    with pytest.raises(KilnError) as e:
        mcu.find_port(board)
    msg = str(e.value)
    assert msg.startswith(f"{board}: no {probe} found (USB {ids}") and "connect the" in msg


def test_find_port_picks_the_probes_first_interface(monkeypatch):
    monkeypatch.setattr(mcu, "_list_ports", lambda: [
        _port("/dev/ttyACM2", 0x1366, 0x1051, "001050012345", "1-2:1.4"),
        _port("/dev/ttyACM1", 0x1366, 0x1051, "001050012345", "1-2:1.2"),
        _port("/dev/ttyACM0", 0x1366, 0x1051, "001050012345", "1-2:1.0"),
        _port("/dev/ttyACM3", 0x0483, 0x374B)])
    assert mcu.find_port("nrf5340dk") == "/dev/ttyACM0"  # VCOM0: P0.20/P0.22
    assert mcu.find_port("nucleo-f746zg") == "/dev/ttyACM3"
    with pytest.raises(KilnError, match="no J-Link OB with serial number 42 found"):
        mcu.find_port("nrf5340dk", serial="42")


def test_find_port_with_two_probes_asks_which(monkeypatch):
    monkeypatch.setattr(mcu, "_list_ports", lambda: [_port("/dev/ttyACM0", 0x0483, 0x374B, "AAA"),
                                                          _port("/dev/ttyACM1", 0x0483, 0x3753, "BBB")])
    with pytest.raises(KilnError, match=r"2 ST-LINK probes found \(AAA \(/dev/ttyACM0\), BBB \(/dev/ttyACM1\)\): "
                                        r"choose one by its serial number"):
        mcu.find_port("nucleo-f746zg")
    assert mcu.find_port("nucleo-f746zg", serial="BBB") == "/dev/ttyACM1"


def test_without_pyserial_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "serial", None)
    monkeypatch.setitem(sys.modules, "serial.tools", None)
    with pytest.raises(KilnError, match="pyserial is not installed.*pip install pyserial"):
        mcu.find_port("nucleo-f746zg")
