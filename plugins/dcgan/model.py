"""DCGAN per reference.md: strided convolutions, batch norm (not on G's output or D's input), ReLU in G
with a tanh output, LeakyReLU 0.2 in D, weights drawn from N(0, 0.02), z ~ N(0, I) of 100 dimensions.

Square images whose side is s0 * 2^k with s0 in 4..7 and k >= 2 (16, 20, 24, 28, 32, ..., 128): the
generator starts from an s0 x s0 map and doubles k times. 28 px (MNIST-like) works without resizing.
"""

from __future__ import annotations

import keras
from keras import layers

from img2img import GAN, Conv2D, Conv2DTranspose, Img2ImgError, Option, gan_normal, spectral_norm, spectral_norm_option

MIN_SIZE, MAX_SIZE = 16, 128
# PyTorch's default running-average rate (0.1), as in the reference DCGAN code; Keras' 0.99 leaves the
# inference-time statistics near their initial values for the first few hundred steps.
BN_MOMENTUM = 0.9


def start_and_doublings(size: int) -> tuple[int, int] | None:
    """(s0, k) with size = s0 * 2^k, s0 in 4..7, k >= 2; None when no such split exists."""
    k = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        k += 1
    return (size, k) if 4 <= size <= 7 and k >= 2 else None


def supported_sizes() -> list[int]:
    return [s for s in range(MIN_SIZE, MAX_SIZE + 1) if start_and_doublings(s)]


class DCGAN(GAN):
    name = "dcgan"
    description = "DCGAN (Radford et al. 2016): unconditional images from noise, 16-128 px, 1 or 3 channels"
    default_loss = "gan"
    training_defaults = {"lr": 2e-4, "beta_1": 0.5}  # reference.md, DCGAN: Adam 2e-4, beta_1 0.5
    options = {
        "latent_dim": Option(100, "size of z ~ N(0, I)", minimum=1),
        "filters": Option(64, "filters of D's first and G's last hidden layer; doubles per resolution", minimum=1),
        "d_norm": Option("batch", "normalisation in D's hidden layers; 'layer' or 'none' for gradient penalties",
                         ("batch", "layer", "none")),
        "spectral_norm": spectral_norm_option("D's layers"),
    }

    @classmethod
    def check_image_size(cls, size: int) -> None:
        if not MIN_SIZE <= size <= MAX_SIZE or start_and_doublings(size) is None:
            raise Img2ImgError(
                f"--image-size {size}: dcgan supports {', '.join(map(str, supported_sizes()))}"
            )

    def _plan(self) -> tuple[int, int, int]:
        plan = start_and_doublings(self.image_size)
        if plan is None:
            self.check_image_size(self.image_size)
        start, doublings = plan  # type: ignore[misc]
        return start, doublings, int(self.settings["filters"])

    def build_generator(self) -> keras.Model:
        z = keras.Input((self.latent_dim,), name="z")
        return keras.Model(z, self.generator_from(z), name="generator")

    def generator_from(self, vector: keras.KerasTensor) -> keras.KerasTensor:
        """The generator's layers from a code vector (z, or z with a label embedding) to the image."""
        start, doublings, filters = self._plan()
        width = filters * 2 ** (doublings - 1)
        x = layers.Dense(start * start * width, use_bias=False, kernel_initializer=gan_normal())(vector)
        x = layers.Reshape((start, start, width))(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.ReLU()(x)
        for i in range(doublings - 1):
            x = Conv2DTranspose(
                filters * 2 ** (doublings - 2 - i), 4, strides=2, padding="same", use_bias=False,
                kernel_initializer=gan_normal(),
            )(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = layers.ReLU()(x)
        x = Conv2DTranspose(self.channels, 4, strides=2, padding="same", kernel_initializer=gan_normal())(x)
        return layers.Activation("tanh", dtype="float32", name="image")(x)

    def _d_layer(self, layer: layers.Layer) -> layers.Layer:
        return spectral_norm(layer, bool(self.settings["spectral_norm"]))

    def _d_norm(self) -> layers.Layer | None:
        kind = self.settings["d_norm"]
        if kind == "batch":
            return layers.BatchNormalization(momentum=BN_MOMENTUM)
        if kind == "layer":
            return layers.LayerNormalization()
        return None

    def build_discriminator(self) -> keras.Model:
        image = keras.Input((self.image_size, self.image_size, self.channels), name="image")
        return keras.Model(image, self.logit_from(self.discriminator_features(image)), name="discriminator")

    def logit_from(self, features: keras.KerasTensor) -> keras.KerasTensor:
        logit = layers.Dense(1, dtype="float32", kernel_initializer=gan_normal(), name="logit")
        return self._d_layer(logit)(features)

    def projected_logit(self, features: keras.KerasTensor, embedded: keras.KerasTensor) -> keras.KerasTensor:
        """A projection critic's logit (Miyato and Koyama 2018): the plain logit of ``features`` plus their inner
        product with the condition's embedding ``embedded`` (as wide as ``features``)."""
        projection = layers.Dot(axes=1, dtype="float32")([embedded, features])
        return layers.Add(dtype="float32", name="conditional_logit")([self.logit_from(features), projection])

    def discriminator_features(self, image: keras.KerasTensor) -> keras.KerasTensor:
        """The critic's convolutions, flattened: what its final linear layer (and a projection) reads."""
        return layers.Flatten()(self.discriminator_map(image))

    def discriminator_map(self, image: keras.KerasTensor) -> keras.KerasTensor:
        """The critic's convolutions down to the s0 x s0 feature map (text models tile a caption onto it)."""
        _, doublings, filters = self._plan()
        x = self._d_layer(Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=gan_normal()))(image)
        x = layers.LeakyReLU(0.2)(x)
        for i in range(1, doublings):
            norm = self._d_norm()
            x = self._d_layer(Conv2D(filters * 2**i, 4, strides=2, padding="same", use_bias=norm is None,
                                            kernel_initializer=gan_normal()))(x)
            x = norm(x) if norm is not None else x
            x = layers.LeakyReLU(0.2)(x)
        return x
