"""How the two players step, one compiled training step at a time: the schemes the base GAN offers every model.

``critic_step`` and ``generator_step`` alternate (``n_critic`` critic steps per generator step);
``joint_step`` updates both players at once for penalties on the joint gradient field (consensus
optimisation). Each takes the model and uses only its public step API (``critic_losses``, ``fake_batch``,
``generator_layer_losses``, ``generator_extra_loss``, the optimisers and the loss), so a scheme added here
serves every model.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from img2img.console import warn
from img2img.distribute import all_replicas_sum, replica_count, replica_share
from img2img.errors import Img2ImgError
from img2img.packing import pack_samples
from img2img.unrolled_steps import UNROLL_OPTIMIZERS, unrolled_update_rule


def check_penalties_fit(model: Any) -> None:
    """Refuse or warn at compile time about penalties the model's critic or optimiser cannot serve."""
    per_sample = [p.name for p, _ in model.penalties if p.per_sample]
    if per_sample and any(isinstance(layer, keras.layers.BatchNormalization)
                          for layer in model.discriminator._flatten_layers()):
        warn(f"penalty {', '.join(per_sample)} with batch normalisation in the critic: batch norm mixes the "
             "samples whose gradients the penalty measures (WGAN-GP paper); pick a critic option without it "
             "(see the model's --set keys in 'img2img models')")
    if any(p.joint for p, _ in model.penalties) and isinstance(model.d_optimizer,
                                                               keras.optimizers.LossScaleOptimizer):
        raise Img2ImgError("joint-gradient penalties (consensus) do not support float16 loss scaling; "
                           "use --precision float32")


def critic_step(model: Any, critic: Any, real: Any, labels: Any) -> tuple[Any, list[Any], Any]:
    """One critic update on ``real`` and a fresh fake batch: (loss, penalty values, divergence estimate)."""
    fake = model.fake_batch(ops.shape(real)[0], labels, real.dtype)
    with tf.GradientTape() as tape:
        total, d_loss, values, real_out, fake_out = model.critic_losses(
            critic, pack_samples(real, model.pack), pack_samples(fake, model.pack), labels)
        # This replica's share of the loss (optimisers sum replicas); float16 loss scaling, on the tape too.
        scaled = model.d_optimizer.scale_loss(replica_share(total))
    variables = model.discriminator_variables()
    model.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
    model.adversarial_loss.after_discriminator_step(model.discriminator)
    return d_loss, values, model.adversarial_loss.estimate(real_out, fake_out)


def generator_step(model: Any, critic: Any, real: Any, labels: Any) -> Any:
    """One generator update against ``critic``, plus what the generator's layers add and the model's extra
    terms. Returns the loss logged as g_loss: all but the extra terms, which a model logs itself (pix2pix's
    l1_loss), so g_loss reads the same for every model. With ``unroll`` K > 0 the generator plays against the
    critic as it would be after K more steps of its own (``unrolled_critic``)."""
    with tf.GradientTape() as tape:
        seeking = 0.0
        if model.mode_seeking:
            fake, seeking = mode_seeking_batch(model, ops.shape(real)[0], labels, real.dtype)
        else:
            fake = model.fake_batch(ops.shape(real)[0], labels, real.dtype)
        if model.unroll:
            critic = unrolled_critic(model, labels, real, fake, model.unroll)
        g_loss = model.adversarial_loss.generator_loss(critic(pack_samples(fake, model.pack)))
        g_loss += model.generator_layer_losses()
        extra = model.generator_extra_loss(real, fake, labels) + model.mode_seeking * seeking
        scaled = model.g_optimizer.scale_loss(replica_share(g_loss + extra))
    variables = model.generator_variables()
    model.g_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
    return g_loss


MODE_SEEKING_EPS = 1e-5  # reference.md, MSGAN


def mode_seeking_batch(model: Any, batch_size: Any, labels: Any, dtype: Any) -> tuple[Any, Any]:
    """(a fake batch, the mode-seeking term of Mao et al. 2019): the generator draws the same conditions from
    two latent batches, and 1 / (mean |G(c, z2) - G(c, z1)| / mean |z2 - z1| + eps) grows when different z
    give alike images, the per-condition collapse it penalises (reference.md, MSGAN). The critic scores the
    first half, so the adversarial term is what it would be without the regulariser."""
    z1, z2 = model.sample_latent(batch_size), model.sample_latent(batch_size)
    both = ops.concatenate([z1, z2], axis=0)
    conditions = None if labels is None else ops.concatenate([labels, labels], axis=0)
    images = ops.cast(model.generator(model.generator_inputs(both, conditions), training=True), "float32")
    first, second = images[:batch_size], images[batch_size:]
    ratio = ops.mean(ops.abs(second - first)) / ops.mean(ops.abs(z2 - z1))
    return ops.cast(first, dtype), 1.0 / (ratio + MODE_SEEKING_EPS)


def unrolled_critic(model: Any, labels: Any, real: Any, fake: Any, steps: int) -> Any:
    """The critic after ``steps`` differentiable steps of a copy of its weights on its own objective
    (the configured loss and critic penalties, on this ``real`` batch and ``fake``), at the critic's current
    learning rate, by the rule ``model.unroll_optimizer`` names (plain SGD, or Adam from the critic
    optimiser's moments: img2img.unrolled_steps): Unrolled GAN (Metz et al. 2017; reference.md). Called
    inside the generator's tape, so the generator's gradient flows back through every unrolled update: the
    second-order path. The real critic's weights and optimiser are not touched (it then takes its ordinary
    steps from them), the copy's batch-norm statistics and spectral-norm vectors are dropped after each call,
    and a loss's after-step projection (WGAN's weight clipping) is not applied to the copy."""
    network = model.discriminator
    weights = [v.value for v in network.trainable_variables]
    state = [v.value for v in network.non_trainable_variables]
    rule = unrolled_update_rule(model.unroll_optimizer, model.d_optimizer, network.trainable_variables)

    def critic_with(current: list[Any]) -> Any:
        def critic(images: Any) -> Any:
            out, _ = network.stateless_call(current, state, model.discriminator_inputs(images, labels),
                                            training=True)
            return ops.cast(out, "float32")

        return critic

    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            total = model.critic_losses(critic_with(weights), pack_samples(real, model.pack),
                                        pack_samples(fake, model.pack), labels)[0]
        grads = _zeros_for_none(tape.gradient(total, weights), weights)
        weights = rule.step(weights, grads)
    return critic_with(weights)


def check_mode_seeking_fits(model: Any) -> None:
    """Refuse, by name, what the mode-seeking term cannot serve (it lives in ``generator_step``)."""
    if not model.mode_seeking:
        return
    if type(model).fake_batch is not _base("fake_batch"):
        raise Img2ImgError(f"--set mode_seeking: {type(model).name} makes its fakes without a latent z (its own "
                           "fake_batch), so there are no two latents to compare")
    if any(p.joint for p, _ in model.penalties):
        raise Img2ImgError("--set mode_seeking: consensus optimisation's joint step does not add it; use one or "
                           "the other")


def check_unroll_fits(model: Any) -> None:
    """Refuse, by name, what an unrolled critic cannot serve yet."""
    if not model.unroll:
        if model.unroll_optimizer != "sgd":
            warn(f"--set unroll_optimizer={model.unroll_optimizer} does nothing without --set unroll=K (K > 0)")
        return
    if any(p.joint for p, _ in model.penalties):
        raise Img2ImgError("--set unroll: consensus optimisation updates both players at once, so there is no "
                           "generator step to unroll the critic for; use one or the other")
    if replica_count() > 1:
        raise Img2ImgError("--set unroll: the unrolled critic steps would need the gradient summed over replicas "
                           "and differentiated through; train with --strategy one")
    if isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer):
        raise Img2ImgError("--set unroll: the unrolled steps are not loss-scaled for float16; use --precision "
                           "float32 (or mixed on a CPU, which is bfloat16)")
    if model.unroll_optimizer not in UNROLL_OPTIMIZERS:
        raise Img2ImgError(f"--set unroll_optimizer: {model.unroll_optimizer!r} is not one of "
                           f"{', '.join(UNROLL_OPTIMIZERS)}")
    if model.unroll_optimizer == "adam" and not isinstance(model.d_optimizer, keras.optimizers.Adam):
        raise Img2ImgError(f"--set unroll_optimizer=adam replays the critic's Adam from its moments, but the critic "
                           f"trains with {type(model.d_optimizer).__name__}; use --set optimizer=adam or "
                           "--set unroll_optimizer=sgd")
    if model.unroll_optimizer == "adam":
        d_rate, g_rate = _current_rate(model.d_optimizer), _current_rate(model.g_optimizer)
        if d_rate >= g_rate:
            warn(f"--set unroll_optimizer=adam with the critic learning as fast as the generator (d_lr {d_rate:g}, "
                 f"lr {g_rate:g}): on the 25-mode grid this collapsed onto one or two modes, while a critic ten "
                 "times slower (the Unrolled GAN authors' setting, e.g. --set d_lr=1e-4 with lr=1e-3) covered "
                 "most of them; docs/mode-collapse.md")
    if model.scores_extra_samples:
        raise Img2ImgError(f"--set unroll: {type(model).name}'s critic also scores extra samples through its own "
                           "weights (a matching-aware critic), which the unrolled copy cannot see yet; turn the "
                           "extras off where the model has an option for it ('img2img models -v' lists each "
                           "model's options)")


def _current_rate(optimizer: Any) -> float:
    """The learning rate an optimiser steps with now (a schedule's value at its current step)."""
    return float(ops.convert_to_numpy(optimizer.learning_rate))


def _base(method: str) -> Any:
    """The base GAN's own ``method``: a model that overrides it changes what a scheme relies on."""
    from img2img.gan import GAN

    return getattr(GAN, method)


def joint_step(model: Any, critic: Any, real: Any, labels: Any) -> tuple[Any, list[Any], Any, Any]:
    """Simultaneous update of both players, for penalties on the joint gradient field (consensus
    optimisation, Mescheder et al. 2017): each player steps along its own gradient plus the gradient
    of ``weight * joint_term`` with respect to its variables.

    Under N replicas each replica's gradients are its share of the global ones; the joint term is not linear
    in them, so it is taken of their sum over replicas, the one-device gradient (``_replica_regulariser``)."""
    d_vars = model.discriminator_variables()
    g_vars = model.generator_variables()
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape(persistent=True) as inner:
            fake = model.fake_batch(ops.shape(real)[0], labels, real.dtype)
            total, d_loss, values, real_out, fake_out = model.critic_losses(
                critic, pack_samples(real, model.pack), pack_samples(fake, model.pack), labels)
            g_loss = model.adversarial_loss.generator_loss(fake_out) + model.generator_layer_losses()
            g_objective = g_loss + model.generator_extra_loss(real, fake, labels)  # logged: g_loss alone
            d_share, g_share = replica_share(total), replica_share(g_objective)  # on the tape, as it is used
        d_grads = _zeros_for_none(inner.gradient(d_share, d_vars), d_vars)
        g_grads = _zeros_for_none(inner.gradient(g_share, g_vars), g_vars)
        if replica_count() == 1:
            joint_values = _joint_values(model, d_grads, g_grads)
            regulariser = sum(joint_values)
        else:
            joint_values, regulariser = _replica_regulariser(model, d_grads, g_grads)
    d_extra = _zeros_for_none(outer.gradient(regulariser, d_vars), d_vars)
    g_extra = _zeros_for_none(outer.gradient(regulariser, g_vars), g_vars)
    del inner, outer
    model.d_optimizer.apply_gradients(zip([a + b for a, b in zip(d_grads, d_extra, strict=True)], d_vars,
                                         strict=True))
    model.g_optimizer.apply_gradients(zip([a + b for a, b in zip(g_grads, g_extra, strict=True)], g_vars,
                                         strict=True))
    model.adversarial_loss.after_discriminator_step(model.discriminator)
    return d_loss, values + joint_values, model.adversarial_loss.estimate(real_out, fake_out), g_loss


def _joint_values(model: Any, d_grads: list[Any], g_grads: list[Any]) -> list[Any]:
    return [weight * penalty.joint_term(d_grads, g_grads) for penalty, weight in model.penalties if penalty.joint]


def _replica_regulariser(model: Any, d_grads: list[Any], g_grads: list[Any]) -> tuple[list[Any], Any]:
    """(joint values, this replica's surrogate): the joint term J is taken of the global gradients g = the
    sum of the replicas' shares g_r; its gradient is the sum over replicas of (dJ/dg) . dg_r/dtheta, so each
    replica differentiates (dJ/dg, held constant) . g_r and the optimisers' sum over replicas completes it.
    (The sum over replicas passes no gradient back, so J of it cannot be differentiated directly.)"""
    shares = d_grads + g_grads
    summed = [tf.stop_gradient(g) for g in all_replicas_sum(shares)]
    with tf.GradientTape() as tape:
        tape.watch(summed)
        joint_values = _joint_values(model, summed[:len(d_grads)], summed[len(d_grads):])
        joint = sum(joint_values)
    slopes = _zeros_for_none(tape.gradient(joint, summed), summed)
    surrogate = sum(ops.sum(tf.stop_gradient(slope) * share) for slope, share in zip(slopes, shares, strict=True))
    return joint_values, surrogate


def _zeros_for_none(grads: list[Any], variables: list[Any]) -> list[Any]:
    """Dense gradients: zeros for a variable the loss does not reach (not None), and embeddings' sparse
    IndexedSlices made dense, so joint terms can add and square them."""
    return [ops.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables, strict=True)]
