"""CycleGAN (Zhu et al. 2017) per reference.md, built on ``img2img.GAN`` so any registered loss and
critic penalty composes with it.

Naming: ``generator`` maps A -> B and ``generator_b2a`` maps B -> A; ``discriminator`` judges domain B
(real B against A -> B translations) and ``discriminator_a`` judges domain A. One Adam updates both
generators and one updates both discriminators, as in the reference code.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from img2img import (
    GAN,
    Img2ImgError,
    Option,
    SharedReplicaStep,
    crop_flip,
    crop_flip_options,
    global_draw,
    gradient_sources,
    replica_share,
    spectral_norm_option,
)
from img2img_plugins.cyclegan.networks import (
    SIZE_MULTIPLE,
    UPSAMPLING,
    patch_grid,
    patchgan_discriminator,
    resnet_generator,
)
from img2img_plugins.cyclegan.pool import ImagePool

GRID_PAIRS = 8


class CycleGAN(GAN):
    name = "cyclegan"
    description = ("CycleGAN (Zhu et al. 2017): unpaired translation between --data (A) and --data-b (B); "
                   "ResNet generators, 70x70 PatchGAN, cycle + identity losses, image pools")
    default_loss = "lsgan"
    default_image_size = 256
    domains = 2
    channels_supported = (1, 3)
    translations = {"a2b": "generator", "b2a": "generator-b2a"}
    size_multiple = SIZE_MULTIPLE
    concurrent_branches = True  # four networks at batch 1: on a CPU, two ops at a time on half the cores each
    options = {
        "filters": Option(64, "generator filters after the first layer (ngf)", minimum=1),
        "upsampling": Option("transpose", "generator upsampling: transposed conv (reference) or nearest resize + "
                             "conv (no checkerboard artefacts)", choices=UPSAMPLING),
        "d_filters": Option(64, "discriminator filters in its first layer (ndf)", minimum=1),
        "blocks": Option(0, "residual blocks; 0 = 9 at 256 px and above, 6 below (reference)", minimum=0),
        "d_layers": Option(3, "stride-2 layers of the PatchGAN; 3 = 70x70 receptive field", minimum=1),
        "lambda_cycle": Option(10.0, "weight of each L1 cycle loss (lambda_A = lambda_B)", minimum=0),
        "lambda_identity": Option(0.5, "identity loss weight, as a fraction of lambda_cycle (0 disables it)",
                                  minimum=0),
        "cycle_noise": Option(0.0, "std of Gaussian noise added to each translation before it is translated back "
                              "(images in [-1, 1]); > 0 makes hiding the input in faint patterns useless "
                              "(Bashkirova et al. 2019); 0 = reference", minimum=0),
        "pool_size": Option(50, "past fakes each discriminator draws from (0 = only the newest)", minimum=0),
        "spectral_norm": spectral_norm_option("the discriminators' convolutions (and drop their instance norm)"),
        **crop_flip_options("images"),
    }
    # The reference optimiser (reference.md: Adam 2e-4, betas 0.5 and 0.999) and schedule: 100 epochs at the
    # full rate, then 100 of linear decay to zero.
    training_defaults = {"lr": 2e-4, "beta_1": 0.5, "lr_constant_epochs": 100, "lr_decay_epochs": 100}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generator_b2a = self._resnet("generator_b2a")
        self.discriminator_a = self._patchgan("discriminator_a")
        shape = (self.image_size, self.image_size, self.channels)
        size = int(self.settings["pool_size"])
        self.pool_a = ImagePool(self, "pool_a", size, shape)  # translations into A, for discriminator_a
        self.pool_b = ImagePool(self, "pool_b", size, shape)

    # ----- sizes and data ------------------------------------------------------------------------
    @classmethod
    def check_image_size(cls, size: int) -> None:
        if size % SIZE_MULTIPLE or patch_grid(size, 3) < 1:
            raise Img2ImgError(f"--image-size {size}: cyclegan needs a multiple of {SIZE_MULTIPLE} "
                               "of at least 32 (e.g. 32, 64, 128, 256)")

    @classmethod
    def data_augmentation(cls, settings: dict[str, Any], image_size: int) -> tuple[int, bool]:
        return crop_flip(settings, image_size)

    @property
    def blocks(self) -> int:
        blocks = int(self.settings["blocks"])
        return blocks if blocks > 0 else (9 if self.image_size >= 256 else 6)

    # ----- networks ------------------------------------------------------------------------------
    def build_generator(self) -> keras.Model:
        return self._resnet("generator")

    def _resnet(self, name: str) -> keras.Model:
        return resnet_generator(self.channels, int(self.settings["filters"]), self.blocks, name,
                                upsampling=str(self.settings["upsampling"]))

    def build_discriminator(self) -> keras.Model:
        if patch_grid(self.image_size, int(self.settings["d_layers"])) < 1:
            raise Img2ImgError(f"--set d_layers={self.settings['d_layers']}: too many stride-2 layers for "
                               f"{self.image_size} px images")
        return self._patchgan("discriminator")

    def _patchgan(self, name: str) -> keras.Model:
        return patchgan_discriminator(self.channels, int(self.settings["d_filters"]), int(self.settings["d_layers"]),
                                      name, spectral_norm=bool(self.settings["spectral_norm"]))

    def exported_networks(self) -> dict[str, keras.Model]:
        return {"generator": self.generator, "generator-b2a": self.generator_b2a}

    def generator_variables(self) -> list[Any]:
        return self.generator.trainable_variables + self.generator_b2a.trainable_variables

    def discriminator_variables(self) -> list[Any]:
        return self.discriminator.trainable_variables + self.discriminator_a.trainable_variables

    # ----- sample grid: real A, A->B, back to A; real B, B->A, back to B -----------------------
    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        a, b = next(iter(stream().batch(GRID_PAIRS).take(1)))
        return {"a": np.asarray(a), "b": np.asarray(b)}

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        from img2img.render import image_grid

        a, b = inputs["a"], inputs["b"]
        a2b = ops.convert_to_numpy(self.generator(a, training=False))
        b2a = ops.convert_to_numpy(self.generator_b2a(b, training=False))
        back_a = ops.convert_to_numpy(self.generator_b2a(a2b, training=False))
        back_b = ops.convert_to_numpy(self.generator(b2a, training=False))
        rows = [a, a2b, back_a, b, b2a, back_b]
        labels = ["A", "A -> B", "A -> B -> A", "B", "B -> A", "B -> A -> B"]
        return image_grid(np.concatenate(rows), columns=len(a), row_labels=labels)

    # ----- training ------------------------------------------------------------------------------
    def compile(self, *args: Any, **kwargs: Any) -> None:
        super().compile(*args, **kwargs)
        if any(p.joint for p, _ in self.penalties):
            raise Img2ImgError("cyclegan trains its four networks in alternating steps; joint-gradient "
                               "penalties (consensus) need a simultaneous update and are not supported")
        if self.unroll:
            raise Img2ImgError("--set unroll: cyclegan has two critics and a step of its own, which does not "
                               "unroll them; train it with unroll=0")
        if self.mode_seeking:
            raise Img2ImgError("--set mode_seeking: cyclegan translates without a latent z; leave it at 0")
        self.cycle_tracker = keras.metrics.Mean(name="cycle_loss")
        self.identity_tracker = keras.metrics.Mean(name="identity_loss")
        # The step's two parts without collectives, each traced once however many replicas run them.
        self._parts = (SharedReplicaStep(self._generator_part, self._shared_variables),
                       SharedReplicaStep(self._critic_part, self._shared_variables))

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        extra = [t for t in (getattr(self, "cycle_tracker", None), getattr(self, "identity_tracker", None)) if t]
        return super().metrics + extra

    def _judge(self, network: keras.Model) -> Any:
        def critic(images: Any) -> Any:
            return ops.cast(network(images, training=True), "float32")

        return critic

    def _generator_losses(self, real_a: Any, real_b: Any) -> tuple[Any, Any, Any, Any, Any, Any]:
        """Adversarial + cycle + identity losses. Each generator runs on one stacked batch where the
        reference makes separate calls (instance norm is per image, so the results are the same): fewer,
        larger calls trace faster and use the CPU better."""
        g, f = self.generator, self.generator_b2a
        lam = float(self.settings["lambda_cycle"])
        id_weight = lam * float(self.settings["lambda_identity"])
        n = ops.shape(real_a)[0]

        def run(network: keras.Model, first: Any, second: Any | None) -> tuple[Any, Any | None]:
            if second is None:
                return ops.cast(network(first, training=True), "float32"), None
            both = ops.cast(network(ops.concatenate([first, second], axis=0), training=True), "float32")
            return both[:n], both[n:]

        fake_b, same_b = run(g, real_a, real_b if id_weight > 0 else None)
        fake_a, same_a = run(f, real_b, real_a if id_weight > 0 else None)
        loss = self.adversarial_loss
        adversarial = (loss.generator_loss(self._judge(self.discriminator)(fake_b))
                       + loss.generator_loss(self._judge(self.discriminator_a)(fake_a)))
        back_a = ops.cast(f(self._cycle_input(fake_b), training=True), "float32")
        back_b = ops.cast(g(self._cycle_input(fake_a), training=True), "float32")
        cycle = lam * (ops.mean(ops.abs(back_a - real_a)) + ops.mean(ops.abs(back_b - real_b)))
        if same_a is not None and same_b is not None:
            identity = id_weight * (ops.mean(ops.abs(same_b - real_b)) + ops.mean(ops.abs(same_a - real_a)))
        else:
            identity = ops.zeros((), "float32")
        return adversarial + cycle + identity, adversarial, cycle, identity, fake_a, fake_b

    def _cycle_input(self, translated: Any) -> Any:
        """What the other generator reconstructs from: the translation, plus noise with ``cycle_noise``. A
        CycleGAN can satisfy the cycle loss by hiding its input in low-amplitude patterns of the translation
        (Chu et al. 2017); noise of larger amplitude makes that channel useless, so the input must be recovered
        from what is visible."""
        std = float(self.settings["cycle_noise"])
        if std <= 0:
            return translated
        shape = tuple(ops.shape(translated)[1:])
        return translated + global_draw(
            lambda n: keras.random.normal((n, *shape), stddev=std, seed=self.seed_generator), ops.shape(translated)[0])

    def _shared_variables(self) -> list[Any]:
        """Every variable the step's two parts read or assign (SharedReplicaStep): the networks, the seed
        state, and a float16 run's loss scales."""
        scales = [optimizer.dynamic_scale for optimizer in (self.g_optimizer, self.d_optimizer)
                  if isinstance(optimizer, keras.optimizers.LossScaleOptimizer)]
        return [*self.variables, *scales]

    def _generator_part(self, real_a: Any, real_b: Any) -> tuple[list[Any], tuple[Any, ...]]:
        """The generators' gradients and what the rest of the step needs of their losses."""
        with tf.GradientTape() as tape:
            sources = gradient_sources(tape, self.generator_variables())
            losses = self._generator_losses(real_a, real_b)
            scaled = self.g_optimizer.scale_loss(replica_share(losses[0]))  # the optimiser sums the replicas
        return tape.gradient(scaled, sources), losses

    def _critic_part(self, real_a: Any, real_b: Any, pooled_a: Any, pooled_b: Any) -> tuple[list[Any], Any, Any]:
        """The discriminators' gradients, and each one's critic_losses (domain A's, then B's)."""
        with tf.GradientTape() as tape:
            sources = gradient_sources(tape, self.discriminator_variables())
            losses_b = self.critic_losses(self._judge(self.discriminator), real_b, pooled_b)
            losses_a = self.critic_losses(self._judge(self.discriminator_a), real_a, pooled_a)
            scaled = self.d_optimizer.scale_loss(replica_share(losses_a[0] + losses_b[0]))
        return tape.gradient(scaled, sources), losses_a, losses_b

    def train_step(self, data: Any) -> dict[str, Any]:
        real_a, real_b = (ops.cast(x, "float32") for x in data)
        generator_part, critic_part = self._parts
        g_grads, (_, adversarial, cycle, identity, fake_a, fake_b) = generator_part(real_a, real_b)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator_variables(), strict=True))

        # Discriminators see pooled (partly older) fakes, as in the reference; one pool over all replicas.
        pooled_b = self.pool_b.query(tf.stop_gradient(fake_b), self.seed_generator)
        pooled_a = self.pool_a.query(tf.stop_gradient(fake_a), self.seed_generator)
        d_vars = self.discriminator_variables()
        for _ in range(self.n_critic):
            d_grads, losses_a, losses_b = critic_part(real_a, real_b, pooled_a, pooled_b)
            self.d_optimizer.apply_gradients(zip(d_grads, d_vars, strict=True))
            self.adversarial_loss.after_discriminator_step(self.discriminator)
            self.adversarial_loss.after_discriminator_step(self.discriminator_a)
        _, d_loss_a, values_a, real_out_a, fake_out_a = losses_a
        _, d_loss_b, values_b, real_out_b, fake_out_b = losses_b

        self.d_loss_tracker.update_state(d_loss_a + d_loss_b)
        self.g_loss_tracker.update_state(adversarial)
        self.cycle_tracker.update_state(cycle)
        self.identity_tracker.update_state(identity)
        if self.logs_estimate:
            estimate_b = self.adversarial_loss.estimate(real_out_b, fake_out_b)
            estimate_a = self.adversarial_loss.estimate(real_out_a, fake_out_a)
            if estimate_a is not None and estimate_b is not None:
                self.estimate_tracker.update_state(0.5 * (estimate_a + estimate_b))
        for tracker, value_a, value_b in zip(self.penalty_trackers, values_a, values_b, strict=True):
            tracker.update_state(value_a + value_b)
        return {m.name: m.result() for m in self.metrics}

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.generator(inputs, training=training)
