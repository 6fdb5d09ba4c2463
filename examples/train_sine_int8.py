"""Trains the bundled example model: sin(x) on [0, 2*pi], a 1-16-16-1 MLP, quantized to int8.

Run from the repository root to regenerate examples/models/sine_int8.tflite (deterministic):
    .venv/bin/python examples/train_sine_int8.py
Plain numpy (full-batch Adam), written with the test suite's flatbuffer builder.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import modelgen as mg  # noqa: E402


def train(steps: int = 6000, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2 * np.pi, 512).reshape(-1, 1)
    y = np.sin(x)
    sizes = [1, 16, 16, 1]
    params = []
    for a, b in zip(sizes, sizes[1:]):
        params += [rng.normal(0, np.sqrt(2 / a), (a, b)), np.zeros(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        h1 = np.maximum(x @ params[0] + params[1], 0)
        h2 = np.maximum(h1 @ params[2] + params[3], 0)
        out = h2 @ params[4] + params[5]
        d = 2 * (out - y) / len(x)
        g5, g4 = d.sum(0), h2.T @ d
        d2 = (d @ params[4].T) * (h2 > 0)
        g3, g2 = d2.sum(0), h1.T @ d2
        d1 = (d2 @ params[2].T) * (h1 > 0)
        g1, g0 = d1.sum(0), x.T @ d1
        for i, g in enumerate([g0, g1, g2, g3, g4, g5]):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= 0.01 * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    return x, params


def to_tflite(x, params) -> bytes:
    acts = [x]
    for k in range(3):
        z = acts[-1] @ params[2 * k] + params[2 * k + 1]
        acts.append(np.maximum(z, 0) if k < 2 else z)
    b = mg.ModelBuilder(description="Kiln example: sin(x) on [0, 2pi], int8")
    qp = [mg.choose_qparams(a.min(), a.max()) for a in acts]
    cur = b.input("x", [1, 1], "int8", scale=qp[0][0], zero_point=qp[0][1])
    for k in range(3):
        w = params[2 * k].T  # TFLite weights are [units, depth]
        wq, ws = mg.symmetric_weights(w, axis=0, per_channel=True)
        bias_scale = [qp[k][0] * s for s in ws]
        bq = np.round(params[2 * k + 1] / np.array(bias_scale)).astype(np.int32)
        wi = b.const(f"dense{k}/weights", wq, scale=ws, zero_point=[0] * len(ws), quantized_dimension=0)
        bi = b.const(f"dense{k}/bias", bq, scale=bias_scale, zero_point=[0] * len(ws), quantized_dimension=0)
        name = "sin_x" if k == 2 else f"dense{k}/relu"
        out = b.tensor(name, [1, w.shape[0]], "int8", scale=qp[k + 1][0], zero_point=qp[k + 1][1])
        b.op("FULLY_CONNECTED", [cur, wi, bi], [out], fused_activation="RELU" if k < 2 else "NONE")
        cur = out
    b.output(cur)
    return b.build()


if __name__ == "__main__":
    xs, ps = train()
    pred = np.maximum(np.maximum(xs @ ps[0] + ps[1], 0) @ ps[2] + ps[3], 0) @ ps[4] + ps[5]
    print(f"float model: mean abs error {np.abs(pred - np.sin(xs)).mean():.4f}")
    out = ROOT / "examples" / "models" / "sine_int8.tflite"
    out.write_bytes(to_tflite(xs, ps))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
