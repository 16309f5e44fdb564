"""CycleGAN's networks per reference.md: the ResNet generator and the 70x70 PatchGAN discriminator.

Instance norm normalises each image's channels on their own, without affine parameters, as in the reference
code (normalising over all channels together would be layer norm, a known mistake in ports).
The generator takes images of any size whose sides are multiples of 4 (two stride-2 convolutions), so
``img2img translate`` can run it at each photo's own size.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from img2img import Conv2D, Conv2DTranspose, gan_normal
from img2img import spectral_norm as spectral_normalised

SIZE_MULTIPLE = 4  # the generator halves twice, then doubles twice


@keras.saving.register_keras_serializable(package="img2img_cyclegan")
class ReflectionPadding2D(layers.Layer):
    """Mirror padding (Keras has none built in): no dark frame at image borders, as in the reference."""

    def __init__(self, padding: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs: Any) -> Any:
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (batch, None if height is None else height + grow, None if width is None else width + grow, channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="img2img_cyclegan")
class InstanceNormalization(layers.Layer):
    """Instance norm as one fused batch-norm op per call.

    Keras' ``GroupNormalization(groups=-1)`` computes the same thing from about 60 graph ops per call
    (forward and gradient); a CycleGAN step calls instance norm 86 times, so those ops were half of the
    graph TensorFlow traces before the first step. An image's instance statistics are the batch-norm
    statistics of a batch of that one image, which TensorFlow computes and differentiates in one op each
    (training batches have fixed shapes). Runs written with
    GroupNormalization still load: neither layer has weights, and exported networks name their own class.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs: Any) -> Any:
        if None in inputs.shape:
            # Sizes known only at run time (translate takes any image size): nothing is traced per step,
            # so plain moments do, without the reshuffling below.
            mean, variance = ops.moments(inputs, axes=[1, 2], keepdims=True)
            return (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        import tensorflow as tf

        n, channels = inputs.shape[0], inputs.shape[-1]
        # The op itself, with the constants every image shares made once per call: TensorFlow's Python
        # wrapper makes two empty statistics per image, and joining with concat adds a slice and its sizes
        # per image to the gradient; stack's gradient is one unstack. The same kernel and arguments.
        ones, zeros = tf.ones([channels], tf.float32), tf.zeros([channels], tf.float32)
        empty = tf.zeros([0], tf.float32)

        def normalised(image: Any) -> Any:
            return tf.raw_ops.FusedBatchNormV3(x=image, scale=ones, offset=zeros, mean=empty, variance=empty,
                                               epsilon=self.epsilon, is_training=True)[0]

        if n == 1:
            return normalised(inputs)
        # One op per image: splitting and joining along the batch copies contiguous blocks, where making the
        # (image, channel) pairs one image's channels would transpose every pixel twice each way
        # (docs/cyclegan.md, "CycleGAN speed").
        return tf.reshape(tf.stack([normalised(image) for image in tf.split(inputs, n, axis=0)]), inputs.shape)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}


def instance_norm() -> layers.Layer:
    return InstanceNormalization(epsilon=1e-5)


def _conv(filters: int, kernel: int, strides: int = 1, padding: str = "valid") -> layers.Layer:
    return Conv2D(filters, kernel, strides=strides, padding=padding, kernel_initializer=gan_normal())


def _residual_block(x: Any, filters: int) -> Any:
    y = ReflectionPadding2D(1)(x)
    y = layers.ReLU()(instance_norm()(_conv(filters, 3)(y)))
    y = ReflectionPadding2D(1)(y)
    y = instance_norm()(_conv(filters, 3)(y))
    return layers.Add()([x, y])


UPSAMPLING = ("transpose", "resize")


def _upsample(x: Any, filters: int, method: str) -> Any:
    """Double the side. ``transpose`` is the reference's stride-2 transposed conv; ``resize`` is nearest
    upsampling then a 3x3 conv (Odena et al. 2016), which cannot leave the checkerboard pattern transposed
    convs print on flat areas - the pattern that SSIM punishes on backgrounds."""
    if method == "transpose":
        return Conv2DTranspose(filters, 3, strides=2, padding="same", kernel_initializer=gan_normal())(x)
    x = layers.UpSampling2D(2, interpolation="nearest")(x)
    return _conv(filters, 3)(ReflectionPadding2D(1)(x))


def resnet_generator(channels: int, filters: int, blocks: int, name: str,
                     upsampling: str = "transpose") -> keras.Model:
    """c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3 (Zhu et al. 2017, appendix 7.2)."""
    image = keras.Input((None, None, channels), name="image")
    x = ReflectionPadding2D(3)(image)
    x = layers.ReLU()(instance_norm()(_conv(filters, 7)(x)))
    for mult in (2, 4):
        x = layers.ReLU()(instance_norm()(_conv(filters * mult, 3, strides=2, padding="same")(x)))
    for _ in range(blocks):
        x = _residual_block(x, filters * 4)
    for mult in (2, 1):
        x = layers.ReLU()(instance_norm()(_upsample(x, filters * mult, upsampling)))
    x = _conv(channels, 7)(ReflectionPadding2D(3)(x))
    out = layers.Activation("tanh", dtype="float32", name="translated")(x)
    return keras.Model(image, out, name=name)


def patchgan_discriminator(channels: int, filters: int, layers_count: int, name: str,
                           spectral_norm: bool = False) -> keras.Model:
    """70x70 PatchGAN (3 layers): 4x4 convs with padding 1, strides 2 then 1; one logit per patch.

    A 256 px input gives 30x30 logits, as in the reference code. ``spectral_norm`` wraps every conv in
    Keras' SpectralNormalization (and drops instance norm, as spectrally normalised critics do).
    """

    def conv(width: int, stride: int = 1) -> layers.Layer:
        layer = _conv(width, 4, strides=stride)
        return spectral_normalised(layer, spectral_norm)

    image = keras.Input((None, None, channels), name="image")
    x = image
    width = filters
    for i in range(layers_count + 1):
        stride = 2 if i < layers_count else 1
        x = conv(width, stride)(layers.ZeroPadding2D(1)(x))
        if i > 0 and not spectral_norm:
            x = instance_norm()(x)
        x = layers.LeakyReLU(0.2)(x)
        width = filters * min(2 ** (i + 1), 8)
    x = conv(1)(layers.ZeroPadding2D(1)(x))
    out = layers.Activation("linear", dtype="float32", name="patch_logits")(x)
    return keras.Model(image, out, name=name)


def patch_grid(size: int, layers_count: int) -> int:
    """Side of the logit map for a size x size input (0 when the input is too small)."""
    for _ in range(layers_count):
        size = (size + 2 - 4) // 2 + 1
    for _ in range(2):
        size = size + 2 - 4 + 1
    return max(size, 0)
