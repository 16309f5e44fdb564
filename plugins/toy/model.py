"""A small MLP GAN for vectors, in the spirit of the Unrolled-GAN mixture experiments: both players are
multilayer perceptrons with ReLU hidden layers; the generator's output is linear (the data are not in
[-1, 1])."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers

from img2img import GAN, Option, replacing, spectral_norm, spectral_norm_option


class ToyMLP(GAN):
    name = "toy-mlp"
    description = "MLP generator and critic for vector data (toy:ring8, toy:grid25, toy:gauss)"
    default_loss = "gan"
    data_kind = "vectors"
    # Faster than DCGAN's 2e-4 for these small problems, with DCGAN's beta_1 (our choice, not a reference
    # default); losses with their own optimiser defaults (wgan, wgan-gp) still apply theirs.
    training_defaults = {"lr": 1e-3, "beta_1": 0.5}
    options = {
        "latent_dim": Option(16, "size of z", minimum=1),
        "hidden": Option(128, "units per hidden layer", minimum=1),
        "layers": Option(3, "hidden layers in each network", minimum=1),
        "activation": Option("relu", "hidden layers' activation (the Unrolled GAN authors' toy uses tanh)",
                             ("relu", "tanh")),
        "batch_norm": Option(False, "batch normalisation before each generator activation (PacGAN's generator)"),
        "critic_hidden": Option(0, "units per critic hidden layer; 0: as hidden (PacGAN's critic: 200)", minimum=0),
        "critic_layers": Option(0, "critic hidden layers; 0: as layers (PacGAN's critic: 3)", minimum=0),
        "maxout": Option(1, "critic units as the max of this many linear pieces, no activation (maxout, "
                         "Goodfellow et al. 2013; PacGAN's critic: 5); 1: the activation", minimum=1),
        "spectral_norm": spectral_norm_option("the critic's layers"),
        "plot_extent": Option(5.0, "sample plots show [-extent, extent]^2"),
    }

    @classmethod
    def check_image_size(cls, size: int) -> None:
        """Vectors have no image size; --image-size is ignored."""

    def _dense(self, units: int, critic: bool, **kwargs: Any) -> layers.Layer:
        return spectral_norm(layers.Dense(units, **kwargs), critic and bool(self.settings["spectral_norm"]))

    def build_generator(self) -> keras.Model:
        z = keras.Input((self.latent_dim,), name="z")
        x = z
        for _ in range(self.settings["layers"]):
            if self.settings["batch_norm"]:
                x = layers.BatchNormalization()(layers.Dense(self.settings["hidden"], use_bias=False)(x))
                x = layers.Activation(self.settings["activation"])(x)
            else:
                x = layers.Dense(self.settings["hidden"], activation=self.settings["activation"])(x)
        out = layers.Dense(int(np.prod(self.sample_shape)), dtype="float32", name="sample")(x)
        return keras.Model(z, out, name="generator")

    def build_discriminator(self) -> keras.Model:
        sample = keras.Input(self.sample_shape, name="sample")
        x = sample
        units = self.settings["critic_hidden"] or self.settings["hidden"]
        pieces = self.settings["maxout"]
        for _ in range(self.settings["critic_layers"] or self.settings["layers"]):
            if pieces > 1:
                # Built-in layers only, so the saved critic loads without custom objects: the max over
                # pieces is a global max pool over the (pieces, units) view.
                x = layers.Reshape((pieces, units))(self._dense(units * pieces, critic=True)(x))
                x = layers.GlobalMaxPooling1D()(x)
            else:
                x = self._dense(units, critic=True, activation=self.settings["activation"])(x)
        return keras.Model(sample, self._dense(1, critic=True, dtype="float32", name="logit")(x),
                           name="discriminator")

    @classmethod
    def sample_files(cls, count: int, class_names: Sequence[str] | None) -> list[str]:
        """Points, not pictures: one CSV, a row per sample."""
        return ["samples.csv"]

    @classmethod
    def write_samples(cls, generator: Any, z: np.ndarray, conditions: np.ndarray | None,
                      targets: Sequence[Any]) -> None:
        samples = np.asarray(generator(cls.generator_inputs(z, conditions), training=False))
        with replacing(targets[0]) as tmp:
            np.savetxt(tmp, samples.reshape(len(z), -1), delimiter=",", fmt="%.6g")

    def render_samples(self, samples: Any, labels: Any | None = None) -> Any:
        from img2img.render import scatter_plot

        return scatter_plot(np.asarray(samples), self.settings["plot_extent"])
