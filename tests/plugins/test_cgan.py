"""Class-conditional GAN on real labelled digits: both conditioning modes train, generate --label works,
unknown labels list the valid ones, unlabelled data is refused with a clear message."""

from __future__ import annotations

import csv
import math

import pytest
from conftest import FAST
from PIL import Image


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_cgan_trains_and_generates_a_chosen_class(cli_run, digits, tmp_path, conditioning):
    run = tmp_path / "run"
    cli_run("train", "cgan", "--data", digits, *FAST, "--set", f"conditioning={conditioning}", "--set",
            "embed_dim=8", "--steps", "3", "--out", run)
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(math.isfinite(float(v)) for k, v in rows[-1].items() if k != "epoch")
    out = tmp_path / "sevens"
    cli_run("generate", "--model", run, "--label", "seven", "--count", "5", "--out", out)
    files = sorted(out.iterdir())
    assert len(files) == 5 and Image.open(files[0]).size == (16, 16)
    mixed = tmp_path / "mixed"
    cli_run("generate", "--model", run, "--count", "3", "--out", mixed)
    assert sorted(p.name for p in mixed.iterdir()) == ["0000-eight.png", "0001-five.png", "0002-four.png"]
    result = cli_run("generate", "--model", run, "--label", "eleven", "--out", tmp_path / "x", expect=1)
    assert "valid labels: eight, five, four, nine, one, seven, six, three, two, zero" in result.output


def test_cgan_labels_change_the_images(plugins):
    import numpy as np

    model = plugins.models.get("cgan")(image_size=16, channels=1, num_classes=3, filters=8, latent_dim=8,
                                       embed_dim=4)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32)
    zero = np.asarray(model.generator(model.generator_inputs(z, np.array([0, 0])), training=False))
    two = np.asarray(model.generator(model.generator_inputs(z, np.array([2, 2])), training=False))
    assert np.abs(zero - two).max() > 0.01 * np.abs(zero).max()  # at init outputs are ~1e-4: compare relatively
    logits = model.discriminator(model.discriminator_inputs(zero, np.array([0, 1])), training=False)
    assert logits.shape == (2, 1)


def test_cgan_needs_labelled_data(cli_run, tmp_path):
    from real_data import digits_folder

    flat = digits_folder(tmp_path / "flat", count=64, labelled=False)
    result = cli_run("train", "cgan", "--data", flat, *FAST, "--steps", "1", "--out", tmp_path / "r", expect=1)
    assert "sub-folder" in result.output and "Traceback" not in result.output
