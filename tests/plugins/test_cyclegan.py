"""CycleGAN on real unpaired emoji: reference architecture, losses, image pools, LR schedule, exact resume."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from conftest import CYCLE_FAST, run_probe

from img2img.runs import RunDirectory


def _train(cli_run, emoji, out, *extra, expect=0):
    line, colour = emoji
    return cli_run("train", "cyclegan", "--data", line, "--data-b", colour, *CYCLE_FAST, "--out", out, *extra,
                   expect=expect)


def _metrics(run):
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_networks_follow_the_reference(plugins):
    """reference.md: ResNet-9 generator 11.4 M parameters, PatchGAN 2.8 M; 256 px gives 30x30 logits;
    instance norm per image and channel, without affine parameters."""
    from img2img_plugins.cyclegan.networks import InstanceNormalization, patchgan_discriminator, resnet_generator

    generator = resnet_generator(3, 64, 9, "g")
    discriminator = patchgan_discriminator(3, 64, 3, "d")
    assert round(generator.count_params() / 1e6, 1) == 11.4
    assert round(discriminator.count_params() / 1e6, 1) == 2.8
    assert discriminator(np.zeros((1, 256, 256, 3), np.float32)).shape == (1, 30, 30, 1)
    norms = [layer for layer in generator.layers if isinstance(layer, InstanceNormalization)]
    assert len(norms) == 2 + 2 + 2 * 9 + 1 and all(not n.weights for n in norms)


@pytest.mark.parametrize("batch", [1, 3])
def test_instance_norm_is_keras_group_norm_with_one_group_per_channel(batch):
    """The fused layer must compute what Keras' own instance norm (GroupNormalization, groups=-1) computes,
    value and gradient, for one image and for a batch, with static and with unknown shapes (translate)."""
    import keras
    import tensorflow as tf

    from img2img_plugins.cyclegan.networks import InstanceNormalization

    rng = np.random.default_rng(batch)
    x = tf.constant(rng.normal(2.0, 3.0, size=(batch, 12, 8, 5)).astype(np.float32))
    weights = tf.constant(rng.normal(size=x.shape).astype(np.float32))
    ours, keras_own = InstanceNormalization(), keras.layers.GroupNormalization(-1, center=False, scale=False,
                                                                               epsilon=1e-5)
    expected = (x - np.mean(x, axis=(1, 2), keepdims=True)) / np.sqrt(np.var(x, axis=(1, 2), keepdims=True) + 1e-5)

    def value_and_gradient(layer, signature):
        @tf.function(input_signature=signature, autograph=False)
        def run(images):
            with tf.GradientTape() as tape:
                tape.watch(images)
                y = layer(images)
                loss = tf.reduce_sum(y * weights)
            return y, tape.gradient(loss, images)

        return [np.asarray(t) for t in run(x)]

    their_y, their_grad = value_and_gradient(keras_own, None)
    np.testing.assert_allclose(their_y, expected, atol=1e-4)
    for signature in (None, [tf.TensorSpec((None, None, None, 5), tf.float32)]):
        y, grad = value_and_gradient(ours, signature)
        np.testing.assert_allclose(y, expected, atol=1e-4)
        np.testing.assert_allclose(grad, their_grad, atol=1e-4)


def test_runs_saved_with_keras_group_norm_still_load(plugins, tmp_path, monkeypatch):
    """Runs written before the fused instance norm used GroupNormalization layers; neither has weights, so
    their checkpoints must load into today's networks and give the same translations."""
    import keras

    from img2img_plugins.cyclegan import networks

    model_cls = plugins.models.get("cyclegan")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    with monkeypatch.context() as patch:
        patch.setattr(networks, "instance_norm", lambda: keras.layers.GroupNormalization(
            groups=-1, center=False, scale=False, epsilon=1e-5))
        old = model_cls(image_size=32, channels=3, filters=4, d_filters=4, seed=1)
    assert any(isinstance(layer, keras.layers.GroupNormalization) for layer in old.generator.layers)
    old.save_weights(tmp_path / "old.weights.h5")
    new = model_cls(image_size=32, channels=3, filters=4, d_filters=4, seed=2)
    new.load_weights(tmp_path / "old.weights.h5")
    np.testing.assert_allclose(np.asarray(new.generator_b2a(x)), np.asarray(old.generator_b2a(x)), atol=1e-5)


def test_block_count_follows_the_image_size(plugins):
    model_cls = plugins.models.get("cyclegan")
    small = model_cls(image_size=64, channels=3, filters=4, d_filters=4)
    large = model_cls(image_size=256, channels=3, filters=4, d_filters=4)
    chosen = model_cls(image_size=64, channels=3, filters=4, d_filters=4, blocks=2)
    assert (small.blocks, large.blocks, chosen.blocks) == (6, 9, 2)


def test_resize_upsampling_replaces_the_transposed_convolutions(plugins):
    """--set upsampling=resize: nearest-neighbour doubling then a 3x3 conv (no checkerboard), same shapes;
    the default stays the reference's transposed convolution."""
    import keras

    from img2img.errors import Img2ImgError
    from img2img.options import parse_settings

    model_cls = plugins.models.get("cyclegan")
    default = model_cls(image_size=32, channels=3, filters=4, d_filters=4)
    resized = model_cls(image_size=32, channels=3, filters=4, d_filters=4, upsampling="resize")

    def has(network: keras.Model, kind: type) -> bool:
        return any(isinstance(layer, kind) for layer in network.layers)

    for network in (default.generator, default.generator_b2a):
        assert has(network, keras.layers.Conv2DTranspose) and not has(network, keras.layers.UpSampling2D)
    for network in (resized.generator, resized.generator_b2a):
        assert not has(network, keras.layers.Conv2DTranspose) and has(network, keras.layers.UpSampling2D)
    image = np.zeros((1, 36, 44, 3), np.float32)
    assert resized.generator(image).shape == default.generator(image).shape == (1, 36, 44, 3)
    with pytest.raises(Img2ImgError, match="transpose, resize"):
        parse_settings(["upsampling=bilinear"], model_cls.all_options(), "cyclegan")


def test_cycle_noise_perturbs_only_what_is_translated_back(plugins):
    """--set cycle_noise=S: the cycle loss sees the other generator's reconstruction of a noisy translation
    (its value now varies between calls), while the translations themselves and the identity loss do not;
    0, the default, keeps the reference's deterministic cycle."""
    import keras

    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32) for _ in range(2))
    model_cls = plugins.models.get("cyclegan")
    for std, cycle_changes in ((0.0, False), (0.5, True)):
        model = model_cls(image_size=16, channels=3, filters=4, d_filters=4, d_layers=2, blocks=1,
                          cycle_noise=std)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss=plugins.losses.get("lsgan"))
        first, second = model._generator_losses(a, b), model._generator_losses(a, b)
        _, _, cycle_1, identity_1, fake_a_1, fake_b_1 = (np.asarray(x) for x in first)
        _, _, cycle_2, identity_2, fake_a_2, fake_b_2 = (np.asarray(x) for x in second)
        np.testing.assert_array_equal(fake_b_1, fake_b_2)
        np.testing.assert_array_equal(fake_a_1, fake_a_2)
        assert identity_1 == identity_2
        assert (abs(float(cycle_1) - float(cycle_2)) > 1e-4) == cycle_changes


def test_learning_rate_schedule_matches_the_reference():
    """reference.md: lr(E) = 2e-4 (1 - max(0, E - 100) / 101) for 1-based epoch E."""
    from img2img.training.schedules import ConstantThenLinearDecay

    per_epoch = 7
    schedule = ConstantThenLinearDecay(2e-4, per_epoch, 100, 100)
    for epoch in (1, 50, 100, 101, 150, 200):
        for step in ((epoch - 1) * per_epoch, epoch * per_epoch - 1):
            expected = 2e-4 * (1 - max(0, epoch - 100) / 101)
            assert float(schedule(step)) == pytest.approx(expected, rel=1e-6), (epoch, step)
    assert float(schedule(10_000)) == 0.0


def test_image_pool_fills_then_swaps_half(plugins):
    import keras

    from img2img_plugins.cyclegan.pool import ImagePool

    holder = keras.layers.Layer()
    pool = ImagePool(holder, "p", 3, (1, 1, 1))
    seed = keras.random.SeedGenerator(0)
    first = pool.query(np.array([1.0, 2.0], np.float32).reshape(2, 1, 1, 1), seed)
    np.testing.assert_array_equal(np.ravel(first), [1.0, 2.0])  # while filling: stored and returned
    second = pool.query(np.array([3.0, 4.0], np.float32).reshape(2, 1, 1, 1), seed)
    assert np.ravel(second)[0] == 3.0 and int(pool.count.numpy()) == 3
    swapped, stored = 0, set(np.ravel(pool.images.numpy()).tolist())
    for value in range(10, 410):
        out = float(np.ravel(pool.query(np.full((1, 1, 1, 1), value, np.float32), seed))[0])
        if out != value:
            assert out in stored  # an older fake came back ...
            swapped += 1
        stored = set(np.ravel(pool.images.numpy()).tolist())
        assert value in stored or out == value  # ... and the new one took its place
    assert 160 < swapped < 240  # probability 1/2


def test_training_on_emoji_lowers_the_cycle_error(cyclegan_run, plugins, emoji):
    trained = cyclegan_run
    import keras

    from img2img.data.images import load_image, to_unit_range
    from img2img.training.assembly import build_run_model

    rows = _metrics(trained)
    assert len(rows) == 2 and all(math.isfinite(float(v)) for row in rows for k, v in row.items() if k != "epoch")
    config = json.loads((trained / "config.json").read_text())
    assert config["exports"] == {"generator": "generator.keras", "generator-b2a": "generator-b2a.keras"}
    assert config["settings"]["lambda_cycle"] == 10.0 and config["loss"]["name"] == "lsgan"

    line, _ = emoji
    a = np.stack([to_unit_range(load_image(p, 3, 32)) for p in sorted(line.iterdir())[:16]])
    keras.utils.set_random_seed(0)
    untrained = build_run_model(config, plugins)  # the network at step 0, same seed

    def cycle_error(g, f):
        return float(np.mean(np.abs(np.asarray(f(g(a))) - a)))

    trained_g = keras.saving.load_model(trained / "generator.keras")
    trained_f = keras.saving.load_model(trained / "generator-b2a.keras")
    before = cycle_error(untrained.generator, untrained.generator_b2a)
    after = cycle_error(trained_g, trained_f)
    assert after < 0.8 * before, (before, after)
    grid = trained / "samples" / "epoch-0002.png"
    assert grid.is_file()


@pytest.mark.slow
def test_resume_restores_pools_schedule_and_optimizers(cli_run, plugins, emoji, tmp_path):
    """An 8-step run equals 4 steps + resume to 8: weights, optimiser slots, pools and LR all agree."""
    schedule = ["--set", "pool_size=3", "--set", "lr_constant_epochs=1", "--set", "lr_decay_epochs=2",
                "--steps-per-epoch", "2", "--seed", "3"]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    _train(cli_run, emoji, straight, *schedule, "--steps", "8")
    _train(cli_run, emoji, broken, *schedule, "--steps", "4")
    result = cli_run("train", "cyclegan", "--out", broken, "--resume", "--steps", "8")
    assert "at step 4" in result.output

    from img2img.training.assembly import load_run_model

    a = load_run_model(RunDirectory.open(straight), plugins)
    b = load_run_model(RunDirectory.open(broken), plugins)
    assert int(b.g_optimizer.iterations.numpy()) == 8 and int(b.pool_a.count.numpy()) == 3
    assert float(np.abs(b.pool_b.images.numpy()).sum()) > 0  # the pool came back, not an empty one
    lr = b.g_optimizer.learning_rate
    assert float(lr) == pytest.approx(2e-4 * (1 - 3 / 3))  # epoch 5 of 1 + 2: decayed to zero
    for va, vb in zip(a.variables, b.variables, strict=True):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-5, err_msg=va.path)
    for opt_a, opt_b in ((a.g_optimizer, b.g_optimizer), (a.d_optimizer, b.d_optimizer)):
        for va, vb in zip(opt_a.variables, opt_b.variables, strict=True):
            np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-5, err_msg=va.path)
    assert json.loads((broken / "checkpoints" / "latest.json").read_text())["epoch"] == 4


@pytest.mark.slow
def test_a_run_older_than_an_option_still_loads_and_resumes(cli_run, plugins, emoji, tmp_path):
    """Options added after a run was made (cycle_noise, grappler) take their defaults when it is loaded or
    resumed, instead of failing on the key its config.json lacks."""
    from img2img.training.assembly import load_run_model

    run = tmp_path / "old"
    _train(cli_run, emoji, run, "--steps", "2")
    config_path = run / "config.json"
    config = json.loads(config_path.read_text())
    for key in ("cycle_noise", "grappler"):
        del config["settings"][key]
    config_path.write_text(json.dumps(config))
    model = load_run_model(RunDirectory.open(run), plugins)
    assert model.settings["cycle_noise"] == 0.0
    cli_run("train", "cyclegan", "--out", run, "--resume", "--steps", "3")
    assert RunDirectory.open(run).latest()["step"] == 3


@pytest.mark.slow
def test_any_loss_and_penalty_compose(cli_run, emoji, tmp_path):
    _train(cli_run, emoji, tmp_path / "hinge", "--loss", "hinge", "--penalty", "r1:1", "--steps", "1")
    assert "penalty_r1" in _metrics(tmp_path / "hinge")[0]
    _train(cli_run, emoji, tmp_path / "js", "--loss", "js", "--steps", "1")
    assert math.isfinite(float(_metrics(tmp_path / "js")[0]["bound"]))
    result = _train(cli_run, emoji, tmp_path / "c", "--penalty", "consensus", "--steps", "1", expect=1)
    assert "consensus" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_two_domains_from_one_source(cli_run, emoji, tmp_path):
    import shutil

    line, colour = emoji
    root = tmp_path / "line2colour"
    shutil.copytree(line, root / "trainA")
    shutil.copytree(colour, root / "trainB")
    result = cli_run("train", "cyclegan", "--data", root, *CYCLE_FAST, "--steps", "1", "--out", tmp_path / "r")
    assert "trainA" in result.output and "trainB" in result.output
    result = cli_run("train", "cyclegan", "--data", line, *CYCLE_FAST, "--steps", "1", "--out", tmp_path / "x",
                     expect=1)
    assert "--data-b" in result.output and "trainA" in result.output
    result = cli_run("train", "dcgan", "--data", line, "--data-b", colour, "--out", tmp_path / "y", expect=1)
    assert "drop --data-b" in result.output


def test_tfds_unpaired_set_uses_its_trainA_and_trainB_splits(plugins):
    import tensorflow_datasets as tfds

    from img2img.training.data import load_training_data

    config = {"image_size": 32, "settings": {"augment": True}, "channels": None,
              "training": {"batch_size": 2, "seed": 0},
              "data": {"source": "tfds:cycle_gan/horse2zebra:trainA", "source_b": "tfds:cycle_gan/horse2zebra:trainB"}}
    from img2img.data import domain_pair

    assert domain_pair("tfds:cycle_gan/horse2zebra", plugins.datasets) == (
        "tfds:cycle_gan/horse2zebra:trainA", "tfds:cycle_gan/horse2zebra:trainB")
    with tfds.testing.mock_data(num_examples=5):
        data = load_training_data(config, plugins.models.get("cyclegan"), plugins, start_step=0)
        a, b = next(iter(data.dataset))
    assert a.shape == (32, 32, 3) and b.shape == (32, 32, 3) and data.count == 5
    assert "trainA" in data.description and "trainB" in data.description


def test_training_images_are_resize_cropped_and_flipped_as_set(plugins, emoji):
    """reference.md: load at 286/256 of the size, crop at random, flip at random. ``load_scale=1`` keeps the
    flips at the images' own scale (the benchmark's held-out emoji are drawn at 64 px, not cropped from 72);
    ``augment=false`` feeds the images as they are."""
    from img2img.training.data import load_training_data

    line, colour = emoji
    model_cls = plugins.models.get("cyclegan")

    def colour_images(count: int = 24, **settings) -> list[np.ndarray]:
        config = {"image_size": 32, "settings": settings, "channels": None, "training": {"batch_size": 2, "seed": 0},
                  "data": {"source": str(line), "source_b": str(colour)}}
        stream = load_training_data(config, model_cls, plugins, start_step=0).dataset
        return [np.asarray(b) for _, b in stream.take(count)]

    originals = colour_images(48, augment=False)  # all 48 colour emoji, in some order
    assert {x.shape for x in originals} == {(32, 32, 3)}

    def match(image: np.ndarray) -> str:
        for original in originals:
            if np.abs(image - original).max() < 1e-5:
                return "same"
            if np.abs(image - original[:, ::-1]).max() < 1e-5:
                return "mirrored"
        return "neither"

    flipped_only = [match(x) for x in colour_images(load_scale=1.0)]
    assert set(flipped_only) == {"same", "mirrored"}
    # Resized to 36 px and cropped back to 32. A flat image is every crop of itself: U+200D (zero width
    # joiner) draws nothing in Noto Color Emoji, and which 24 images the stream yields first varies with
    # TensorFlow's thread pools.
    assert {match(x) for x in colour_images() if np.ptp(x) > 0} == {"neither"}


def test_kid_is_the_unbiased_polynomial_mmd():
    """reference.md: KID = unbiased MMD^2 with (x.y/d + 1)^3; checked against a plain double loop, and
    unbiased: near zero on average for two samples of one Gaussian, clearly positive for shifted ones."""
    from img2img.metrics import kernel_inception_distance, mmd2_unbiased

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(6, 3))

    def k(a, b):
        return (float(a @ b) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    xy = sum(k(a, b) for a in x for b in y) / (7 * 6)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)

    same = [mmd2_unbiased(rng.normal(size=(20, 4)), rng.normal(size=(20, 4))) for _ in range(400)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
    shifted = kernel_inception_distance(rng.normal(size=(200, 4)), rng.normal(1.0, 1.0, size=(200, 4)), subsets=20,
                                        subset_size=100)
    assert shifted.mean > 10 * shifted.std / np.sqrt(20) and shifted.subset_size == 100


def test_exported_generator_loads_with_keras_once_its_layers_are_imported(tmp_path):
    """docs/run-directory.md: CycleGAN's generator has two layers of its own (reflection padding, instance
    norm), which Keras finds once their module is imported; nothing else of img2img's is needed."""
    from img2img.convolutions import save_portable
    from img2img_plugins.cyclegan.networks import resnet_generator

    generator = resnet_generator(3, 4, 1, "g")
    images = np.random.default_rng(4).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
    expected = np.asarray(generator(images))
    save_portable(generator, tmp_path / "generator.keras")
    np.save(tmp_path / "images.npy", images)
    probe = ("import sys, keras, numpy as np\n"
             "try:\n"
             "    keras.saving.load_model(sys.argv[1] + '/generator.keras')\n"
             "    raise SystemExit('loaded without its layers: the docs say more than needed')\n"
             "except (TypeError, ValueError):\n"
             "    pass\n"
             "import img2img_plugins.cyclegan.networks\n"
             "model = keras.saving.load_model(sys.argv[1] + '/generator.keras')\n"
             "np.save(sys.argv[1] + '/out.npy', np.asarray(model(np.load(sys.argv[1] + '/images.npy'))))\n")
    run_probe(probe, tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)
