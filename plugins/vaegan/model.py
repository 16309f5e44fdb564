"""VAE-GAN (Larsen et al. 2016) per reference.md: an encoder to a Gaussian z, the generator as its decoder,
and reconstruction measured on the critic's features instead of pixels, so that "similar" means what the
critic finds similar and reconstructions come out sharper than a pixel-loss VAE's.

The update routing is the official code's, not one loss for all:

- encoder: KL(q(z|x) || N(0, I)) + L_llike; the adversarial gradient is cut from it;
- decoder (the generator): gamma * L_llike + the adversarial loss of the run's ``--loss``;
- critic: the adversarial loss alone (L_llike never trains it), on real images against reconstructions and
  prior samples (``critic_fakes`` picks either or both), with the run's penalties.

``reconstruction=pixels`` swaps L_llike for a Gaussian pixel loss and trains no critic: the plain VAE of the
paper's comparison, with the same networks. ``gate`` is the official code's equilibrium gating: the critic
sits out a step while it wins too clearly, the decoder while it loses too clearly; it reads binary
cross-entropies, so it serves the ``gan`` loss only.

The step is simultaneous: every gradient comes from the networks as they were at the start of the step.
With n_critic > 1 the critic takes its extra steps on the same reconstructions and prior samples.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from img2img import GAN, Img2ImgError, Option, global_draw, replica_count, replica_share, spectral_norm_option
from img2img_plugins.vaegan.networks import autoencoder, critic, critic_with_features, decoder, downsamplings, encoder

MAX_SIZE = 256
GRID_COLUMNS = 16
CRITIC_FAKES = ("both", "reconstructions", "prior")
GATED_LOSSES = ("gan",)  # losses whose critic costs are binary cross-entropies, which the gate's bounds read


def sizes_supported(size: int) -> bool:
    steps = downsamplings(size)
    return 16 <= size <= MAX_SIZE and size % (1 << steps) == 0 and size >> steps >= 4


class VAEGAN(GAN):
    name = "vaegan"
    description = ("VAE-GAN (Larsen et al. 2016): an autoencoder whose reconstruction is measured on the critic's "
                   "features; translate reconstructs images through z, generate samples the prior, interpolate "
                   "walks between two images")
    default_loss = "gan"
    default_image_size = 64
    channels_supported = (1, 3)
    translations = {"reconstruct": "autoencoder"}
    # Dense layers fix the size: translate resizes each image to the model's size and the result back.
    translate_fixed_size = True
    samples_prior = True  # the decoder is a generator of z ~ N(0, I): generate samples the prior
    # reference.md: RMSprop in the official code; its learning rate is not there, 3e-4 is ours.
    training_defaults = {"optimizer": "rmsprop", "lr": 3e-4}
    options = {
        "latent_dim": Option(128, "size of z (the paper's 128)", minimum=1),
        "filters": Option(32, "width of the critic's first layer; the paper's 64 px networks are 32", minimum=1),
        "reconstruction": Option("features", "what reconstruction is measured on: the critic's feature layer "
                                 "(VAE-GAN) or pixels (a plain VAE with the same networks, no critic)",
                                 ("features", "pixels")),
        "gamma": Option(1e-2, "weight of the feature reconstruction in the decoder's loss, against the "
                        "adversarial loss (the paper's gamma)", minimum=0),
        "kl_weight": Option(1.0, "weight of the KL term in the encoder's loss (1 = the VAE bound)", minimum=0),
        "pixel_sigma": Option(0.1, "with reconstruction=pixels: the Gaussian's standard deviation, images in "
                              "[-1, 1]; smaller weighs reconstruction more against the KL term", minimum=1e-6),
        "critic_fakes": Option("both", "what the critic sees as fakes: reconstructions and prior samples (the "
                               "paper), or only one of them", CRITIC_FAKES),
        "gate": Option("auto", "the official code's gating: the critic skips a step while both its costs are "
                       "below equilibrium - margin, the decoder while either is above equilibrium + margin; "
                       "auto = on with --loss gan", ("auto", "on", "off")),
        "gate_equilibrium": Option(0.68, "the gate's centre, near ln 2 (official code)", minimum=0),
        "gate_margin": Option(0.35, "the gate's half-width (official code: 0.33 to 1.03)", minimum=0),
        "spectral_norm": spectral_norm_option("the critic's layers (and drop its batch norm)"),
    }

    def __init__(self, **kwargs: Any) -> None:
        if int(kwargs.get("pack", 1)) > 1:
            raise Img2ImgError(f"--set pack={kwargs['pack']}: vaegan measures reconstruction on its critic's "
                               "features of each image, which a packed critic does not have; use pack=1")
        super().__init__(**kwargs)
        self.encoder = encoder(self.image_size, self.channels, self.filters, self.latent_dim)
        self.critic_features = critic_with_features(self.discriminator)

    @property
    def filters(self) -> int:
        return int(self.settings["filters"])

    @property
    def pixels(self) -> bool:
        return self.settings["reconstruction"] == "pixels"

    @classmethod
    def check_image_size(cls, size: int) -> None:
        if not sizes_supported(size):
            raise Img2ImgError(f"--image-size {size}: vaegan needs 16-{MAX_SIZE} px, a multiple of 4 below 64 px "
                               "(e.g. 28, 32) and of 8 from 64 px (64, 128)")

    # ----- networks ------------------------------------------------------------------------------
    def build_generator(self) -> keras.Model:
        return decoder(self.image_size, self.channels, int(self.settings["filters"]), self.latent_dim)

    def build_discriminator(self) -> keras.Model:
        return critic(self.image_size, self.channels, int(self.settings["filters"]),
                      bool(self.settings["spectral_norm"]))

    def exported_networks(self) -> dict[str, keras.Model]:
        return {"generator": self.generator, "encoder": self.encoder,
                "autoencoder": autoencoder(self.encoder, self.generator)}

    def generator_variables(self) -> list[Any]:
        return self.encoder.trainable_variables + self.generator.trainable_variables

    def extra_fake_outputs(self, real: Any, labels: Any | None) -> Any | None:
        """VAE-GAN has no conditions: its step passes the prior samples where ``critic_losses`` takes them, so
        the critic scores them as fakes beside the reconstructions (each kind weighs one half)."""
        if labels is None:
            return None
        return self.critic_for(None)(labels)

    # ----- training ------------------------------------------------------------------------------
    def compile(self, d_optimizer: Any, g_optimizer: Any, loss: Any, penalties: Any = (), n_critic: int = 1,
                unroll: int = 0, mode_seeking: float = 0.0, **kwargs: Any) -> None:
        if unroll:
            raise Img2ImgError("--set unroll: vaegan's critic also measures reconstruction, and its step does not "
                               "unroll it; train it with unroll=0")
        if mode_seeking:
            raise Img2ImgError("--set mode_seeking: vaegan's reconstruction already ties each z to an image; "
                               "leave it at 0")
        super().compile(d_optimizer, g_optimizer, loss, penalties, n_critic, **kwargs)
        if any(p.joint for p, _ in self.penalties):
            raise Img2ImgError("vaegan routes each loss to its own network in one step; joint-gradient penalties "
                               "(consensus) are not supported")
        if self.pixels and self.penalties:
            raise Img2ImgError(f"--penalty {self.penalties[0][0].name}: with --set reconstruction=pixels vaegan is a "
                               "plain VAE and trains no critic; drop the penalty")
        gate = self.settings["gate"]
        if gate == "on" and loss.name not in GATED_LOSSES:
            raise Img2ImgError(f"--set gate=on reads the critic's binary cross-entropies, which --loss {loss.name} "
                               "does not have; use --loss gan, or gate=off")
        self.gated = not self.pixels and (gate == "on" or (gate == "auto" and loss.name in GATED_LOSSES))
        if self.gated and replica_count() > 1:
            raise Img2ImgError("--set gate: each replica would decide from its own costs; use gate=off with "
                               "--strategy, or train on one device")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.d_trained_tracker = keras.metrics.Mean(name="d_updates")
        self.g_trained_tracker = keras.metrics.Mean(name="g_updates")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        if not hasattr(self, "kl_tracker"):
            return super().metrics
        own = [self.kl_tracker, self.reconstruction_tracker]
        if self.pixels:  # no critic, no adversarial loss: only the VAE's two terms
            return own
        return super().metrics + own + ([self.d_trained_tracker, self.g_trained_tracker] if self.gated else [])

    def encode(self, images: Any, training: bool) -> tuple[Any, Any, Any]:
        """(z drawn from q(z|x), its mean, its log-variance); the noise is drawn for the global batch."""
        mean, log_variance = self.encoder(images, training=training)
        noise = global_draw(lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator),
                            ops.shape(images)[0])
        return mean + ops.exp(0.5 * log_variance) * noise, mean, log_variance

    def train_step(self, data: Any) -> dict[str, Any]:
        real = ops.cast(data[0] if isinstance(data, tuple | list) else data, "float32")
        n = ops.shape(real)[0]
        fakes = self.settings["critic_fakes"]
        with tf.GradientTape(persistent=True) as tape:
            z, mean, log_variance = self.encode(real, training=True)
            reconstruction = ops.cast(self.generator(z, training=True), "float32")
            kl = ops.mean(-0.5 * ops.sum(1.0 + log_variance - mean**2 - ops.exp(log_variance), axis=1))
            prior = None
            if self.pixels:
                sigma = float(self.settings["pixel_sigma"])
                rec_loss = per_sample_half_square(reconstruction - real) / sigma**2
                decoder_loss = rec_loss
            else:
                real_logit, real_features = self.critic_features(real, training=True)
                rec_logit, rec_features = self.critic_features(reconstruction, training=True)
                rec_loss = per_sample_half_square(ops.cast(rec_features, "float32")
                                                  - ops.cast(real_features, "float32"))
                fake_logits = [] if fakes == "prior" else [rec_logit]
                if fakes != "reconstructions":
                    prior = ops.cast(self.generator(self.sample_latent(n), training=True), "float32")
                    fake_logits.append(self.critic_for(None)(prior))
                fake_side = ops.concatenate([ops.cast(x, "float32") for x in fake_logits], axis=0)
                adversarial = self.adversarial_loss.generator_loss(fake_side)
                decoder_loss = float(self.settings["gamma"]) * rec_loss + adversarial
            encoder_loss = float(self.settings["kl_weight"]) * kl + rec_loss
            encoder_scaled = self.g_optimizer.scale_loss(replica_share(encoder_loss))
            decoder_scaled = self.g_optimizer.scale_loss(replica_share(decoder_loss))
        e_vars, g_vars = self.encoder.trainable_variables, self.generator.trainable_variables
        e_grads = tape.gradient(encoder_scaled, e_vars)
        g_grads = tape.gradient(decoder_scaled, g_vars)
        del tape

        if self.pixels:
            self.g_optimizer.apply_gradients(zip(e_grads + g_grads, e_vars + g_vars, strict=True))
        else:
            train_d, train_g = self.gates(real_logit, fake_side)
            self.critic_steps(real, reconstruction, prior, train_d)
            if self.gated:
                tf.cond(train_g,
                        lambda: applied(self.g_optimizer, e_grads + g_grads, e_vars + g_vars),
                        lambda: applied(self.g_optimizer, e_grads, e_vars))
            else:
                self.g_optimizer.apply_gradients(zip(e_grads + g_grads, e_vars + g_vars, strict=True))
            self.g_loss_tracker.update_state(adversarial)
            if self.gated:
                self.d_trained_tracker.update_state(ops.cast(train_d, "float32"))
                self.g_trained_tracker.update_state(ops.cast(train_g, "float32"))
        self.kl_tracker.update_state(kl)
        self.reconstruction_tracker.update_state(rec_loss)
        return {m.name: m.result() for m in self.metrics}

    def gates(self, real_logit: Any, fake_logits: Any) -> tuple[Any, Any]:
        """(train the critic, train the decoder) this step: the official code's rule on the critic's costs."""
        if not self.gated:
            return tf.constant(True), tf.constant(True)
        real_cost = ops.mean(ops.softplus(-ops.cast(real_logit, "float32")))
        fake_cost = ops.mean(ops.softplus(fake_logits))
        centre, margin = float(self.settings["gate_equilibrium"]), float(self.settings["gate_margin"])
        train_d = ops.logical_not(ops.logical_or(real_cost < centre - margin, fake_cost < centre - margin))
        train_g = ops.logical_not(ops.logical_or(real_cost > centre + margin, fake_cost > centre + margin))
        neither = ops.logical_not(ops.logical_or(train_d, train_g))
        return ops.logical_or(train_d, neither), ops.logical_or(train_g, neither)

    def critic_steps(self, real: Any, reconstruction: Any, prior: Any | None, train: Any) -> None:
        """n_critic updates of the critic on the adversarial loss alone (and the run's penalties)."""
        fakes = self.settings["critic_fakes"]  # prior samples exist unless it is "reconstructions"
        fake = tf.stop_gradient(prior if fakes == "prior" else reconstruction)
        extra = tf.stop_gradient(prior) if fakes == "both" else None
        critic_fn, d_vars = self.critic_for(None), self.discriminator_variables()
        for _ in range(self.n_critic):
            with tf.GradientTape() as tape:
                total, d_loss, values, real_out, fake_out = self.critic_losses(critic_fn, real, fake, labels=extra)
                scaled = self.d_optimizer.scale_loss(replica_share(total))
            grads = tape.gradient(scaled, d_vars)
            if self.gated:
                tf.cond(train, lambda grads=grads: applied(self.d_optimizer, grads, d_vars),
                        lambda: tf.constant(False))
            else:
                self.d_optimizer.apply_gradients(zip(grads, d_vars, strict=True))
            self.adversarial_loss.after_discriminator_step(self.discriminator)
        self.d_loss_tracker.update_state(d_loss)
        estimate = self.adversarial_loss.estimate(real_out, fake_out) if self.logs_estimate else None
        if estimate is not None:
            self.estimate_tracker.update_state(estimate)
        for tracker, value in zip(self.penalty_trackers, values, strict=True):
            tracker.update_state(value)

    def call(self, inputs: Any, training: bool = False) -> Any:
        z, _, _ = self.encode(inputs, training=training)
        return self.generator(z, training=training)

    # ----- sample grid: inputs, their reconstructions, prior samples ------------------------------
    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        first = next(iter(stream().batch(GRID_COLUMNS).take(1)))
        images = first[0] if isinstance(first, tuple | list) else first
        z = np.random.default_rng(seed).standard_normal((2 * GRID_COLUMNS, self.latent_dim)).astype(np.float32)
        return {"images": np.asarray(images), "z": z}

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        from img2img.render import image_grid

        images = inputs["images"]
        mean, _ = self.encoder(images, training=False)
        samples = self.generator(inputs["z"][: 2 * len(images)], training=False)
        rows = [images, ops.convert_to_numpy(self.generator(mean, training=False)), ops.convert_to_numpy(samples)]
        labels = ["input", "reconstruction", "prior samples", "prior samples"]
        return image_grid(np.concatenate(rows), columns=len(images), row_labels=labels)


def per_sample_half_square(difference: Any) -> Any:
    """Mean over the batch of 0.5 * the sum of squares over each sample: -log N(x | x~, I) up to a constant."""
    flat = ops.reshape(difference, (ops.shape(difference)[0], -1))
    return ops.mean(0.5 * ops.sum(flat**2, axis=1))


def applied(optimizer: Any, grads: list[Any], variables: list[Any]) -> Any:
    """Apply ``grads``; returns True, so the call can be one branch of a ``tf.cond``."""
    optimizer.apply_gradients(zip(grads, variables, strict=True))
    return tf.constant(True)
