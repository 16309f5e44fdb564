"""Keras' 2-D convolutions with the bias added by one ``BiasAdd`` op, which the model plugins build on.

Keras reshapes a convolution's bias to (1, 1, 1, C) and adds it; its TensorFlow backend then squeezes the
bias back to (C,) to use ``BiasAdd``. With their gradients that is about seven graph ops per convolution call
that compute nothing, and TensorFlow traces every op in Python before the first training step: a CycleGAN
step calls convolutions about 130 times on each replica. Traced op counts and seconds are in
docs/cyclegan.md (CycleGAN speed) and bench/results/startup_cli.md.

The classes keep Keras' names, so layers are named ``conv2d_N`` as before and checkpoints, which find
weights by those names, are interchangeable with Keras' own layers; so are the weights and the results.
Exported networks name Keras' classes (``save_portable``), so they still load with ``keras.saving.load_model``
alone, without img2img.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from img2img.keras_import import import_keras

keras = import_keras()

ZIP32_LIMIT = 2**31 - 1  # zipfile needs zip64 announced before writing an entry this large through open()
COPY_CHUNK_BYTES = 1 << 20


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


_OURS = {"img2img>Conv2D", "img2img>Conv2DTranspose"}


def _as_keras_classes(config: Any) -> Any:
    """A saved model config with img2img's convolutions named as Keras' own (nested models and wrappers too)."""
    if isinstance(config, list):
        return [_as_keras_classes(item) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: _as_keras_classes(value) for key, value in config.items()}
    if config.get("registered_name") in _OURS:
        config.update(module="keras.layers", registered_name=None)
    return config


def save_portable(network: Any, path: Path) -> None:
    """``network.save(path)`` (a .keras file), naming Keras' Conv2D and Conv2DTranspose for img2img's, whose
    weights and config they share, so the file loads with Keras alone. Keras writes a scratch file beside
    ``path`` whose entries are streamed into ``path`` one at a time, so a network's weights are never all in
    memory at once. ``path`` itself is written in place: callers that replace a good file pass a temporary
    one (img2img.atomic.replacing)."""
    from img2img.atomic import temporary_path

    path = Path(path)
    scratch = temporary_path(path)
    try:
        network.save(scratch)
        with zipfile.ZipFile(scratch) as source:
            config = json.loads(source.read("config.json"))
            portable = _as_keras_classes(config)
            if portable != config:
                _copy_with_config(source, path, portable)
                return
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def _copy_with_config(source: zipfile.ZipFile, path: Path, config: dict[str, Any]) -> None:
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            if info.filename == "config.json":
                target.writestr(info, json.dumps(config))
                continue
            with source.open(info) as reader, target.open(info, "w", force_zip64=info.file_size >= ZIP32_LIMIT) \
                    as writer:
                shutil.copyfileobj(reader, writer, COPY_CHUNK_BYTES)
