"""Tool base classes: a tool turns pointer events (image pixels) into document edits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ganpaint.tools.raster import Rect, StrokeCoverage, dab_centres, union

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document


@dataclass
class ToolSettings:
    """Settings shared by all tools (the tool-options bar edits them).

    Attributes:
        size: brush diameter in image pixels, 1..1000.
        hardness: brush edge hardness in [0, 1] (1 = hard edge).
        opacity: paint opacity in [0, 1] (paint brush only).
        color: paint colour, RGB 0..255.
        label: class id painted by the label brush and fill.
        tolerance: colour tolerance of the photo fill, 0..255 per channel.
        gap: line-art gaps (pixels) the photo fill closes before filling, 0 = none (see ``tools.fill``).
        target: layer the fill and eyedropper act on: ``"photo"``, ``"mask"`` or ``"labels"``.
    """

    size: float = 40.0
    hardness: float = 0.8
    opacity: float = 1.0
    color: tuple[int, int, int] = (200, 60, 40)
    label: int = 0
    tolerance: int = 24
    gap: int = 0
    target: str = "mask"

    MIN_SIZE: ClassVar[float] = 1.0
    MAX_SIZE: ClassVar[float] = 1000.0

    def resize(self, factor: float) -> None:
        """Grow or shrink the brush (``[`` and ``]``), clamped to [MIN_SIZE, MAX_SIZE]."""
        self.size = float(np.clip(round(self.size * factor), self.MIN_SIZE, self.MAX_SIZE))


class Tool:
    """A canvas tool. Subclasses set the class attributes and implement the pointer methods.

    Pointer methods take image coordinates in pixels (floats) and return the rectangle of the
    document that changed (x0, y0, x1, y1), or None.

    Class attributes:
        name: identifier (``"brush"``); title: menu text; shortcut: Krita/GIMP key; icon: qtawesome name.
        uses_size / uses_hardness / uses_opacity: which options the tool-options bar shows.
        layer: the document layer the tool edits (None when it follows ``settings.target``).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    shortcut: ClassVar[str] = ""
    icon: ClassVar[str] = "fa5s.question"
    uses_size: ClassVar[bool] = False
    uses_hardness: ClassVar[bool] = False
    uses_opacity: ClassVar[bool] = False
    layer: ClassVar[str | None] = None

    def __init__(self, settings: ToolSettings) -> None:
        self.settings = settings

    def target_layer(self) -> str:
        """The layer this tool edits now."""
        return self.layer or self.settings.target

    def press(self, doc: "Document", x: float, y: float) -> Rect | None:
        return None

    def move(self, doc: "Document", x: float, y: float) -> Rect | None:
        return None

    def release(self, doc: "Document", x: float, y: float) -> Rect | None:
        return None

    def cancel(self, doc: "Document") -> None:
        """Abandon a stroke in progress (Escape), restoring the layer."""


class BrushStrokeTool(Tool):
    """A tool that paints round dabs along the pointer path into one raster layer.

    The stroke's coverage (max of dab coverages) is blended with the layer's pre-stroke pixels by
    :meth:`blend`, so a stroke never builds up over itself. One stroke = one undo step.
    """

    uses_size = True
    uses_hardness = True

    def __init__(self, settings: ToolSettings) -> None:
        super().__init__(settings)
        self._coverage: StrokeCoverage | None = None
        self._base: np.ndarray | None = None
        self._last: tuple[float, float] = (0.0, 0.0)
        self._carry = 0.0

    @property
    def active(self) -> bool:
        """True between press and release."""
        return self._coverage is not None

    def blend(self, base: np.ndarray, coverage: np.ndarray) -> np.ndarray:
        """New layer pixels for ``base`` (a crop of the pre-stroke layer) under ``coverage`` float32 [0, 1]."""
        raise NotImplementedError

    def press(self, doc, x, y):
        layer = self.target_layer()
        doc.begin_edit(layer, self.title)
        self._base = doc.edit_snapshot  # the document's pre-stroke copy: no second copy of the layer
        self._coverage = StrokeCoverage(doc.shape)
        self._last, self._carry = (x, y), 0.0
        rect = self._coverage.add_dab(x, y, self.settings.size, self.settings.hardness)
        return self._apply(doc, rect)

    def move(self, doc, x, y):
        if self._coverage is None:
            return None
        centres, self._carry = dab_centres(self._last, (x, y), self.settings.size, self._carry)
        self._last = (x, y)
        dirty = None
        for cx, cy in centres:
            rect = self._coverage.add_dab(cx, cy, self.settings.size, self.settings.hardness)
            if rect is not None:
                dirty = union(dirty, rect)
        return self._apply(doc, dirty)

    def release(self, doc, x, y):
        if self._coverage is None:
            return None
        dirty = self.move(doc, x, y)
        self._coverage = self._base = None
        doc.end_edit()
        return dirty

    def cancel(self, doc):
        if self._coverage is not None:
            self._coverage = self._base = None
            doc.cancel_edit()

    def _apply(self, doc, rect: Rect | None) -> Rect | None:
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        layer = getattr(doc, self.target_layer())
        layer[y0:y1, x0:x1] = self.blend(self._base[y0:y1, x0:x1], self._coverage.coverage(rect))
        doc.mark_changed()
        return rect
