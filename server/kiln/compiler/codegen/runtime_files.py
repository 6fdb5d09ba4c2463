"""Which runtime files a generated model needs: the runtime .c files whose kernels its code calls,
and those these call in turn (only those are copied beside the generated C)."""
from __future__ import annotations

import re

from ...paths import RUNTIME as RUNTIME_DIR

_DEFINES = re.compile(r"^(?:static\s+)?\w[\w\s\*]*?\b(kiln_\w+)\s*\(", re.M)
# kernels a runtime macro defines, named in its invocation: KILN_INT_POOLS(int8_t, kiln_avg_pool_s8, ...)
_MACRO_DEFINES = re.compile(r"^KILN_\w+\((.*)\)\s*$", re.M)
# kernels a template included several times defines, named per instance: #define KF_RFFT_NAME kiln_rfft_s16
_TEMPLATE_NAMES = re.compile(r"^#define \w+_NAME\s+(kiln_\w+)\s*$", re.M)


def _defined(text: str) -> set:
    names = {m for m in _DEFINES.findall(text) if not m.startswith("kiln_load")} | set(_TEMPLATE_NAMES.findall(text))
    for args in _MACRO_DEFINES.findall(text):
        # names passed as arguments, not calls (followed by "(") or types (ending in _t)
        names.update(m for m in re.findall(r"\b(kiln_\w+)\b(?!\s*\()", args) if not m.endswith("_t"))
    return names


def runtime_sources(model_c: str) -> list:
    """The runtime .c files whose public kernels the generated code calls, and those that these
    call in turn (a family may share another's helpers, e.g. a broadcast walker): only those are
    copied."""
    defines = {src: _defined(src.read_text()) for src in sorted(RUNTIME_DIR.glob("src/*.c"))}

    def calls(text: str, src) -> bool:
        return any(re.search(rf"\b{name}\(", text) for name in defines[src])

    wanted = [src for src in defines if calls(model_c, src)]
    todo = list(wanted)
    while todo:
        text = todo.pop().read_text()
        for src in defines:
            if src not in wanted and calls(text, src):
                wanted.append(src)
                todo.append(src)
    return sorted(wanted)
