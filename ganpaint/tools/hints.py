"""Colour-hint tool (H): drops, drags, recolours and erases the colorization hints of a document.

Hints are vector objects (:class:`~ganpaint.document.vectors.ColorHint` in ``Document.hints``): every finished
gesture is one undo step (``Document.set_hints``), saved with the project. While a gesture is in progress the
layer is updated live without history (``Document.mark_changed({"hints"})``), so the studio can recolour while a
hint is dragged; ``cancel`` (Escape) restores the layer.

Gestures (``mode == "paint"``):

* click on empty canvas: a point hint of radius ``settings.size / 2`` in ``settings.color``;
* drag from empty canvas: a stroke hint along the pointer path (points at least ``radius / 2`` apart);
* press on an existing hint: selects it; dragging moves it (a stroke moves as a whole).

``mode == "erase"``: a press removes the hint under the pointer. :meth:`recolor_selected` and
:meth:`erase_selected` act on the selected hint (the colour picker and the Delete key).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from ganpaint.document.vectors import ColorHint
from ganpaint.tools.base import Tool
from ganpaint.tools.raster import Rect

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document

#: pointer travel (image pixels) below which a press-release is a click, not a drag.
CLICK_SLOP = 3.0
#: extra distance (image pixels) around a hint that still picks it.
PICK_MARGIN = 4.0


def hint_bounds(hint: ColorHint, width: int, height: int, margin: float = 2.0) -> Rect:
    """The image rectangle a hint covers, grown by ``margin`` and clipped to the image (for repaints)."""
    xs = [p[0] for p in hint.path()]
    ys = [p[1] for p in hint.path()]
    r = hint.radius + margin
    x0, y0 = max(0, int(math.floor(min(xs) - r))), max(0, int(math.floor(min(ys) - r)))
    x1, y1 = min(width, int(math.ceil(max(xs) + r)) + 1), min(height, int(math.ceil(max(ys) + r)) + 1)
    return (x0, y0, max(x0, x1), max(y0, y1))


def _union(a: Optional[Rect], b: Optional[Rect]) -> Optional[Rect]:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class ColorHintTool(Tool):
    """See the module docstring. Pointer methods return the changed image rectangle (or None).

    Attributes:
        mode: ``"paint"`` (add / select / move) or ``"erase"``.
        selected: index in ``doc.hints`` of the selected hint, or None.
    """

    name, title, shortcut, icon = "hint", "Colour hint", "H", "fa5s.map-pin"
    uses_size = True
    layer = "hints"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.mode = "paint"
        self.selected: Optional[int] = None
        self._before: Optional[list[ColorHint]] = None
        self._action: Optional[str] = None  # "new" or "move"
        self._start = (0.0, 0.0)
        self._points: list[tuple[float, float]] = []
        self._moving: Optional[ColorHint] = None
        self._dirty: Optional[Rect] = None

    @property
    def radius(self) -> float:
        """Radius of new hints in image pixels: half the tool size."""
        return max(0.5, self.settings.size / 2.0)

    @property
    def active(self) -> bool:
        """True between press and release."""
        return self._before is not None

    def hint_at(self, doc: "Document", x: float, y: float) -> Optional[int]:
        """Index of the topmost hint whose disc or stroke (plus :data:`PICK_MARGIN`) contains ``(x, y)``, or None."""
        best, best_d = None, math.inf
        for i in range(len(doc.hints) - 1, -1, -1):
            hint = doc.hints[i]
            d = hint.distance_to(x, y)
            if d <= hint.radius + PICK_MARGIN and d < best_d:
                best, best_d = i, d
        return best

    # ----------------------------------------------------------------------------- pointer

    def press(self, doc, x, y):
        index = self.hint_at(doc, x, y)
        if self.mode == "erase":
            self.selected = None
            if index is None:
                return None
            hint = doc.hints[index]
            doc.set_hints([h for i, h in enumerate(doc.hints) if i != index], "Erase colour hint")
            return hint_bounds(hint, doc.width, doc.height)
        if not (0 <= x < doc.width and 0 <= y < doc.height) and index is None:
            return None
        self._before = list(doc.hints)
        self._start = (x, y)
        if index is not None:
            self._action, self.selected = "move", index
            self._moving = doc.hints[index]
            return None
        self._action, self.selected = "new", len(doc.hints)
        self._points = [(x, y)]
        return self._show(doc, ColorHint(x, y, self.settings.color, self.radius))

    def move(self, doc, x, y):
        if self._before is None:
            return None
        if self._action == "move":
            dx, dy = x - self._start[0], y - self._start[1]
            return self._show(doc, self._moving.moved(dx, dy))
        x, y = min(max(x, 0.0), doc.width - 1e-3), min(max(y, 0.0), doc.height - 1e-3)
        last = self._points[-1]
        if math.hypot(x - last[0], y - last[1]) >= max(1.0, self.radius / 2):
            self._points.append((x, y))
        if not self._is_drag(x, y):
            return None
        return self._show(doc, ColorHint(self._start[0], self._start[1], self.settings.color, self.radius,
                                         self._points if len(self._points) > 1 else ()))

    def release(self, doc, x, y):
        if self._before is None:
            return None
        dirty = self.move(doc, x, y)
        live = doc.hints[self.selected] if self.selected is not None and self.selected < len(doc.hints) else None
        before, action = self._before, self._action
        self._before = self._moving = None
        self._action = None
        doc.hints = before  # the live preview is not history: record one step from the state before the press
        if action == "new":
            hint = live if live is not None and self._is_drag(x, y) and live.is_stroke else \
                ColorHint(self._start[0], self._start[1], self.settings.color, self.radius)
            doc.set_hints(before + [hint], "Add colour hint")
        elif live is not None and self._is_drag(x, y):
            doc.set_hints([live if i == self.selected else h for i, h in enumerate(before)], "Move colour hint")
        else:
            doc.mark_changed({"hints"})  # a click on a hint only selects it
        return _union(dirty, self._dirty_and_reset())

    def cancel(self, doc):
        if self._before is not None:
            doc.hints = self._before
            self._before = self._moving = None
            self._action, self.selected = None, None
            doc.mark_changed({"hints"})

    # ----------------------------------------------------------------------------- actions

    def recolor_selected(self, doc: "Document", rgb) -> Optional[Rect]:
        """Give the selected hint colour ``rgb`` (one undo step); None when nothing is selected."""
        if self.selected is None or self.selected >= len(doc.hints) or self.active:
            return None
        hint = doc.hints[self.selected].recolored(rgb)
        doc.set_hints([hint if i == self.selected else h for i, h in enumerate(doc.hints)], "Recolour hint")
        return hint_bounds(hint, doc.width, doc.height)

    def erase_selected(self, doc: "Document") -> Optional[Rect]:
        """Remove the selected hint (one undo step); None when nothing is selected."""
        if self.selected is None or self.selected >= len(doc.hints) or self.active:
            return None
        hint = doc.hints[self.selected]
        doc.set_hints([h for i, h in enumerate(doc.hints) if i != self.selected], "Erase colour hint")
        self.selected = None
        return hint_bounds(hint, doc.width, doc.height)

    # ----------------------------------------------------------------------------- helpers

    def _is_drag(self, x: float, y: float) -> bool:
        return math.hypot(x - self._start[0], y - self._start[1]) > CLICK_SLOP

    def _show(self, doc, hint: ColorHint) -> Rect:
        """Live preview: the pre-press hints with ``hint`` at the selected index (no history)."""
        hints = list(self._before)
        old = hints[self.selected] if self.selected < len(hints) else None
        if self.selected < len(hints):
            hints[self.selected] = hint
        else:
            hints.append(hint)
        doc.hints = hints
        rect = _union(hint_bounds(hint, doc.width, doc.height),
                      None if old is None else hint_bounds(old, doc.width, doc.height))
        self._dirty = _union(self._dirty, rect)
        doc.mark_changed({"hints"}, rect)
        return rect

    def _dirty_and_reset(self) -> Optional[Rect]:
        dirty, self._dirty = self._dirty, None
        return dirty
