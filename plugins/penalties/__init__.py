"""Built-in critic penalties, usable with any loss: ``--penalty gp``, ``--penalty r1:5``, ``--penalty consensus``."""

from __future__ import annotations

from typing import Any

from img2img import Penalty, global_draw, hookimpl

EPSILON = 1e-10  # inside the square root, so the norm's gradient is finite at a zero gradient


def _input_gradient(critic: Any, x: Any) -> Any:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        out = critic(x)
    return tape.gradient(out, x)


def _per_sample_sum(values: Any) -> Any:
    from keras import ops

    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2 with
    x_hat = x + alpha (x_fake - x) and one alpha ~ U[0, 1] per sample (not per element, and not normal:
    two bugs seen in other implementations); epsilon inside the square root."""

    name = "gp"
    description = "gradient penalty (WGAN-GP), weight 10; one alpha ~ U[0,1] per sample"
    default_weight = 10.0
    per_sample = True

    def __call__(self, critic: Any, real: Any, fake: Any, seed: Any = None) -> Any:
        import keras
        from keras import ops

        ones = (1,) * (len(real.shape) - 1)
        alpha = global_draw(lambda n: keras.random.uniform((n, *ones), 0.0, 1.0, dtype=real.dtype, seed=seed),
                            ops.shape(real)[0])
        x_hat = real + alpha * (fake - real)
        norm = ops.sqrt(_per_sample_sum(ops.square(_input_gradient(critic, x_hat))) + EPSILON)
        return ops.mean(ops.square(norm - 1.0))


class R1(Penalty):
    """R1 (Mescheder et al. 2018) in the StyleGAN2 convention: (gamma / 2) E_real ||grad_x D(x)||^2, so
    the weight is gamma (default 10). The GAN_stability code omits the 1/2: use r1:5 to match it."""

    name = "r1"
    description = "R1 penalty on real data, (gamma/2) E||grad D(x)||^2 with weight gamma = 10"
    default_weight = 10.0
    per_sample = True

    def __call__(self, critic: Any, real: Any, fake: Any, seed: Any = None) -> Any:
        from keras import ops

        return 0.5 * ops.mean(_per_sample_sum(ops.square(_input_gradient(critic, real))))


class Consensus(Penalty):
    """Consensus optimisation (Mescheder, Nowozin, Geiger 2017, "The Numerics of GANs"): with v the
    joint gradient field of both players, L = 1/2 ||v||^2, and each player steps along its own gradient
    plus gamma times grad L (gamma = 10). Both players update simultaneously."""

    name = "consensus"
    description = "consensus optimisation (The Numerics of GANs), gamma = 10; needs both players' gradients"
    default_weight = 10.0
    joint = True

    def joint_term(self, d_grads: list[Any], g_grads: list[Any]) -> Any:
        from keras import ops

        return 0.5 * sum(ops.sum(ops.square(g)) for g in [*d_grads, *g_grads])


@hookimpl
def register_penalties(register):
    register(GradientPenalty())
    register(R1())
    register(Consensus())
