"""Text prompts: the real all-MiniLM-L6-v2 encoder, captions beside images, the matching-aware GAN-CLS
model trained on real emoji with their Unicode names, and ``translate --prompt``."""

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
def minilm():
    from img2img_plugins.text_encoders.minilm import MiniLM

    return MiniLM()


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


# ----- the encoder ------------------------------------------------------------------------------------
def test_minilm_matches_the_published_similarities(minilm):
    # sentence-transformers' quick-start example for all-MiniLM-L6-v2 prints these cosine similarities
    # (sbert.net, "Quickstart"): 0.6660 between the two weather sentences, 0.1046 and 0.1411 to the third.
    e = minilm(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sim = e @ e.T
    np.testing.assert_allclose([sim[0, 1], sim[0, 2], sim[1, 2]], [0.6660, 0.1046, 0.1411], atol=2e-3)


def test_minilm_ranks_paraphrases_above_unrelated_sentences(minilm):
    pairs = [("a small dog is running in the park", "a puppy runs across the grass"),
             ("a red apple on a table", "an apple, red, lying on a desk"),
             ("a man is playing the guitar", "someone plays a guitar"),
             ("the baby chick is yellow", "a yellow chick, just hatched")]
    e = minilm([text for pair in pairs for text in pair])
    anchors, paraphrases = e[0::2], e[1::2]
    sim = anchors @ paraphrases.T
    for i in range(len(pairs)):  # each sentence's own paraphrase is its nearest among all the others
        assert sim[i, i] > max(sim[i, j] for j in range(len(pairs)) if j != i) + 0.1, sim


def test_minilm_handles_empty_and_long_input(minilm):
    assert minilm([]).shape == (0, 384)
    long = " ".join(["word"] * 2000)  # over the model's 256 word pieces: cut, as sentence-transformers does
    e = minilm([long, "word " * 254])
    assert np.isfinite(e).all() and len(minilm.token_ids([long])[0]) == 256


# ----- captions ---------------------------------------------------------------------------------------
def test_captions_come_from_txt_files_and_missing_ones_are_named(tmp_path, capsys):
    from img2img.data.captions import index_captions

    for name, text in [("a", "red apple\n\n  a shiny red apple \n"), ("b", "red apple\n"), ("c", None)]:
        Image.new("RGB", (4, 4)).save(tmp_path / f"{name}.png")
        if text is not None:
            (tmp_path / f"{name}.txt").write_text(text)
    index, kept = index_captions(sorted(tmp_path.glob("*.png")))
    assert kept == [0, 1]
    assert index.captions == ["red apple", "a shiny red apple"]  # distinct, stripped, blank lines dropped
    assert index.ids == [0, 1, 0] and index.starts == [0, 2] and index.counts == [2, 1]
    assert "c.png" in capsys.readouterr().err


def test_caption_draws_resume_where_they_stopped(tmp_path):
    """A stream that skips k elements (resume) draws the same captions as an unbroken one from element k."""
    from img2img.data import DataRequest
    from img2img.data.folder import FolderSource

    for i in range(6):
        Image.new("L", (4, 4), i * 40).save(tmp_path / f"{i}.png")
        (tmp_path / f"{i}.txt").write_text("\n".join(f"caption {i}.{k}" for k in range(4)))

    def ids(skip: int, n: int) -> list[int]:
        data = FolderSource().load(str(tmp_path), DataRequest(image_size=4, seed=3, skip=skip, captions=True))
        return [int(c) for _, c in data.dataset.take(n)]

    unbroken = ids(0, 30)
    assert ids(11, 19) == unbroken[11:]
    assert len(set(unbroken)) > 6  # more than one caption per image gets drawn


# ----- training and prompts ---------------------------------------------------------------------------
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
