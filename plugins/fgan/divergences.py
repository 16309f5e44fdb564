"""The f-GAN table (reference.md), row by row. Variable names follow the paper: u = p/q, t in dom f*,
v the critic's raw output, g_f(v) = t."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf
from keras import ops

from img2img import FDivergence, Img2ImgError, Option

LOG2 = math.log(2.0)
# exp() of more than this overflows float32; the alpha row clamps its exponent here (values ~ 1e34).
MAX_EXP_ARGUMENT = 80.0


def _wright_omega(z: np.ndarray) -> np.ndarray:
    """omega(z) = W0(exp(z)), Lambert W of an exponential, from SciPy: stable for any real z. Imported here:
    only the Jeffrey row needs SciPy, and every ``img2img train`` loads this plugin."""
    from scipy import special

    return special.wrightomega(z.astype(np.float64)).real


@tf.custom_gradient
def jeffrey_conjugate(t: Any) -> Any:
    """f*(t) = W(e^(1-t)) + 1/W(e^(1-t)) + t - 2 with omega = W(e^(1-t)) taken from SciPy.

    Its derivative simplifies to 1/omega (= (f')^-1(t), as for any conjugate), which stays finite where
    differentiating the terms one by one would overflow float32 for t near 50.
    """
    t = tf.convert_to_tensor(t)

    def value_and_slope(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        omega = _wright_omega(1.0 - x.astype(np.float64))
        value = omega + 1.0 / omega + x - 2.0
        return value.astype(x.dtype), (1.0 / omega).astype(x.dtype)

    value, slope = tf.numpy_function(value_and_slope, [t], [t.dtype, t.dtype], stateful=False)
    value = tf.ensure_shape(value, t.shape)
    slope = tf.ensure_shape(slope, t.shape)

    def grad(upstream: Any) -> Any:
        return upstream * slope

    return value, grad


def _xlogx(u: Any) -> Any:
    return u * ops.log(u)


def total_variation() -> FDivergence:
    return FDivergence(
        "total-variation",
        f=lambda u: 0.5 * ops.abs(u - 1.0),
        conjugate=lambda t: t,
        activation=lambda v: 0.5 * ops.tanh(v),
        description="total variation distance, f(u) = |u - 1| / 2",
    )


def kl() -> FDivergence:
    return FDivergence(
        "kl",
        f=_xlogx,
        conjugate=lambda t: ops.exp(t - 1.0),
        activation=lambda v: v,
        description="Kullback-Leibler KL(P||Q), f(u) = u log u",
    )


def reverse_kl() -> FDivergence:
    return FDivergence(
        "reverse-kl",
        f=lambda u: -ops.log(u),
        conjugate=lambda t: -1.0 - ops.log(-t),
        activation=lambda v: -ops.exp(-v),
        conjugate_of_activation=lambda v: v - 1.0,
        description="reverse Kullback-Leibler KL(Q||P), f(u) = -log u",
    )


def pearson() -> FDivergence:
    return FDivergence(
        "pearson",
        f=lambda u: ops.square(u - 1.0),
        conjugate=lambda t: 0.25 * ops.square(t) + t,
        activation=lambda v: v,
        description="Pearson chi-squared, f(u) = (u - 1)^2 (the paper's conjugate t^2/4 + t over all of R)",
    )


def neyman() -> FDivergence:
    return FDivergence(
        "neyman",
        f=lambda u: ops.square(1.0 - u) / u,
        conjugate=lambda t: 2.0 - 2.0 * ops.sqrt(1.0 - t),
        activation=lambda v: 1.0 - ops.exp(-v),
        conjugate_of_activation=lambda v: 2.0 - 2.0 * ops.exp(-0.5 * v),
        description="Neyman chi-squared, f(u) = (1 - u)^2 / u",
    )


def hellinger() -> FDivergence:
    return FDivergence(
        "hellinger",
        f=lambda u: ops.square(ops.sqrt(u) - 1.0),
        conjugate=lambda t: t / (1.0 - t),
        activation=lambda v: 1.0 - ops.exp(-v),
        conjugate_of_activation=lambda v: ops.expm1(v),
        description="squared Hellinger, f(u) = (sqrt(u) - 1)^2",
    )


def jeffrey() -> FDivergence:
    return FDivergence(
        "jeffrey",
        f=lambda u: (u - 1.0) * ops.log(u),
        conjugate=jeffrey_conjugate,
        activation=lambda v: v,
        description="Jeffrey (symmetric KL), f(u) = (u - 1) log u; Lambert W via SciPy's Wright omega",
    )


def jensen_shannon() -> FDivergence:
    return FDivergence(
        "js",
        f=lambda u: -(u + 1.0) * ops.log((1.0 + u) / 2.0) + _xlogx(u),
        conjugate=lambda t: -ops.log(2.0 - ops.exp(t)),
        activation=lambda v: LOG2 - ops.softplus(-v),
        conjugate_of_activation=lambda v: ops.softplus(v) - LOG2,
        description="Jensen-Shannon as in the f-GAN table: D_f = 2 JS(P||Q), f(u) = -(u+1) log((1+u)/2) + u log u",
    )


def gan() -> FDivergence:
    """f*(g_f(v)) = softplus(v): the critic loss is binary cross-entropy on logits, and the practical
    generator loss is the non-saturating softplus(-V)."""
    return FDivergence(
        "gan",
        f=lambda u: _xlogx(u) - (u + 1.0) * ops.log(u + 1.0),
        conjugate=lambda t: -ops.log(1.0 - ops.exp(t)),
        activation=lambda v: -ops.softplus(-v),
        conjugate_of_activation=ops.softplus,
        description="original GAN (Goodfellow 2014) with the non-saturating generator loss",
    )


def _log_softplus_neg(v: Any) -> Any:
    """log(softplus(-v)) without underflow: for large v, softplus(-v) ~ exp(-v)."""
    safe = ops.minimum(v, 20.0)
    return ops.where(v > 20.0, -v, ops.log(ops.softplus(-safe)))


class AlphaDivergence(FDivergence):
    """The alpha-divergence row (alpha < 1, alpha != 0): ``--loss alpha:0.5``.

    The table's conjugate holds on the activation's whole range only for alpha < 1 (reference.md: for
    alpha > 1 the closed form is wrong below -1/(alpha-1)), so alpha >= 1 is refused. For 0 < alpha < 1
    the true value of f*(g_f(v)) grows like exp(alpha/(1-alpha) * v); its exponent is clamped at 80 so
    the loss stays finite.
    """

    parameters: ClassVar[dict[str, Option]] = {
        "alpha": Option(0.5, "alpha < 1, alpha != 0"),
        **FDivergence.parameters,
    }

    def __init__(self, alpha: float = 0.5, objective: str = "practical") -> None:
        if not alpha < 1.0 or alpha == 0.0:
            raise Img2ImgError(f"--loss alpha:{alpha}: alpha must be below 1 and not 0 (the f-GAN table's range)")
        a = float(alpha)

        def conjugate_of_activation(v: Any) -> Any:
            exponent = (a / (a - 1.0)) * (math.log(1.0 - a) + _log_softplus_neg(v))
            return ops.exp(ops.minimum(exponent, MAX_EXP_ARGUMENT)) / a - 1.0 / a

        super().__init__(
            "alpha",
            f=lambda u: (ops.power(u, a) - 1.0 - a * (u - 1.0)) / (a * (a - 1.0)),
            conjugate=lambda t: ops.power(t * (a - 1.0) + 1.0, a / (a - 1.0)) / a - 1.0 / a,
            activation=lambda v: 1.0 / (1.0 - a) - ops.softplus(-v),
            conjugate_of_activation=conjugate_of_activation,
            description="alpha-divergence, --loss alpha:A with A < 1, A != 0 (default 0.5)",
            generator_objective=objective,
        )
        self.values = {"alpha": a, "objective": objective}

    def configure(self, **values: Any) -> AlphaDivergence:
        merged = {**self.current_values(), **values}
        return AlphaDivergence(alpha=merged["alpha"], objective=merged["objective"])


def all_divergences() -> list[FDivergence]:
    return [total_variation(), kl(), reverse_kl(), pearson(), neyman(), hellinger(), jeffrey(),
            jensen_shannon(), gan(), AlphaDivergence()]
