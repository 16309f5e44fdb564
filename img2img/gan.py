"""The base GAN model: two networks, two optimisers, any adversarial loss, any penalties.

Model plugins subclass ``GAN``, declare their options and build their two networks; the base class owns
the compiled ``train_step`` (critic updates, then a generator update) so that every model composes with
every registered loss and penalty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from img2img.console import warn
from img2img.errors import Img2ImgError
from img2img.losses import AdversarialLoss, Penalty
from img2img.options import Option
from img2img.schemes import critic_step, generator_step, joint_step

GRID_SIZE = 64  # samples in each epoch's grid


class GAN(keras.Model):
    """Base class of every model plugin.

    Subclasses set ``name``, ``description``, ``options`` (their ``--set`` keys) and implement
    ``build_generator`` and ``build_discriminator``. A labelled data set passes ``(images, labels)``
    batches; unconditional models ignore the labels.
    """

    name: ClassVar[str] = ""  # type: ignore[assignment]
    description: ClassVar[str] = ""
    default_loss: ClassVar[str] = "gan"
    default_image_size: ClassVar[int] = 64
    domains: ClassVar[int] = 1  # two-domain models (CycleGAN) take --data-b
    conditional: ClassVar[bool] = False  # True: the generator takes class labels (generate --label)
    # True: the generator takes a text encoder's caption embeddings (translate --prompt); the trainer feeds
    # (image, embedding) batches and the run stores the encoder's name and dimension.
    text_conditional: ClassVar[bool] = False
    default_text_encoder: ClassVar[str] = ""  # used when train gets no --text-encoder
    data_kind: ClassVar[str] = "images"  # or "vectors" (toy distributions), matched against --data
    options: ClassVar[dict[str, Option]] = {}
    channels_supported: ClassVar[tuple[int, ...]] = (1, 3)
    # Image-to-image models name the exported network for each direction ({"a2b": "generator", ...});
    # ``img2img translate`` uses them, and pads inputs to a multiple of ``size_multiple``.
    translations: ClassVar[dict[str, str]] = {}
    size_multiple: ClassVar[int] = 1
    # Defaults this model gives the trainer's options (a loss's optimiser defaults and --set come after).
    training_defaults: ClassVar[dict[str, Any]] = {}

    # Trainer options every model accepts through --set; losses may change their defaults.
    training_options: ClassVar[dict[str, Option]] = {
        "optimizer": Option("adam", "optimizer for both players", ("adam", "rmsprop")),
        "lr": Option(2e-4, "learning rate of both players (reference: DCGAN 2e-4)", minimum=0),
        "d_lr": Option(0.0, "critic learning rate; 0 means use lr", minimum=0),
        "beta_1": Option(0.5, "Adam beta_1 (DCGAN: 0.5)", minimum=0, maximum=1),
        "beta_2": Option(0.999, "Adam beta_2", minimum=0, maximum=1),
        "n_critic": Option(1, "critic updates per generator update", minimum=1),
        "lr_constant_epochs": Option(0, "epochs at the full learning rate before linear decay starts", minimum=0),
        "lr_decay_epochs": Option(0, "epochs of linear decay to zero after the constant ones; 0 = no decay",
                                  minimum=0),
        "jit_compile": Option("auto", "XLA-compile the training step; auto = Keras' choice (on for GPUs)",
                              ("auto", "true", "false"), resumable=True),
        "grappler": Option("auto", "TensorFlow's graph optimiser; auto = off on CPUs (seconds saved at start-up, "
                           "none lost per step), on with a GPU", ("auto", "true", "false"), resumable=True),
        "keep_checkpoints": Option(3, "newest checkpoints kept in the run directory; 0 keeps every epoch's",
                                   minimum=0, resumable=True),
    }

    def __init__(
        self,
        *,
        image_size: int,
        channels: int,
        num_classes: int = 0,
        seed: int = 0,
        sample_shape: tuple[int, ...] | None = None,
        text_dim: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(name=self.name.replace("-", "_"))
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        self.text_dim = text_dim  # the text encoder's embedding size (text-conditional models)
        self.sample_shape = tuple(sample_shape) if sample_shape else (image_size, image_size, channels)
        self.settings = {**self.default_settings(), **options}
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self.built = True

    # ----- what a plugin provides -------------------------------------------------------------
    @classmethod
    def default_settings(cls) -> dict[str, Any]:
        return {k: o.default for k, o in cls.options.items()}

    @classmethod
    def all_options(cls) -> dict[str, Option]:
        return {**cls.training_options, **cls.options}

    @classmethod
    def check_image_size(cls, size: int) -> None:
        """Raise ``Img2ImgError`` naming the sizes this model supports when ``size`` is not one."""

    @classmethod
    def check_channels(cls, channels: int) -> None:
        if channels not in cls.channels_supported:
            allowed = " or ".join(map(str, cls.channels_supported))
            raise Img2ImgError(f"model {cls.name!r} supports {allowed} channels, not {channels}")

    @classmethod
    def data_augmentation(cls, settings: dict[str, Any], image_size: int) -> tuple[int, bool]:
        """(size to load images at, random horizontal flip): a load size above ``image_size`` asks the
        trainer for random crops of ``image_size``. No augmentation by default."""
        return image_size, False

    def build_generator(self) -> keras.Model:
        raise NotImplementedError

    def build_discriminator(self) -> keras.Model:
        raise NotImplementedError

    def exported_networks(self) -> dict[str, keras.Model]:
        """Networks written next to the checkpoints as NAME.keras, usable without the plugin's training code."""
        return {"generator": self.generator}

    def generator_variables(self) -> list[Any]:
        return self.generator.trainable_variables

    def discriminator_variables(self) -> list[Any]:
        return self.discriminator.trainable_variables

    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        """What every sample grid of a run is drawn from: fixed once (stored in the run), so grids stay
        comparable across epochs and resumes. ``stream()`` returns a fresh unbatched training stream."""
        z = np.random.default_rng(seed).standard_normal((GRID_SIZE, self.latent_dim)).astype(np.float32)
        inputs = {"z": z}
        if self.conditional and self.num_classes:
            inputs["labels"] = (np.arange(GRID_SIZE) % self.num_classes).astype(np.int32)
        return inputs

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        labels = inputs.get("labels")
        samples = ops.convert_to_numpy(self.generator(self.generator_inputs(inputs["z"], labels), training=False))
        return self.render_samples(samples, labels)

    def render_samples(self, samples: Any, labels: Any | None = None) -> Any:
        """The picture a run saves each epoch: a grid of images (one column per class when labelled)."""
        from img2img.render import image_grid

        columns = int(labels.max()) + 1 if labels is not None else None
        return image_grid(samples, columns)

    def rng_states(self) -> list[list[int]]:
        """The states of every random-number generator the model owns: its own (latents, pools) first, then
        its layers' (StackGAN's conditioning augmentation draws its own noise). A checkpoint keeps them all,
        so a resumed run draws exactly what an unbroken one would."""
        return [np.asarray(generator.state.numpy()).tolist() for generator in self._seed_generators_owned()]

    def set_rng_states(self, states: list[list[int]]) -> None:
        generators = self._seed_generators_owned()
        for generator, state in zip(generators, states, strict=False):  # older checkpoints hold the first only
            generator.state.assign(np.asarray(state, dtype=generator.state.dtype))

    def _seed_generators_owned(self) -> list[keras.random.SeedGenerator]:
        found = [self.seed_generator]
        for layer in self._flatten_layers(include_self=False):
            for value in vars(layer).values():
                if isinstance(value, keras.random.SeedGenerator) and all(value is not g for g in found):
                    found.append(value)
        return found

    @property
    def latent_dim(self) -> int:
        return int(self.settings.get("latent_dim", 100))

    def sample_latent(self, batch_size: Any) -> Any:
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    @classmethod
    def generator_inputs(cls, z: Any, labels: Any | None) -> Any:
        """What the generator network is called with; conditional models add the labels.

        A classmethod, so that ``img2img generate`` can feed an exported generator without the rest of
        the model.
        """
        return z

    def discriminator_inputs(self, images: Any, labels: Any | None) -> Any:
        return images

    def mismatched_conditions(self, labels: Any) -> Any | None:
        """Conditions that do not belong to the batch's real images, for a matching-aware critic (GAN-CLS,
        reference.md): real images scored with them count as fakes. None (the default) adds no such term."""
        return None

    # ----- training -----------------------------------------------------------------------------
    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        loss: AdversarialLoss,
        penalties: Sequence[tuple[Penalty, float]] = (),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        super().compile(**kwargs)
        if n_critic < 1:
            raise Img2ImgError(f"n_critic must be at least 1, got {n_critic}")
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.adversarial_loss = loss
        self.penalties = list(penalties)
        self.n_critic = n_critic
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.estimate_tracker = keras.metrics.Mean(name="bound")
        # Critic penalties first, then joint ones: the order schemes.joint_step returns their values in.
        self.penalties = sorted(self.penalties, key=lambda pair: pair[0].joint)
        self.penalty_trackers = [keras.metrics.Mean(name=f"penalty_{p.name}") for p, _ in self.penalties]
        per_sample = [p.name for p, _ in self.penalties if p.per_sample]
        if per_sample and any(isinstance(layer, keras.layers.BatchNormalization)
                              for layer in self.discriminator._flatten_layers()):
            warn(f"penalty {', '.join(per_sample)} with batch normalisation in the critic: batch norm mixes the "
                 "samples whose gradients the penalty measures (WGAN-GP paper); pick a critic option without it "
                 "(see the model's --set keys in 'img2img models')")
        if any(p.joint for p, _ in self.penalties) and isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer):
            raise Img2ImgError("joint-gradient penalties (consensus) do not support float16 loss scaling; "
                               "use --precision float32")
        # Whether the loss estimates a divergence worth logging (the f-GAN bound): update estimate_tracker then.
        self.logs_estimate = type(loss).estimate is not AdversarialLoss.estimate

    def build_optimizers(self) -> None:
        """Create optimiser slots now, so that a checkpoint can be loaded before the first step."""
        self.d_optimizer.build(self.discriminator_variables())
        self.g_optimizer.build(self.generator_variables())

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        if getattr(self, "logs_estimate", False):
            trackers.append(self.estimate_tracker)
        return trackers + self.penalty_trackers

    @property
    def step(self) -> int:
        """Generator updates done so far; saved with the optimiser, so it survives resume."""
        return int(self.g_optimizer.iterations.numpy())

    def _critic(self, labels: Any | None) -> Any:
        def critic(images: Any) -> Any:
            out = self.discriminator(self.discriminator_inputs(images, labels), training=True)
            return ops.cast(out, "float32")

        return critic

    # ----- the step API a model with its own train_step uses (CycleGAN's two domains, say) ------------
    # critic_losses (the loss and every penalty, as configured), generator_layer_losses, logs_estimate and
    # the trackers d_loss_tracker, g_loss_tracker, estimate_tracker and penalty_trackers: a train_step built
    # from them trains with any registered loss and penalty, as the base class's own does.
    def critic_losses(self, critic: Any, real: Any, fake: Any,
                      labels: Any = None) -> tuple[Any, Any, list[Any], Any, Any]:
        """(total, loss, penalty values, critic outputs on real, on fake): the configured adversarial loss of
        ``critic`` plus its weighted critic penalties. Call inside the tape that differentiates them.

        With mismatched conditions, the fake side holds the generated images and, in equal number, real
        images under wrong conditions: every loss averages each side, so each kind weighs one half."""
        real_out = critic(real)
        fake_out = critic(fake)
        wrong = self.mismatched_conditions(labels) if labels is not None else None
        fake_side = fake_out
        if wrong is not None:
            fake_side = ops.concatenate([self._critic(wrong)(real), fake_out], axis=0)
        d_loss = self.adversarial_loss.discriminator_loss(real_out, fake_side)
        values = [weight * penalty(critic, real, fake, self.seed_generator)
                  for penalty, weight in self.penalties if not penalty.joint]
        total = d_loss + sum(values) if values else d_loss
        return total, d_loss, values, real_out, fake_out

    def fake_batch(self, batch_size: Any, labels: Any, dtype: Any) -> Any:
        """``batch_size`` generated images (conditioned on ``labels``) from fresh latents, in ``dtype``."""
        z = self.sample_latent(batch_size)
        return ops.cast(self.generator(self.generator_inputs(z, labels), training=True), dtype)

    def generator_layer_losses(self) -> Any:
        """What the generator's layers added with ``add_loss`` in its last call (e.g. StackGAN's KL term); add
        it to the generator's loss."""
        losses = self.generator.losses
        return ops.sum(ops.stack([ops.cast(x, "float32") for x in losses])) if losses else 0.0


    def train_step(self, data: Any) -> dict[str, Any]:
        real, labels = (data[0], data[1]) if isinstance(data, tuple | list) else (data, None)
        critic = self._critic(labels)
        joint = any(penalty.joint for penalty, _ in self.penalties)
        for _ in range(self.n_critic - 1 if joint else self.n_critic):
            d_loss, penalty_values, estimate = critic_step(self, critic, real, labels)
        if joint:
            d_loss, penalty_values, estimate, g_loss = joint_step(self, critic, real, labels)
        else:
            g_loss = generator_step(self, critic, real, labels)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        if self.logs_estimate and estimate is not None:
            self.estimate_tracker.update_state(estimate)
        for tracker, value in zip(self.penalty_trackers, penalty_values, strict=True):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.generator(inputs, training=training)

    def generate(self, count: int, labels: Any | None = None) -> Any:
        """Images in [-1, 1] from fresh latent samples (uses and advances this model's seed)."""
        z = self.sample_latent(count)
        return self.generator(self.generator_inputs(z, labels), training=False)


