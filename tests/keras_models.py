"""Converts small Keras recurrent models to .tflite with TensorFlow's converter, as a user's export
would (run by tests/test_keras_models.py under the test-only TensorFlow venv that
scripts/setup-keras.sh makes; not imported by the tests themselves).

    .tools/keras/bin/python tests/keras_models.py OUT_DIR

Writes, for LSTM and GRU layers: with unroll off (the layer becomes a WHILE loop over the time
steps) in float32; with unroll on (a chain of operators per step) in float32 and full int8. For
each, <name>.tflite, <name>_inputs.npy (12 records) and <name>_reference.npy: TensorFlow Lite's
outputs on them with its reference kernels (TFLite Micro refuses the unrolled models: their FILL
takes dimensions computed by SHAPE, which Kiln folds at compile time and TFLite Micro does not).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

STEPS, FEATURES, UNITS, RECORDS = 8, 5, 6, 12


def convert(model, int8: bool, rng) -> bytes:
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, STEPS, FEATURES)).astype(np.float32)]
                                            for _ in range(32))
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = tf.int8
        c.inference_output_type = tf.int8
    return c.convert()


def reference(data: bytes, inputs: np.ndarray) -> np.ndarray:
    interp = tf.lite.Interpreter(model_content=data,
                                 experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    outs = []
    for x in inputs:
        interp.set_tensor(i["index"], x)
        interp.invoke()
        outs.append(interp.get_tensor(o["index"]).copy())
    return np.stack(outs)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    for cell in ("LSTM", "GRU"):
        for unroll, int8 in ((False, False), (True, False), (True, True)):
            model = keras.Sequential([keras.Input((STEPS, FEATURES), batch_size=1),
                                      getattr(keras.layers, cell)(UNITS, unroll=unroll), keras.layers.Dense(3)])
            data = convert(model, int8, rng)
            name = f"{cell.lower()}_{'unrolled' if unroll else 'loop'}_{'int8' if int8 else 'float32'}"
            x = rng.uniform(-1, 1, (RECORDS, 1, STEPS, FEATURES)).astype(np.float32)
            if int8:
                detail = tf.lite.Interpreter(model_content=data).get_input_details()[0]
                scale, zp = detail["quantization"]
                x = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
            (out / f"{name}.tflite").write_bytes(data)
            np.save(out / f"{name}_inputs.npy", x)
            np.save(out / f"{name}_reference.npy", reference(data, x))
            print(name, len(data), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
