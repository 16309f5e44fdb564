"""The shipped default model: `img2img translate FOLDER` works with no --model, by name too, and it really
colours emoji line art it never saw (held out by the same seeded split the model was trained with)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from real_data import emoji_code_points, emoji_folders, split_code_points

from img2img.errors import Img2ImgError
from img2img.pretrained import resolve_model, shipped_models


@pytest.fixture(scope="module")
def held_out_emoji(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """48 of the emoji the shipped model was not trained on, as line art and in colour, 64 px."""
    held, _, _ = split_code_points(emoji_code_points(), seed=0)
    return emoji_folders(tmp_path_factory.mktemp("held"), held[:: len(held) // 48][:48], size=64)


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0 for p in sorted(folder.glob("*.png"))}


def test_a_default_model_ships_with_its_card():
    models = shipped_models()
    defaults = [m for m in models if m.default]
    assert len(defaults) == 1
    folder = defaults[0].path
    config = json.loads((folder / "config.json").read_text())
    for network in config["exports"]:
        assert (folder / f"{network}.keras").is_file()
    card = (folder / "MODEL_CARD.md").read_text()
    assert "SSIM" in card and "bench/cyclegan_quality.py" in card  # its scores and how they were measured


@pytest.mark.slow
def test_translate_without_model_colours_held_out_line_art(cli_run, held_out_emoji, tmp_path):
    line, colour = held_out_emoji
    out = tmp_path / "out"
    result = cli_run("translate", line, "--out", out)
    # It says which model runs, what it is for, and how to pick another: no silent line-art filter on photos.
    assert "shipped default model 'emoji-line2colour', since no --model was given: CycleGAN: emoji line art" \
        in result.output and "for other images pass --model RUN" in result.output
    inputs, truth, translated = _pixels(line), _pixels(colour), _pixels(out)
    assert translated.keys() == inputs.keys()
    assert all(translated[k].shape == inputs[k].shape for k in inputs)
    l1_input = np.mean([np.abs(inputs[k] - truth[k]).mean() for k in inputs])
    l1_model = np.mean([np.abs(translated[k] - truth[k]).mean() for k in inputs])
    assert l1_model < 0.95 * l1_input, (l1_model, l1_input)
    # Line art is grey; the translations carry colour (channel spread well above the inputs' ~0).
    chroma = np.mean([np.ptp(t, axis=-1).mean() for t in translated.values()])
    assert chroma > 0.05 and np.mean([np.ptp(x, axis=-1).mean() for x in inputs.values()]) < 0.01


def test_shipped_model_by_name_and_clear_errors(cli_run, held_out_emoji, tmp_path):
    line, _ = held_out_emoji
    one = sorted(line.glob("*.png"))[0]
    named = cli_run("translate", one, "--model", "emoji-line2colour", "--out", tmp_path / "named")
    assert "Using the shipped model 'emoji-line2colour': CycleGAN" in named.output
    assert (tmp_path / "named" / one.name).is_file()
    result = cli_run("translate", one, "--model", "no-such-model", "--out", tmp_path / "x", expect=1)
    assert "no-such-model" in result.output and "emoji-line2colour" in result.output
    result = cli_run("translate", "--prompt", "a cat", "--out", tmp_path / "p", expect=1)
    assert "--model" in result.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "p").exists()


def test_an_existing_folder_wins_over_a_shipped_name(tmp_path, monkeypatch):
    default = next(m for m in shipped_models() if m.default)
    assert resolve_model(None) == default.path
    assert resolve_model(Path(default.name)) == default.path
    (tmp_path / default.name).mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_model(Path(default.name)) == Path(default.name)
    with pytest.raises(Img2ImgError, match="not a shipped model"):
        resolve_model(Path("missing-run"))


def test_models_listing_names_the_shipped_default(cli_run):
    listing = json.loads(cli_run("models", "--json").output)
    shipped = {m["name"]: m for m in listing["pretrained"]}
    assert shipped["emoji-line2colour"]["plugin"] == "shipped, default"


def _shipped(name: str) -> Path:
    return next(m.path for m in shipped_models() if m.name == name)


def test_photo_colourise_credits_every_photograph_under_a_licence_that_allows_it():
    from bench.quality.photo_colourise import TRAINING  # the photographs its training read

    folder = _shipped("photo-colourise")
    assert (folder / "generator.keras").stat().st_size < 30e6  # small enough to ship in the wheel
    card = (folder / "MODEL_CARD.md").read_text()
    for source, author, licence, _origin in TRAINING:
        assert licence in ("CC0-1.0", "CC-BY-2.0", "CC-BY-4.0"), (source, licence)
        assert f"`{Path(str(source)).name}`: {author}, {licence}" in card
    assert "grey input unchanged" in card and "PSNR" in card and "colourfulness" in card
    assert json.loads((folder / "config.json").read_text())["settings"]["grey_input"] is True


@pytest.mark.slow
def test_photo_colourise_colours_a_photograph_at_its_own_size(cli_run, tmp_path):
    """Smoke test of the shipped path on scikit-learn's china.jpg (one of its training photographs; the
    held-out scores are in its card): native size, colour from grey, and a colour input is greyed first."""
    from sklearn.datasets import load_sample_images

    from bench.quality.photo_colourise import colourfulness

    photo = Image.fromarray(load_sample_images().images[0])
    (tmp_path / "in").mkdir()
    photo.convert("L").save(tmp_path / "in" / "grey.png")
    photo.save(tmp_path / "in" / "colour.png")
    result = cli_run("translate", tmp_path / "in", "--model", "photo-colourise", "--out", tmp_path / "out")
    assert "Using the shipped model 'photo-colourise': pix2pix: grey -> colour for photographs" in result.output
    out = _pixels(tmp_path / "out")
    assert out["grey"].shape == (427, 640, 3)
    assert colourfulness(out["grey"]) > 15 > colourfulness(_pixels(tmp_path / "in")["grey"])
    assert np.abs(out["grey"] - out["colour"]).mean() < 0.01


def test_the_default_names_the_photo_model_for_photographs(cli_run, tmp_path):
    from sklearn.datasets import load_sample_images

    (tmp_path / "in").mkdir()
    Image.fromarray(load_sample_images().images[1][:64, :64]).save(tmp_path / "in" / "photo.png")
    result = cli_run("translate", tmp_path / "in" / "photo.png", "--out", tmp_path / "out")
    assert "shipped default model 'emoji-line2colour'" in result.output
    assert "for photographs pass --model photo-colourise" in result.output
