"""Sample-quality metrics on feature vectors, independent of which network produced the features.

reference.md: KID is the unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over random
subsets; prefer it to FID for small sets. Callers must say which feature extractor they used: Inception
weights cannot be downloaded everywhere, and KIDs from different extractors are not comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x [m, d] and y [n, d] (diagonal terms left out)."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("KID needs at least two samples on each side")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


@dataclass
class KID:
    mean: float
    std: float
    subsets: int
    subset_size: int


def kernel_inception_distance(x: np.ndarray, y: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> KID:
    """KID of feature sets x and y: mean and spread of the unbiased MMD^2 over random subsets."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
              for _ in range(subsets)]
    return KID(float(np.mean(values)), float(np.std(values)), subsets, size)


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """FID of feature sets x [m, d] and y [n, d] (reference.md): |mu_x - mu_y|^2 + Tr(S_x + S_y - 2 (S_x S_y)^1/2).

    Tr((S_x S_y)^1/2) is the sum of the square roots of the eigenvalues of S_x^1/2 S_y S_x^1/2, a symmetric
    matrix with the same eigenvalues: numpy's eigh gives them without scipy, and clipping the tiny negative
    ones rounding leaves keeps the root real."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("FID needs at least two samples on each side")
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    values, vectors = np.linalg.eigh(s_x)
    root_x = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_x @ s_y @ root_x)
    trace_root = float(np.sqrt(np.clip(middle, 0, None)).sum())
    return float(np.sum((mu_x - mu_y) ** 2) + np.trace(s_x) + np.trace(s_y) - 2.0 * trace_root)
