"""Writes the keyword example's models and test recordings, deterministically:

  models/frontend.tflite  the audio front end (kiln/compiler/audio_frontend.py): 320 new 16 kHz samples in
                          (20 ms), 40 int8 log-mel features out, as TFLite Micro's signal operators
  models/keyword.tflite   a small int8 CNN over 50 frames of features (one second): silence, yes,
                          no, up, down
  wav/*.wav               one second of each word in a voice the training never heard

The words are spoken by espeak-ng (apt: espeak-ng) in many voices, speeds and pitches, placed at
random in a second of faint noise; their features come from TFLite Micro running the front-end
model (what Kiln's C must equal), and TensorFlow (the test environment in .tools/keras, made by
scripts/setup-keras.sh) trains and converts the CNN. Nothing is downloaded.

    .venv/bin/python examples/keyword/make_models.py
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln.compiler.audio_frontend import FrontEnd, write  # noqa: E402

WORDS = ["silence", "yes", "no", "up", "down"]
RATE, FRAMES = 16000, 50  # one second: 50 invocations of the front end's 320 samples
TRAIN_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029", "en-gb-x-gbcwmd"]
VARIANTS = ["m1", "m3", "f1", "f2", "f4", "m7"]
TEST_VOICE = ("en-us", "f3", 145, 55)  # a variant the training never heard
TF_PYTHON = Path(os.environ.get("KILN_KERAS_PYTHON", ROOT / ".tools" / "keras" / "bin" / "python"))


def speak(word: str, voice: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's 22.05 kHz speech of a word, resampled to 16 kHz (linear interpolation)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch),
                        word], check=True, capture_output=True)
        with wave.open(str(path)) as w:
            rate, x = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    t = np.arange(int(len(x) * RATE / rate)) * rate / RATE
    return np.interp(t, np.arange(len(x)), x)


def clip(speech: np.ndarray | None, rng) -> np.ndarray:
    """One second: faint noise, the speech (if any) at a random place and loudness."""
    out = rng.normal(0, rng.uniform(20, 120), RATE)
    if speech is not None:
        speech = speech[:RATE - 800]
        at = int(rng.integers(0, RATE - len(speech)))
        out[at:at + len(speech)] += speech * rng.uniform(0.3, 1.2)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def features(frontend: bytes, samples: np.ndarray) -> np.ndarray:
    """TFLite Micro's front end over a clip from a fresh start: [FRAMES, 40] int8."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(frontend, arena_size=1 << 16)
    rows = []
    for k in range(FRAMES):
        interp.set_input(samples[k * 320:(k + 1) * 320], 0)
        interp.invoke()
        rows.append(interp.get_output(0).copy())
    return np.stack(rows)


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype("<i2").tobytes())


def main() -> int:
    for tool, hint in (("espeak-ng", "apt-get install espeak-ng"), (str(TF_PYTHON), "bash scripts/setup-keras.sh")):
        if not shutil.which(tool) and not Path(tool).exists():
            print(f"make_models: {tool} is missing ({hint})", file=sys.stderr)
            return 1
    rng = np.random.default_rng(2026)
    (HERE / "models").mkdir(exist_ok=True)
    (HERE / "wav").mkdir(exist_ok=True)
    frontend = write(FrontEnd(), "keyword example front end")
    (HERE / "models" / "frontend.tflite").write_bytes(frontend)

    xs, ys = [], []
    settings = list(itertools.product(TRAIN_VOICES, VARIANTS))
    for label, word in enumerate(WORDS):
        print(f"make_models: {word}: {len(settings)} voices", flush=True)
        for voice, variant in settings:
            speech = None if word == "silence" else speak(word, voice, variant, int(rng.integers(120, 200)),
                                                          int(rng.integers(30, 70)))
            for _ in range(2):  # two placements of each
                xs.append(features(frontend, clip(speech, rng)))
                ys.append(label)
    x, y = np.stack(xs), np.array(ys, np.int32)
    for label, word in enumerate(WORDS):
        voice, variant, speed, pitch = TEST_VOICE
        speech = None if word == "silence" else speak(word, voice, variant, speed, pitch)
        write_wav(HERE / "wav" / f"{word}.wav", clip(speech, np.random.default_rng(100 + label)))

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "features.npz"
        np.savez(data, x=x, y=y)
        out = HERE / "models" / "keyword.tflite"
        print(f"make_models: training on {len(y)} clips with {TF_PYTHON}", flush=True)
        subprocess.run([str(TF_PYTHON), str(HERE / "train_keyword.py"), str(data), str(out), json.dumps(WORDS)],
                       check=True)
    print(f"make_models: wrote {HERE / 'models'} and {HERE / 'wav'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
