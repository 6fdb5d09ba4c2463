"""Compiles the keyword example's two models with Kiln into one folder, builds main.c with them for
the host (gcc) and for qemu-m4 (arm-none-eabi-gcc, QEMU's mps2-an386 Cortex-M4), and runs both on
the WAV files: each prints the word it hears and what each stage costs.

    .venv/bin/python examples/keyword/run.py [--out DIR] [--board host|qemu-m4|both] [FILE.wav ...]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "server"))

from kiln import compiler
from kiln.boards import qemu  # noqa: E402
from kiln.errors import KilnError  # noqa: E402
from kiln.paths import BOARDS  # noqa: E402

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def compile_models(src: Path) -> None:
    """Both models into one folder: they share the runtime kernels written there."""
    for name in ("frontend", "keyword"):
        compiler.write(compiler.compile_model(HERE / "models" / f"{name}.tflite"), src)


def build_host(src: Path, out: Path) -> Path:
    exe = out / "keyword"
    subprocess.run(["gcc", *STRICT, "-O2", "-I", str(src), str(HERE / "main.c"), *map(str, sorted(src.glob("*.c"))),
                    "-o", str(exe), "-lm"], check=True)
    return exe


def clips_header(wavs: list[Path]) -> str:
    """The clips compiled into the qemu-m4 firmware (it has no file system)."""
    lines = ["/* Written by examples/keyword/run.py: the WAV files' samples. */", "#include <stdint.h>", ""]
    for k, path in enumerate(wavs):
        samples = read_wav(path)
        body = ",".join(str(int(v)) for v in samples)
        lines.append(f"static const int16_t clip{k}[{len(samples)}] = {{{body}}};")
    lines += [f"#define CLIP_COUNT {len(wavs)}",
              "static const char *const clip_names[] = {" + ", ".join(f'"{p.name}"' for p in wavs) + "};",
              "static const int16_t *const clip_samples[] = {" + ", ".join(f"clip{k}" for k in range(len(wavs))) + "};",
              "static const int32_t clip_lengths[] = {" + ", ".join(str(len(read_wav(p))) for p in wavs) + "};"]
    return "\n".join(lines) + "\n"


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 16000):
            raise KilnError(f"{path}: not 16-bit mono 16 kHz PCM")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def build_qemu(src: Path, out: Path, wavs: list[Path]) -> Path:
    board = BOARDS / "qemu-m4"
    (out / "clips.h").write_text(clips_header(wavs))
    tgt = qemu.target("qemu-m4")
    elf = out / "keyword_qemu-m4.elf"
    sources = [HERE / "main.c", *sorted(src.glob("*.c")), board / "board.c", BOARDS / "common" / "board_print.c"]
    cmd = [qemu.GCC, *tgt.flags, *qemu.cflags("-O2"), "-DKEYWORD_QEMU", "-I", str(src), "-I", str(out),
           "-I", str(board), *map(str, sources), "-T", str(board / "mps2_an386.ld"), *qemu.LDFLAGS,
           "-o", str(elf), "-lm"]
    subprocess.run(cmd, check=True)
    return elf


def run_qemu(elf: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        serial = Path(tmp) / "uart.txt"
        proc = subprocess.run(qemu.qemu_command(elf, serial), capture_output=True, text=True, timeout=300)
        text = serial.read_text(errors="replace") if serial.exists() else ""
    if proc.returncode != 0:
        raise KilnError(f"the qemu-m4 firmware exited with {proc.returncode}: {text.strip() or proc.stderr.strip()}")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "build", help="where the C and the programs go")
    ap.add_argument("--board", choices=["host", "qemu-m4", "both"], default="both")
    ap.add_argument("wavs", nargs="*", type=Path, help="16-bit mono 16 kHz WAV files (default: wav/*.wav)")
    a = ap.parse_args(argv)
    wavs = a.wavs or sorted((HERE / "wav").glob("*.wav"))
    src = a.out / "src"
    src.mkdir(parents=True, exist_ok=True)
    try:
        print(f"keyword: compiling models/frontend.tflite and models/keyword.tflite into {src}", flush=True)
        compile_models(src)
        if a.board in ("host", "both"):
            print("keyword: host (gcc -O2)", flush=True)
            subprocess.run([str(build_host(src, a.out)), *map(str, wavs)], check=True)
        if a.board in ("qemu-m4", "both"):
            print("keyword: qemu-m4 (arm-none-eabi-gcc -O2, mps2-an386 in QEMU, -icount shift=0)", flush=True)
            print(run_qemu(build_qemu(src, a.out, wavs)), end="", flush=True)
    except (KilnError, subprocess.CalledProcessError) as e:
        print(f"keyword: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
