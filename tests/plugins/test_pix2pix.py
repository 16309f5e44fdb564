"""pix2pix (reference.md, pix2pix section) and paired data: real emoji line art and colour, paired by code
point (tests/real_data.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PIX_FAST = ["--image-size", "32", "--set", "filters=8", "--set", "d_filters=8", "--batch-size", "2"]


def side_by_side_folder(root: Path, line: Path, colour: Path, count: int | None = None) -> Path:
    """The reference's aligned format: A (line art) on the left, B (colour) on the right of one image."""
    root.mkdir(parents=True, exist_ok=True)
    for path in sorted(line.glob("*.png"))[:count]:
        a, b = Image.open(path).convert("RGB"), Image.open(colour / path.name).convert("RGB")
        both = Image.new("RGB", (a.width + b.width, a.height))
        both.paste(a, (0, 0))
        both.paste(b, (a.width, 0))
        both.save(root / path.name)
    return root


# ----- networks ------------------------------------------------------------------------------------
def test_unet_depth_follows_the_reference_and_the_image_size():
    from img2img_plugins.pix2pix.networks import unet_depth

    assert unet_depth(256) == 8 and unet_depth(128) == 7  # unet_256 and unet_128
    assert unet_depth(512) == 8  # larger images keep unet_256's depth
    assert unet_depth(48) == 4  # down to 3x3


def test_unet_has_three_dropout_blocks_at_256_and_takes_any_multiple_of_its_depth(plugins):
    import keras

    from img2img_plugins.pix2pix.networks import unet_generator

    net = unet_generator(3, 4, depth=8, dropout=0.5)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in net.layers) == 3
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in net.layers) == 7  # a skip per level
    # A 640x427 photo is padded to multiples of 2^8 (768x512), never to 1024: the net keeps that size.
    out = net(np.zeros((1, 512, 768, 3), np.float32), training=False)
    assert tuple(out.shape) == (1, 512, 768, 3)


def test_resize_upsampling_replaces_every_transposed_convolution(plugins):
    import keras

    from img2img_plugins.pix2pix.networks import unet_generator

    for method, transposed in (("transpose", 6), ("resize", 0)):
        net = unet_generator(3, 4, depth=6, dropout=0.5, upsampling=method)
        assert sum(isinstance(layer, keras.layers.Conv2DTranspose) for layer in net.layers) == transposed
        assert tuple(net(np.zeros((1, 64, 128, 3), np.float32)).shape) == (1, 64, 128, 3)


def test_an_image_translates_the_same_alone_or_in_a_batch(plugins, emoji):
    """Inference mode (running statistics, no dropout) by default: an output never depends on its batch."""
    model = plugins.models.get("pix2pix")(image_size=32, channels=3, filters=8, d_filters=8)
    line, _ = emoji
    images = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 127.5 - 1
                       for p in sorted(line.glob("*.png"))[:4]])
    alone = np.asarray(model.generator(images[:1], training=False))
    together = np.asarray(model.generator(images, training=False))
    np.testing.assert_allclose(alone[0], together[0], atol=1e-5)


def test_grey_input_makes_colour_and_grey_versions_of_a_photo_translate_alike(plugins, tmp_path):
    """A colouriser greys its own input, the critic sees that grey input, and the greying is a stock layer
    with fixed weights, so the saved generator reloads without custom code and training cannot move it."""
    import keras
    from sklearn.datasets import load_sample_images

    model = plugins.models.get("pix2pix")(image_size=32, channels=3, filters=4, d_filters=4, grey_input=True)
    photo = Image.fromarray(load_sample_images().images[0][:64, :96])
    colour = np.asarray(photo, np.float32)[None] / 127.5 - 1
    grey = np.asarray(photo.convert("L").convert("RGB"), np.float32)[None] / 127.5 - 1
    out_colour = np.asarray(model.generator(colour, training=False))
    np.testing.assert_allclose(out_colour, np.asarray(model.generator(grey, training=False)), atol=0.02)
    critic_input = np.asarray(model.discriminator_inputs(colour, colour))
    np.testing.assert_allclose(critic_input[..., :3], grey, atol=0.01)  # Pillow rounds its luma to bytes
    luminance = model.generator.get_layer("luminance")
    trainable = {id(w) for w in model.generator.trainable_weights}
    assert not luminance.trainable and not any(id(w) in trainable for w in luminance.weights)
    model.generator.save(tmp_path / "generator.keras")
    reloaded = keras.saving.load_model(tmp_path / "generator.keras", compile=False)
    np.testing.assert_allclose(np.asarray(reloaded(colour, training=False)), out_colour, atol=1e-6)
    plain = plugins.models.get("pix2pix")(image_size=32, channels=3, filters=4, d_filters=4)
    assert not any(layer.name == "luminance" for layer in plain.generator.layers)


def test_grey_input_on_grey_data_is_refused_by_name(plugins):
    from img2img.errors import Img2ImgError

    with pytest.raises(Img2ImgError, match="grey_input=true greys colour images; these have 1 channel"):
        plugins.models.get("pix2pix")(image_size=32, channels=1, filters=4, d_filters=4, grey_input=True)


def test_sizes_it_cannot_take_are_refused_with_the_rule(cli_run, emoji):
    line, colour = emoji
    result = cli_run("train", "pix2pix", "--data", line, "--data-b", colour, "--image-size", "40", expect=1)
    assert "--image-size 40: pix2pix needs a multiple of 16" in result.output


# ----- paired data ---------------------------------------------------------------------------------
def test_folders_pair_by_name_and_unpartnered_files_are_named(tmp_path, emoji, capsys):
    from img2img.data.paired import matched

    line, colour = emoji
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    names = sorted(p.name for p in line.glob("*.png"))[:6]
    for name in names[:5]:
        Image.open(line / name).save(a / name)  # A as PNG, B as JPEG: pairs match by stem
    for name in names[1:]:
        Image.open(colour / name).convert("RGB").save(b / Path(name).with_suffix(".jpg"), quality=95)
    pairs = matched(str(a), str(b))
    assert [(x.stem, y.stem) for x, y in pairs.files] == [(Path(n).stem, Path(n).stem) for n in names[1:5]]
    err = capsys.readouterr().err
    assert "--data: skipping 1 image(s) with no partner" in err and names[0] in err
    assert "--data-b: skipping 1 image(s) with no partner" in err and Path(names[5]).stem in err


def test_folders_with_no_common_names_are_refused(tmp_path, emoji):
    from img2img.data.paired import matched
    from img2img.errors import Img2ImgError

    line, colour = emoji
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    Image.open(next(line.glob("*.png"))).save(a / "one.png")
    Image.open(next(colour.glob("*.png"))).save(b / "two.png")
    with pytest.raises(Img2ImgError, match="no image of one has a partner"):
        matched(str(a), str(b))


def test_side_by_side_pairs_split_into_left_and_right_with_one_crop_for_both(tmp_path, emoji):
    from img2img.data import DataRequest
    from img2img.data.paired import paired_stream, side_by_side

    line, colour = emoji
    folder = side_by_side_folder(tmp_path / "ab", line, colour, count=8)
    pairs = side_by_side(str(folder))
    data = paired_stream(pairs, DataRequest(image_size=32, channels=3, shuffle=False, repeat=False), 32, False)
    first_a, first_b = next(iter(data.dataset))
    name = sorted(folder.glob("*.png"))[0].name
    expect_a = np.asarray(Image.open(line / name).convert("RGB"), np.float32) / 127.5 - 1
    expect_b = np.asarray(Image.open(colour / name).convert("RGB"), np.float32) / 127.5 - 1
    np.testing.assert_allclose(np.asarray(first_a), expect_a, atol=1 / 127.5)
    np.testing.assert_allclose(np.asarray(first_b), expect_b, atol=1 / 127.5)

    # With B = A, a pair stays equal after random crops and flips only if both halves get the same ones.
    same = tmp_path / "same"
    side_by_side_folder(same, colour, colour, count=8)
    request = DataRequest(image_size=40, channels=3, seed=3, repeat=False)
    cropped = list(paired_stream(side_by_side(str(same)), request, 32, True).dataset)
    assert len(cropped) == 8
    for a, b in cropped:
        assert a.shape == (32, 32, 3)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    plain = [np.asarray(a) for a, _ in paired_stream(side_by_side(str(same)), request, 40, False).dataset]
    assert not all(np.allclose(c[0][:8, :8], p[:8, :8]) for c, p in zip(cropped, plain, strict=True))


def test_a_reference_layout_trains_on_train_only(tmp_path, emoji):
    from img2img.data.paired import side_by_side

    line, colour = emoji
    side_by_side_folder(tmp_path / "set" / "train", line, colour, count=5)
    side_by_side_folder(tmp_path / "set" / "test", line, colour, count=3)
    side_by_side_folder(tmp_path / "set" / "val", line, colour, count=2)
    pairs = side_by_side(str(tmp_path / "set"))
    assert len(pairs.files) == 5 and all(p.parent.name == "train" for p, _ in pairs.files)


def test_paired_models_refuse_data_schemes(tmp_path):
    from img2img.data.paired import side_by_side
    from img2img.errors import Img2ImgError

    with pytest.raises(Img2ImgError, match="paired models read folders"):
        side_by_side("tfds:cycle_gan/horse2zebra")


# ----- training and translate ----------------------------------------------------------------------
def test_pix2pix_trains_on_named_pairs_and_records_how_to_translate(pix2pix_run):
    config = json.loads((pix2pix_run / "config.json").read_text())
    assert config["translate"]["directions"] == {"a2b": "generator"}
    assert config["translate"]["size_multiple"] == 32 and config["translate"]["minimum_size"] == 32
    assert config["settings"]["lr"] == 2e-4 and config["settings"]["lambda_l1"] == 100.0
    rows = (pix2pix_run / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert "l1_loss" in header and len(rows) == 4  # a header and one row per epoch
    l1 = [float(r.split(",")[header.index("l1_loss")]) for r in rows[1:]]
    assert all(0 < v < 2 for v in l1)
    assert (pix2pix_run / "samples").is_dir() and any((pix2pix_run / "samples").glob("epoch-*.png"))


def test_a_pix2pix_run_translates_like_a_cyclegan_run(cli_run, pix2pix_run, tmp_path):
    """Native size back, names kept, the run's own direction by default."""
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (27, 41, 3), np.uint8)).save(photos / "odd.png")
    out = tmp_path / "out"
    result = cli_run("translate", photos, "--model", pix2pix_run, "--out", out)
    assert Image.open(out / "odd.png").size == (41, 27)
    assert "pix2pix a2b" in result.output and "shipped" not in result.output  # a run of one's own: no notice
    refused = cli_run("translate", photos, "--model", pix2pix_run, "--out", tmp_path / "o2", "--direction", "b2a",
                      expect=1)
    assert "--direction b2a: model 'pix2pix' offers a2b" in refused.output


@pytest.mark.slow
def test_b2a_trains_the_other_way_and_translate_follows(cli_run, emoji, tmp_path):
    line, colour = emoji
    folder = side_by_side_folder(tmp_path / "ab", line, colour, count=8)
    run = tmp_path / "run"
    cli_run("train", "pix2pix", "--data", folder, *PIX_FAST, "--set", "direction=b2a", "--steps", "2",
            "--out", run)
    config = json.loads((run / "config.json").read_text())
    assert config["translate"]["directions"] == {"b2a": "generator"} and config["data"]["source_b"] is None
    out = tmp_path / "out"
    result = cli_run("translate", colour, "--model", run, "--out", out)
    assert "pix2pix b2a" in result.output and len(list(out.glob("*.png"))) == len(list(colour.glob("*.png")))


@pytest.mark.slow
def test_train_mode_is_the_references_test_mode_with_a_fixed_seed(cli_run, emoji, tmp_path):
    """--train-mode: batch statistics and dropout on, as the reference without --eval; the seed fixes it."""
    line, colour = emoji
    run = tmp_path / "run64"  # 64 px: depth 6, so one decoder block has dropout
    cli_run("train", "pix2pix", "--data", line, "--data-b", colour, "--image-size", "64", "--set", "filters=4",
            "--set", "d_filters=4", "--batch-size", "2", "--steps", "1", "--out", run)

    def translated(name: str, *extra: str) -> np.ndarray:
        out = tmp_path / name
        result = cli_run("translate", line, "--model", run, "--out", out, *extra)
        return np.stack([np.asarray(Image.open(p), np.float32) for p in sorted(out.glob("*.png"))]), result

    inference, _ = translated("inference")
    first, result = translated("train-a", "--train-mode", "--seed", "1")
    again, _ = translated("train-b", "--train-mode", "--seed", "1")
    other, _ = translated("train-c", "--train-mode", "--seed", "2")
    assert "train mode, seed 1" in result.output
    np.testing.assert_array_equal(first, again)  # same seed, same images
    assert np.abs(first - inference).mean() > 0.5 and np.abs(first - other).mean() > 0.1
