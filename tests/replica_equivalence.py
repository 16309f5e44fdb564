"""Run as a script (the CPU must be split into two devices before TensorFlow starts, so not in the test
process): train a DCGAN a few steps on one device and on two mirrored replicas, same global batch and
seed, for each (loss, penalty) given, and print the largest weight difference of each as JSON."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    import tensorflow as tf

    from img2img.distribute import split_cpu

    split_cpu(2)
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    from img2img.distribute import synchronise_batch_norm
    from img2img.optimizers import FusedAdam
    from img2img.plugins import get_plugins

    plugins = get_plugins()
    digits = load_digits().images[:48].astype("float32") / 8.0 - 1.0  # real 8x8 digits in [-1, 1]
    images = np.repeat(np.repeat(digits, 2, axis=1), 2, axis=2)[..., None]  # 16x16

    def train(strategy, loss: str, penalty: str | None) -> tuple[list[np.ndarray], float]:
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = plugins.models.get("dcgan")(image_size=16, channels=1, filters=8, latent_dim=8, seed=3)
            synchronise_batch_norm(model)
            start = [np.asarray(v) for v in model.generator.weights + model.discriminator.weights]
            penalties = [(plugins.penalties.get(penalty), 1.0)] if penalty else []
            model.compile(FusedAdam(1e-3, beta_1=0.5), FusedAdam(1e-3, beta_1=0.5), loss=plugins.losses.get(loss),
                          penalties=penalties)
            model.build_optimizers()
            model.fit(tf.data.Dataset.from_tensor_slices(images).batch(16), epochs=1, verbose=0)
        end = [np.asarray(v) for v in model.generator.weights + model.discriminator.weights]
        return end, max(float(np.abs(a - b).max()) for a, b in zip(start, end, strict=True))

    mirrored = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    results = {}
    for spec in sys.argv[1:]:
        loss, _, penalty = spec.partition("+")
        one, moved = train(tf.distribute.get_strategy(), loss, penalty or None)
        two, _ = train(mirrored, loss, penalty or None)
        results[spec] = {"max_difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two, strict=True)),
                         "moved": moved, "replicas": mirrored.num_replicas_in_sync}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
