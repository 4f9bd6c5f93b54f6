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


__all__ = ["frechet_distance", "frechet_distance_of", "gaussian_stats"]
