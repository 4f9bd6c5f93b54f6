"""Simulated user hints for training and evaluating colorization (Zhang et al. SIGGRAPH 2017, section 3.2).

The paper reveals ground-truth colour at random places: a *geometric* number of hints (keep adding one while
``U(0, 1) < 1 - p``, so ``p`` of the images get none), each a ``P x P`` patch (``P`` uniform in 1..9 at 256 px)
at a location drawn from a normal distribution around the centre (or uniformly), filled with the patch's *mean*
colour. The studio also draws strokes, so a share of the training hints are short strokes at their mean colour.

Colours are given in whatever space the caller trains in: ``ab`` (photos) or ``Lab`` (line art), ``(N, C, H, W)``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch


def _stroke_pixels(rng: np.random.Generator, h: int, w: int, p: int, max_len: float) -> tuple[np.ndarray, np.ndarray]:
    """Row/column indices of a straight stroke ``p`` px wide and up to ``max_len`` px long, inside the image."""
    y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
    angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(2, max(3.0, max_len))
    t = np.linspace(0.0, 1.0, max(2, int(length)))
    ys = np.clip(np.round(y0 + np.sin(angle) * length * t), 0, h - 1).astype(int)
    xs = np.clip(np.round(x0 + np.cos(angle) * length * t), 0, w - 1).astype(int)
    m = np.zeros((h, w), bool)
    r = max(p // 2, 0)
    for y, x in zip(ys, xs):
        m[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = True
    return np.nonzero(m)


def simulate_hints(color: torch.Tensor, rng: np.random.Generator, *, p: float = 0.125,
                   num_points: Optional[int] = None, patch_sizes: Sequence[int] = tuple(range(1, 10)),
                   sampling: str = "normal", stroke_prob: float = 0.0, regions: Optional[np.ndarray] = None,
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Reveal the colour of ``color`` at random patches (and strokes), each at its mean colour.

    Args:
        color: ``(N, C, H, W)`` ground-truth colour (``ab`` or ``Lab``, any units), on any device.
        rng: numpy generator (the training run's, so runs are reproducible and resumable).
        p: with ``num_points`` None, the geometric distribution's stop probability (the paper: 1/8).
        num_points: a fixed number of hints per image instead (the evaluation protocol).
        patch_sizes: patch sides in pixels to draw from uniformly.
        sampling: ``"normal"`` (centre-biased, the paper's training) or ``"uniform"``.
        stroke_prob: chance that a hint is a short stroke (length up to ``min(H, W) / 4``) instead of a patch.
        regions: optional ``int (N, H, W)`` region labels of line art (0 on lines): a hint keeps only the pixels
            of the region under its middle pixel (a patch's centre), so it never straddles a line; a hint
            whose middle pixel is on a line is skipped.

    Returns:
        ``(hint, mask)``: ``hint (N, C, H, W)`` with the mean colour inside each hint and 0 elsewhere, ``mask
        (N, 1, H, W)`` 1 at hinted pixels; both on ``color``'s device and dtype.
    """
    n, c, h, w = color.shape
    mask_np = np.zeros((n, h, w), bool)
    hint = torch.zeros_like(color)
    sizes = np.asarray(patch_sizes, int)
    for i in range(n):
        count = 0
        while True:
            if num_points is None:
                if rng.random() >= 1.0 - p:
                    break
            elif count >= num_points:
                break
            count += 1
            size = int(rng.choice(sizes))
            if stroke_prob and rng.random() < stroke_prob:
                ys, xs = _stroke_pixels(rng, h, w, size, min(h, w) / 4)
            else:
                if sampling == "normal":
                    y = int(np.clip(rng.normal((h - size + 1) / 2, (h - size + 1) / 4), 0, h - size))
                    x = int(np.clip(rng.normal((w - size + 1) / 2, (w - size + 1) / 4), 0, w - size))
                else:
                    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
                yy, xx = np.mgrid[y:y + size, x:x + size]
                ys, xs = yy.ravel(), xx.ravel()
            if regions is not None:
                middle = len(ys) // 2
                label = regions[i, ys[middle], xs[middle]]
                if label == 0:
                    continue
                keep = regions[i, ys, xs] == label
                ys, xs = ys[keep], xs[keep]
            ys_t = torch.as_tensor(ys, device=color.device)
            xs_t = torch.as_tensor(xs, device=color.device)
            mean = color[i][:, ys_t, xs_t].mean(dim=1, keepdim=True)
            hint[i][:, ys_t, xs_t] = mean
            mask_np[i, ys, xs] = True
    mask = torch.from_numpy(mask_np[:, None]).to(device=color.device, dtype=color.dtype)
    return hint, mask


def ab_histogram(ab: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Global hint: the normalised histogram of ``ab`` over the 529 distribution bins.

    Args:
        ab: ``(N, 2, H, W)`` in Lab units.
        weight: optional ``(N, 1, H, W)`` pixel weights (e.g. 0 on line-art lines).

    Returns:
        ``float32 (N, 529)``, each row summing to 1 (uniform where all weights are 0).
    """
    from ganpaint.nets.colorization import AB_BINS, encode_ab_bins

    n = ab.shape[0]
    bins = encode_ab_bins(ab.float()).reshape(n, -1)
    wts = (torch.ones_like(bins, dtype=torch.float32) if weight is None
           else weight.float().reshape(n, -1).expand_as(bins).contiguous())
    hist = torch.zeros(n, AB_BINS, device=ab.device).scatter_add_(1, bins, wts)
    total = hist.sum(dim=1, keepdim=True)
    return torch.where(total > 0, hist / total.clamp_min(1e-8), torch.full_like(hist, 1.0 / AB_BINS))
