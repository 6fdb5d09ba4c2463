"""Which build the generated C goes into (`kiln compile --build-system`), and the lines that add it.

Kiln writes a CMakeLists.txt and a kiln.mk beside each model's C (codegen/buildfiles.py);
--build-system cmake or make keeps one of them, none neither, auto both. auto also looks for the
workspace's own build, from the output folder's parent upwards (to the folder holding .git, or the
filesystem's root), and says how to add the model to it: the nearest folder with a build file
wins. CMake and Make are tested (tests/test_build_integration.py); for Zephyr, ESP-IDF,
PlatformIO and Arduino, which cannot be built here, the lines are those their documentation gives
for adding a CMake library or C sources, and are printed as such.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

CHOICES = ("auto", "cmake", "make", "none")
FILES = {"cmake": {"CMakeLists.txt"}, "make": {"kiln.mk"}, "none": set(), "auto": {"CMakeLists.txt", "kiln.mk"}}
NAMES = {"cmake": "CMake", "make": "Make", "zephyr": "Zephyr", "esp-idf": "ESP-IDF", "platformio": "PlatformIO",
         "arduino": "Arduino"}
UNTESTED = {"zephyr", "esp-idf", "platformio", "arduino"}


@dataclass
class Found:
    kind: str | None = None  # a key of NAMES, or None when no build was found
    file: Path | None = None  # the build file to add the lines to
    lines: list[str] = field(default_factory=list)
    uses_model: bool = False  # the build file already names the model's folder
    note: str = ""

    def as_json(self) -> dict:
        return {"kind": self.kind, "file": str(self.file) if self.file else None, "lines": self.lines,
                "uses_model": self.uses_model, "tested_here": self.kind not in UNTESTED, "note": self.note}


def unwanted(choice: str) -> set[str]:
    """The generated build files --build-system `choice` does not keep."""
    return FILES["auto"] - FILES[choice]


def _kind_of(d: Path) -> tuple[str, Path] | None:
    cmake = d / "CMakeLists.txt"
    text = cmake.read_text(errors="replace") if cmake.is_file() else ""
    if (d / "prj.conf").is_file() or (d / "west.yml").is_file():
        return "zephyr", cmake if cmake.is_file() else d / "prj.conf"
    if "project.cmake" in text or "idf_component_register" in text or (d / "sdkconfig").is_file():
        main = d / "main" / "CMakeLists.txt"
        return "esp-idf", main if main.is_file() else cmake
    if (d / "platformio.ini").is_file():
        return "platformio", d / "platformio.ini"
    sketches = sorted(d.glob("*.ino"))
    if sketches:
        return "arduino", sketches[0]
    if cmake.is_file():
        return "cmake", cmake
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if (d / name).is_file():
            return "make", d / name
    return None


def detect(out_dir: str | Path) -> Found:
    out = Path(out_dir).resolve()
    for d in out.parents:
        hit = _kind_of(d)
        if hit:
            found = Found(*hit)
            _instructions(found, out, d)
            return found
        if (d / ".git").exists():
            break
    return Found(note="no CMakeLists.txt, Makefile, prj.conf, platformio.ini or .ino sketch above the output "
                      "folder: add the folder's CMakeLists.txt or kiln.mk to your build")


def _instructions(f: Found, out: Path, root: Path) -> None:
    model = _model_name(out) or out.name
    base = f.file.parent if f.file else root
    rel = Path(os.path.relpath(out, base)).as_posix()
    text = f.file.read_text(errors="replace") if f.file and f.file.is_file() else ""
    f.uses_model = rel in text or f"kiln::{model}" in text
    if f.kind in ("cmake", "zephyr"):
        target = "app" if f.kind == "zephyr" else _cmake_target(text)
        f.lines = [f"add_subdirectory({rel})", f"target_link_libraries({target} PRIVATE kiln::{model})"]
    elif f.kind == "esp-idf":
        f.lines = [f"add_subdirectory({rel} kiln_{model})", f"target_link_libraries(${{COMPONENT_LIB}} PRIVATE kiln::{model})"]
        f.note = "in the component's CMakeLists.txt, after idf_component_register(...)"
    elif f.kind == "make":
        f.lines = [f"include {rel}/kiln.mk", "CFLAGS += $(KILN_INCLUDES)", "OBJS += $(KILN_SRCS:.c=.o)",
                   "LDLIBS += $(KILN_LDLIBS)"]
        f.note = "OBJS: whatever variable your Makefile links"
    elif f.kind == "platformio":
        src_rel = Path(os.path.relpath(out, root / "src")).as_posix()
        f.lines = ["[env]", f"build_flags = -I {rel}", f"build_src_filter = +<*> +<{src_rel}/*.c>"]
        f.note = "with several models, list every model's folder but only one folder's kiln_*.c files"
    elif f.kind == "arduino":
        sketch = f.file.parent
        inside = out.is_relative_to(sketch / "src")
        f.lines = [f'#include "{Path(os.path.relpath(out, sketch)).as_posix()}/{model}.h"'] if inside else \
            [f"kiln compile MODEL --out {(sketch / 'src' / model).as_posix()}", f'#include "src/{model}/{model}.h"']
        f.note = "the Arduino build compiles the sketch's src/ folder" + ("" if inside else ": compile into it")


def _cmake_target(text: str) -> str:
    """The project's first executable (add_executable), the target the model links into; else a
    placeholder for the user to fill."""
    m = re.search(r"add_executable\s*\(\s*([A-Za-z0-9_.+-]+)", text)
    return m.group(1) if m else "<your target>"


def _model_name(out: Path) -> str | None:
    """The model's C name, from its source map in the folder."""
    maps = sorted(out.glob("*.kiln.json"))
    return maps[0].name[:-len(".kiln.json")] if maps else None
