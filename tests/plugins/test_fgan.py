"""The f-GAN table, checked against reference.md with properties that need no single source.

Every registered FDivergence (and the alpha row at several alphas) must satisfy: Fenchel-Young
f*(t) >= u t - f(u) with equality at t = f'(u); g_f(R) inside dom f*; f(1) = 0 (-log 4 for gan); a fused
f*(g_f(v)) equal to the composition; finite losses and gradients for critic outputs in [-50, 50].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from img2img.losses import FDivergence, parse_loss_spec
from img2img.plugins import PluginManager

MANAGER = PluginManager(select="")
ALPHAS = [0.5, -1.0, 0.9, -0.3]


def _divergences() -> list[FDivergence]:
    found = [obj for _, obj, _ in MANAGER.losses.items() if isinstance(obj, FDivergence)]
    alpha = MANAGER.losses.get("alpha")
    return found + [alpha.configure(alpha=a) for a in ALPHAS if a != alpha.current_values()["alpha"]]


DIVERGENCES = _divergences()
IDS = [f"{d.name}:{d.current_values().get('alpha', '')}".rstrip(":") for d in DIVERGENCES]

# dom f* for each row, from reference.md's table (an oracle independent of the implementation).
DOMAIN = {
    "total-variation": lambda t, a: np.abs(t) <= 0.5,
    "kl": lambda t, a: np.isfinite(t),
    "reverse-kl": lambda t, a: t < 0,
    "pearson": lambda t, a: np.isfinite(t),
    "neyman": lambda t, a: t < 1,
    "hellinger": lambda t, a: t < 1,
    "jeffrey": lambda t, a: np.isfinite(t),
    "js": lambda t, a: t < math.log(2),
    "gan": lambda t, a: t < 0,
    "alpha": lambda t, a: t < 1 / (1 - a),
}
F_AT_ONE = {"gan": -math.log(4)}

U = arrays(np.float64, 32, elements=st.floats(0.05, 20.0))
V = arrays(np.float64, 32, elements=st.floats(-8.0, 8.0))


def _np(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _f_prime(div: FDivergence, u: np.ndarray) -> np.ndarray:
    x = tf.constant(u)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = div.f(x)
    return _np(tape.gradient(y, x))


def test_every_row_of_the_table_is_registered():
    names = {d.name for d in DIVERGENCES}
    assert set(DOMAIN) <= names


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
def test_f_at_one(div):
    assert _np(div.f(tf.constant([1.0], tf.float64)))[0] == pytest.approx(F_AT_ONE.get(div.name, 0.0), abs=1e-12)


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
def test_activation_maps_into_the_conjugates_domain(div):
    alpha = div.current_values().get("alpha")
    v = np.linspace(-30.0, 30.0, 2001)
    t = _np(div.activation(tf.constant(v)))
    assert DOMAIN[div.name](t, alpha).all()


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(u=U, v=V)
def test_fenchel_young_inequality(div, u, v):
    t = _np(div.activation(tf.constant(v)))
    lower = u * t - _np(div.f(tf.constant(u)))
    for conj in (_np(div.conjugate(tf.constant(t))), _np(div.conjugate_of_activation(tf.constant(v)))):
        assert (conj >= lower - 1e-9 * (1 + np.abs(lower))).all()


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(u=arrays(np.float64, 32, elements=st.floats(0.05, 20.0).filter(lambda x: abs(x - 1) > 1e-3)))
def test_fenchel_young_equality_at_the_derivative(div, u):
    t = _f_prime(div, u)
    alpha = div.current_values().get("alpha")
    assert DOMAIN[div.name](t, alpha).all()
    conj = _np(div.conjugate(tf.constant(t)))
    expected = u * t - _np(div.f(tf.constant(u)))
    np.testing.assert_allclose(conj, expected, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
def test_fused_conjugate_matches_the_composition(div):
    v = tf.constant(np.linspace(-12.0, 12.0, 501))
    fused, composed = _np(div.conjugate_of_activation(v)), _np(div.conjugate(div.activation(v)))
    kept = composed < 1e30  # the alpha row clamps beyond exp(80), documented in AlphaDivergence
    assert kept.mean() > 0.7
    np.testing.assert_allclose(fused[kept], composed[kept], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("div", DIVERGENCES, ids=IDS)
def test_losses_and_gradients_are_finite_for_outputs_in_plus_minus_50(div):
    v = tf.Variable(np.linspace(-50.0, 50.0, 1001).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        values = [div.discriminator_loss(v, v), div.generator_loss(v), div.estimate(v, v),
                  div.configure(objective="saddle").generator_loss(v)]
    for value in values:
        assert np.isfinite(_np(value)).all()
        assert np.isfinite(_np(tape.gradient(value, v))).all()


def test_gan_row_equals_the_classic_bce_losses():
    import keras

    gan = MANAGER.losses.get("gan")
    rng = np.random.default_rng(0)
    real = tf.constant(rng.normal(size=64).astype(np.float32) * 5)
    fake = tf.constant(rng.normal(size=64).astype(np.float32) * 5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    d_expected = bce(tf.ones(64), real) + bce(tf.zeros(64), fake)
    g_expected = bce(tf.ones(64), fake)  # non-saturating: -log D(G(z))
    np.testing.assert_allclose(_np(gan.discriminator_loss(real, fake)), _np(d_expected), rtol=1e-5)
    np.testing.assert_allclose(_np(gan.generator_loss(fake)), _np(g_expected), rtol=1e-5)


def test_bound_with_the_optimal_critic_equals_the_closed_form_kl_of_two_gaussians():
    """T*(x) = f'(p(x)/q(x)); then E_P[T*] - E_Q[f*(T*)] = D_f(P||Q) = (mu1-mu2)^2 / (2 sigma^2) for KL."""
    mu1, mu2, sigma, n = 0.0, 1.5, 1.0, 400_000
    rng = np.random.default_rng(1)
    xp, xq = rng.normal(mu1, sigma, n), rng.normal(mu2, sigma, n)

    def log_ratio(x):
        return ((x - mu2) ** 2 - (x - mu1) ** 2) / (2 * sigma**2)

    closed = {"kl": (mu1 - mu2) ** 2 / (2 * sigma**2), "reverse-kl": (mu1 - mu2) ** 2 / (2 * sigma**2),
              "jeffrey": (mu1 - mu2) ** 2 / sigma**2}
    for name, expected in closed.items():
        div = MANAGER.losses.get(name)
        tp = _f_prime(div, np.exp(log_ratio(xp)))
        tq = _f_prime(div, np.exp(log_ratio(xq)))
        bound = tp.mean() - _np(div.conjugate(tf.constant(tq))).mean()
        assert bound == pytest.approx(expected, rel=0.02), name


def test_alpha_parameter_and_objective_parse_and_bad_values_are_clear():
    from img2img.errors import Img2ImgError

    loss = parse_loss_spec("alpha:-0.5", MANAGER.losses)
    assert loss.current_values() == {"alpha": -0.5, "objective": "practical"}
    loss = parse_loss_spec("alpha:alpha=0.25,objective=saddle", MANAGER.losses)
    assert loss.current_values() == {"alpha": 0.25, "objective": "saddle"}
    assert parse_loss_spec("kl:objective=saddle", MANAGER.losses).generator_objective == "saddle"
    with pytest.raises(Img2ImgError, match="alpha must be below 1"):
        parse_loss_spec("alpha:1.5", MANAGER.losses)
    with pytest.raises(Img2ImgError, match="has no parameter 'beta'"):
        parse_loss_spec("kl:beta=2", MANAGER.losses)
