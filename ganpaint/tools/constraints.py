"""iGAN's brushes and the region tool of the Manifold mode.

* :class:`ColorStrokeTool` (C) and :class:`SketchStrokeTool` (K) draw constraint strokes into the document's
  ``strokes`` vector layer (:class:`~ganpaint.document.vectors.SketchStroke` with ``kind`` ``"color"`` or
  ``"sketch"``): the GAN's latent code is then optimised so that its picture takes the stroke's colour, or
  has an edge along the sketch (Zhu et al., ECCV 2016). A stroke is one undo step; while it is drawn the
  layer is updated live without history; Escape restores it.
* :class:`RegionTool` (R) drags the square region of the photo that is projected onto the GAN's pictures;
  it is a selection, stored in ``doc.settings["region"]`` as ``[x0, y0, x1, y1]`` (image pixels,
  half-open), not an undo step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Optional

from ganpaint.document.vectors import SketchStroke
from ganpaint.tools.base import Tool
from ganpaint.tools.raster import Rect, union

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document

#: ``doc.settings`` key of the projected region.
REGION_KEY = "region"
#: smallest region side in image pixels (a shorter drag keeps the previous region).
MIN_REGION = 8


def _stroke_bounds(stroke: SketchStroke, width: int, height: int) -> Optional[Rect]:
    if not stroke.points:
        return None
    r = stroke.width / 2 + 2
    xs = [p[0] for p in stroke.points]
    ys = [p[1] for p in stroke.points]
    x0, y0 = max(0, int(math.floor(min(xs) - r))), max(0, int(math.floor(min(ys) - r)))
    x1, y1 = min(width, int(math.ceil(max(xs) + r)) + 1), min(height, int(math.ceil(max(ys) + r)) + 1)
    return (x0, y0, max(x0, x1), max(y0, y1))


class ConstraintStrokeTool(Tool):
    """Draws one :class:`SketchStroke` of :attr:`kind` along the pointer path, ``settings.size`` pixels wide
    (colour strokes in ``settings.color``, sketch strokes in black)."""

    kind: ClassVar[str] = "sketch"
    uses_size = True
    layer = "strokes"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self._before: Optional[list[SketchStroke]] = None
        self._points: list[tuple[float, float]] = []
        self._dirty: Optional[Rect] = None

    @property
    def active(self) -> bool:
        """True between press and release."""
        return self._before is not None

    def _stroke(self) -> SketchStroke:
        rgb = self.settings.color if self.kind == "color" else (0, 0, 0)
        return SketchStroke(self._points, rgb, max(1.0, float(self.settings.size)), kind=self.kind)

    def _show(self, doc: "Document") -> Optional[Rect]:
        stroke = self._stroke()
        doc.strokes = self._before + [stroke]  # live preview, not history
        rect = _stroke_bounds(stroke, doc.width, doc.height)
        self._dirty = union(self._dirty, rect)
        doc.mark_changed({"strokes"}, rect)
        return rect

    def press(self, doc, x, y):
        if not (0 <= x < doc.width and 0 <= y < doc.height):
            return None
        self._before = list(doc.strokes)
        self._points = [(float(x), float(y))]
        self._dirty = None
        return self._show(doc)

    def move(self, doc, x, y):
        if self._before is None:
            return None
        last = self._points[-1]
        if math.hypot(x - last[0], y - last[1]) < max(1.0, self.settings.size / 4):
            return None
        self._points.append((min(max(float(x), 0.0), doc.width - 1e-3), min(max(float(y), 0.0), doc.height - 1e-3)))
        return self._show(doc)

    def release(self, doc, x, y):
        if self._before is None:
            return None
        self.move(doc, x, y)
        before, stroke, dirty = self._before, self._stroke(), self._dirty
        self._before, self._dirty = None, None
        doc.strokes = before
        doc.set_strokes(before + [stroke], self.title)
        return dirty

    def cancel(self, doc):
        if self._before is not None:
            doc.strokes = self._before
            self._before = None
            doc.mark_changed({"strokes"}, self._dirty)
            self._dirty = None


class ColorStrokeTool(ConstraintStrokeTool):
    """iGAN's colour brush (C): the GAN's picture should take the stroke's colour under it."""

    name, title, shortcut, icon = "gan-color", "Colour brush (GAN)", "C", "fa5s.paint-roller"
    kind = "color"


class SketchStrokeTool(ConstraintStrokeTool):
    """iGAN's sketch brush (K): the GAN's picture should have an edge along the stroke."""

    name, title, shortcut, icon = "gan-sketch", "Sketch brush (GAN)", "K", "fa5s.pencil-alt"
    kind = "sketch"


def region_of(doc: "Document") -> Optional[Rect]:
    """The region stored by :class:`RegionTool` in ``doc.settings``, clipped to the picture, or None."""
    value = doc.settings.get(REGION_KEY)
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, int) for v in value)):
        return None
    x0, y0, x1, y1 = max(0, value[0]), max(0, value[1]), min(doc.width, value[2]), min(doc.height, value[3])
    return (x0, y0, x1, y1) if x1 - x0 >= MIN_REGION and y1 - y0 >= MIN_REGION else None


class RegionTool(Tool):
    """Drag the square region to project (R): a square from the press point towards the pointer."""

    name, title, shortcut, icon = "region", "Region (GAN)", "R", "fa5s.vector-square"
    layer = "region"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self._start: Optional[tuple[float, float]] = None
        self._before = None

    @property
    def active(self) -> bool:
        """True between press and release."""
        return self._start is not None

    def press(self, doc, x, y):
        self._start = (float(x), float(y))
        self._before = doc.settings.get(REGION_KEY)
        return None

    def move(self, doc, x, y):
        if self._start is None:
            return None
        sx, sy = self._start
        side = int(round(max(abs(x - sx), abs(y - sy))))
        side = min(side, doc.width, doc.height)
        if side < MIN_REGION:
            return None
        x0 = int(round(sx if x >= sx else sx - side))
        y0 = int(round(sy if y >= sy else sy - side))
        x0, y0 = min(max(x0, 0), doc.width - side), min(max(y0, 0), doc.height - side)
        doc.settings[REGION_KEY] = [x0, y0, x0 + side, y0 + side]
        doc.mark_changed({"region"}, None)
        return (0, 0, doc.width, doc.height)

    def release(self, doc, x, y):
        rect = self.move(doc, x, y)
        self._start = None
        doc.mark_changed({"region"}, None)  # the finished region (listeners may react to it now)
        return rect

    def cancel(self, doc):
        if self._start is not None:
            self._start = None
            if self._before is None:
                doc.settings.pop(REGION_KEY, None)
            else:
                doc.settings[REGION_KEY] = self._before
            doc.mark_changed({"region"}, None)
