"""StackGAN on real captioned emoji: stage I with conditioning augmentation (KL in G's loss), stage II
loading a stage-I run and drawing at 2x, usable as one model by ``translate --prompt``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import TEXT_FAST
from PIL import Image

STAGE = [*TEXT_FAST[2:], "--set", "ca_dim=8"]  # TEXT_FAST without its --image-size


def _finite_metrics(run: Path) -> bool:
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return bool(rows) and all(math.isfinite(float(v)) for row in rows for k, v in row.items() if k != "epoch")


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory, captioned_emoji: Path) -> tuple[Path, Path]:
    from click.testing import CliRunner

    from img2img.cli import cli
    from img2img.plugins import reset_plugins

    root = tmp_path_factory.mktemp("stackgan")
    reset_plugins()
    stage2 = ["--image-size", "32", "--steps", "20", "--set", f"stage1={root / 'stage1'}", "--out", root / "stage2"]
    for args in (["--image-size", "16", "--steps", "30", "--out", root / "stage1"], stage2):
        result = CliRunner().invoke(cli, ["train", "stackgan", "--data", str(captioned_emoji), *STAGE,
                                          "--steps-per-epoch", "10", *map(str, args)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    reset_plugins()
    return root / "stage1", root / "stage2"


@pytest.mark.slow
def test_both_stages_train_and_stage2_draws_at_its_size(stages, cli_run, tmp_path):
    import keras

    from img2img_plugins.text_encoders.minilm import MiniLM

    stage1, stage2 = stages
    assert _finite_metrics(stage1) and _finite_metrics(stage2)
    out = tmp_path / "drawn"
    cli_run("translate", "--model", stage2, "--prompt", "baby chick", "--out", out)
    assert Image.open(out / "0001-baby-chick.png").size == (32, 32)
    low = tmp_path / "low"
    cli_run("translate", "--model", stage1, "--prompt", "baby chick", "--out", low)
    assert Image.open(low / "0001-baby-chick.png").size == (16, 16)
    # Two prompts, same z: different pictures. Early generators mostly learn the mean image (here the text
    # moves stage II's output by ~2 % of its spread after 20 steps), so compare before a PNG's 8-bit rounding.
    generator = keras.saving.load_model(stage2 / "generator.keras", safe_mode=True, compile=False)
    text = MiniLM()(["baby chick", "red heart"])
    z = np.repeat(np.random.default_rng(0).normal(size=(1, 16)).astype(np.float32), 2, axis=0)
    chick, heart = np.asarray(generator([z, text], training=False))
    assert np.abs(chick - heart).mean() > 0.005 * np.abs(chick - chick.mean()).mean()


@pytest.mark.slow
def test_stage2_keeps_stage1_frozen(stages):
    import keras

    stage1, stage2 = stages
    first = keras.saving.load_model(stage1 / "generator.keras", safe_mode=True, compile=False)
    combined = keras.saving.load_model(stage2 / "generator.keras", safe_mode=True, compile=False)
    inner = combined.get_layer("stage1")
    for a, b in zip(first.weights, inner.weights, strict=True):  # batch-norm statistics included
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert json.loads((stage2 / "config.json").read_text())["text_encoder"]["dimension"] == 384


def test_conditioning_augmentation_adds_its_kl_term(plugins):
    import keras
    from keras import ops

    keras.utils.set_random_seed(0)  # the same weights every run
    model = plugins.models.get("stackgan")(image_size=16, channels=3, text_dim=6, filters=8, latent_dim=4,
                                           ca_dim=3, kl_weight=2.0)
    text = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    z = np.zeros((5, 4), np.float32)
    model.generator([z, text], training=True)
    ca = model.generator.get_layer("conditioning_augmentation")
    stats = np.asarray(ops.leaky_relu(ca.dense(text), 0.2))
    mu, log_var = stats[:, :3], stats[:, 3:]
    mu, log_var = mu.astype(np.float64), log_var.astype(np.float64)
    terms = np.stack([mu**2, np.exp(log_var), -log_var, -np.ones_like(mu)], axis=-1)  # [rows, ca_dim, 4]
    kl = 0.5 * np.mean(np.sum(terms, axis=(1, 2)))
    # The model sums these in float32. The terms nearly cancel (KL is small when mu ~ 0 and log_var ~ 0), so
    # the error is bounded by the terms' size, not the result's: for a sum of m float32 values,
    # |error| <= m * eps * sum |x| (Higham, Accuracy and Stability of Numerical Algorithms, ch. 4).
    m = terms.shape[1] * terms.shape[2] + terms.shape[0]  # the sum over a row, then the mean over rows
    bound = 2.0 * 0.5 * np.mean(np.abs(terms).sum(axis=(1, 2))) * m * np.finfo(np.float32).eps
    assert abs(float(model.generator_layer_losses()) - 2.0 * kl) <= bound
    a = np.asarray(model.generator([z, text], training=False))
    np.testing.assert_array_equal(a, np.asarray(model.generator([z, text], training=False)))  # mu at inference
    model.generator([z, text], training=False)
    assert float(model.generator_layer_losses()) == 0.0  # no KL term outside training


@pytest.mark.slow
def test_stage2_refuses_a_wrong_stage1(cli_run, captioned_emoji, stages, tmp_path):
    stage1, stage2 = stages
    result = cli_run("train", "stackgan", "--data", captioned_emoji, *STAGE, "--image-size", "24", "--set",
                     f"stage1={stage1}", "--steps", "1", "--out", tmp_path / "r", expect=1)
    assert "use 32 or 64" in result.output
    result = cli_run("train", "stackgan", "--data", captioned_emoji, *STAGE, "--image-size", "64", "--set",
                     f"stage1={stage2}", "--steps", "1", "--out", tmp_path / "r2", expect=1)
    assert "stage II" in result.output
    result = cli_run("train", "stackgan", "--data", captioned_emoji, *STAGE, "--image-size", "32", "--set",
                     f"stage1={tmp_path}", "--steps", "1", "--out", tmp_path / "r3", expect=1)
    assert "not a run directory" in result.output
