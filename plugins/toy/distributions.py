"""Mixtures of Gaussians for mode-collapse studies, and single Gaussians with closed-form divergences.

ring8: 8 modes evenly spaced on a circle of radius 2, sigma 0.02; grid25: a 5 x 5 grid with spacing 2
(-4 ... 4), sigma 0.02. Both take ``std=`` (and ring8 ``radius=``): the published settings of VEEGAN and
PacGAN (reference.md) are ``toy:ring8:radius=1,std=0.01`` and ``toy:grid25:std=0.05`` (``PUBLISHED``); the
defaults stay what stored runs trained on. gauss: N(mean, std^2) in ``dim`` dimensions.

Two ways to score samples: ``coverage`` (our earlier table's rule: a mode is covered when it holds a fifth of
its fair share of high-quality samples) and ``pacgan_scores`` (PacGAN's definitions: a mode is covered when
it is the nearest mode of at least one high-quality sample; reverse KL of the mode histogram).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from img2img import DataRequest, DataSource, ImageData, Img2ImgError, Option
from img2img.options import parse_settings

POOL = 100_000  # samples drawn per stream; shuffled and repeated like any finite data set
HOLDOUT_SEED_OFFSET = 1_000_003


def ring_modes(count: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(count) / count
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid_modes(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    return np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)


@dataclass(frozen=True)
class Mixture:
    modes: np.ndarray
    std: float

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        centres = self.modes[rng.integers(0, len(self.modes), n)]
        return (centres + rng.normal(0.0, self.std, centres.shape)).astype(np.float32)

    def coverage(self, samples: np.ndarray, min_share: float | None = None) -> dict[str, float]:
        """Modes covered and % high-quality samples (within 3 sigma of their nearest mode).

        A mode counts as covered when at least ``min_share`` of the samples are high quality around it;
        the default, a fifth of the share a perfect generator would give it, follows the spirit of
        VEEGAN's and PacGAN's thresholds without depending on the sample count.
        """
        samples = np.asarray(samples, np.float64)[:, :2]
        distances = np.linalg.norm(samples[:, None, :] - self.modes[None, :, :], axis=2)
        nearest = distances.argmin(axis=1)
        good = distances[np.arange(len(samples)), nearest] <= 3 * self.std
        share = min_share if min_share is not None else 0.2 / len(self.modes)
        counts = np.bincount(nearest[good], minlength=len(self.modes))
        return {
            "modes": int((counts >= share * len(samples)).sum()),
            "total_modes": len(self.modes),
            "high_quality": float(100.0 * good.mean()),
        }

    def pacgan_scores(self, samples: np.ndarray) -> dict[str, float]:
        """PacGAN's (and VEEGAN's) definitions, reference.md: high quality = within 3 sigma of the nearest
        mode; a mode is covered when it is the nearest mode of at least one high-quality sample; reverse KL
        = KL(generated || uniform) of the histogram of the high-quality samples over the modes (empty modes add
        nothing; with no high-quality sample it is log K, as if all samples sat in one mode)."""
        samples = np.asarray(samples, np.float64)[:, :2]
        distances = np.linalg.norm(samples[:, None, :] - self.modes[None, :, :], axis=2)
        nearest = distances.argmin(axis=1)
        good = distances[np.arange(len(samples)), nearest] <= 3 * self.std
        counts = np.bincount(nearest[good], minlength=len(self.modes)).astype(np.float64)
        k = len(self.modes)
        if counts.sum() == 0:
            reverse_kl = math.log(k)
        else:
            p = counts[counts > 0] / counts.sum()
            reverse_kl = float((p * np.log(p * k)).sum())
        return {"modes": int((counts > 0).sum()), "total_modes": k, "high_quality": float(100.0 * good.mean()),
                "reverse_kl": reverse_kl}


MIXTURES = {"ring8": lambda values: Mixture(ring_modes(radius=values["radius"]), values["std"]),
            "grid25": lambda values: Mixture(grid_modes(), values["std"])}
MIXTURE_OPTIONS = {"std": Option(0.02, "standard deviation of each mode", minimum=0)}
RING_OPTIONS = {**MIXTURE_OPTIONS, "radius": Option(2.0, "radius of the circle the modes lie on", minimum=0)}
# VEEGAN's and PacGAN's settings (reference.md, "Mode collapse benchmark").
PUBLISHED = {"ring8": "ring8:radius=1,std=0.01", "grid25": "grid25:std=0.05"}
GAUSS_OPTIONS = {
    "mean": Option(0.0, "mean (every coordinate)"),
    "std": Option(1.0, "standard deviation", minimum=0),
    "dim": Option(1, "dimensions", minimum=1),
}


def parse_toy(spec: str) -> tuple[str, dict[str, Any]]:
    name, _, rest = spec.partition(":")
    if name in MIXTURES:
        options = RING_OPTIONS if name == "ring8" else MIXTURE_OPTIONS
    elif name == "gauss":
        options = GAUSS_OPTIONS
    else:
        raise Img2ImgError(f"--data toy:{spec}: unknown toy distribution {name!r}; choose ring8, grid25 or gauss")
    pairs = [item for item in rest.split(",") if item]
    values = {k: o.default for k, o in options.items()}
    values.update(parse_settings(pairs, options, f"toy:{name}", prefix=f"toy:{name}:"))
    return name, values


def draw(spec: str, n: int, seed: int) -> np.ndarray:
    name, values = parse_toy(spec)
    rng = np.random.default_rng(seed)
    if name in MIXTURES:
        return MIXTURES[name](values).sample(n, rng)
    if values["std"] <= 0 or values["dim"] < 1:
        raise Img2ImgError(f"--data toy:{spec}: std must be positive and dim at least 1")
    return rng.normal(values["mean"], values["std"], (n, values["dim"])).astype(np.float32)


def mixture_for(spec: str) -> Mixture:
    name, values = parse_toy(spec)
    if name not in MIXTURES:
        raise Img2ImgError(f"toy:{spec} is not a mixture of modes")
    return MIXTURES[name](values)


class ToySource(DataSource):
    name = "toy"
    description = ("toy vectors: toy:ring8 (radius=2), toy:grid25 (modes, std=0.02; the papers' settings: "
                   "toy:ring8:radius=1,std=0.01, toy:grid25:std=0.05), toy:gauss:mean=0,std=1,dim=1")

    def load(self, spec: str, request: DataRequest) -> ImageData:
        import tensorflow as tf

        seed = request.seed + (HOLDOUT_SEED_OFFSET if request.part == "holdout" else 0)
        samples = draw(spec, POOL, seed)
        ds = tf.data.Dataset.from_tensor_slices(samples)
        ds = request.order(ds, POOL)
        return ImageData(ds, POOL, 0, None, f"toy:{spec} ({POOL} samples, {samples.shape[1]}-D)",
                         sample_shape=(samples.shape[1],))


def extent_of(modes: np.ndarray) -> float:
    return float(math.ceil(np.abs(modes).max() + 1))
