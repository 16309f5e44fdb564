"""Random crop and flip for training streams, reproducible across resumes.

Each element's randomness comes from stateless ops seeded by (run seed, element index in the stream), so
a resumed run that skips the first N elements crops and flips the rest exactly as an uninterrupted run.
"""

from __future__ import annotations

from typing import Any


def random_crop_flip(dataset: Any, size: int, channels: int, seed: int, flip: bool, offset: int = 0) -> Any:
    """Crop ``size`` x ``size`` at a random place (and mirror with probability 1/2) from larger images.

    ``offset`` is the index of the stream's first element (the number skipped on resume).
    """
    import tensorflow as tf

    def augment(index: Any, element: Any) -> Any:
        image, rest = (element[0], element[1:]) if isinstance(element, tuple) else (element, ())
        key = tf.stack([tf.constant(seed, tf.int64), index])
        image = tf.image.stateless_random_crop(image, (size, size, channels), seed=key)
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=key + tf.constant([0, 1 << 40], tf.int64))
        return (image, *rest) if rest else image

    return dataset.enumerate(start=offset).map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
