"""Kiln inside the user's own build (issue 16, DESIGN.md decision 12): every model folder carries a
generated CMakeLists.txt (target kiln::<name>) and kiln.mk, and two models compiled into one
output root link into one executable, with CMake and with Make, the shared runtime kernels added
once. The application calls both models' <name>_invoke() and prints their outputs, which must
equal TFLite Micro's. Two models of one name, and folders of two different runtimes, stop the
build with a message naming them; an edited CMakeLists.txt is kept like any edited file."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import modelgen as mg
from harness import ROOT
from kiln import compiler
from kiln.compiler import oracle
from opgen import random_records


@pytest.fixture(autouse=True)
def build_tools():
    missing = [tool for tool in ("cmake", "make") if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} not found: scripts/setup.sh installs them"

SINE = ROOT / "examples" / "models" / "sine_int8.tflite"

APP = r"""#include <stdio.h>
#include <string.h>
#include "sine_int8.h"
#include "classifier.h"

/* stdin: sine's input, then classifier's; stdout: their outputs, as raw bytes */
int main(void)
{
    static sine_int8_input_t a_in;
    static sine_int8_output_t a_out;
    static classifier_input_t b_in;
    static classifier_output_t b_out;
    if (fread(&a_in, sizeof a_in, 1, stdin) != 1 || fread(&b_in, sizeof b_in, 1, stdin) != 1) return 2;
    if (sine_int8_invoke(&a_in, &a_out) != 0 || classifier_invoke(&b_in, &b_out) != 0) return 3;
    fwrite(&a_out, sizeof a_out, 1, stdout);
    fwrite(&b_out, sizeof b_out, 1, stdout);
    return 0;
}
"""

CMAKE_APP = """cmake_minimum_required(VERSION 3.13)
project(app C)
add_subdirectory(kiln_out/sine_int8)
add_subdirectory(kiln_out/classifier)
add_executable(app main.c)
target_link_libraries(app PRIVATE kiln::sine_int8 kiln::classifier)
"""

MAKE_APP = """include kiln_out/sine_int8/kiln.mk
include kiln_out/classifier/kiln.mk
CFLAGS += -std=c99 -O2 $(KILN_INCLUDES)
app: main.o $(KILN_SRCS:.c=.o)
\t$(CC) -o $@ $^ $(KILN_LDLIBS)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    """A workspace with two models compiled into kiln_out/: sine_int8 (FULLY_CONNECTED) and a
    classifier (FULLY_CONNECTED and SOFTMAX: a kernel file sine also uses, and one it does not)."""
    root = tmp_path_factory.mktemp("firmware")
    models = root / "models"
    models.mkdir()
    shutil.copy(SINE, models / "sine_int8.tflite")
    (models / "classifier.tflite").write_bytes(mg.fc_softmax(55).data)
    outputs = {}
    for name in ("sine_int8", "classifier"):
        c = compiler.compile_model(models / f"{name}.tflite")
        compiler.write(c, root / "kiln_out" / name)
        data = (models / f"{name}.tflite").read_bytes()
        rec = random_records(data, n=1, seed=7)[0]
        outputs[name] = (rec, oracle.run_tflm(data, [rec])[0])
    (root / "main.c").write_text(APP)
    return {"root": root, "records": outputs}


def _run_app(exe: Path, records: dict) -> None:
    stdin = b"".join(np.ascontiguousarray(a).tobytes() for name in ("sine_int8", "classifier") for a in records[name][0])
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    out, at = proc.stdout, 0
    for name in ("sine_int8", "classifier"):
        for ref in records[name][1]:
            ours = np.frombuffer(out[at:at + ref.nbytes], ref.dtype).reshape(ref.shape)
            at += ref.nbytes
            assert np.array_equal(ours, ref), f"{name}: the linked application differs from TFLite Micro"
    assert at == len(out)


def _cmake(src: Path, build: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
                          capture_output=True, text=True, timeout=300)


def test_two_models_link_with_cmake(project):
    root = project["root"]
    (root / "CMakeLists.txt").write_text(CMAKE_APP)
    build = root / "build-cmake"
    conf = _cmake(root, build)
    assert conf.returncode == 0, conf.stdout + conf.stderr
    done = subprocess.run(["cmake", "--build", str(build)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    _run_app(build / "app", project["records"])
    # the kernel both models use went into kiln_runtime once, the other from the second folder
    log = subprocess.run(["cmake", "--build", str(build), "--clean-first", "--", "VERBOSE=1"], capture_output=True,
                         text=True, timeout=600).stdout
    compiled = [line for line in log.splitlines() if " -c " in line]
    assert sum("kiln_fully_connected.c" in line for line in compiled) == 1, compiled
    assert sum("kiln_out/classifier/kiln_softmax.c" in line for line in compiled) == 1, compiled


def test_two_models_link_with_make(project):
    root = project["root"]
    (root / "Makefile").write_text(MAKE_APP)
    done = subprocess.run(["make", "-C", str(root), "app"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("kiln_fully_connected.c") == 1, done.stdout
    assert done.stdout.count("kiln_out/classifier/kiln_softmax.c") == 1, done.stdout
    _run_app(root / "app", project["records"])


def test_two_models_of_one_name_stop_the_build(project, tmp_path):
    """A second `sine_int8` folder (the same model name from another folder) would define the
    same symbols: CMake and Make stop, naming both folders."""
    root = project["root"]
    other = tmp_path / "other" / "sine_int8"
    shutil.copytree(root / "kiln_out" / "sine_int8", other)
    (tmp_path / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        f"add_subdirectory({root / 'kiln_out' / 'sine_int8'} a)\nadd_subdirectory(other/sine_int8)\n")
    conf = _cmake(tmp_path, tmp_path / "build")
    assert conf.returncode != 0
    assert "two models named 'sine_int8'" in conf.stderr and str(other) in conf.stderr.replace("\n", "")
    (tmp_path / "Makefile").write_text(f"include {root / 'kiln_out' / 'sine_int8' / 'kiln.mk'}\n"
                                       "include other/sine_int8/kiln.mk\nall:\n\t@true\n")
    done = subprocess.run(["make", "-C", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "two models named 'sine_int8'" in done.stderr


def test_folders_of_different_runtimes_stop_the_build(project, tmp_path):
    root = project["root"]
    stale = tmp_path / "classifier"
    shutil.copytree(root / "kiln_out" / "classifier", stale)
    for name in ("CMakeLists.txt", "kiln.mk"):  # as another Kiln would have written them
        path = stale / name
        text = path.read_text()
        rid = text.split("KILN_RUNTIME_ID ", 1)[1].split(")", 1)[0].split()[0] if name == "CMakeLists.txt" else \
            text.split("KILN_RUNTIME_ID := ", 1)[1].split()[0]
        path.write_text(text.replace(rid, "0" * 16))
    (tmp_path / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        f"add_subdirectory({root / 'kiln_out' / 'sine_int8'} a)\nadd_subdirectory(classifier)\n")
    conf = _cmake(tmp_path, tmp_path / "build")
    assert conf.returncode != 0 and "different Kiln" in conf.stderr.replace("\n", " ")


def test_an_edited_cmakelists_is_kept(tmp_path):
    out = tmp_path / "kiln_out" / "sine_int8"
    compiler.write(compiler.compile_model(SINE), out)
    edited = (out / "CMakeLists.txt").read_text() + "target_compile_definitions(kiln_sine_int8 PRIVATE MINE=1)\n"
    (out / "CMakeLists.txt").write_text(edited)
    result = compiler.write(compiler.compile_model(SINE), out)
    assert (out / "CMakeLists.txt").read_text() == edited
    assert (out / "CMakeLists.txt.kiln-new").exists()
    assert any("CMakeLists.txt" in note and "kiln-new" in note for note in result.notes)


# ---- kiln compile --build-system ----

def _kiln(*args) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run([sys.executable, "-m", "kiln", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("choice,files", [("cmake", {"CMakeLists.txt"}), ("make", {"kiln.mk"}), ("none", set()),
                                          ("auto", {"CMakeLists.txt", "kiln.mk"})])
def test_build_system_choice_picks_the_files(choice, files, tmp_path):
    out = tmp_path / "kiln_out" / "sine_int8"
    proc = _kiln("compile", SINE, "--out", out, "--build-system", choice)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir() if p.name in ("CMakeLists.txt", "kiln.mk")} == files


WORKSPACES = {  # marker files -> (kind, the build file named, a line the advice must hold)
    "cmake": ({"CMakeLists.txt": "project(fw C)\n"}, "CMakeLists.txt", "add_subdirectory(kiln_out/sine_int8)"),
    "make": ({"Makefile": "all:\n"}, "Makefile", "include kiln_out/sine_int8/kiln.mk"),
    "zephyr": ({"prj.conf": "", "CMakeLists.txt": "find_package(Zephyr)\n"}, "CMakeLists.txt",
               "target_link_libraries(app PRIVATE kiln::sine_int8)"),
    "esp-idf": ({"CMakeLists.txt": "include($ENV{IDF_PATH}/tools/cmake/project.cmake)\n",
                 "main/CMakeLists.txt": "idf_component_register(SRCS main.c)\n"}, "main/CMakeLists.txt",
                "target_link_libraries(${COMPONENT_LIB} PRIVATE kiln::sine_int8)"),
    "platformio": ({"platformio.ini": "[env:board]\n", "src/main.c": ""}, "platformio.ini",
                   "build_src_filter = +<*> +<../kiln_out/sine_int8/*.c>"),
    "arduino": ({"fw.ino": ""}, "fw.ino", '#include "src/sine_int8/sine_int8.h"'),
}


@pytest.mark.parametrize("kind", list(WORKSPACES))
def test_auto_finds_the_workspace_build(kind, tmp_path):
    markers, build_file, line = WORKSPACES[kind]
    (tmp_path / ".git").mkdir()
    for name, text in markers.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    proc = _kiln("compile", SINE, "--out", tmp_path / "kiln_out" / "sine_int8", "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["build_system"]
    assert found["kind"] == kind and found["file"] == str(tmp_path / build_file)
    assert line in found["lines"], found["lines"]
    assert found["tested_here"] == (kind in ("cmake", "make"))


def test_auto_without_a_build_says_so(tmp_path):
    (tmp_path / ".git").mkdir()
    proc = _kiln("compile", SINE, "--out", tmp_path / "kiln_out" / "sine_int8")
    assert proc.returncode == 0 and "no CMakeLists.txt, Makefile" in proc.stdout


def test_the_printed_cmake_lines_build_the_project(tmp_path):
    """The advice is right: its lines, added to the user's CMakeLists.txt, build and link the model;
    then Kiln sees that the build uses it."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.c").write_text('#include "sine_int8.h"\nint main(void) { sine_int8_input_t i = {{0}}; '
                                     'sine_int8_output_t o; return sine_int8_invoke(&i, &o); }\n')
    user = "cmake_minimum_required(VERSION 3.13)\nproject(fw C)\nadd_executable(fw main.c)\n"
    (tmp_path / "CMakeLists.txt").write_text(user)
    out = tmp_path / "kiln_out" / "sine_int8"
    found = json.loads(_kiln("compile", SINE, "--out", out, "--json").stdout)["build_system"]
    assert not found["uses_model"]
    lines = found["lines"]  # the target is the project's first executable
    assert lines == ["add_subdirectory(kiln_out/sine_int8)", "target_link_libraries(fw PRIVATE kiln::sine_int8)"]
    (tmp_path / "CMakeLists.txt").write_text(user + "\n".join(lines) + "\n")
    conf = _cmake(tmp_path, tmp_path / "build")
    assert conf.returncode == 0, conf.stderr
    done = subprocess.run(["cmake", "--build", str(tmp_path / "build")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert subprocess.run([str(tmp_path / "build" / "fw")]).returncode == 0
    again = json.loads(_kiln("compile", SINE, "--out", out, "--json").stdout)["build_system"]
    assert again["uses_model"]
