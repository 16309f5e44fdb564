"""pix2pix's networks per reference.md: a U-Net generator with skip connections and a PatchGAN critic that
sees (input, output) together, both with batch norm.

The U-Net halves the image ``depth`` times (4x4 convs, stride 2) and doubles it back, concatenating each
encoder map onto the decoder map of the same size; the reference's ``unet_256`` has depth 8, so a 256 px
image reaches 1x1 at its innermost layer. Widths are filters x (1, 2, 4, 8, 8, ...); dropout sits in the
decoder blocks whose two sides are both 8 x filters wide, except the innermost (three of them at depth 8,
as in the reference). Any image whose sides are multiples of 2^depth goes through unchanged in size.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from img2img import Conv2D, Conv2DTranspose, gan_normal, spectral_norm

MAX_DEPTH = 8  # unet_256; larger images keep depth 8 (the reference trains 512 px crops with unet_256)
# PyTorch's running-average rate (0.1): with Keras' 0.99 the inference statistics lag for hundreds of steps.
BN_MOMENTUM = 0.9


def unet_depth(size: int) -> int:
    """Downsamplings for ``size`` px training images: halve while the side stays whole, at most 8 times
    (unet_256 takes 256 px to 1x1; 48 px stops at 3x3)."""
    depth = 0
    while size % 2 == 0 and size > 1 and depth < MAX_DEPTH:
        size //= 2
        depth += 1
    return depth


def _batch_norm() -> layers.Layer:
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=1e-5)


def _down(filters: int, use_bias: bool) -> layers.Layer:
    return Conv2D(filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=gan_normal())


UPSAMPLING = ("transpose", "resize")
REC601 = (0.299, 0.587, 0.114)  # luma weights of ITU-R BT.601, what Pillow's convert("L") uses


def luminance(x: Any) -> Any:
    """An RGB batch reduced to its luma, repeated on the three channels: the grey photo a colouriser sees."""
    from keras import ops

    weights = ops.convert_to_tensor(REC601, dtype=x.dtype)
    return ops.repeat(ops.sum(x * weights, axis=-1, keepdims=True), 3, axis=-1)


def luminance_layer() -> layers.Layer:
    """``luminance`` as a fixed 1x1 convolution, a stock layer, so a saved generator reloads without custom
    code and does its own greying: a colour photo and its grey version translate alike."""
    layer = Conv2D(3, 1, use_bias=False, trainable=False, name="luminance")
    layer.build((None, None, None, 3))
    layer.set_weights([np.tile(np.asarray(REC601, np.float32)[None, None, :, None], (1, 1, 1, 3))])
    return layer


def _up(x: Any, filters: int, use_bias: bool, method: str) -> Any:
    """Double the side: the reference's 4x4 stride-2 transposed conv, or nearest resize then a 3x3 conv
    (Odena et al. 2016), which cannot print the checkerboard transposed convs leave on flat areas."""
    if method == "transpose":
        return Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=use_bias,
                                      kernel_initializer=gan_normal())(x)
    x = layers.UpSampling2D(2, interpolation="nearest")(x)
    return Conv2D(filters, 3, padding="same", use_bias=use_bias, kernel_initializer=gan_normal())(x)


def unet_generator(channels: int, filters: int, depth: int, dropout: float, name: str = "generator",
                   out_channels: int | None = None, upsampling: str = "transpose",
                   grey_input: bool = False) -> keras.Model:
    """Input and output [n, h, w, channels] in [-1, 1], for any h and w that are multiples of 2^depth;
    ``grey_input`` (3 channels) makes the first layer ``luminance_layer``."""
    widths = [filters * min(2 ** i, 8) for i in range(depth)]
    image = keras.Input((None, None, channels), name="image")
    encoded = []
    x = luminance_layer()(image) if grey_input else image
    for i, width in enumerate(widths):
        if i > 0:
            x = layers.LeakyReLU(0.2)(x)
        innermost = i == depth - 1
        x = _down(width, use_bias=i == 0 or innermost)(x)  # no batch norm on the outermost and innermost
        if 0 < i < depth - 1:
            x = _batch_norm()(x)
        encoded.append(x)
    for i in range(depth - 1, 0, -1):  # block i's decoder half: from width i back to width i - 1
        if i < depth - 1:
            x = layers.Concatenate()([encoded[i], x])
        x = _up(layers.ReLU()(x), widths[i - 1], False, upsampling)
        x = _batch_norm()(x)
        if dropout > 0 and widths[i] == widths[i - 1] == filters * 8 and i < depth - 1:
            x = layers.Dropout(dropout)(x)
    x = layers.Concatenate()([encoded[0], x]) if depth > 1 else x
    x = _up(layers.ReLU()(x), out_channels or channels, True, upsampling)
    out = layers.Activation("tanh", dtype="float32", name="translated")(x)
    return keras.Model(image, out, name=name)


def patchgan(channels: int, filters: int, layers_count: int, spectral: bool = False,
             name: str = "discriminator") -> keras.Model:
    """The 70x70 PatchGAN (3 layers) on the input and the output, stacked on the channel axis (2 x
    channels): one logit per patch. Batch norm after every conv but the first and the last, as in the
    reference; ``spectral`` wraps the convs in spectral normalisation and drops the batch norm."""

    def conv(width: int, stride: int, use_bias: bool) -> Any:
        layer = Conv2D(width, 4, strides=stride, padding="valid", use_bias=use_bias,
                              kernel_initializer=gan_normal())
        return spectral_norm(layer, spectral)

    pair = keras.Input((None, None, 2 * channels), name="input_and_output")
    x = pair
    width = filters
    for i in range(layers_count + 1):
        stride = 2 if i < layers_count else 1
        x = conv(width, stride, use_bias=i == 0 or spectral)(layers.ZeroPadding2D(1)(x))
        if i > 0 and not spectral:
            x = _batch_norm()(x)
        x = layers.LeakyReLU(0.2)(x)
        width = filters * min(2 ** (i + 1), 8)
    x = conv(1, 1, use_bias=True)(layers.ZeroPadding2D(1)(x))
    return keras.Model(pair, layers.Activation("linear", dtype="float32", name="patch_logits")(x), name=name)
