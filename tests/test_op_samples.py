"""Every operator in the table, through its sample model (kiln/compiler/ops/samples.py): built by clang with
-std=c99 -Wall -Wextra -Werror -pedantic under AddressSanitizer and UndefinedBehaviorSanitizer,
run against TFLite Micro, and planned within the activation lower bound. Generated from the table:
a registered kind without a sample fails here."""
from __future__ import annotations

import re
import shutil

import pytest

from harness import SANITIZE, assert_match, compile_and_run
from kiln.compiler.ops import REGISTRY
from kiln.compiler.ops.samples import build_model, kinds
from opgen import random_records



def test_every_operator_has_a_sample():
    missing = sorted(set(REGISTRY) - set(kinds()))
    assert not missing, f"add a sample model to server/kiln/compiler/ops/samples.py for: {', '.join(missing)}"


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed (scripts/setup.sh installs it)")
@pytest.mark.parametrize("kind", sorted(set(REGISTRY) & set(kinds())))
def test_sample_sanitized_against_tflm(kind, tmp_path):
    data = build_model(kind)
    records = random_records(data, n=4, seed=5)
    pair = compile_and_run(data, records, tmp_path, cc="clang", extra_flags=SANITIZE, opt="-O1")
    assert_match(pair, f"{kind} sample (clang, ASan+UBSan)")
    c = pair.compiled
    positional = [m.group(0) for m in re.finditer(r"const kiln_\w+_t \w+(\[\w*\])? = \{\s*\{?\s*[^.\s{]", c.files[f"{c.name}.c"])]
    assert not positional, f"{kind}: parameter structs not written field by field: {positional[:3]}"
    assert c.graph.arena_bytes <= c.lower_bound, \
        f"{kind}: arena {c.graph.arena_bytes} B is above the activation lower bound {c.lower_bound} B"
