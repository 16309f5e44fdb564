"""Conditioning augmentation (StackGAN, reference.md): the caption embedding gives a Gaussian N(mu, sigma^2)
and the generator reads a sample of it, which smooths the conditioning manifold; KL(N(mu, sigma^2) || N(0, I))
keeps it near the prior and is added to the generator's loss through ``add_loss``.
"""

from __future__ import annotations

import threading
from typing import Any

import keras
from keras import layers, ops

from img2img import gan_normal, global_draw


@keras.saving.register_keras_serializable(package="img2img_stackgan")
class ConditioningAugmentation(layers.Layer):
    """[n, text_dim] -> [n, units]. Training samples c = mu + sigma * eps; inference returns mu, so a prompt
    and a seed always give the same image (variety comes from z)."""

    def __init__(self, units: int = 128, kl_weight: float = 2.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.dense = layers.Dense(2 * self.units, kernel_initializer=gan_normal())
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The weighted KL term of this thread's last call: MirroredStrategy builds each replica's step in its
        # own thread, and Keras' add_loss list is one list all of them write (see kl_term).
        self._last_kl = threading.local()

    def build(self, input_shape: Any) -> None:
        self.dense.build(input_shape)

    def call(self, text: Any, training: bool | None = None) -> Any:
        stats = ops.leaky_relu(self.dense(text), 0.2)
        mu, log_var = stats[:, : self.units], stats[:, self.units:]
        if not training or not self.trainable:
            self._last_kl.value = None
            return mu
        # The KL term in float32 (a loss, summed over units), the noise in the layer's compute dtype (bfloat16
        # under mixed precision), so the sample adds up with mu.
        mu32, log_var32 = ops.cast(mu, "float32"), ops.cast(log_var, "float32")
        kl = 0.5 * ops.mean(ops.sum(ops.square(mu32) + ops.exp(log_var32) - log_var32 - 1.0, axis=1))
        self._last_kl.value = self.kl_weight * kl
        self.add_loss(self._last_kl.value)
        # Drawn for the global batch and sliced per replica, so N replicas draw what one device would.
        eps = global_draw(lambda n: keras.random.normal((n, self.units), dtype=mu.dtype, seed=self.seed_generator),
                          ops.shape(mu)[0])
        return mu + ops.exp(0.5 * log_var) * eps

    def kl_term(self) -> Any | None:
        """The weighted KL term this thread's last training call added (None after an inference call): what
        ``add_loss`` recorded, read without the list that every replica thread shares (under N replicas one
        replica read the other's term there)."""
        return getattr(self._last_kl, "value", None)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "kl_weight": self.kl_weight, "seed": self.seed}
