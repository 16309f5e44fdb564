"""VAE-GAN (reference.md, "VAE-GAN"): the update routing of the official code, its gate, the plain-VAE
option, and the commands a user runs on a trained run (translate, generate, interpolate). Data: real
handwritten digits (scikit-learn)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TINY = {"image_size": 16, "channels": 1, "latent_dim": 8, "filters": 4}
VAE_FAST = ["--image-size", "16", "--set", "filters=4", "--set", "latent_dim=8", "--batch-size", "16"]


def _digits(n: int = 16) -> np.ndarray:
    import tensorflow as tf
    from sklearn.datasets import load_digits

    images = load_digits().images[:n].astype(np.float32) / 8.0 - 1.0
    return tf.image.resize(images[..., None], (16, 16)).numpy()


def _stepped(plugins, loss: str = "gan", penalties=(), **settings):
    """A tiny VAE-GAN before and after one compiled step on real digits: (weights before, model after)."""
    import keras
    import tensorflow as tf

    from img2img.optimizers import FusedAdam

    keras.utils.set_random_seed(0)
    model = plugins.models.get("vaegan")(**TINY, **settings)
    model.compile(FusedAdam(1e-3), FusedAdam(1e-3), loss=plugins.losses.get(loss),
                  penalties=[(plugins.penalties.get(p), 1.0) for p in penalties])
    model.build_optimizers()
    before = _after(model)
    history = model.fit(tf.data.Dataset.from_tensors(_digits()).repeat(), steps_per_epoch=1, epochs=1, verbose=0)
    return before, model, {k: v[-1] for k, v in history.history.items()}


def _after(model) -> dict[str, list[np.ndarray]]:
    """Each network's trainable weights, copied."""
    networks = {"encoder": model.encoder, "decoder": model.generator, "critic": model.discriminator}
    return {name: [np.asarray(v) for v in net.trainable_variables] for name, net in networks.items()}


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.allclose(x, y, atol=1e-7) for x, y in zip(a, b, strict=True))


def test_the_adversarial_loss_never_reaches_the_encoder(plugins):
    """Two losses, one step each from the same weights: the decoders and critics move differently, the
    encoders identically, because the encoder's loss is KL + L_llike only."""
    _, gan, _ = _stepped(plugins, "gan", gate="off")
    _, lsgan, _ = _stepped(plugins, "lsgan", gate="off")
    a, b = _after(gan), _after(lsgan)
    assert _same(a["encoder"], b["encoder"])
    assert not _same(a["decoder"], b["decoder"]) and not _same(a["critic"], b["critic"])


def test_the_feature_loss_never_trains_the_critic_and_gamma_weighs_it_in_the_decoder(plugins):
    _, small, _ = _stepped(plugins, gamma=1e-3, kl_weight=1.0, gate="off")
    _, large, _ = _stepped(plugins, gamma=10.0, kl_weight=0.1, gate="off")
    a, b = _after(small), _after(large)
    assert _same(a["critic"], b["critic"])  # gamma and the KL weight change nothing the critic learns from
    assert not _same(a["decoder"], b["decoder"])  # gamma changes the decoder's update
    assert not _same(a["encoder"], b["encoder"])  # the KL weight the encoder's


def test_the_gate_skips_the_critic_or_the_decoder_by_the_official_rule(plugins):
    # Costs are always below an equilibrium of 10 with no margin: the critic "wins" and sits the step out.
    before, model, logs = _stepped(plugins, gate="on", gate_equilibrium=10.0, gate_margin=0.0)
    after = _after(model)
    assert _same(before["critic"], after["critic"]) and not _same(before["decoder"], after["decoder"])
    assert logs["d_updates"] == 0.0 and logs["g_updates"] == 1.0
    # Costs always above 0.01 with no margin: the critic "loses", so the decoder waits; the encoder still learns.
    before, model, logs = _stepped(plugins, gate="on", gate_equilibrium=0.01, gate_margin=0.0)
    after = _after(model)
    assert _same(before["decoder"], after["decoder"])
    assert not _same(before["critic"], after["critic"]) and not _same(before["encoder"], after["encoder"])
    assert logs["d_updates"] == 1.0 and logs["g_updates"] == 0.0


def test_the_gate_is_refused_where_the_critic_has_no_cross_entropies(plugins):
    from img2img import Img2ImgError

    with pytest.raises(Img2ImgError, match="gate=on.*wgan"):
        _stepped(plugins, "wgan-gp", gate="on")
    _, model, logs = _stepped(plugins, "wgan-gp", penalties=["gp"])  # auto: off for this loss
    assert not model.gated and "d_updates" not in logs


def test_the_plain_vae_trains_no_critic_and_learns_to_reconstruct(plugins):
    import tensorflow as tf

    from img2img import Img2ImgError

    before, model, logs = _stepped(plugins, reconstruction="pixels")
    assert _same(before["critic"], _after(model)["critic"])
    assert set(logs) == {"kl", "reconstruction"}
    first = logs["reconstruction"]
    history = model.fit(tf.data.Dataset.from_tensors(_digits()).repeat(), steps_per_epoch=60, epochs=1, verbose=0)
    assert history.history["reconstruction"][-1] < 0.5 * first
    with pytest.raises(Img2ImgError, match="plain VAE"):
        _stepped(plugins, reconstruction="pixels", penalties=["r1"])


def test_sizes_and_refusals_are_named(plugins):
    from img2img import Img2ImgError

    model_cls = plugins.models.get("vaegan")
    for size in (16, 28, 32, 64, 128):
        model_cls.check_image_size(size)
    for size in (30, 12, 68, 512):
        with pytest.raises(Img2ImgError, match=f"--image-size {size}: vaegan"):
            model_cls.check_image_size(size)
    with pytest.raises(Img2ImgError, match="pack=2"):
        model_cls(**TINY, pack=2)
    for setting, match in (({"unroll": 1}, "unroll"), ({"mode_seeking": 1.0}, "mode_seeking")):
        model = model_cls(**TINY)
        with pytest.raises(Img2ImgError, match=match):
            model.compile(None, None, loss=plugins.losses.get("gan"), **setting)


# ----- a trained run, as a user uses it ------------------------------------------------------------
@pytest.fixture(scope="module")
def vaegan_run(tmp_path_factory, digits: Path) -> Path:
    from conftest import shared_run

    out = tmp_path_factory.mktemp("runs") / "vaegan"
    shared_run(out, "vaegan", "--data", digits, *VAE_FAST, "--steps", "4", "--steps-per-epoch", "2")
    return out


def test_a_run_exports_its_networks_and_translate_reconstructs_at_each_images_own_size(vaegan_run, cli_run,
                                                                                        tmp_path):
    config = json.loads((vaegan_run / "config.json").read_text())
    assert config["translate"]["fixed_size"] == 16 and config["translate"]["directions"] == {
        "reconstruct": "autoencoder"}
    for name in ("generator", "encoder", "autoencoder"):
        assert (vaegan_run / f"{name}.keras").is_file()
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)).save(photos / "wide.png")
    Image.fromarray(rng.integers(0, 255, (9, 9), dtype=np.uint8)).save(photos / "tiny.png")
    result = cli_run("translate", photos, "--model", vaegan_run, "--out", tmp_path / "out")
    assert "resized" in result.output
    assert Image.open(tmp_path / "out" / "wide.png").size == (70, 40)
    assert Image.open(tmp_path / "out" / "tiny.png").size == (9, 9)


def test_generate_samples_the_prior(vaegan_run, cli_run, tmp_path):
    cli_run("generate", "--model", vaegan_run, "--count", "3", "--out", tmp_path / "samples")
    written = sorted((tmp_path / "samples").glob("*.png"))
    assert len(written) == 3 and Image.open(written[0]).size == (16, 16)


def test_interpolate_writes_a_strip_or_frames_and_refuses_what_it_cannot_do(vaegan_run, cli_run, tmp_path,
                                                                             digits: Path):
    first, second = sorted(digits.rglob("*.png"))[:2]
    cli_run("interpolate", vaegan_run, first, second, "--steps", "5", "--out", tmp_path / "strip.png")
    strip = np.asarray(Image.open(tmp_path / "strip.png"))
    assert strip.shape[:2] == (16, 5 * 17 - 1)
    again = cli_run("interpolate", vaegan_run, first, second, "--out", tmp_path / "strip.png", expect=1)
    assert "exists" in again.output and "--overwrite" in again.output
    cli_run("interpolate", vaegan_run, first, second, "--steps", "3", "--frames", "--out", tmp_path / "frames")
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["00.png", "01.png", "02.png"]
    folder = cli_run("interpolate", vaegan_run, first, second, "--out", tmp_path / "frames", expect=1)
    assert "folder" in folder.output
    own = cli_run("interpolate", vaegan_run, first, second, "--out", first, "--overwrite", expect=1)
    assert "overwrite the input" in own.output
    (tmp_path / "broken.png").write_bytes(b"not an image")
    broken = cli_run("interpolate", vaegan_run, first, tmp_path / "broken.png", "--out", tmp_path / "b.png",
                     expect=1)
    assert "broken.png" in broken.output and not (tmp_path / "b.png").exists()


def test_interpolate_names_a_run_without_an_encoder(cyclegan_run, cli_run, tmp_path, digits: Path):
    first, second = sorted(digits.rglob("*.png"))[:2]
    result = cli_run("interpolate", cyclegan_run, first, second, "--out", tmp_path / "s.png", expect=1)
    assert "no encoder" in result.output and "vaegan" in result.output


def test_a_refused_combination_leaves_no_run_behind(cli_run, digits: Path, tmp_path):
    result = cli_run("train", "vaegan", "--data", digits, *VAE_FAST, "--steps", "1", "--loss", "wgan",
                     "--set", "gate=on", "--out", tmp_path / "run", expect=1)
    assert "gate=on" in result.output
    assert not (tmp_path / "run").exists()
