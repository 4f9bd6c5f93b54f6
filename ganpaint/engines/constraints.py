"""Edit constraints of iGAN's brushes (Zhu et al. 2016, section 4): strokes in photo pixels become maps at
the generator's resolution, and differentiable losses measure how far a generated picture is from them.

* colour brush (``kind="color"``): under the stroke the picture should take the stroke's colour; the loss
  is the masked mean squared error to that colour.
* sketch brush (``kind="sketch"``): the picture should have an edge along the stroke. iGAN compares HED
  edges (Xie & Tu 2015) of the generated picture with the sketch; HED's VGG16 trunk costs about 0.5 s per
  optimisation step for 8 candidates at 64 px on a 2-core CPU (measured; the budget is 50 ms), so the
  loss uses a Sobel edge strength of the picture's luminance at the stroke instead,
  ``e = tanh(|grad L| / EDGE_SCALE)``, pushed towards 1 on the stroke's centre line. The evaluation
  (``ganpaint eval igan``) checks the result with real HED edges.

Rasterising is numpy only (round dabs of :mod:`ganpaint.tools.raster`); losses take ``float (K, 3, R, R)``
pictures in ``[-1, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.document.vectors import SketchStroke
from ganpaint.lab import LUMA_WEIGHTS
from ganpaint.tools.raster import StrokeCoverage, dab_centres

Rect = tuple[int, int, int, int]

#: Luminance gradient (Sobel, per pixel, images in [-1, 1]) that counts as a clear edge: tanh(1) = 0.76.
EDGE_SCALE = 0.5
#: Narrowest stroke, in generator pixels, after scaling a stroke from the photo to the generator's grid;
#: also the width of a sketch stroke's centre line.
MIN_WIDTH = 2.0


@dataclass(frozen=True)
class StrokeMaps:
    """Strokes rasterised at the generator's resolution ``R``.

    Attributes:
        color_mask: ``float32 (R, R)`` coverage of colour strokes in ``[0, 1]``.
        color_target: ``float32 (R, R, 3)`` stroke colour, RGB 0..255 (meaningful where ``color_mask > 0``;
            a later stroke paints over an earlier one).
        sketch_mask: ``float32 (R, R)``: 1 on the sketch strokes' centre lines (about 2 px wide: an edge lies
            between two pixels), else 0.
    """

    color_mask: np.ndarray
    color_target: np.ndarray
    sketch_mask: np.ndarray

    @property
    def empty(self) -> bool:
        """True when no stroke touches the generator's picture."""
        return not (self.color_mask.any() or self.sketch_mask.any())

    def changed_region(self) -> np.ndarray:
        """``bool (R, R)``: pixels under any stroke."""
        return (self.color_mask > 0) | (self.sketch_mask > 0)


def _stroke_coverage(points: Sequence[tuple[float, float]], width: float, shape: tuple[int, int]) -> Optional[np.ndarray]:
    """``float32 (H, W)`` max coverage of hard round dabs of diameter ``width`` along ``points`` (None if off-image)."""
    cover = StrokeCoverage(shape)
    if not points:
        return None
    cover.add_dab(points[0][0], points[0][1], width, 1.0)
    carry = 0.0
    for a, b in zip(points[:-1], points[1:]):
        centres, carry = dab_centres(a, b, width, carry)
        for cx, cy in centres:
            cover.add_dab(cx, cy, width, 1.0)
    if cover.rect is None:
        return None
    out = np.zeros(shape, np.float32)
    x0, y0, x1, y1 = cover.rect
    out[y0:y1, x0:x1] = cover.coverage(cover.rect)
    return out


def rasterize_strokes(strokes: Iterable[SketchStroke], rect: Rect, resolution: int) -> StrokeMaps:
    """Map strokes drawn on the photo into the region ``rect`` = ``(x0, y0, x1, y1)`` (photo pixels) seen by
    the generator at ``resolution`` x ``resolution`` and rasterise them (see :class:`StrokeMaps`).

    Coordinates are scaled per axis (a non-square region is squeezed like the photo crop); widths by the
    mean of the two scales, at least :data:`MIN_WIDTH` generator pixels. Sketch strokes keep a 1-pixel
    centre line of :data:`MIN_WIDTH` pixels (an edge is thin whatever the brush). Strokes outside the region
    are ignored.
    """
    x0, y0, x1, y1 = rect
    sx, sy = resolution / max(x1 - x0, 1), resolution / max(y1 - y0, 1)
    shape = (resolution, resolution)
    color_mask = np.zeros(shape, np.float32)
    color_target = np.zeros(shape + (3,), np.float32)
    sketch_mask = np.zeros(shape, np.float32)
    for stroke in strokes:
        pts = [((x - x0) * sx, (y - y0) * sy) for x, y in stroke.points]
        if stroke.kind == "color":
            cov = _stroke_coverage(pts, max(stroke.width * (sx + sy) / 2, MIN_WIDTH), shape)
            if cov is not None:
                color_target[cov > 0] = stroke.rgb
                np.maximum(color_mask, cov, out=color_mask)
        else:
            cov = _stroke_coverage(pts, MIN_WIDTH, shape)
            if cov is not None:
                sketch_mask[cov >= 0.25] = 1.0
    return StrokeMaps(color_mask, color_target, sketch_mask)


@dataclass
class ConstraintTensors:
    """:class:`StrokeMaps` as tensors on the model's device: masks ``(1, 1, R, R)``, colour ``(1, 3, R, R)`` in
    ``[-1, 1]``, and the masks' sums (for means)."""

    color_mask: torch.Tensor
    color_target: torch.Tensor
    sketch_mask: torch.Tensor

    @classmethod
    def from_maps(cls, maps: StrokeMaps, device: torch.device) -> "ConstraintTensors":
        return cls(torch.from_numpy(maps.color_mask)[None, None].to(device),
                   torch.from_numpy(maps.color_target).permute(2, 0, 1)[None].to(device) / 127.5 - 1.0,
                   torch.from_numpy(maps.sketch_mask)[None, None].to(device))


_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0


def edge_strength(images: torch.Tensor) -> torch.Tensor:
    """``float (K, 3, R, R)`` in [-1, 1] -> ``float (K, 1, R, R)`` in [0, 1): ``tanh(|Sobel(luma)| / EDGE_SCALE)``
    (replicate padding, so the border has no false edge)."""
    luma = sum(w * images[:, i:i + 1] for i, w in enumerate(LUMA_WEIGHTS))
    kernel = torch.stack([_SOBEL, _SOBEL.t()])[:, None].to(images)
    grad = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), kernel)
    return torch.tanh(torch.sqrt(grad.square().sum(dim=1, keepdim=True) + 1e-6) / EDGE_SCALE)


def color_loss(images: torch.Tensor, c: ConstraintTensors) -> torch.Tensor:
    """``(K,)``: mean squared error (per channel, [-1, 1] units) to the stroke colour under the colour mask
    (0 when there is no colour stroke). Pictures are clamped to [-1, 1] first, as they will be shown."""
    denom = c.color_mask.sum().clamp_min(1.0) * 3
    return ((images.clamp(-1, 1) - c.color_target).square() * c.color_mask).sum(dim=(1, 2, 3)) / denom


def sketch_loss(images: torch.Tensor, c: ConstraintTensors) -> torch.Tensor:
    """``(K,)``: mean of ``(1 - edge_strength)^2`` on the sketch strokes' centre lines (0 without sketch), on
    pictures clamped to [-1, 1] (an edge beyond the displayable range would not show)."""
    if not bool(c.sketch_mask.any()):
        return images.new_zeros(images.shape[0])
    miss = (1.0 - edge_strength(images.clamp(-1, 1))).square() * c.sketch_mask
    return miss.sum(dim=(1, 2, 3)) / c.sketch_mask.sum().clamp_min(1.0)


def color_error(image: np.ndarray, maps: StrokeMaps) -> float:
    """Mean absolute colour error (RGB 0..255, averaged over channels) of ``uint8 (R, R, 3)`` ``image``
    under the colour strokes, weighted by coverage; NaN without colour strokes."""
    w = maps.color_mask
    if not w.any():
        return float("nan")
    err = np.abs(image.astype(np.float32) - maps.color_target).mean(axis=2)
    return float((err * w).sum() / w.sum())


__all__ = ["ConstraintTensors", "EDGE_SCALE", "MIN_WIDTH", "StrokeMaps", "color_error", "color_loss",
           "edge_strength", "rasterize_strokes", "sketch_loss"]
