"""Levin, Lischinski and Weiss, "Colorization using Optimization" (SIGGRAPH 2004), with scipy.sparse.

The baseline of ``ganpaint eval colorize``: neighbouring pixels of similar lightness should have similar
chrominance. For each pixel ``r`` and its 3x3 neighbours ``s``, ``w_rs ~ exp(-(Y_r - Y_s)^2 / (2 sigma_r^2))``
(``sigma_r^2`` the lightness variance in the window, with the paper code's floor), normalised to sum to 1; the
chrominance ``U`` minimises ``sum_r (U_r - sum_s w_rs U_s)^2`` subject to the hinted pixels keeping their hint.
That is the sparse linear system ``(I - W) U = 0`` with identity rows at the hints, solved once per channel with
one LU factorisation (SuperLU).
"""

from __future__ import annotations

import numpy as np


def levin_colorize(lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
    """Propagate hinted chrominance along lightness.

    Args:
        lightness: ``(H, W)`` L in [0, 100].
        hint_ab: ``(H, W, C)`` values at hinted pixels (ab in Lab units, or any C channels such as a full Lab
            colour for line art; ignored elsewhere).
        hint_mask: ``bool (H, W)``, True at hinted pixels.

    Returns:
        ``float32 (H, W, C)``; zeros when there is no hint (nothing to propagate).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    h, w = lightness.shape
    channels = hint_ab.shape[-1]
    if not hint_mask.any():
        return np.zeros((h, w, channels), np.float32)
    y = np.asarray(lightness, np.float64) / 100.0
    n = h * w
    idx = np.arange(n).reshape(h, w)
    pad = np.pad(y, 1, mode="edge")
    pad_idx = np.pad(idx, 1, mode="constant", constant_values=-1)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    neigh = np.stack([pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets])      # (8, H, W)
    nidx = np.stack([pad_idx[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets])  # (8, H, W)
    valid = nidx >= 0
    window = np.concatenate([neigh, y[None]])
    wvalid = np.concatenate([valid, np.ones((1, h, w), bool)])
    count = wvalid.sum(0)
    mean = (window * wvalid).sum(0) / count
    var = ((window - mean) ** 2 * wvalid).sum(0) / count
    diff2 = (neigh - y[None]) ** 2
    # the paper's code: c_var = 0.6 * max(var, 2e-6), at least -min(diff^2) / log(0.01)
    min_diff = np.where(valid, diff2, np.inf).min(0)
    c_var = np.maximum(0.6 * np.maximum(var, 2e-6), -min_diff / np.log(0.01))
    weights = np.exp(-diff2 / c_var[None]) * valid
    weights /= np.maximum(weights.sum(0, keepdims=True), 1e-12)
    free = ~hint_mask.ravel()
    rows = np.broadcast_to(idx[None], nidx.shape)[valid]
    keep = free[rows]
    rows, cols, vals = rows[keep], nidx[valid][keep], -weights[valid][keep]
    A = sp.csr_matrix((np.concatenate([vals, np.ones(n)]), (np.concatenate([rows, np.arange(n)]),
                                                            np.concatenate([cols, np.arange(n)]))), shape=(n, n))
    lu = splu(A.tocsc())
    out = np.empty((h, w, channels), np.float32)
    for c in range(channels):
        b = np.where(hint_mask, hint_ab[..., c], 0.0).ravel()
        out[..., c] = lu.solve(b).reshape(h, w)
    return out
