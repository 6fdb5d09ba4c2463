"""Small networks of the kinds issue 13 names, written with Keras and converted by TensorFlow's
converter to full int8 (run by tests/test_keras_networks.py under the test-only TensorFlow
environment of scripts/setup-keras.sh; not imported by the tests themselves):

    .tools/keras/bin/python tests/keras_networks.py OUT_DIR

- mobilenet_v2_nchw: inverted residual blocks (expand 1x1, depthwise 3x3, project 1x1, residual
  ADD) behind an NCHW input permuted to NHWC, as a PyTorch export starts with a TRANSPOSE;
- mobilenet_v3: hard-swish and squeeze-and-excite (global average pooling as MEAN, two dense
  layers, hard-sigmoid, MUL);
- unet_decoder: an encoder, then TRANSPOSE_CONV and RESIZE (nearest and bilinear) upsampling
  concatenated with the skip connections;
- transformer_block: multi-head self-attention (BATCH_MATMUL, SOFTMAX), layer normalisation (MEAN,
  SQUARED_DIFFERENCE, RSQRT) and a feed-forward block.
Each gets <name>.tflite (int8 input and output) beside nothing else: TFLite Micro is the oracle.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402


def hard_swish(x):
    return x * keras.activations.hard_sigmoid(x)


def mobilenet_v2_nchw():
    inp = keras.Input((3, 16, 16), batch_size=1)  # NCHW
    x = layers.Permute((2, 3, 1))(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    for expand, out in ((4, 8), (4, 12)):
        y = layers.Conv2D(x.shape[-1] * expand, 1, activation="relu6")(x)
        y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = layers.Conv2D(out, 1)(y)
        x = layers.Add()([x, y]) if out == x.shape[-1] else y
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(5)(x))


def mobilenet_v3():
    inp = keras.Input((16, 16, 3), batch_size=1)
    x = layers.Activation(hard_swish)(layers.Conv2D(8, 3, strides=2, padding="same")(inp))
    y = layers.DepthwiseConv2D(3, padding="same")(x)
    se = layers.GlobalAveragePooling2D(keepdims=True)(y)
    se = layers.Conv2D(4, 1, activation="relu")(se)
    se = layers.Conv2D(8, 1, activation="hard_sigmoid")(se)
    y = layers.Multiply()([y, se])
    y = layers.Activation(hard_swish)(layers.Conv2D(8, 1)(y))
    x = layers.Add()([x, y])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(4)(x))


def unet_decoder():
    inp = keras.Input((16, 16, 2), batch_size=1)
    e1 = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    e2 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(e1)
    e3 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(e2)
    d2 = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(e3)
    d2 = layers.Concatenate()([d2, e2])
    d1 = layers.UpSampling2D(interpolation="bilinear")(layers.Conv2D(4, 1)(d2))
    d1 = layers.Concatenate()([d1, e1])
    out = layers.Conv2D(1, 1)(layers.UpSampling2D(size=(1, 1), interpolation="nearest")(d1))
    return keras.Model(inp, out)


def transformer_block():
    inp = keras.Input((6, 8), batch_size=1)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
    x = layers.LayerNormalization()(layers.Add()([inp, a]))
    f = layers.Dense(8)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization()(layers.Add()([x, f]))
    return keras.Model(inp, x)


NETWORKS = {"mobilenet_v2_nchw": mobilenet_v2_nchw, "mobilenet_v3": mobilenet_v3, "unet_decoder": unet_decoder,
            "transformer_block": transformer_block}


def main(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names or NETWORKS:
        keras.utils.set_random_seed(11)
        model = NETWORKS[name]()
        rng = np.random.default_rng(3)
        shape = (1,) + tuple(model.input_shape[1:])
        c = tf.lite.TFLiteConverter.from_keras_model(model)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(48))
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = tf.int8
        c.inference_output_type = tf.int8
        (out / f"{name}.tflite").write_bytes(c.convert())
        print(name, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
