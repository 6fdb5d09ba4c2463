"""Benchmark (prints figures, asserts nothing): coverage-guided fuzzing of the compiler.

    .venv/bin/python bench/fuzz_compiler.py [--runs 100000] [--seconds S] [--work DIR]

atheris (installed from PyPI on first use) drives bench/fuzz/targets.py's compile_bytes: import,
validation, planning and code generation of arbitrary bytes, seeded with the shared models,
examples/ and small generated ones, with a dictionary of flatbuffer and schema tokens
(bench/fuzz/tflite.dict). The only acceptable outcomes are a result or Kiln's one-line error; an
exception, a run over 10 s or memory over 1 GB is a finding, saved in <work>/artifacts. Prints
executions and findings.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fuzz"))

import driver  # noqa: E402

ROOT = HERE.parent


def seeds(folder: Path) -> list[Path]:
    """Small models to start from: the repository's and a few generated (the shared ones over
    200 KB would only slow each execution)."""
    sys.path.insert(0, str(ROOT / "server"))
    sys.path.insert(0, str(ROOT / "tests"))
    import modelgen as mg

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in [*ROOT.glob("examples/**/*.tflite"), *(ROOT.parent / "shared" / "models").glob("*.tflite")]:
        if p.stat().st_size <= 200_000:
            out.append(p)
    for k, data in enumerate([mg.fc_softmax(1).data, mg.fc_softmax(3).data, mg.unsupported_operator("LSTM")]):
        (folder / f"gen{k}.tflite").write_bytes(data)
        out.append(folder / f"gen{k}.tflite")
    return out


def main() -> None:
    args = driver.arguments(__doc__.splitlines()[0], 100_000).parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-fuzz-compiler-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        corpus = work / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for p in seeds(work / "seeds"):  # libFuzzer reads every seed once, then grows the corpus folder
            (corpus / p.name).write_bytes(p.read_bytes())
        rows = [driver.run("compile_bytes", corpus, [], work / "artifacts", args.runs, args.seconds,
                           HERE / "fuzz" / "tflite.dict")]
    driver.report(rows, args.json)


if __name__ == "__main__":
    main()
