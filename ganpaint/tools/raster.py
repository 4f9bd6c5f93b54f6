"""Round brush dabs rasterised with numpy: the pixel core of every painting tool.

A stroke is a polyline of pointer positions (image pixels, float). Dabs are stamped along it at a
spacing of a fraction of the brush size; each dab is a disc of diameter ``size`` whose coverage falls
off from 1 at the centre to 0 at the rim according to ``hardness``.
"""

from __future__ import annotations

import math

import numpy as np

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1), half-open, image pixels

#: dab spacing as a fraction of the brush diameter (Krita's default is 0.1-0.2).
SPACING = 0.15


def dab_coverage(cx: float, cy: float, size: float, hardness: float, shape: tuple[int, int]) -> tuple[Rect, np.ndarray] | None:
    """Coverage of one round dab, clipped to an image of ``shape`` = (H, W).

    Args:
        cx, cy: dab centre in image pixels (pixel centres are at integer + 0.5).
        size: diameter in pixels (>= 1).
        hardness: 1 = hard edge (one pixel of anti-aliasing), 0 = linear fall-off from the centre.

    Returns:
        ``(rect, coverage)`` with ``coverage`` float32 (y1-y0, x1-x0) in [0, 1], or None when the dab
        lies outside the image.
    """
    height, width = shape
    radius = max(size, 1.0) / 2.0
    x0, y0 = max(int(math.floor(cx - radius)), 0), max(int(math.floor(cy - radius)), 0)
    x1, y1 = min(int(math.ceil(cx + radius)) + 1, width), min(int(math.ceil(cy + radius)) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
    distance = np.sqrt(xs * xs + ys * ys)
    soft_width = max(radius * (1.0 - float(np.clip(hardness, 0.0, 1.0))), 1.0)
    coverage = np.clip((radius - distance) / soft_width, 0.0, 1.0).astype(np.float32)
    return (x0, y0, x1, y1), coverage


def dab_centres(start: tuple[float, float], end: tuple[float, float], size: float, carry: float = 0.0) -> tuple[list[tuple[float, float]], float]:
    """Dab centres from ``start`` (exclusive) to ``end`` (inclusive) at :data:`SPACING` x ``size``.

    ``carry`` is the distance already travelled since the last dab (returned updated), so that fast
    and slow pointer motion give the same dab density.
    """
    step = max(size * SPACING, 1.0)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    centres = []
    travelled = step - carry
    while travelled <= length:
        t = travelled / length if length else 1.0
        centres.append((start[0] + dx * t, start[1] + dy * t))
        travelled += step
    return centres, length - (travelled - step)


def union(a: Rect | None, b: Rect) -> Rect:
    """Smallest rectangle containing both (``a`` may be None)."""
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class StrokeCoverage:
    """Per-stroke coverage buffer: the maximum dab coverage each pixel received during one stroke.

    Taking the maximum (not the sum) means a stroke never builds up over itself, as in Krita's
    "wash" mode; the layer is re-blended from its pre-stroke pixels inside each touched rectangle.
    Only the stroke's bounding box is ever allocated as float32.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.rect: Rect | None = None
        self._buffer = np.zeros((0, 0), np.float32)

    def add_dab(self, cx: float, cy: float, size: float, hardness: float) -> Rect | None:
        """Stamp a dab; returns the rectangle it touched (or None if outside the image)."""
        dab = dab_coverage(cx, cy, size, hardness, self.shape)
        if dab is None:
            return None
        rect, coverage = dab
        self._grow(rect)
        bx0, by0 = self.rect[0], self.rect[1]
        view = self._buffer[rect[1] - by0 : rect[3] - by0, rect[0] - bx0 : rect[2] - bx0]
        np.maximum(view, coverage, out=view)
        return rect

    def coverage(self, rect: Rect) -> np.ndarray:
        """float32 coverage inside ``rect`` (which must lie inside :attr:`rect`)."""
        bx0, by0 = self.rect[0], self.rect[1]
        return self._buffer[rect[1] - by0 : rect[3] - by0, rect[0] - bx0 : rect[2] - bx0]

    def _grow(self, rect: Rect) -> None:
        new = union(self.rect, rect)
        if new == self.rect:
            return
        # grow with slack so a long stroke reallocates O(log n) times, not once per dab
        slack = max(64, (new[2] - new[0]) // 2, (new[3] - new[1]) // 2)
        height, width = self.shape
        new = (max(new[0] - slack, 0), max(new[1] - slack, 0), min(new[2] + slack, width), min(new[3] + slack, height))
        grown = np.zeros((new[3] - new[1], new[2] - new[0]), np.float32)
        if self.rect is not None:
            ox, oy = self.rect[0] - new[0], self.rect[1] - new[1]
            grown[oy : oy + self._buffer.shape[0], ox : ox + self._buffer.shape[1]] = self._buffer
        self._buffer, self.rect = grown, new
