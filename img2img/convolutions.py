"""Keras' 2-D convolutions with the bias added by one ``BiasAdd`` op, which the model plugins build on.

Keras reshapes a convolution's bias to (1, 1, 1, C) and adds it; its TensorFlow backend then squeezes the
bias back to (C,) to use ``BiasAdd``. With their gradients that is about seven graph ops per convolution call
that compute nothing, and TensorFlow traces every op in Python before the first training step: a CycleGAN
step calls convolutions about 130 times on each replica. Traced op counts and seconds are in
docs/cyclegan.md (CycleGAN speed) and bench/results/startup_cli.md.

The classes keep Keras' names, so layers are named ``conv2d_N`` as before and checkpoints, which find
weights by those names, are interchangeable with Keras' own layers; so are the weights and the results.
Networks exported with Keras' classes load as before.
"""

from __future__ import annotations

from typing import Any

from img2img.keras_import import import_keras

keras = import_keras()


def _biased(layer: Any, outputs: Any) -> Any:
    import tensorflow as tf

    bias = layer.bias.value  # autocast to the layer's compute dtype under mixed precision
    outputs = tf.nn.bias_add(outputs, tf.cast(bias, outputs.dtype))
    return outputs if layer.activation is None else layer.activation(outputs)


def _native(layer: Any) -> bool:
    """Whether the one-op bias applies: TensorFlow's backend, channels last, a bias."""
    return layer.use_bias and layer.data_format == "channels_last" and keras.backend.backend() == "tensorflow"


@keras.saving.register_keras_serializable(package="img2img")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D``; the bias is one ``BiasAdd``."""

    def call(self, inputs: Any) -> Any:
        if not _native(self):
            return super().call(inputs)
        return _biased(self, self.convolution_op(inputs, self.kernel))


@keras.saving.register_keras_serializable(package="img2img")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose``; the bias is one ``BiasAdd``."""

    def call(self, inputs: Any) -> Any:
        if not _native(self):
            return super().call(inputs)
        outputs = keras.ops.conv_transpose(inputs, self.kernel, strides=list(self.strides), padding=self.padding,
                                           output_padding=self.output_padding, dilation_rate=self.dilation_rate,
                                           data_format=self.data_format)
        return _biased(self, outputs)
