"""The history of generated images each CycleGAN discriminator sees (Shrivastava et al. 2017; reference.md).

The pool lives in Keras variables of the model, so it is updated inside the compiled training step and
saved with every checkpoint: a resumed run continues with the same pool, not an empty one.

Under N replicas (``--strategy mirrored``) there is still one pool, as on one device: every replica gathers
the global batch of fakes, walks it in batch order with the same coins (the seed state is mirrored), so all
replicas compute the same new pool, and keeps its own rows of what the pool returns. The new pool is
written with one ``assign`` (the in-place scatter of a variable is not implemented for mirrored variables),
kept from the first replica.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from img2img import all_replicas_rows, replica_count, this_replica_rows


class ImagePool:
    """Up to ``size`` past fakes. While filling, each new fake is stored and returned; once full, each new
    fake has probability 1/2 of being swapped for a random stored one (which is returned instead)."""

    def __init__(self, model: keras.Model, name: str, size: int, image_shape: tuple[int, ...]) -> None:
        self.size = size
        # only_first_replica: every replica assigns the same pool; one copy is kept, without an all-reduce.
        self.images = model.add_weight(shape=(max(size, 1), *image_shape), initializer="zeros",
                                       trainable=False, name=f"{name}_images", dtype="float32",
                                       aggregation="only_first_replica")
        self.count = model.add_weight(shape=(), initializer="zeros", trainable=False, name=f"{name}_count",
                                      dtype="int32", aggregation="only_first_replica")

    def query(self, fakes: Any, seed: keras.random.SeedGenerator) -> Any:
        if self.size == 0:
            return fakes
        local = fakes.shape[0]
        if local is None:
            raise ValueError("the image pool needs a fixed batch size (batches are built with drop_remainder)")
        everyone = tf.cast(all_replicas_rows(fakes), tf.float32)
        stored = tf.convert_to_tensor(self.images.value)
        filled = tf.convert_to_tensor(self.count.value)
        chosen = []
        for i in range(local * replica_count()):  # in order, as the reference does: a batch can fill the last slots
            fake = everyone[i]
            coin = keras.random.uniform((), seed=seed)
            slot = keras.random.randint((), 0, self.size, seed=seed)
            # Fill the next free slot; once full, swap with a random slot on heads, else keep the pool. Chosen
            # with selects, not tf.cond: a cond traces each branch as a function, two conds per image of the
            # global batch on every replica, which the start-up paid for every image and replica.
            filling = filled < self.size
            swapping = tf.logical_and(tf.logical_not(filling), coin > 0.5)
            index = tf.where(filling, filled, slot)
            old = tf.gather(stored, index)
            chosen.append(tf.where(swapping, old, fake))
            written = tf.where(tf.logical_or(filling, swapping), fake, old)
            stored = tf.tensor_scatter_nd_update(stored, index[None, None], written[None])
            filled = filled + tf.cast(filling, filled.dtype)
        self.images.assign(stored)
        self.count.assign(filled)
        return tf.cast(this_replica_rows(tf.stack(chosen), local), fakes.dtype)
