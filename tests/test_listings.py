"""Listings tell the truth: each model's own defaults, and sample grids that say what their rows are (19.10)."""

from __future__ import annotations

import json

import numpy as np


def test_models_listing_shows_the_defaults_each_model_runs_with(cli_run, plugins):
    listing = {m["name"]: m for m in json.loads(cli_run("models", "--json").stdout)["models"]}
    for name, model_cls, _ in plugins.models.items():
        from img2img.options import parse_settings

        # What a new run stores when nothing is set: the trainer's resolution of the model's defaults.
        stored = {k: o.default for k, o in model_cls.all_options().items()}
        stored.update({k: v for k, v in model_cls.training_defaults.items() if k in stored})
        stored.update(parse_settings([], model_cls.all_options(), name))
        assert {k: v["default"] for k, v in listing[name]["options"].items()} == stored, name
    cyclegan = listing["cyclegan"]["options"]
    assert cyclegan["lr_constant_epochs"]["default"] == 100 and cyclegan["lr_decay_epochs"]["default"] == 100
    verbose = cli_run("models", "-v").stdout
    block = verbose.split("  cyclegan ", 1)[1].split("\n  ", 1)[1]
    assert "--set lr_decay_epochs=100 " in block
    assert "--set keep_checkpoints=3  " in verbose and "[may change on --resume]" in verbose


def test_a_cyclegan_grid_labels_its_rows(plugins):
    model = plugins.models.get("cyclegan")(image_size=32, channels=3, filters=8, d_filters=8, blocks=1)
    rng = np.random.default_rng(0)
    inputs = {"a": rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
              "b": rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)}
    grid = model.render_grid(inputs)
    images_width = 2 * 33 - 1
    assert grid.shape[0] == 6 * 33 - 1 and grid.shape[1] > images_width
    margin = grid[:, : grid.shape[1] - images_width]
    first_row, last_row = margin[:32], margin[-32:]
    assert (first_row < 128).any() and (last_row < 128).any()  # text in each row's margin
    assert (first_row < 128).sum() < (last_row < 128).sum()  # "A" is shorter than "B -> A -> B"
