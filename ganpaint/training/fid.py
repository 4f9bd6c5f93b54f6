"""Frechet distance between Gaussian fits of two feature sets (Heusel et al. 2017, the "FID" formula).

``FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with ``mu``/``S`` the mean and covariance of each
set of feature vectors. The project has no Inception network offline, so callers choose the feature
extractor and must name it next to the number (e.g. "FD-seg": the landscape segmenter's pooled features);
values are only comparable for the same extractor, image size and sample count (with few samples the
estimate is biased upwards).
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mu (D,), sigma (D, D))`` of ``features`` ``(N, D)`` (float64, unbiased covariance).

    Raises:
        ValueError: fewer than 2 rows or not 2-D.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need an (N >= 2, D) feature array, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Frechet distance of ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    The matrix square root is computed with :func:`scipy.linalg.sqrtm`; if the product is singular
    (``N <= D``), ``eps`` is added to both diagonals first, and a negligible imaginary part is dropped.
    """
    from scipy import linalg

    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance_of(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """:func:`frechet_distance` of the Gaussian fits of two ``(N, D)`` feature arrays."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))



def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 50,
                              subset_size: int = 100, seed: int = 0) -> float:
    """Kernel distance (KID, Bińkowski et al. 2018) between two ``(N, D)`` feature sets.

    The unbiased MMD^2 estimate with the cubic polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged
    over ``subsets`` random subsets of ``min(subset_size, N_a, N_b)`` rows each. Unlike FD it is unbiased
    for small N, so it compares runs with few images. The extractor must be named next to the number
    (e.g. "KID-VGG": VGG16 relu5_3 spatial means, see :mod:`ganpaint.training.perceptual`).

    Raises:
        ValueError: fewer than 2 rows in either set, or different feature sizes.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (N >= 2, D) feature arrays of the same D, got {a.shape} and {b.shape}")
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        total += ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                  - 2 * kxy.mean())
    return float(total / subsets)


__all__ = ["frechet_distance", "frechet_distance_of", "gaussian_stats", "kernel_inception_distance"]
