"""Run as a script (the CPU must be split into two devices before TensorFlow starts, so not in the test
process): train a model a few steps on one device and on two mirrored replicas, same global batch and
seed, for each ``[MODEL/]LOSS[+PENALTY]`` given (MODEL dcgan, dcgan-sn, gan-cls, stackgan, vaegan,
pix2pix, cyclegan or cyclegan-n2, two critic steps a step; dcgan when left out), and print the largest
difference of each as JSON, with how often the step's Python ran while the replicas traced it.

DCGAN and the text models are compared weight by weight, optimiser slots included. CycleGAN and pix2pix
are compared by what their networks output on fixed images, their other state (pools, batch-norm
statistics) and the optimisers' step counts: the biases of CycleGAN's convolutions that feed an instance
norm have a gradient of zero in exact arithmetic, and Adam divides their round-off by its own square
root, which turns it into full learning-rate steps of either sign; they differ between runs by ~1e-3 and
change no output."""

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

    from img2img.distribute import draw_dropout_for_global_batch, synchronise_batch_norm
    from img2img.optimizers import FusedAdam
    from img2img.plugins import get_plugins

    plugins = get_plugins()
    loaded = load_digits()
    digits = loaded.images[:48].astype("float32") / 8.0 - 1.0  # real 8x8 digits in [-1, 1]
    classes = loaded.target[:48]
    digits16 = np.repeat(np.repeat(digits, 2, axis=1), 2, axis=2)[..., None]
    digits32 = np.repeat(np.repeat(digits16, 2, axis=1), 2, axis=2)
    digits64 = np.repeat(np.repeat(digits32, 2, axis=1), 2, axis=2)

    def build(name: str):
        if name in ("dcgan", "dcgan-sn"):  # dcgan-sn: the critic's layers spectrally normalised
            model = plugins.models.get("dcgan")(image_size=16, channels=1, filters=8, latent_dim=8, seed=3,
                                                spectral_norm=name == "dcgan-sn")
            return model, tf.data.Dataset.from_tensor_slices(digits16).batch(16)
        if name in ("gan-cls", "stackgan"):  # a one-hot "caption" per digit class: captions repeat in a batch
            model = plugins.models.get(name)(image_size=16, channels=1, text_dim=10, filters=8, latent_dim=8,
                                             text_code=4, seed=3)
            captions = np.eye(10, dtype="float32")[classes]
            return model, tf.data.Dataset.from_tensor_slices((digits16, captions)).batch(16)
        if name == "vaegan":  # its own step: the reparameterisation noise and each routed loss under replicas
            model = plugins.models.get("vaegan")(image_size=16, channels=1, filters=4, latent_dim=8, seed=3,
                                                 gate="off")
            # One step: its critic (4 filters, batch norm, ReLU) is chaotic enough that a second step turns the
            # first step's round-off (~4e-6 in the weights) into ~1 % of the momenta on some CPUs.
            return model, tf.data.Dataset.from_tensor_slices(digits16[:16]).batch(16)
        if name == "pix2pix":  # 64 px: the smallest U-Net with dropout blocks; their masks are what this checks
            model = plugins.models.get("pix2pix")(image_size=64, channels=1, seed=3, filters=2, d_filters=4)
            return model, tf.data.Dataset.from_tensor_slices((digits64[:6], -digits64[6:12])).batch(
                2, drop_remainder=True)
        # cycle_noise and a 3-image pool that fills and then swaps within the 6 fakes: the global draws and
        # the pool shared over replicas are what this checks.
        model = plugins.models.get("cyclegan")(image_size=32, channels=1, seed=3, filters=4, d_filters=4,
                                                blocks=1, pool_size=3, cycle_noise=0.1)
        return model, tf.data.Dataset.from_tensor_slices((digits32[:6], -digits32[6:12])).batch(2, drop_remainder=True)

    def train(strategy, name: str, loss: str, penalty: str | None) -> tuple[list[np.ndarray], float, tuple[int, int]]:
        keras.utils.set_random_seed(0)
        n_critic = 2 if name == "cyclegan-n2" else 1
        name = name.removesuffix("-n2")
        with strategy.scope():
            model, data = build(name)
            calls = count_calls(model, "_generator_losses" if name == "cyclegan" else "train_step")
            critic_calls = count_calls(model, "critic_losses")
            synchronise_batch_norm(model)
            dropouts = draw_dropout_for_global_batch(model)
            assert name != "pix2pix" or dropouts > 0, "pix2pix without dropout layers checks nothing"
            networks = model.trainable_weights
            start = [np.asarray(v) for v in networks]
            penalties = [(plugins.penalties.get(penalty), 1.0)] if penalty else []
            model.compile(FusedAdam(1e-3, beta_1=0.5), FusedAdam(1e-3, beta_1=0.5), loss=plugins.losses.get(loss),
                          penalties=penalties, n_critic=n_critic)
            model.build_optimizers()
            model.fit(data, epochs=1, verbose=0)
        moved = max(float(np.abs(a - np.asarray(b)).max()) for a, b in zip(start, networks, strict=True))
        return state(name, model), moved, (len(calls), len(critic_calls))

    def count_calls(model, method: str) -> list[None]:
        """A list that grows by one each time ``method``'s Python runs (while tracing: once per trace)."""
        calls, original = [], getattr(model, method)

        def counted(*args, **kwargs):
            calls.append(None)
            return original(*args, **kwargs)

        object.__setattr__(model, method, counted)  # past Keras' attribute tracking: a plain instance attribute
        return calls

    def state(name: str, model) -> list[np.ndarray]:
        counters = [model.g_optimizer.iterations, model.d_optimizer.iterations]
        if name != "cyclegan":
            return [np.asarray(v) for v in model.weights + model.g_optimizer.variables + model.d_optimizer.variables]
        images = digits32[40:44]
        if name == "pix2pix":
            images = digits64[40:44]
            translated = model.generator(images, training=False)
            outputs = [translated, model.discriminator(model.discriminator_inputs(translated, images))]
            return [np.asarray(v) for v in outputs + model.non_trainable_weights + counters]
        outputs = [network(images, training=False) for network in
                   (model.generator, model.generator_b2a, model.discriminator, model.discriminator_a)]
        return [np.asarray(v) for v in outputs + model.non_trainable_weights + counters]

    mirrored = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    results = {}
    for spec in sys.argv[1:]:
        name, _, objective = spec.rpartition("/")
        loss, _, penalty = objective.partition("+")
        one, moved, _ = train(tf.distribute.get_strategy(), name or "dcgan", loss, penalty or None)
        two, _, (traced, critic_traced) = train(mirrored, name or "dcgan", loss, penalty or None)
        results[spec] = {"max_difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two, strict=True)),
                         "moved": moved, "replicas": mirrored.num_replicas_in_sync, "traced": traced,
                         "critic_traced": critic_traced}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
