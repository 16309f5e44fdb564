"""The history of generated images each CycleGAN discriminator sees (Shrivastava et al. 2017; reference.md).

The pool lives in Keras variables of the model, so it is updated inside the compiled training step and
saved with every checkpoint: a resumed run continues with the same pool, not an empty one.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


class ImagePool:
    """Up to ``size`` past fakes. While filling, each new fake is stored and returned; once full, each new
    fake has probability 1/2 of being swapped for a random stored one (which is returned instead)."""

    def __init__(self, model: keras.Model, name: str, size: int, image_shape: tuple[int, ...]) -> None:
        self.size = size
        self.images = model.add_weight(shape=(max(size, 1), *image_shape), initializer="zeros",
                                       trainable=False, name=f"{name}_images", dtype="float32")
        self.count = model.add_weight(shape=(), initializer="zeros", trainable=False, name=f"{name}_count",
                                      dtype="int32")

    @tf.autograph.experimental.do_not_convert  # plain tf.cond below; nothing for AutoGraph to rewrite
    def query(self, fakes: Any, seed: keras.random.SeedGenerator) -> Any:
        if self.size == 0:
            return fakes
        batch = fakes.shape[0]
        if batch is None:
            raise ValueError("the image pool needs a fixed batch size (batches are built with drop_remainder)")
        stored = self.images.value
        count = self.count.value
        chosen = []
        for i in range(batch):  # in order, as the reference does, so a batch can fill the pool's last slots
            fake = tf.cast(fakes[i], tf.float32)
            coin = keras.random.uniform((), seed=seed)
            slot = keras.random.randint((), 0, self.size, seed=seed)
            filled = count.read_value()

            def fill(fake: Any = fake, filled: Any = filled) -> Any:
                stored.scatter_nd_update([[filled]], fake[None])
                count.assign_add(1)
                return tf.identity(fake)

            def swap(fake: Any = fake, slot: Any = slot) -> Any:
                old = tf.identity(tf.gather(stored, slot))
                with tf.control_dependencies([old]):
                    stored.scatter_nd_update([[slot]], fake[None])
                return old

            def keep(fake: Any = fake) -> Any:
                return tf.identity(fake)

            picked = tf.cond(filled < self.size, fill,
                             lambda coin=coin, swap=swap, keep=keep: tf.cond(coin > 0.5, swap, keep))
            chosen.append(picked)
        return tf.cast(tf.stack(chosen), fakes.dtype)
