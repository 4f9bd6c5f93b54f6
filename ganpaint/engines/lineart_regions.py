"""Regions of a line drawing: the areas its lines bound, and flat colours within them (numpy + OpenCV).

A pixel is a *line* pixel when its lightness is below :data:`LINE_L` (L in [0, 100]); the regions are the
4-connected components of the other pixels, so a fill can never cross a line that is closed, even diagonally.
Used by the colorization engine (flat fills at full resolution) and by the line-art trainer (flat targets and
hints that stay inside one region).
"""

from __future__ import annotations

import cv2
import numpy as np

#: lightness below which a pixel belongs to a line (about 47 % gray).
LINE_L = 50.0


def line_mask(lightness: np.ndarray) -> np.ndarray:
    """``bool (H, W)``: the line pixels of a drawing given its L channel ``(H, W)`` in [0, 100]."""
    return np.asarray(lightness) < LINE_L


def label_regions(lines: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the regions the lines bound.

    Args:
        lines: ``bool (H, W)``, True on line pixels.

    Returns:
        ``(labels, count)``: ``int32 (H, W)`` with 0 on lines and 1..count-1 for the regions (4-connected), and
        ``count`` (number of labels including the line label 0).
    """
    count, labels = cv2.connectedComponents((~np.asarray(lines, bool)).astype(np.uint8), connectivity=4)
    return labels.astype(np.int32), int(count)


def region_means(labels: np.ndarray, values: np.ndarray, count: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``values (H, W, C)`` over each label ``0..count-1``: ``float64 (count, C)`` (0 for empty labels).

    ``weights (H, W)`` (optional, >= 0) weight the pixels; a label whose weights sum to 0 gets 0.
    """
    flat = labels.ravel()
    w = np.ones(flat.size) if weights is None else np.asarray(weights, np.float64).ravel()
    total = np.bincount(flat, weights=w, minlength=count)
    vals = values.reshape(-1, values.shape[-1]).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=vals[:, c] * w, minlength=count) for c in range(vals.shape[1])], axis=1)
    return np.where(total[:, None] > 0, sums / np.maximum(total[:, None], 1e-12), 0.0)


def flatten(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """``values (H, W, C)`` replaced by their mean within each region (lines, label 0, keep their values)."""
    means = region_means(labels, values, count).astype(values.dtype)
    out = means[labels]
    line = labels == 0
    out[line] = values[line]
    return out
