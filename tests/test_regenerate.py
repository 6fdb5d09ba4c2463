"""Compiling twice is byte-identical; the user's edits are never overwritten (DESIGN.md decision 9)."""
from __future__ import annotations

import subprocess
import sys

import modelgen as mg


def compile_to(model, out):
    return subprocess.run([sys.executable, "-m", "kiln", "compile", str(model), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_twice_is_byte_identical(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(3).data)
    a, b = tmp_path / "a", tmp_path / "b"
    assert compile_to(model, a).returncode == 0
    first = snapshot(a)
    assert compile_to(model, a).returncode == 0
    assert snapshot(a) == first
    assert compile_to(model, b).returncode == 0
    assert snapshot(b) == first


def test_edited_file_is_kept(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(3).data)
    out = tmp_path / "out"
    assert compile_to(model, out).returncode == 0
    target = out / "net.c"
    edited = target.read_text().replace("static void op000", "/* my tweak */\nstatic void op000")
    target.write_text(edited)
    original_weights = (out / "net_weights.h").read_bytes()

    model.write_bytes(mg.fc_softmax(4).data)  # a changed model: every file would change
    proc = compile_to(model, out)
    assert proc.returncode == 0
    assert target.read_text() == edited, "the user's edit was overwritten"
    beside = out / "net.c.kiln-new"
    assert beside.exists()
    assert "net.c" in proc.stderr and "net.c.kiln-new" in proc.stderr and "edited" in proc.stderr
    assert "my tweak" not in beside.read_text()
    # files the user did not touch are simply updated in place
    assert (out / "net_weights.h").read_bytes() != original_weights
    assert not (out / "net_weights.h.kiln-new").exists()


def test_foreign_file_with_same_name_is_kept(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(3).data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "net.h").write_text("/* the user's own header */\n")
    proc = compile_to(model, out)
    assert proc.returncode == 0
    assert (out / "net.h").read_text() == "/* the user's own header */\n"
    assert (out / "net.h.kiln-new").exists()


def test_writes_nothing_outside_the_output_folder(tmp_path):
    model = tmp_path / "m" / "net.tflite"
    model.parent.mkdir()
    model.write_bytes(mg.fc_softmax(3).data)
    before = {p for p in tmp_path.rglob("*")}
    out = tmp_path / "out"
    assert compile_to(model, out).returncode == 0
    after = {p for p in tmp_path.rglob("*")}
    assert all(p == out or out in p.parents for p in after - before)


def test_files_take_the_umask_permissions(tmp_path):
    """Generated files are created as an editor would create them (0666 less the umask: -rw-r--r--
    under 022), not with the 0600 of the temporary file they are written through."""
    import os
    import stat

    model = tmp_path / "net.tflite"
    model.write_bytes(mg.fc_softmax(3).data)
    proc = subprocess.run(["sh", "-c", f"umask 027 && {sys.executable} -m kiln compile {model} --out {tmp_path / 'o'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in (tmp_path / "o").iterdir() if p.is_file()}
    assert modes and set(modes.values()) == {0o640}, modes
