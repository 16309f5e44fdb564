"""The three networks of VAE-GAN after Larsen et al. 2016 (their appendix, and reference.md): 5x5 convolutions,
batch norm and ReLU; the encoder and the critic halve the image ``downsamplings`` times, the decoder doubles
it back from a small map. Widths follow the paper's 64 px networks at ``filters`` = 32 and scale with it:

- encoder: 2f, 4f, 8f stride-2 convolutions, a 64f dense layer, then the mean and log-variance of z;
- decoder: the encoder mirrored: a dense layer to an s x s map as wide as the encoder's last convolution,
  stride-2 transposed convolutions halving that width, the last of f filters, a 5x5 convolution to the
  image, tanh (8f, 4f, f at 64 px: the paper's 256, 128, 32);
- critic: an f-filter stride-1 convolution, then 4f, 8f, 8f stride-2 ones; the last of these, *before* its
  batch norm, is the layer whose features measure reconstruction (the paper's l-th layer, 256 x 8 x 8 at
  64 px); a 16f dense layer and the logit.
"""

from __future__ import annotations

import keras
from keras import layers

from img2img import Conv2D, Conv2DTranspose, spectral_norm

KERNEL = 5
BN_MOMENTUM = 0.9  # PyTorch's 0.1 running-average rate, as the DCGAN plugin uses
FEATURES = "features"  # the critic layer (a named identity) whose output measures reconstruction


def downsamplings(image_size: int) -> int:
    """Stride-2 layers for a size: three (the paper's 64 px networks) from 64 px up, two below."""
    return 3 if image_size >= 64 else 2


def _norm_relu(x: keras.KerasTensor) -> keras.KerasTensor:
    return layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(x))


def encoder(image_size: int, channels: int, filters: int, latent_dim: int) -> keras.Model:
    """Image -> (mean, log-variance) of q(z | x)."""
    image = keras.Input((image_size, image_size, channels), name="image")
    x = image
    for i in range(downsamplings(image_size)):
        x = _norm_relu(Conv2D(2 * filters << i, KERNEL, strides=2, padding="same", use_bias=False)(x))
    x = _norm_relu(layers.Dense(64 * filters, use_bias=False)(layers.Flatten()(x)))
    mean = layers.Dense(latent_dim, dtype="float32", name="z_mean")(x)
    log_variance = layers.Dense(latent_dim, dtype="float32", kernel_initializer="zeros", name="z_log_variance")(x)
    return keras.Model(image, [mean, log_variance], name="encoder")


def decoder(image_size: int, channels: int, filters: int, latent_dim: int) -> keras.Model:
    """z -> image in [-1, 1]: the generator, which ``img2img generate`` samples the prior with."""
    steps = downsamplings(image_size)
    start = image_size >> steps
    top = 2 * filters << (steps - 1)  # the encoder's deepest width: 8f at 64 px (the paper's 256), 4f below
    z = keras.Input((latent_dim,), name="z")
    x = _norm_relu(layers.Dense(start * start * top, use_bias=False)(z))
    x = layers.Reshape((start, start, top))(x)
    widths = [top >> i for i in range(steps - 1)] + [filters]
    for width in widths:
        x = _norm_relu(Conv2DTranspose(width, KERNEL, strides=2, padding="same", use_bias=False)(x))
    x = Conv2D(channels, KERNEL, padding="same")(x)
    return keras.Model(z, layers.Activation("tanh", dtype="float32", name="image")(x), name="generator")


def critic(image_size: int, channels: int, filters: int, use_spectral_norm: bool = False) -> keras.Model:
    """Image -> logit. Its layer named ``FEATURES`` is what ``critic_with_features`` also returns."""
    image = keras.Input((image_size, image_size, channels), name="image")
    x = spectral_norm(Conv2D(filters, KERNEL, padding="same"), use_spectral_norm)(image)
    x = layers.ReLU()(x)
    steps = downsamplings(image_size)
    widths = [4 * filters] + [8 * filters] * (steps - 1)
    for i, width in enumerate(widths):
        last = i == steps - 1
        conv = Conv2D(width, KERNEL, strides=2, padding="same", use_bias=use_spectral_norm)
        x = spectral_norm(conv, use_spectral_norm)(x)
        if last:  # a named identity, so the features have one name with or without spectral norm's wrapper
            x = layers.Activation("linear", dtype="float32", name=f"{FEATURES}_out")(x)
        x = layers.ReLU()(x) if use_spectral_norm else _norm_relu(x)
    x = layers.Flatten()(x)
    dense = spectral_norm(layers.Dense(16 * filters, use_bias=use_spectral_norm), use_spectral_norm)(x)
    x = layers.ReLU()(dense) if use_spectral_norm else _norm_relu(dense)
    logit = spectral_norm(layers.Dense(1, dtype="float32", name="logit"), use_spectral_norm)(x)
    return keras.Model(image, logit, name="discriminator")


def critic_with_features(network: keras.Model) -> keras.Model:
    """The same critic (shared layers, one set of weights) returning (logit, the feature layer's output)."""
    return keras.Model(network.input, [network.output, network.get_layer(f"{FEATURES}_out").output],
                       name="critic_with_features")


def autoencoder(encoder_network: keras.Model, decoder_network: keras.Model) -> keras.Model:
    """Image -> its reconstruction through the mean of q(z | x): what ``img2img translate`` runs."""
    image = keras.Input(encoder_network.input.shape[1:], name="image")
    mean, _ = encoder_network(image)
    return keras.Model(image, decoder_network(mean), name="autoencoder")
