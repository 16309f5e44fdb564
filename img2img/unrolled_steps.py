"""The update rules an unrolled critic copy steps with, written in differentiable ops.

A fused optimiser kernel has no gradient, and the generator's gradient must flow back through every step of
the copy (the second-order path of Metz et al. 2017). SGD is the simplest such rule. The authors' own code
unrolled the critic's Adam (their notebook extracts Keras Adam's updates, moments and step count included,
and replays them): the copy then starts from the critic optimiser's moments, advances its own copies of them,
and drops them afterwards, so the real optimiser's slots never see the unrolled steps.
"""

from __future__ import annotations

from typing import Any

from keras import ops

UNROLL_OPTIMIZERS = ("sgd", "adam")

# A floor under Adam's second moment inside the square root. A gradient whose square underflows float32 (about
# 1e-23 and below, from a unit near ReLU's kink) leaves v at 0 while m is not, and sqrt's infinite slope at 0
# then makes the generator's gradient inf or NaN. Its root (1e-15) is far below Adam's epsilon, so the floor
# changes no update; its gradient is 0 where v is below it.
_SECOND_MOMENT_FLOOR = 1e-30


class UnrolledSGD:
    """w <- w - lr g, at the critic's current learning rate."""

    def __init__(self, optimizer: Any, variables: list[Any]) -> None:
        self.lr = ops.cast(optimizer.learning_rate, "float32")

    def step(self, weights: list[Any], grads: list[Any]) -> list[Any]:
        return [w - ops.cast(self.lr, w.dtype) * ops.cast(g, w.dtype) for w, g in zip(weights, grads, strict=True)]


class UnrolledAdam:
    """Keras' Adam update (bias correction folded into the rate, epsilon outside the square root), from the
    critic optimiser's own moments and step count (``check_unroll_fits`` refuses a critic without Adam)."""

    def __init__(self, optimizer: Any, variables: list[Any]) -> None:
        index = optimizer._get_variable_index
        self.m = [optimizer._momentums[index(v)].value for v in variables]
        self.v = [optimizer._velocities[index(v)].value for v in variables]
        self.t = ops.cast(optimizer.iterations, "float32")
        self.lr = ops.cast(optimizer.learning_rate, "float32")
        self.beta_1, self.beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
        self.epsilon = float(optimizer.epsilon)

    def step(self, weights: list[Any], grads: list[Any]) -> list[Any]:
        self.t = self.t + 1.0
        alpha = self.lr * ops.sqrt(1.0 - self.beta_2 ** self.t) / (1.0 - self.beta_1 ** self.t)
        new_m, new_v, new_w = [], [], []
        for w, g, m, v in zip(weights, grads, self.m, self.v, strict=True):
            g = ops.cast(g, m.dtype)
            m = m + (g - m) * (1.0 - self.beta_1)
            v = v + (ops.square(g) - v) * (1.0 - self.beta_2)
            update = ops.cast(alpha, m.dtype) * m / (ops.sqrt(ops.maximum(v, _SECOND_MOMENT_FLOOR)) + self.epsilon)
            new_m.append(m)
            new_v.append(v)
            new_w.append(w - ops.cast(update, w.dtype))
        self.m, self.v = new_m, new_v
        return new_w


def unrolled_update_rule(name: str, optimizer: Any, variables: list[Any]) -> Any:
    """The update rule ``--set unroll_optimizer`` names, set up from the critic's optimiser."""
    return {"sgd": UnrolledSGD, "adam": UnrolledAdam}[name](optimizer, variables)
