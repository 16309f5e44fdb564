"""Text-to-image DCGAN with a matching-aware discriminator (GAN-CLS, Reed et al. 2016; reference.md).

The caption's sentence embedding is compressed to ``text_code`` (128 in the paper) by a dense layer with a
leaky ReLU; the generator reads it concatenated to z, the discriminator tiles it over its last feature map.
With ``conditioning=projection`` the critic instead adds to its logit the inner product of its flattened
features with a linear map of that code (Miyato and Koyama 2018's projection, with a caption in place of a
class; reference.md allows either for text), as ``cgan`` does by default.
The critic sees three kinds of pairs: real image + its caption (real), generated image + caption (fake), and
real image + another image's caption (fake), the last two weighing one half each.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from img2img import Conv2D, Option, all_replicas_rows, gan_normal, replica_count, this_replica_rows
from img2img.gan import GRID_SIZE
from img2img_plugins.dcgan.model import DCGAN
from img2img_plugins.stackgan.layers import ConditioningAugmentation  # registered: runs' generators may hold it

GRID_CAPTIONS = 8  # distinct training captions in each epoch's grid, one per column


class GANCLS(DCGAN):
    name = "gan-cls"
    description = ("text-to-image DCGAN with a matching-aware discriminator (Reed et al. 2016): captions from "
                   "NAME.txt beside each image; translate --prompt")
    text_conditional = True
    default_text_encoder = "all-minilm-l6-v2"
    options = {
        **DCGAN.options,
        "text_code": Option(128, "size the caption embedding is compressed to before G and D read it", minimum=1),
        "conditioning": Option("joint", "how D reads the caption: joint (its code tiled over D's last feature map, "
                               "then a 1x1 convolution; Reed et al.) or projection (the inner product of D's "
                               "features with a linear map of the code, added to the logit; Miyato and Koyama)",
                               ("joint", "projection")),
        "matching_aware": Option(True, "score real images with mismatched captions as fakes (GAN-CLS)"),
        "conditioning_augmentation": Option(False, "the generator reads a sample of N(mu, sigma^2) computed from the "
                                            "caption instead of its fixed code, with a KL term to N(0, I), as "
                                            "StackGAN does: one prompt then covers a neighbourhood of codes"),
        "ca_kl_weight": Option(2.0, "with conditioning_augmentation: weight of its KL term (StackGAN's configs: 2)",
                               minimum=0),
    }

    @classmethod
    def generator_inputs(cls, z: Any, labels: Any | None) -> Any:
        if labels is None:
            from img2img import Img2ImgError

            raise Img2ImgError("gan-cls draws images of a caption: give prompts (img2img translate --prompt TEXT)")
        return [z, labels]

    def discriminator_inputs(self, images: Any, labels: Any | None) -> Any:
        return [images, labels]

    def _compress(self, text: keras.KerasTensor, name: str) -> keras.KerasTensor:
        x = layers.Dense(int(self.settings["text_code"]), kernel_initializer=gan_normal(), name=name)(text)
        return layers.LeakyReLU(0.2)(x)

    def build_generator(self) -> keras.Model:
        z = keras.Input((self.latent_dim,), name="z")
        text = keras.Input((self.text_dim,), name="text")
        if self.settings.get("conditioning_augmentation"):
            caption = ConditioningAugmentation(int(self.settings["text_code"]), float(self.settings["ca_kl_weight"]),
                                               name="conditioning_augmentation")(text)
        else:
            caption = self._compress(text, "text_code")
        return keras.Model([z, text], self.generator_from(layers.Concatenate()([z, caption])), name="generator")

    def generator_layer_losses(self) -> Any:
        """The conditioning augmentations' KL terms of this replica's last generator call. Not through
        ``generator.losses``: Keras keeps them in one list that all replica threads of MirroredStrategy write,
        and replica 0 read replica 1's term there (the tensorflow#23056 family)."""
        terms = [layer.kl_term() for layer in self.generator._flatten_layers()
                 if isinstance(layer, ConditioningAugmentation)]
        terms = [ops.cast(term, "float32") for term in terms if term is not None]
        return ops.sum(ops.stack(terms)) if terms else 0.0

    def build_discriminator(self) -> keras.Model:
        image = keras.Input((self.image_size, self.image_size, self.channels), name="image")
        text = keras.Input((self.text_dim,), name="text")
        if self.settings["conditioning"] == "projection":
            features = self.discriminator_features(image)
            code = self._compress(text, "text_code")
            embedded = self._d_layer(layers.Dense(features.shape[-1], use_bias=False, kernel_initializer=gan_normal(),
                                                  name="text_projection"))(code)
            return keras.Model([image, text], self.projected_logit(features, embedded), name="discriminator")
        features = self.discriminator_map(image)
        side, width = features.shape[1], features.shape[-1]
        tiled = layers.UpSampling2D(size=(side, side))(layers.Reshape((1, 1, -1))(self._compress(text, "text_code")))
        x = layers.Concatenate()([features, tiled])
        # No bias: TensorFlow's remapper fails to fuse Conv + BiasAdd + LeakyReLU here and logs an error.
        x = self._d_layer(Conv2D(width, 1, use_bias=False, kernel_initializer=gan_normal(), name="joint"))(x)
        x = layers.LeakyReLU(0.2)(x)
        return keras.Model([image, text], self.logit_from(layers.Flatten()(x)), name="discriminator")

    def extra_fake_outputs(self, real: Any, labels: Any | None) -> Any | None:
        """The matching-aware term (GAN-CLS, reference.md): real images under captions that are not theirs
        count as fakes."""
        if labels is None or not self.settings["matching_aware"]:
            return None
        return self.critic_for(self.mismatched_captions(labels))(real)

    @property
    def scores_extra_samples(self) -> bool:
        return bool(self.settings["matching_aware"])

    def mismatched_captions(self, labels: Any) -> Any:
        """For each image, a random caption embedding of another element of the global batch that differs from
        its own: under N replicas every replica draws the same choice for all the global batch's captions and
        keeps its rows, as one device would."""
        local = ops.shape(labels)[0]
        everyone = all_replicas_rows(labels)
        n = local * replica_count()
        distance = ops.sum(ops.square(ops.expand_dims(everyone, 1) - ops.expand_dims(everyone, 0)), axis=-1)
        different = ops.cast(distance > 1e-8, "float32")
        scores = keras.random.uniform((n, n), seed=self.seed_generator) + 2.0 * different
        return this_replica_rows(ops.take(everyone, ops.argmax(scores, axis=1), axis=0), local)

    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        """Eight distinct training captions, one per column, each drawn with eight latent vectors."""
        embeddings: list[np.ndarray] = []
        for _, embedding in stream().take(512):
            vector = np.asarray(embedding, np.float32)
            if not any(np.allclose(vector, e) for e in embeddings):
                embeddings.append(vector)
            if len(embeddings) == GRID_CAPTIONS:
                break
        columns = len(embeddings)
        z = np.random.default_rng(seed).standard_normal((GRID_SIZE, self.latent_dim)).astype(np.float32)
        text = np.stack([embeddings[i % columns] for i in range(GRID_SIZE)])
        return {"z": z, "labels": text, "columns": np.int32(columns)}

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        from img2img.render import image_grid

        samples = ops.convert_to_numpy(self.generator([inputs["z"], inputs["labels"]], training=False))
        return image_grid(samples, int(inputs["columns"]))
