"""Lasso fill (Shift+L): drag an outline around something; on release the enclosed polygon is filled in the
target layer, as one undo step. GIMP's *Free Select* followed by a fill, in one gesture:

- Mask (Inpainting tab): the polygon becomes a hole (255), its edge anti-aliased (the mask's soft values
  are partial holes, as a soft brush's); holes already there are kept (the mask takes the maximum).
  Removing an object is one loop around it.
- Label map (Semantic tab): the pixels at least half inside the polygon take ``settings.label``.
- Photo: ``settings.color`` at ``settings.opacity``, with the anti-aliased edge.

The outline is closed by a straight line from the last pointer position back to the first. While it is
drawn nothing in the document changes (the canvas draws :attr:`LassoFillTool.outline`); Escape abandons it.
An outline enclosing less than one pixel (a click) changes nothing and records nothing.
"""

from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np

from ganpaint.tools.base import BrushStrokeTool, Tool
from ganpaint.tools.brushes import LabelBrushTool, MaskBrushTool, PaintBrushTool
from ganpaint.tools.raster import Rect

#: sub-pixel bits of the polygon's vertices in ``cv2.fillPoly``.
_SHIFT = 4
#: the edge's anti-aliasing samples 4 x 4 points per pixel ...
SUPERSAMPLE = 4
#: ... in boxes of up to this many pixels; larger ones are filled without anti-aliasing (bounded memory)
SUPERSAMPLE_MAX_PIXELS = 4_000_000
#: pointer moves shorter than this (image pixels) add no vertex.
MIN_STEP = 0.5


def polygon_coverage(points: list[tuple[float, float]], shape: tuple[int, int]) -> Optional[tuple[Rect, np.ndarray]]:
    """Anti-aliased coverage of a closed polygon, clipped to an image of ``shape`` = (H, W).

    Each pixel's coverage is the share of its 4 x 4 sample points inside the polygon (the polygon filled at
    4x resolution, then box-averaged), so an edge along a pixel boundary is sharp and one through pixel
    centres gives them half coverage, to within a quarter pixel. Bounding boxes over
    :data:`SUPERSAMPLE_MAX_PIXELS` pixels are filled at 1x (a pixel is in when its centre is).

    Args:
        points: vertices in image pixels (floats; pixel ``(i, j)`` spans ``[j, j + 1) x [i, i + 1)``), at
            least 3.
        shape: ``(H, W)`` of the image.

    Returns:
        ``(rect, coverage)``: ``coverage`` uint8 ``(y1 - y0, x1 - x0)`` in 0..255 (255 inside) over the
        polygon's bounding box ``rect`` (x0, y0, x1, y1, half-open) clipped to the image; None when the
        polygon has fewer than 3 vertices, encloses less than one square pixel or lies outside the image.
    """
    if len(points) < 3:
        return None
    pts = np.asarray(points, np.float64)
    if abs(cv2.contourArea(pts.astype(np.float32))) < 1.0:
        return None
    height, width = shape
    x0, y0 = max(int(math.floor(pts[:, 0].min())), 0), max(int(math.floor(pts[:, 1].min())), 0)
    x1, y1 = min(int(math.ceil(pts[:, 0].max())) + 1, width), min(int(math.ceil(pts[:, 1].max())) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    scale = SUPERSAMPLE if (x1 - x0) * (y1 - y0) <= SUPERSAMPLE_MAX_PIXELS else 1
    filled = np.zeros(((y1 - y0) * scale, (x1 - x0) * scale), np.uint8)
    # sample points (OpenCV's pixel centres, at integers) sit at (k + 0.5) / scale in image pixels
    local = np.rint(((pts - [x0, y0]) * scale - 0.5) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(filled, [local], 255, lineType=cv2.LINE_8, shift=_SHIFT)
    coverage = filled if scale == 1 else cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    if not coverage.any():
        return None
    return (x0, y0, x1, y1), coverage


class LassoFillTool(Tool):
    """Fills a freehand outline in the layer of ``settings.target`` (see the module docstring)."""

    name, title, shortcut, icon = "lasso", "Lasso fill", "Shift+L", "fa5s.draw-polygon"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self._points: list[tuple[float, float]] = []
        self._active = False
        #: the brush whose blend (coverage -> layer pixels) the fill uses, per target layer
        self._blends: dict[str, BrushStrokeTool] = {
            cls.layer: cls(settings) for cls in (PaintBrushTool, MaskBrushTool, LabelBrushTool)}

    @property
    def active(self) -> bool:
        """True between press and release."""
        return self._active

    @property
    def outline(self) -> Optional[list[tuple[float, float]]]:
        """The outline being drawn (image pixels, to be shown closed), or None when no drag is in progress."""
        return list(self._points) if self._active else None

    def _around(self, *points: tuple[float, float]) -> Rect:
        """The rectangle covering ``points`` with a 2 px margin: where the drawn outline changed."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return (int(math.floor(min(xs))) - 2, int(math.floor(min(ys))) - 2,
                int(math.ceil(max(xs))) + 3, int(math.ceil(max(ys))) + 3)

    def press(self, doc, x, y):
        self._points, self._active = [(float(x), float(y))], True
        return self._around((x, y))

    def move(self, doc, x, y):
        if not self._active:
            return None
        last = self._points[-1]
        if math.hypot(x - last[0], y - last[1]) < MIN_STEP:
            return None
        self._points.append((float(x), float(y)))
        # the new segment and the closing line, before and after
        return self._around(self._points[0], last, (x, y))

    def release(self, doc, x, y):
        if not self._active:
            return None
        self.move(doc, x, y)
        points, self._points, self._active = self._points, [], False
        outline = self._around(*points)
        found = polygon_coverage(points, doc.shape)
        if found is None:
            return outline  # erase the drawn outline; nothing was filled
        (x0, y0, x1, y1), coverage = found
        layer_name = self.target_layer()
        layer = getattr(doc, layer_name)
        doc.begin_edit(layer_name, f"Lasso fill {layer_name}")
        # blended as the layer's brush would paint that coverage (hole maximum, class where >= 0.5, colour at
        # the opacity)
        brush = self._blends[layer_name]
        layer[y0:y1, x0:x1] = brush.blend(layer[y0:y1, x0:x1], coverage.astype(np.float32) / 255.0)
        doc.end_edit()
        return (min(outline[0], x0), min(outline[1], y0), max(outline[2], x1), max(outline[3], y1))

    def cancel(self, doc):
        self._points, self._active = [], False
