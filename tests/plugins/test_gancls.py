"""GAN-CLS (plugins/gancls): the matching-aware model trained on real emoji with their Unicode names, and
``translate --prompt``."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TEXT_FAST
from PIL import Image


@pytest.fixture(scope="session")
def text_run(tmp_path_factory: pytest.TempPathFactory, captioned_emoji: Path) -> Path:
    """A 12-step GAN-CLS run on the captioned emoji (16 px), shared by read-only tests."""
    from click.testing import CliRunner

    from img2img.cli import cli
    from img2img.plugins import reset_plugins

    reset_plugins()
    out = tmp_path_factory.mktemp("runs") / "gan-cls"
    result = CliRunner().invoke(cli, ["train", "gan-cls", "--data", str(captioned_emoji), *TEXT_FAST, "--steps",
                                      "12", "--steps-per-epoch", "6", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    reset_plugins()
    return out


def test_gan_cls_trains_on_captioned_real_images(text_run):
    config = json.loads((text_run / "config.json").read_text())
    assert config["text_encoder"]["name"] == "all-minilm-l6-v2" and config["text_encoder"]["dimension"] == 384
    assert "baby chick" in " ".join(config["captions"]) or len(config["captions"]) == 128
    with (text_run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(math.isfinite(float(v)) for row in rows for k, v in row.items() if k != "epoch")


def test_matching_aware_critic_pairs_images_with_other_captions(plugins):
    import keras

    model = plugins.models.get("gan-cls")(image_size=16, channels=3, text_dim=5, filters=8, latent_dim=8,
                                          text_code=4)
    text = np.repeat(np.eye(5, dtype=np.float32)[:3], [3, 1, 2], axis=0)  # 6 rows, 3 distinct captions
    for _ in range(5):
        wrong = keras.ops.convert_to_numpy(model.mismatched_captions(text))
        assert not (wrong == text).all(axis=1).any()  # no image keeps its own caption
        assert all(any((w == t).all() for t in text) for w in wrong)  # wrong ones are real captions of the batch
    off = plugins.models.get("gan-cls")(image_size=16, channels=3, text_dim=5, filters=8, latent_dim=8,
                                        text_code=4, matching_aware=False)
    images, text = keras.ops.zeros((6, 16, 16, 3)), keras.ops.convert_to_tensor(text)
    assert off.extra_fake_outputs(images, text) is None
    assert tuple(model.extra_fake_outputs(images, text).shape) == (6, 1)  # one critic output per real image


def test_prompts_draw_different_images_named_by_index_and_slug(cli_run, text_run, tmp_path):
    out = tmp_path / "drawn"
    cli_run("translate", "--model", text_run, "--prompt", "Baby chick!", "--prompt", "a red heart", "--out", out)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["0001-baby-chick.png", "0002-a-red-heart.png"]
    chick, heart = (np.asarray(Image.open(out / f), np.float32) for f in files)
    assert chick.shape == (16, 16, 3) and np.abs(chick - heart).mean() > 0.5  # same z, other prompt, other image
    again = tmp_path / "again"
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Baby chick!\n\n a red heart\n")
    cli_run("translate", "--model", text_run, "--prompts", prompts, "--count", "2", "--out", again)
    assert sorted(p.name for p in again.iterdir()) == ["0001-baby-chick-1.png", "0001-baby-chick-2.png",
                                                       "0002-a-red-heart-1.png", "0002-a-red-heart-2.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(again / "0001-baby-chick-1.png")), chick)  # same seed
    before = (out / "0001-baby-chick.png").read_bytes()
    result = cli_run("translate", "--model", text_run, "--prompt", "baby chick", "--seed", "5", "--out", out,
                     expect=1)
    assert "would be replaced" in result.output and (out / "0001-baby-chick.png").read_bytes() == before


def test_prompts_refuse_wrong_models_and_changed_encoders(cli_run, text_run, cyclegan_run, tmp_path):
    result = cli_run("translate", "--model", cyclegan_run, "--prompt", "a cat", "--out", tmp_path / "o", expect=1)
    assert "not text-conditioned" in result.output
    copy = tmp_path / "copy"
    shutil.copytree(text_run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["text_encoder"]["dimension"] = 512
    (copy / "config.json").write_text(json.dumps(config))
    result = cli_run("translate", "--model", copy, "--prompt", "a cat", "--out", tmp_path / "o2", expect=1)
    assert "384-d embeddings" in result.output and "512-d" in result.output
    result = cli_run("translate", "--model", text_run, "--prompt", "a", tmp_path, "--out", tmp_path / "o3", expect=2)
    assert "not both" in result.output


def test_class_names_serve_as_captions_and_uncaptioned_data_is_refused(cli_run, digits, tmp_path):
    from real_data import digits_folder

    run = tmp_path / "run"
    result = cli_run("train", "gan-cls", "--data", digits, *TEXT_FAST, "--steps", "2", "--out", run)
    assert "class names as captions" in result.output
    cli_run("translate", "--model", run, "--prompt", "seven", "--out", tmp_path / "sevens")
    flat = digits_folder(tmp_path / "flat", count=32, labelled=False)
    result = cli_run("train", "gan-cls", "--data", flat, *TEXT_FAST, "--steps", "1", "--out", tmp_path / "r2",
                     expect=1)
    assert "NAME.txt" in result.output and "Traceback" not in result.output


def test_conditioning_augmentation_adds_its_kl_term_and_its_runs_translate_in_a_fresh_process(
        plugins, captioned_emoji, tmp_path):
    """gan-cls with StackGAN's conditioning augmentation (issue 23, per-prompt collapse): the KL term reaches
    the generator's loss, inference reads mu (one prompt and seed, one image), and a new process, which has
    imported nothing of the plugin yet, loads the exported generator in safe mode."""
    import subprocess
    import sys

    from conftest import REPO, shared_run

    model = plugins.models.get("gan-cls")(image_size=16, channels=3, text_dim=5, filters=8, latent_dim=8,
                                          text_code=4, conditioning_augmentation=True)
    z, text = np.zeros((2, 8), np.float32), np.eye(5, dtype=np.float32)[:2]
    model.generator([z, text], training=True)
    assert float(model.generator_layer_losses()) > 0
    first, again = (np.asarray(model.generator([z, text], training=False)) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    plain = plugins.models.get("gan-cls")(image_size=16, channels=3, text_dim=5, filters=8, latent_dim=8, text_code=4)
    plain.generator([z, text], training=True)
    assert plain.generator_layer_losses() == 0.0

    run = tmp_path / "run"
    shared_run(run, "gan-cls", "--data", captioned_emoji, *TEXT_FAST, "--steps", "2", "--set",
               "conditioning_augmentation=true")
    out = subprocess.run([sys.executable, "-m", "img2img", "translate", "--model", str(run), "--prompt",
                          "a red apple", "--count", "2", "--out", str(tmp_path / "drawn")],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(list((tmp_path / "drawn").glob("*.png"))) == 2
