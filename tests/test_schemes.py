"""The training schemes of the base GAN (img2img.schemes): here the Unrolled GAN option (issue 23)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from img2img import GAN, Img2ImgError, Option
from img2img.packing import pack_samples
from img2img.schemes import mode_seeking_batch, unrolled_critic


class LineGAN(GAN):
    """G(z) = k z + theta with k = 0, so every sample is theta; a linear critic D(x) = w x + b. Under the
    Wasserstein loss with SGD at rate lr the unrolled objective has a closed form (see the test)."""

    name = "line-test"
    options = {"latent_dim": Option(1, "size of z")}

    def build_generator(self) -> keras.Model:
        z = keras.Input((1,))
        return keras.Model(z, keras.layers.Dense(1, kernel_initializer="zeros",
                                                 bias_initializer=keras.initializers.Constant(0.5))(z))

    def build_discriminator(self) -> keras.Model:
        x = keras.Input((1,))
        return keras.Model(x, keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.3),
                                                 bias_initializer="zeros")(x))


LR = 0.2


def _line_model(plugins: Any) -> LineGAN:
    model = LineGAN(image_size=1, channels=1, sample_shape=(1,))
    model.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("wgan"))
    return model


def _theta_gradient(model: LineGAN, real: Any, steps: int) -> float:
    """d(generator loss)/d(theta), through ``steps`` unrolled critic steps."""
    theta = model.generator.trainable_variables[1]
    with tf.GradientTape() as tape:
        fake = model.fake_batch(4, None, "float32")
        critic = unrolled_critic(model, None, real, fake, steps) if steps else model.critic_for(None)
        loss = model.adversarial_loss.generator_loss(critic(fake))
    return float(tape.gradient(loss, theta)[0])


def _theta_loss(model: LineGAN, real: Any, steps: int, theta_value: float) -> float:
    model.generator.trainable_variables[1].assign([theta_value])
    fake = model.fake_batch(4, None, "float32")
    return float(model.adversarial_loss.generator_loss(unrolled_critic(model, None, real, fake, steps)(fake)))


def test_the_unrolled_generator_gradient_has_its_closed_form(plugins):
    """One SGD step on D's Wasserstein loss moves w to w1 = w0 - lr (theta - mean r); the generator's loss
    -(w1 theta + b) then has gradient -w0 + lr (2 theta - mean r). K = 0 gives -w0; dropping the second-order
    path (w1 held constant) would give -w1."""
    model = _line_model(plugins)
    real = tf.constant([[1.0], [2.0], [2.0], [3.0]])
    theta, w0, mean_real = 0.5, 0.3, 2.0
    closed_form = -w0 + LR * (2 * theta - mean_real)
    assert _theta_gradient(model, real, 1) == pytest.approx(closed_form, abs=1e-6)
    assert _theta_gradient(model, real, 0) == pytest.approx(-w0, abs=1e-6)
    first_order_only = -(w0 - LR * (theta - mean_real))
    assert abs(closed_form - first_order_only) > 0.1  # the test tells the two apart
    # K = 3 has no short closed form: central finite differences of the unrolled loss itself.
    eps = 1e-3
    numeric = (_theta_loss(model, real, 3, theta + eps) - _theta_loss(model, real, 3, theta - eps)) / (2 * eps)
    model.generator.trainable_variables[1].assign([theta])
    assert _theta_gradient(model, real, 3) == pytest.approx(numeric, abs=1e-3)
    assert model.discriminator.trainable_variables[0].numpy().item() == pytest.approx(w0)  # the critic is untouched


def test_unroll_is_refused_where_it_cannot_work_by_name(plugins):
    model = LineGAN(image_size=1, channels=1, sample_shape=(1,))
    with pytest.raises(Img2ImgError, match="consensus optimisation updates both players at once"):
        model.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                      penalties=[(plugins.penalties.get("consensus"), 1.0)], unroll=2)
    with pytest.raises(Img2ImgError, match="unroll must be 0"):
        model.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                      unroll=-1)
    text = plugins.models.get("gan-cls")(image_size=16, channels=1, text_dim=4, filters=8, latent_dim=8, text_code=4)
    with pytest.raises(Img2ImgError, match="gan-cls.s critic also scores.*matching-aware critic.*img2img models -v"):
        text.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"), unroll=1)
    # Without the matching-aware term there is nothing the unrolled copy cannot see: it trains.
    plain = plugins.models.get("gan-cls")(image_size=16, channels=1, text_dim=4, filters=8, latent_dim=8,
                                          text_code=4, matching_aware=False)
    plain.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"), unroll=1)
    from sklearn.datasets import load_digits

    images = tf.image.resize(load_digits().images[:4, ..., None] / 8.0 - 1.0, (16, 16))  # real digits
    captions = np.eye(4, dtype="float32")  # one caption embedding per image
    before = [np.array(v) for v in plain.generator.trainable_variables]
    logs = plain.fit(tf.data.Dataset.from_tensors((images, captions)).repeat(), steps_per_epoch=1,
                      shuffle=False, verbose=0)
    assert np.isfinite(logs.history["g_loss"][0])
    assert any(np.abs(np.array(v) - b).max() > 0 for v, b in zip(plain.generator.trainable_variables, before,
                                                                 strict=True))


def _unrolled_runs_resume_exactly(cli_run: Any, tmp_path: Any, settings: list[str]) -> tuple[Any, Any, list[str]]:
    """Six toy-mlp steps in one run and in two (3, then --resume to 6): the same generator. Returns the
    unbroken run's generator, a latent batch and the command's common arguments."""
    common = ["toy-mlp", "--data", "toy:ring8", "--batch-size", "64", "--set", "hidden=16", *settings,
              "--steps-per-epoch", "3"]
    cli_run("train", *common, "--steps", "6", "--out", tmp_path / "whole")
    cli_run("train", *common, "--steps", "3", "--out", tmp_path / "halves")
    cli_run("train", "toy-mlp", "--out", tmp_path / "halves", "--resume", "--steps", "6")
    z = np.random.default_rng(0).standard_normal((8, 16)).astype("float32")
    a, b = (keras.saving.load_model(tmp_path / name / "generator.keras") for name in ("whole", "halves"))
    np.testing.assert_allclose(np.asarray(a(z)), np.asarray(b(z)), atol=1e-6)
    return a, z, common


def test_unrolled_training_resumes_exactly_and_cyclegan_refuses_it(cli_run, emoji, tmp_path):
    a, z, common = _unrolled_runs_resume_exactly(cli_run, tmp_path, ["--set", "unroll=3"])
    plain = cli_run("train", *common[:-4], "--steps", "6", "--out", tmp_path / "plain")
    assert plain.exit_code == 0
    c = keras.saving.load_model(tmp_path / "plain" / "generator.keras")
    assert np.abs(np.asarray(a(z)) - np.asarray(c(z))).max() > 1e-4  # unrolling changed the training
    line, colour = emoji
    refused = cli_run("train", "cyclegan", "--data", line, "--data-b", colour, "--image-size", "32", "--steps", "1",
                      "--batch-size", "2", "--set", "unroll=1", "--out", tmp_path / "cycle", expect=1)
    assert "cyclegan has two critics" in refused.output


def test_packing_stacks_consecutive_samples_on_the_last_axis():
    images = np.arange(4 * 2 * 2 * 3, dtype="float32").reshape(4, 2, 2, 3)
    packed = np.asarray(pack_samples(keras.ops.convert_to_tensor(images), 2))
    assert packed.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(packed[1, :, :, :3], images[2])  # pack 1 holds samples 2 and 3, in order
    np.testing.assert_array_equal(packed[1, :, :, 3:], images[3])
    vectors = np.arange(8, dtype="float32").reshape(4, 2)
    np.testing.assert_array_equal(np.asarray(pack_samples(keras.ops.convert_to_tensor(vectors), 4)),
                                  [[0, 1, 2, 3, 4, 5, 6, 7]])
    with pytest.raises(Img2ImgError, match="must be a multiple of the pack"):
        pack_samples(keras.ops.convert_to_tensor(vectors[:3]), 2)


def test_a_packed_critic_trains_resumes_and_packs_the_gradient_penalty(cli_run, plugins, digits, tmp_path):
    common = ["toy-mlp", "--data", "toy:ring8", "--batch-size", "64", "--set", "hidden=16", "--set", "pack=4",
              "--steps-per-epoch", "3", "--loss", "wgan-gp"]
    cli_run("train", *common, "--steps", "6", "--out", tmp_path / "whole")
    cli_run("train", *common, "--steps", "3", "--out", tmp_path / "halves")
    cli_run("train", "toy-mlp", "--out", tmp_path / "halves", "--resume", "--steps", "6")
    from img2img.runs import RunDirectory
    from img2img.training.assembly import load_run_model

    a, b = (load_run_model(RunDirectory(tmp_path / name), plugins) for name in ("whole", "halves"))
    assert a.discriminator.inputs[0].shape[-1] == 8  # four 2-d points side by side
    for x, y in zip(a.discriminator.weights, b.discriminator.weights, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-6)
    # The gradient penalty sees packs: 16 of them per 64-sample batch, so one interpolation weight each.
    real = keras.ops.convert_to_tensor(np.random.default_rng(0).standard_normal((64, 2)).astype("float32"))
    packs = pack_samples(real, 4)
    total, _, values, real_out, _ = a.critic_losses(a.critic_for(None), packs, packs)
    assert tuple(real_out.shape) == (16, 1) and np.isfinite(float(total)) and len(values) == 1
    refused = cli_run("train", "cgan", "--data", digits, "--image-size", "16", "--set", "pack=2", "--steps", "1",
                      "--out", tmp_path / "cgan", expect=1)
    assert "cgan's critic judges each sample" in refused.output
    assert "packing conditional critics is not supported yet" in refused.output
    odd = cli_run("train", "toy-mlp", "--data", "toy:ring8", "--batch-size", "30", "--set", "pack=4", "--steps",
                  "1", "--out", tmp_path / "odd", expect=1)
    assert "must be a multiple of the pack" in odd.output
    assert not (tmp_path / "odd").exists()  # refused before the run directory is made


def test_the_mode_seeking_term_punishes_a_generator_that_ignores_z(plugins, tmp_path):
    """MSGAN (reference.md): 1 / (mean|G(z2) - G(z1)| / mean|z2 - z1| + 1e-5). G(z) = 0 z + theta ignores z:
    the term is 1e5; G(z) = z + theta moves with z one to one: the term is 1 / (1 + 1e-5)."""
    model = _line_model(plugins)
    fake, term = mode_seeking_batch(model, 8, None, "float32")
    assert tuple(fake.shape) == (8, 1) and float(term) == pytest.approx(1e5, rel=1e-3)
    model.generator.trainable_variables[0].assign([[1.0]])
    assert float(mode_seeking_batch(model, 8, None, "float32")[1]) == pytest.approx(1 / (1 + 1e-5), rel=1e-5)
    # Through the training step: the term pushes the generator's z-slope k up (the term falls as |k| grows).
    steps = {}
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        line = LineGAN(image_size=1, channels=1, sample_shape=(1,))
        line.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("wgan"),
                     mode_seeking=weight)
        line.generator.trainable_variables[0].assign([[0.1]])  # |k| has no gradient at 0
        line.train_step(tf.constant([[1.0], [2.0], [2.0], [3.0]]))
        steps[weight] = line.generator.trainable_variables[0].numpy().item()
    assert steps[1.0] > steps[0.0] + 1e-3, steps
    paired = plugins.models.get("pix2pix")(image_size=32, channels=1, filters=2, d_filters=2)
    with pytest.raises(Img2ImgError, match="without a latent z"):
        paired.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                       mode_seeking=1.0)
    with pytest.raises(Img2ImgError, match="joint step does not add it"):
        _line = LineGAN(image_size=1, channels=1, sample_shape=(1,))
        _line.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                      penalties=[(plugins.penalties.get("consensus"), 1.0)], mode_seeking=1.0)
    cycle = plugins.models.get("cyclegan")(image_size=32, channels=1, filters=2, d_filters=2, blocks=1)
    with pytest.raises(Img2ImgError, match="cyclegan translates without a latent z"):
        cycle.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("lsgan"),
                      mode_seeking=1.0)


def _adam_line_model(plugins: Any, m0: float, v0: float, steps_taken: int) -> LineGAN:
    """The line GAN with an Adam critic whose moments for w are set to (m0, v0) after ``steps_taken`` steps."""
    model = LineGAN(image_size=1, channels=1, sample_shape=(1,))
    model.compile(keras.optimizers.Adam(LR, beta_1=0.5, beta_2=0.9, epsilon=1e-3), keras.optimizers.SGD(LR),
                  loss=plugins.losses.get("wgan"), unroll=1, unroll_optimizer="adam")
    model.build_optimizers()
    optimizer, w = model.d_optimizer, model.discriminator.trainable_variables[0]
    optimizer._momentums[optimizer._get_variable_index(w)].assign([[m0]])
    optimizer._velocities[optimizer._get_variable_index(w)].assign([[v0]])
    optimizer.iterations.assign(steps_taken)
    return model


def test_the_adam_unroll_has_its_closed_form_and_leaves_the_optimiser_alone(plugins):
    """One Adam step from moments (m0, v0) at step t: g = theta - mean r, m1 = b1 m0 + (1 - b1) g,
    v1 = b2 v0 + (1 - b2) g^2, alpha = lr sqrt(1 - b2^t) / (1 - b1^t), w1 = w0 - alpha m1 / (sqrt v1 + eps).
    The generator's loss -(w1 theta + b) has gradient -w1 - theta dw1/dtheta, with
    dw1/dtheta = -alpha ((1 - b1) / (s + eps) - m1 (1 - b2) g / (s (s + eps)^2)), s = sqrt v1."""
    m0, v0, steps_taken = 0.2, 0.5, 3
    model = _adam_line_model(plugins, m0, v0, steps_taken)
    real = tf.constant([[1.0], [2.0], [2.0], [3.0]])
    theta, w0, mean_real, b1, b2, eps = 0.5, 0.3, 2.0, 0.5, 0.9, 1e-3
    g = theta - mean_real
    m1, v1, t = b1 * m0 + (1 - b1) * g, b2 * v0 + (1 - b2) * g * g, steps_taken + 1
    alpha = LR * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    s = np.sqrt(v1)
    w1 = w0 - alpha * m1 / (s + eps)
    dw1 = -alpha * ((1 - b1) / (s + eps) - m1 * (1 - b2) * g / (s * (s + eps) ** 2))
    closed_form = -w1 - theta * dw1
    assert _theta_gradient(model, real, 1) == pytest.approx(closed_form, abs=1e-5)
    sgd = _line_model(plugins)
    assert abs(closed_form - _theta_gradient(sgd, real, 1)) > 0.05  # the test tells Adam's rule from SGD's
    # K = 3: central finite differences of the unrolled loss itself.
    delta = 1e-3
    numeric = (_theta_loss(model, real, 3, theta + delta) - _theta_loss(model, real, 3, theta - delta)) / (2 * delta)
    model.generator.trainable_variables[1].assign([theta])
    assert _theta_gradient(model, real, 3) == pytest.approx(numeric, abs=1e-3)
    # The copy advanced its own moments; the critic's optimiser and weights are as they were.
    optimizer, w = model.d_optimizer, model.discriminator.trainable_variables[0]
    assert float(optimizer._momentums[optimizer._get_variable_index(w)][0, 0]) == pytest.approx(m0)
    assert float(optimizer._velocities[optimizer._get_variable_index(w)][0, 0]) == pytest.approx(v0)
    assert int(optimizer.iterations) == steps_taken and float(w[0, 0]) == pytest.approx(w0)


def test_the_adam_unroll_needs_an_adam_critic_and_an_unroll(plugins, capsys):
    model = LineGAN(image_size=1, channels=1, sample_shape=(1,))
    with pytest.raises(Img2ImgError, match="unroll_optimizer=adam.*RMSprop.*optimizer=adam"):
        model.compile(keras.optimizers.RMSprop(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                      unroll=1, unroll_optimizer="adam")
    model.compile(keras.optimizers.Adam(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                  unroll_optimizer="adam")
    assert "unroll_optimizer=adam does nothing without --set unroll" in capsys.readouterr().err


def test_the_adam_unroll_warns_of_a_critic_as_fast_as_its_generator(plugins, capsys):
    """The grid benchmark collapsed with the Adam copy at equal rates (docs/mode-collapse.md)."""
    model = LineGAN(image_size=1, channels=1, sample_shape=(1,))
    model.compile(keras.optimizers.Adam(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"), unroll=1,
                  unroll_optimizer="adam")
    assert "critic learning as fast as the generator" in capsys.readouterr().err
    model.compile(keras.optimizers.Adam(LR / 10), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"),
                  unroll=1, unroll_optimizer="adam")
    model.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), loss=plugins.losses.get("gan"), unroll=1)
    assert "as fast as" not in capsys.readouterr().err


def test_adam_unrolled_training_resumes_exactly(cli_run, tmp_path):
    """The copy's moments live only inside a step, so a resumed run ends where an unbroken one does."""
    _, _, common = _unrolled_runs_resume_exactly(cli_run, tmp_path, ["--set", "unroll=2", "--set",
                                                                     "unroll_optimizer=adam"])
    refused = cli_run("train", *common, "--set", "optimizer=rmsprop", "--steps", "1", "--out", tmp_path / "rms",
                      expect=1)
    assert "unroll_optimizer=adam" in refused.output and "RMSprop" in refused.output


def test_the_adam_rule_stays_finite_when_a_squared_gradient_underflows():
    """g = 1e-23 squares to 0 in float32, so Adam's v stays 0 while m does not, where sqrt's slope is
    infinite: the benchmark's first Adam-unrolled runs went NaN at a few thousand steps (critic units near
    ReLU's kink). The rule's value is Adam's; its derivative must stay finite."""
    from img2img.unrolled_steps import UnrolledAdam

    weight = keras.Variable([0.3])
    optimizer = keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9, epsilon=1e-3)
    optimizer.build([weight])
    gradient_source = tf.Variable([1e-23])
    with tf.GradientTape() as tape:
        stepped = UnrolledAdam(optimizer, [weight]).step([weight.value], [gradient_source * 1.0])[0]
    alpha = 0.1 * np.sqrt(1 - 0.9) / (1 - 0.5)
    assert float(stepped[0]) == pytest.approx(0.3 - alpha * 0.5e-23 / 1e-3)
    assert np.all(np.isfinite(tape.gradient(stepped, gradient_source)))
