"""Trains the keyword CNN on the front end's int8 features and converts it to an int8 .tflite.
Run by make_models.py with TensorFlow's Python: train_keyword.py FEATURES.npz OUT.tflite WORDS_JSON.

The network is micro_speech's "tiny conv" shape: one 10x8 convolution (8 filters, stride 2) over
the 50 x 40 feature image, then a fully connected layer to the words. Its input takes the features
as they are (int8, scale 1, zero point 0): the representative data spans -128..127 exactly."""
import json
import sys

import numpy as np
import tensorflow as tf


def main(data_path: str, out_path: str, words_json: str) -> None:
    tf.keras.utils.set_random_seed(7)
    tf.config.experimental.enable_op_determinism()
    words = json.loads(words_json)
    d = np.load(data_path)
    x = d["x"].astype(np.float32)[..., None]  # [clips, 50, 40, 1], the int8 values
    y = d["y"]
    order = np.random.default_rng(7).permutation(len(y))
    x, y = x[order], y[order]
    model = tf.keras.Sequential([
        tf.keras.Input(shape=x.shape[1:]),
        tf.keras.layers.Rescaling(1 / 128.0),
        tf.keras.layers.Conv2D(8, (10, 8), strides=(2, 2), padding="same", activation="relu"),
        tf.keras.layers.Dropout(0.3),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(len(words)),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    split = len(y) * 9 // 10
    model.fit(x[:split], y[:split], epochs=40, batch_size=32, verbose=0, validation_data=(x[split:], y[split:]))
    _, acc = model.evaluate(x[split:], y[split:], verbose=0)
    print(f"train_keyword: held-out accuracy {acc:.3f} on {len(y) - split} clips", flush=True)
    probs = tf.keras.Sequential([model, tf.keras.layers.Softmax()])

    def representative():
        edge = np.zeros((1,) + x.shape[1:], np.float32)
        edge.flat[0], edge.flat[1] = -128.0, 127.0  # the int8 range exactly: input scale 1, zero point 0
        yield [edge]
        for k in range(0, len(x), 7):
            yield [x[k:k + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(probs)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with open(out_path, "wb") as f:
        f.write(conv.convert())


if __name__ == "__main__":
    main(*sys.argv[1:4])
