"""Class-conditional DCGAN (reference.md, "Conditional GAN"): the label's embedding is concatenated to z for
the generator; the discriminator gets the label either as an extra image channel (``concat``, Mirza and
Osindero 2014) or through a projection of its features (``projection``, Miyato and Koyama 2018).

Labels come from the data: one sub-folder per class (folders) or a data set's class label (tfds).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from img2img import Img2ImgError, Option
from img2img_plugins.dcgan.model import DCGAN


class CGAN(DCGAN):
    name = "cgan"
    description = "conditional DCGAN: images of a chosen class (labels from sub-folder names); generate --label"
    conditional = True
    options = {
        **DCGAN.options,
        "conditioning": Option("projection", "how D sees the label: projection of its features, or concat "
                               "(the label as an extra image channel)", ("projection", "concat")),
        "embed_dim": Option(50, "size of the label embedding concatenated to z", minimum=1),
    }

    def __init__(self, **kwargs: Any) -> None:
        if int(kwargs.get("num_classes") or 0) < 2:
            raise Img2ImgError("cgan needs class labels: put each class's images in its own sub-folder of --data "
                               "(at least two classes), or use a labelled tfds set")
        super().__init__(**kwargs)

    @classmethod
    def generator_inputs(cls, z: Any, labels: Any | None) -> Any:
        if labels is None:
            raise Img2ImgError("cgan generates images of a class: pass the labels (generate --label NAME)")
        return [z, labels]

    def discriminator_inputs(self, images: Any, labels: Any | None) -> Any:
        return [images, labels]

    def build_generator(self) -> keras.Model:
        z = keras.Input((self.latent_dim,), name="z")
        label = keras.Input((), dtype="int32", name="label")
        embedded = layers.Embedding(self.num_classes, int(self.settings["embed_dim"]), name="label_embedding")(label)
        return keras.Model([z, label], self.generator_from(layers.Concatenate()([z, embedded])), name="generator")

    def build_discriminator(self) -> keras.Model:
        size, channels = self.image_size, self.channels
        image = keras.Input((size, size, channels), name="image")
        label = keras.Input((), dtype="int32", name="label")
        if self.settings["conditioning"] == "concat":
            plane = layers.Embedding(self.num_classes, size * size, name="label_plane")(label)
            plane = layers.Reshape((size, size, 1))(plane)
            features = self.discriminator_features(layers.Concatenate()([image, plane]))
            return keras.Model([image, label], self.logit_from(features), name="discriminator")
        features = self.discriminator_features(image)
        embedded = layers.Embedding(self.num_classes, features.shape[-1], name="label_projection")(label)
        return keras.Model([image, label], self.projected_logit(features, embedded), name="discriminator")
