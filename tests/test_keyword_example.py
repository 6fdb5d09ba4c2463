"""examples/keyword: the front end's features equal TFLite Micro's on the example's WAV files frame
by frame; the chained C program (both models compiled by Kiln into one folder) names each file's
word on the host and on qemu-m4; the committed front-end model is what kiln/compiler/audio_frontend.py
writes."""
from __future__ import annotations

import importlib.util
import re
import wave
from pathlib import Path

import numpy as np

from harness import assert_match, compile_and_run
from kiln.compiler.audio_frontend import FrontEnd, write

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "keyword"
WORDS = ["silence", "yes", "no", "up", "down"]


def samples(word: str) -> np.ndarray:
    with wave.open(str(EXAMPLE / "wav" / f"{word}.wav")) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def test_committed_front_end_is_what_the_writer_writes():
    assert (EXAMPLE / "models" / "frontend.tflite").read_bytes() == write(FrontEnd(), "keyword example front end")


def test_front_end_equals_tflm_frame_by_frame(tmp_path):
    for word in WORDS:
        x = samples(word)
        records = [[x[k:k + 320]] for k in range(0, len(x) - 319, 320)]
        pair = compile_and_run(EXAMPLE / "models" / "frontend.tflite", records, tmp_path / word)
        assert_match(pair, f"{word}.wav")
        assert len(pair.ours) == 50


def test_example_names_its_words_on_host_and_qemu_m4(tmp_path, capfd):
    spec = importlib.util.spec_from_file_location("keyword_run", EXAMPLE / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    assert run.main(["--out", str(tmp_path)]) == 0
    out = capfd.readouterr().out  # the host program writes to the same descriptor
    for word in WORDS:
        found = re.findall(rf"\b{word}\.wav: (\w+) ", out)
        assert found == [word, word], f"{word}.wav: heard {found} (host, qemu-m4):\n{out}"
    per_frame = [int(v) for v in re.findall(r"front end (\d+) instructions per 20 ms frame", out)]
    assert len(per_frame) == 5 and all(0 < v < 400_000 for v in per_frame), out
