"""The base GAN model: two networks, two optimisers, any adversarial loss, any penalties.

Model plugins subclass ``GAN``, declare their options and build their two networks; the base class owns
the compiled ``train_step`` (critic updates, then a generator update) so that every model composes with
every registered loss and penalty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import keras
from keras import ops

from img2img.distribute import global_draw, replica_count
from img2img.errors import Img2ImgError
from img2img.gan_pictures import GRID_SIZE, Pictures  # noqa: F401  (GRID_SIZE: plugins' grids use it)
from img2img.losses import AdversarialLoss, Penalty
from img2img.options import Option
from img2img.packing import check_pack, packed_critic_input
from img2img.rng import rng_states, set_rng_states
from img2img.schemes import (
    check_mode_seeking_fits,
    check_penalties_fit,
    check_unroll_fits,
    critic_step,
    generator_step,
    joint_step,
)
from img2img.trainer_options import TRAINER_OPTIONS


class GAN(Pictures, keras.Model):
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
    # Two-domain models whose A and B images correspond (pix2pix): the trainer reads aligned pairs (A|B side
    # by side, or --data and --data-b matched by name) instead of two independent streams.
    paired: ClassVar[bool] = False
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
    # The smallest side translate pads to; 0 means four times size_multiple. A model may set these three on
    # the instance when they depend on the run (pix2pix's U-Net depth, its direction): runs store them.
    translate_minimum: ClassVar[int] = 0
    # True for networks that take only the training size (dense layers: VAE-GAN's encoder): translate resizes
    # each image to it and the output back to the image's own size, and says so.
    translate_fixed_size: ClassVar[bool] = False
    # An image-to-image model whose generator also draws images from z ~ N(0, I) (VAE-GAN's decoder):
    # ``img2img generate`` samples it too.
    samples_prior: ClassVar[bool] = False
    # Defaults this model gives the trainer's options (a loss's optimiser defaults and --set come after).
    # The base options carry Keras' own optimiser defaults; a model declares its paper's here.
    training_defaults: ClassVar[dict[str, Any]] = {}

    # Whether the model trains correctly on several replicas (--strategy mirrored): the base class's steps do
    # (replica_share, global_draw); a model with its own step or per-sample randomness of its own says so.
    replicas_supported: ClassVar[bool] = True
    # Whether the training step is many small independent ops (several networks at batch 1, as in CycleGAN),
    # so that on a CPU two ops at a time with half the cores each beat one op at a time with all of them;
    # ``--set cpu_threads=auto`` splits the cores for such models only (docs/training.md, "CPU threads").
    concurrent_branches: ClassVar[bool] = False
    # Trainer options every model accepts through --set; losses may change their defaults.
    training_options: ClassVar[dict[str, Option]] = TRAINER_OPTIONS

    def __init__(
        self,
        *,
        image_size: int,
        channels: int,
        num_classes: int = 0,
        seed: int = 0,
        sample_shape: tuple[int, ...] | None = None,
        text_dim: int = 0,
        pack: int = 1,
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
        self.pack = check_pack(self, pack)
        with packed_critic_input(self):  # the critic's input is ``pack`` samples stacked on the last axis
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

    def rng_states(self) -> list[list[int]]:
        """The states of every random-number generator the model owns: its own (latents, pools) first, then
        its layers' (StackGAN's conditioning augmentation draws its own noise). A checkpoint keeps them all,
        so a resumed run draws exactly what an unbroken one would."""
        return rng_states(self)

    def set_rng_states(self, states: list[list[int]]) -> None:
        set_rng_states(self, states)

    @property
    def latent_dim(self) -> int:
        """The size of z: the ``latent_dim`` option, which a model that samples from noise declares."""
        if "latent_dim" not in self.settings:
            raise Img2ImgError(f"model {type(self).name!r} samples latent vectors but declares no latent_dim option; "
                               "add one to its options")
        return int(self.settings["latent_dim"])

    def sample_latent(self, batch_size: Any) -> Any:
        # Drawn for the global batch and sliced per replica, so N replicas draw what one device would.
        return global_draw(lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator), batch_size)

    @classmethod
    def generator_inputs(cls, z: Any, labels: Any | None) -> Any:
        """What the generator network is called with; conditional models add the labels.

        A classmethod, so that ``img2img generate`` can feed an exported generator without the rest of
        the model.
        """
        return z

    def discriminator_inputs(self, images: Any, labels: Any | None) -> Any:
        return images

    def extra_fake_outputs(self, real: Any, labels: Any | None) -> Any | None:
        """Critic outputs on further samples the loss scores as fakes, beside the generated ones (GAN-CLS's
        matching-aware critic scores real images under captions not theirs). None (the default) adds none."""
        return None

    @property
    def scores_extra_samples(self) -> bool:
        """Whether ``extra_fake_outputs`` adds outputs in this configuration, for the schemes that cannot take
        them (an unrolled critic). A model that overrides it is taken to, unless it says otherwise here."""
        return type(self).extra_fake_outputs is not GAN.extra_fake_outputs

    def generator_extra_loss(self, real: Any, fake: Any, labels: Any | None) -> Any:
        """Terms of the generator's loss beside the adversarial one, from the real batch, the generated one
        and their conditions (pix2pix's lambda x L1 to the paired target). 0 (the default) adds none."""
        return 0.0

    # ----- training -----------------------------------------------------------------------------
    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        loss: AdversarialLoss,
        penalties: Sequence[tuple[Penalty, float]] = (),
        n_critic: int = 1,
        unroll: int = 0,
        mode_seeking: float = 0.0,
        unroll_optimizer: str = "sgd",
        **kwargs: Any,
    ) -> None:
        # No Keras optimiser (its default is an RMSprop): the players have their own, and under a strategy Keras
        # built the unused one for every weight, a slot per weight on each replica and in every checkpoint.
        super().compile(optimizer=None, **kwargs)
        if n_critic < 1:
            raise Img2ImgError(f"n_critic must be at least 1, got {n_critic}")
        if unroll < 0:
            raise Img2ImgError(f"unroll must be 0 (off) or more steps, got {unroll}")
        self.unroll = unroll
        self.unroll_optimizer = unroll_optimizer
        self.mode_seeking = float(mode_seeking)
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
        check_penalties_fit(self)
        check_unroll_fits(self)
        check_mode_seeking_fits(self)
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

    def critic_for(self, labels: Any | None) -> Any:
        """The discriminator as a function of images alone, conditioned on ``labels``: the form losses and
        penalties differentiate."""

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

        With ``extra_fake_outputs``, the fake side holds the generated images and those extra samples: every
        loss averages each side, so with as many extras as fakes each kind weighs one half."""
        real_out = critic(real)
        fake_out = critic(fake)
        extra = self.extra_fake_outputs(real, labels)
        fake_side = fake_out if extra is None else ops.concatenate([extra, fake_out], axis=0)
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
        """What the generator's layers added with ``add_loss`` in its last call; add it to the generator's
        loss. Under several replicas Keras' list of them is shared by the replica threads, so a model whose
        generator adds losses overrides this to read them per replica (as StackGAN does) or is refused."""
        losses = self.generator.losses
        if losses and replica_count() > 1:
            raise Img2ImgError(f"{self.name}: its generator adds losses with add_loss, which Keras keeps in one "
                               "list for all replicas; train it with --strategy one (or override "
                               "generator_layer_losses to read them per replica)")
        return ops.sum(ops.stack([ops.cast(x, "float32") for x in losses])) if losses else 0.0

    def train_step(self, data: Any) -> dict[str, Any]:
        real, labels = (data[0], data[1]) if isinstance(data, tuple | list) else (data, None)
        critic = self.critic_for(labels)
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


