"""Wasserstein, least-squares, hinge and the penalties: hand-computed values and defaults from reference.md.
Every model x every loss x a penalty for one step is the model contract (tests/test_model_contracts.py)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import FAST

from img2img.losses import parse_loss_spec
from img2img.plugins import PluginManager

MANAGER = PluginManager(select="")


def _np(x):
    return np.asarray(x, dtype=np.float64)


def linear_critic(w: np.ndarray, b: float = 0.3):
    w = tf.constant(w, tf.float32)
    return lambda x: tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)) * tf.reshape(w, (1, -1)), axis=1) + b


def test_gradient_penalty_on_a_linear_critic_equals_the_hand_computed_value():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 2)).astype(np.float32)
    real = tf.constant(rng.normal(size=(5, 3, 3, 2)), tf.float32)
    fake = tf.constant(rng.normal(size=(5, 3, 3, 2)), tf.float32)
    gp = MANAGER.penalties.get("gp")
    expected = (np.sqrt(np.sum(w.astype(np.float64) ** 2) + 1e-10) - 1.0) ** 2  # gradient is w everywhere
    value = gp(linear_critic(w), real, fake, keras.random.SeedGenerator(1))
    assert _np(value) == pytest.approx(expected, rel=1e-5)
    assert gp.default_weight == 10.0


def test_gradient_penalty_draws_one_uniform_alpha_per_sample():
    """With D(x) = ||x||^2 / 2 the gradient at x_hat is x_hat, so the penalty reveals each sample's alpha."""
    rng = np.random.default_rng(1)
    real = tf.constant(rng.normal(size=(6, 4, 4, 1)), tf.float32)
    fake = tf.constant(rng.normal(size=(6, 4, 4, 1)), tf.float32)

    def critic(x):
        return 0.5 * tf.reduce_sum(tf.reshape(x, (6, -1)) ** 2, axis=1)

    value = MANAGER.penalties.get("gp")(critic, real, fake, keras.random.SeedGenerator(7))
    alpha = _np(keras.random.uniform((6, 1, 1, 1), 0.0, 1.0, seed=keras.random.SeedGenerator(7)))
    assert ((alpha > 0) & (alpha < 1)).all() and len(np.unique(alpha)) == 6
    x_hat = _np(real) + alpha * (_np(fake) - _np(real))
    norms = np.sqrt(np.sum(x_hat.reshape(6, -1) ** 2, axis=1) + 1e-10)
    assert _np(value) == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-5)


def test_r1_is_half_the_squared_gradient_norm_on_real_data():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(2, 2, 1)).astype(np.float32)
    real = tf.constant(rng.normal(size=(4, 2, 2, 1)), tf.float32)
    value = MANAGER.penalties.get("r1")(linear_critic(w), real, real * 0.0, None)
    assert _np(value) == pytest.approx(0.5 * np.sum(w.astype(np.float64) ** 2), rel=1e-5)


def test_consensus_term_is_half_the_squared_norm_of_the_joint_gradient():
    d = [tf.constant([1.0, 2.0]), tf.constant([[3.0]])]
    g = [tf.constant([-1.0, 0.5])]
    consensus = MANAGER.penalties.get("consensus")
    assert consensus.joint and consensus.default_weight == 10.0
    assert _np(consensus.joint_term(d, g)) == pytest.approx(0.5 * (1 + 4 + 9 + 1 + 0.25))


def test_consensus_damps_the_rotation_that_simultaneous_gradient_descent_follows():
    """The Dirac-GAN of Mescheder et al.: D(x) = psi x, G = theta, real data at 0, loss WGAN-style
    L = psi theta. Simultaneous gradient steps spiral outwards; with consensus they converge to (0, 0)."""

    def run(gamma: float) -> float:
        theta, psi = tf.Variable(1.0), tf.Variable(1.0)
        for _ in range(300):
            with tf.GradientTape(persistent=True) as outer:
                with tf.GradientTape(persistent=True) as inner:
                    d_loss = -(psi * 0.0) + psi * theta  # critic: E_fake D - E_real D
                    g_loss = -psi * theta
                gd, gg = inner.gradient(d_loss, psi), inner.gradient(g_loss, theta)
                reg = MANAGER.penalties.get("consensus").joint_term([gd], [gg])
            psi.assign_sub(0.1 * (gd + gamma * outer.gradient(reg, psi)))
            theta.assign_sub(0.1 * (gg + gamma * outer.gradient(reg, theta)))
        return float(np.hypot(theta.numpy(), psi.numpy()))

    assert run(0.0) > 1.5  # diverges
    assert run(1.0) < 1e-3  # consensus converges


def test_losses_match_their_formulas():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=32).astype(np.float32), rng.normal(size=32).astype(np.float32)
    r, f = tf.constant(real), tf.constant(fake)
    real, fake = real.astype(np.float64), fake.astype(np.float64)
    cases = {
        "wgan": (fake.mean() - real.mean(), -fake.mean()),
        "lsgan": (0.5 * (np.mean((real - 1) ** 2) + np.mean(fake**2)), np.mean((fake - 1) ** 2)),
        "hinge": (np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake)), -fake.mean()),
    }
    for name, (d_expected, g_expected) in cases.items():
        loss = MANAGER.losses.get(name)
        assert _np(loss.discriminator_loss(r, f)) == pytest.approx(d_expected, rel=1e-5), name
        assert _np(loss.generator_loss(f)) == pytest.approx(g_expected, rel=1e-5), name


def _tiny_dcgan(**settings):
    model_cls = MANAGER.models.get("dcgan")
    return model_cls(image_size=16, channels=1, seed=0, latent_dim=8, filters=4,
                     **{"d_norm": "batch", "spectral_norm": False, **settings})


def _compile(model, loss, penalties=(), n_critic=1, optimizer=None, run_eagerly=False):
    model.compile(optimizer or keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), loss=loss,
                  penalties=penalties, n_critic=n_critic, run_eagerly=run_eagerly)
    return model


def test_wgan_clips_every_critic_weight_after_each_critic_step(digits_array):
    model = _compile(_tiny_dcgan(d_norm="none"), parse_loss_spec("wgan:clip=0.005", MANAGER.losses),
                     n_critic=2, optimizer=keras.optimizers.RMSprop(0.5))
    model.fit(digits_array, batch_size=16, epochs=1, steps_per_epoch=2, verbose=0)
    for variable in model.discriminator.trainable_variables:
        assert np.abs(_np(variable)).max() <= 0.005 + 1e-7, variable.path


def _digits(size: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    images = load_digits().images[:64].astype(np.float32) / 8.0 - 1.0
    return tf.image.resize(images[..., None], (size, size)).numpy()


@pytest.fixture(scope="module")
def digits_array():
    return _digits(16)


@pytest.mark.slow
def test_wgan_gp_brings_its_penalty_and_optimiser_defaults(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    result = cli_run("train", "dcgan", "--data", digits, *FAST, "--set", "d_norm=layer", "--loss", "wgan-gp",
                     "--steps", "2", "--out", out)
    assert "batch normalisation" not in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["penalties"] == [{"name": "gp", "weight": 10.0}]
    s = config["settings"]
    assert (s["optimizer"], s["lr"], s["beta_1"], s["beta_2"], s["n_critic"]) == ("adam", 1e-4, 0.0, 0.9, 5)
    # The user's own choice wins over the loss's default.
    out2 = tmp_path / "run2"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--loss", "wgan", "--set", "n_critic=2", "--steps", "1",
            "--penalty", "r1:3", "--out", out2)
    config = json.loads((out2 / "config.json").read_text())
    assert config["settings"]["n_critic"] == 2 and config["settings"]["optimizer"] == "rmsprop"
    assert config["loss"] == {"name": "wgan", "params": {"clip": 0.01}, "plugin": "wasserstein"}


def test_gp_with_batch_norm_warns(cli_run, plugins, digits, tmp_path):
    result = cli_run("train", "dcgan", "--data", digits, *FAST, "--penalty", "gp", "--steps", "1",
                     "--out", tmp_path / "run")
    assert "batch normalisation in the critic" in result.output


def test_parametrised_loss_survives_resume(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--loss", "alpha:-0.5", "--steps", "1", "--out", out)
    cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "2")
    config = json.loads((out / "config.json").read_text())
    assert config["loss"]["params"] == {"alpha": -0.5, "objective": "practical"}


def test_compiled_step_with_scipy_conjugate_and_consensus(cli_run, plugins, digits, tmp_path):
    """Graph mode for the two unusual paths: a SciPy-backed conjugate (jeffrey) and the joint update."""
    import csv

    out = tmp_path / "run"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--loss", "jeffrey", "--penalty", "consensus:1",
            "--steps", "2", "--out", out)
    with (out / "metrics.csv").open() as handle:
        row = next(csv.DictReader(handle))
    assert all(np.isfinite(float(row[k])) for k in ("d_loss", "g_loss", "bound", "penalty_consensus"))
