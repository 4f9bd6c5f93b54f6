"""Gamut-aware colour picker for colorization hints (as ideepcolor's, Zhang et al. SIGGRAPH 2017).

:class:`ColorPicker` shows:

* the **ab gamut at a lightness L** (:class:`GamutView`): every (a, b) that, with that L, is a displayable sRGB
  colour; a photo hint can only change a pixel's ab, so the picker shows what is reachable at the lightness of
  the pixel under the hint (``set_lightness``). A press outside the gamut picks the nearest reachable colour of
  the same hue (towards grey). Line art has no fixed lightness: ``set_lightness_editable(True)`` shows a slider;
* the **suggested colours** of the colour-distribution head at the hint (``set_suggestions``, up to 9, most
  probable first, also drawn as dots on the gamut);
* **recently used colours** (every pick, most recent first, no repeats, at most :data:`RECENT_MAX`);
* a **palette**, which the Colorize mode can also send as a global hint ("Use palette as global hint").

Signals: ``colorPicked(tuple)`` with ``(r, g, b)`` ints whenever the user picks a colour anywhere in the widget;
``globalPaletteChanged(list)`` with the palette colours when the global-hint box is ticked (and again when the
palette changes while it is ticked), an empty list when it is unticked.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout,
                               QWidget)

from ganpaint.lab import in_gamut, lab_to_rgb, rgb8_to_lab

#: the ab range shown (Lab units, both axes); the SIGGRAPH17 networks' range.
AB_RANGE = 110.0
RECENT_MAX = 10
#: default palette: saturated and earthy colours common in colorization.
DEFAULT_PALETTE: tuple[tuple[int, int, int], ...] = (
    (200, 40, 40), (230, 120, 30), (240, 200, 40), (120, 180, 60), (40, 130, 60), (40, 160, 170),
    (40, 90, 190), (110, 60, 170), (210, 90, 150), (150, 100, 60), (230, 190, 160), (90, 120, 150),
)
_BACKGROUND = (64, 64, 64)


def gamut_image(lightness: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ab plane at ``lightness``: ``(rgb uint8 (size, size, 3), inside bool (size, size))``.

    Column ``x`` is ``a = -110 + 220 (x + 0.5) / size``, row ``y`` is ``b = 110 - 220 (y + 0.5) / size`` (b up);
    pixels outside the sRGB gamut are dark grey.
    """
    a, b = _ab_grid(size)
    lab = np.stack([np.full_like(a, float(lightness)), a, b], axis=-1)
    inside = in_gamut(lab)
    rgb = (lab_to_rgb(lab) * 255.0 + 0.5).astype(np.uint8)
    rgb[~inside] = _BACKGROUND
    return rgb, inside


def _ab_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    centres = (np.arange(size) + 0.5) / size * 2 * AB_RANGE - AB_RANGE
    return np.meshgrid(centres, -centres)


def nearest_in_gamut(lightness: float, a: float, b: float, steps: int = 20) -> tuple[float, float]:
    """``(a, b)`` if it is displayable at ``lightness``, else the most saturated displayable colour of the same
    hue (bisection along the line to grey, which is always inside for L in [0, 100])."""
    if in_gamut(np.array([lightness, a, b])):
        return a, b
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        if in_gamut(np.array([lightness, a * mid, b * mid])):
            lo = mid
        else:
            hi = mid
    return a * lo, b * lo


def lab_to_rgb_tuple(lightness: float, a: float, b: float) -> tuple[int, int, int]:
    """One Lab colour as ``(r, g, b)`` ints 0..255 (clipped to sRGB)."""
    rgb = lab_to_rgb(np.array([[lightness, a, b]], np.float64))[0]
    return tuple(int(v) for v in np.clip(np.round(rgb * 255.0), 0, 255))  # type: ignore[return-value]


class GamutView(QWidget):
    """The ab plane at one lightness; a press or drag inside picks ``(r, g, b)`` (signal ``picked``)."""

    picked = Signal(tuple)

    def __init__(self, size: int = 176, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setFixedSize(size, size)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Colours reachable at this lightness (a: green to red, b: blue to yellow)")
        self._size = size
        self._lightness = 50.0
        self._marker: Optional[tuple[float, float]] = None
        self._dots: list[tuple[float, float, tuple[int, int, int]]] = []
        self._rgb, self.inside = gamut_image(self._lightness, size)
        self._image = self._qimage()

    @property
    def lightness(self) -> float:
        return self._lightness

    def set_lightness(self, lightness: float) -> None:
        """Show the gamut at ``lightness`` (L, clamped to [0, 100])."""
        lightness = float(np.clip(lightness, 0.0, 100.0))
        if lightness != self._lightness:
            self._lightness = lightness
            self._rgb, self.inside = gamut_image(lightness, self._size)
            self._image = self._qimage()
            self.update()

    def set_marker(self, ab: Optional[tuple[float, float]]) -> None:
        """Mark the current colour's ``(a, b)`` (None: no marker)."""
        self._marker = ab
        self.update()

    def set_dots(self, dots: Iterable[tuple[float, float, tuple[int, int, int]]]) -> None:
        """Suggested colours drawn as small dots: ``(a, b, rgb)``."""
        self._dots = list(dots)
        self.update()

    def ab_at(self, x: float, y: float) -> tuple[float, float]:
        """The ``(a, b)`` under widget pixel ``(x, y)``."""
        scale = 2 * AB_RANGE / self._size
        return (-AB_RANGE + (x + 0.5) * scale, AB_RANGE - (y + 0.5) * scale)

    def point_of(self, a: float, b: float) -> QPointF:
        """The widget point of ``(a, b)``."""
        scale = self._size / (2 * AB_RANGE)
        return QPointF((a + AB_RANGE) * scale, (AB_RANGE - b) * scale)

    def _qimage(self) -> QImage:
        rgb = np.ascontiguousarray(self._rgb)
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
        return image.copy()  # own the pixels

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.drawImage(0, 0, self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for a, b, rgb in self._dots:
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QColor(*rgb))
            painter.drawEllipse(self.point_of(a, b), 4, 4)
        if self._marker is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            centre = self.point_of(*self._marker)
            painter.setPen(QPen(QColor(0, 0, 0), 3))
            painter.drawEllipse(centre, 6, 6)
            painter.setPen(QPen(QColor(255, 255, 255), 1))
            painter.drawEllipse(centre, 6, 6)
        painter.end()

    def _pick(self, event: QMouseEvent) -> None:
        a, b = self.ab_at(event.position().x(), event.position().y())
        a, b = nearest_in_gamut(self._lightness, a, b)
        self.set_marker((a, b))
        self.picked.emit(lab_to_rgb_tuple(self._lightness, a, b))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._pick(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self._size, self._size)


class _SwatchRow(QWidget):
    """A row of colour buttons; clicking one emits ``picked((r, g, b))``."""

    picked = Signal(tuple)

    def __init__(self, columns: int, tooltip: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._columns = columns
        self._tooltip = tooltip
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self.colors: list[tuple[int, int, int]] = []

    def set_colors(self, colors: Sequence[tuple[int, int, int]], tips: Optional[Sequence[str]] = None) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons, self.colors = [], [tuple(int(c) for c in rgb) for rgb in colors]  # type: ignore[misc]
        for i, rgb in enumerate(self.colors):
            button = QToolButton(self)
            button.setFixedSize(18, 18)
            button.setStyleSheet(f"QToolButton {{ background-color: rgb{rgb}; border: 1px solid #222; }}")
            tip = tips[i] if tips is not None else ""
            button.setToolTip(f"{self._tooltip}: #{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}{(' ' + tip) if tip else ''}")
            button.clicked.connect(lambda _=False, c=rgb: self.picked.emit(c))
            self._layout.addWidget(button, i // self._columns, i % self._columns)
            self.buttons.append(button)


class ColorPicker(QWidget):
    """See the module docstring."""

    colorPicked = Signal(tuple)
    globalPaletteChanged = Signal(list)

    def __init__(self, parent: Optional[QWidget] = None, palette: Sequence[tuple[int, int, int]] = DEFAULT_PALETTE) -> None:
        super().__init__(parent)
        self._color: tuple[int, int, int] = (128, 128, 128)
        self._recent: list[tuple[int, int, int]] = []
        self.gamut = GamutView()
        self.lightness_slider = QSlider(Qt.Orientation.Horizontal)
        self.lightness_slider.setRange(0, 100)
        self.lightness_slider.setValue(50)
        self.lightness_slider.setToolTip("Lightness L of the colour (line art: the fill's lightness is free)")
        self.lightness_slider.setVisible(False)
        self.lightness_label = QLabel()
        self.current = QLabel()
        self.current.setFixedSize(36, 18)
        self.suggestions = _SwatchRow(9, "Suggested colour")
        self.recent = _SwatchRow(RECENT_MAX, "Recently used")
        self.palette_row = _SwatchRow(6, "Palette")
        self.global_check = QCheckBox("Use palette as global hint")
        self.global_check.setToolTip("Ask the network to use the palette's colours over the whole picture")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.current)
        top.addWidget(self.lightness_label, 1)
        layout.addLayout(top)
        layout.addWidget(self.gamut, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.lightness_slider)
        for title, row in (("Suggested", self.suggestions), ("Recent", self.recent), ("Palette", self.palette_row)):
            layout.addWidget(QLabel(title))
            layout.addWidget(row)
        layout.addWidget(self.global_check)
        layout.addStretch(1)

        self.gamut.picked.connect(self._picked)
        for row in (self.suggestions, self.recent, self.palette_row):
            row.picked.connect(self._picked)
        self.lightness_slider.valueChanged.connect(lambda v: self.set_lightness(float(v)))
        self.global_check.toggled.connect(lambda _: self._emit_global())
        self.set_palette(palette)
        self._show_current()

    # ----------------------------------------------------------------------------- state

    def color(self) -> tuple[int, int, int]:
        """The current colour ``(r, g, b)``."""
        return self._color

    def lightness(self) -> float:
        """The lightness L the gamut shows."""
        return self.gamut.lightness

    def recent_colors(self) -> list[tuple[int, int, int]]:
        """Recently picked colours, most recent first."""
        return list(self._recent)

    def palette(self) -> list[tuple[int, int, int]]:
        return list(self.palette_row.colors)

    def set_lightness(self, lightness: float) -> None:
        """Show the gamut at ``lightness`` (e.g. the L of the photo pixel under the selected hint)."""
        self.gamut.set_lightness(lightness)
        if self.lightness_slider.value() != round(self.gamut.lightness):
            self.lightness_slider.blockSignals(True)
            self.lightness_slider.setValue(round(self.gamut.lightness))
            self.lightness_slider.blockSignals(False)
        self._show_current()

    def set_lightness_editable(self, editable: bool) -> None:
        """Line art: let the user choose L with a slider (photos: L is the pixel's own)."""
        self.lightness_slider.setVisible(editable)

    def set_color(self, rgb: Sequence[int]) -> None:
        """Make ``rgb`` the current colour (marker on the gamut) without emitting ``colorPicked``."""
        self._color = tuple(int(c) for c in rgb)  # type: ignore[assignment]
        self._show_current()

    def set_suggestions(self, suggestions: Any) -> None:
        """Show the distribution head's suggestions: a :class:`~ganpaint.engines.colorize.ColorSuggestions`, a
        list of ``(r, g, b)``, or None to clear them. Their dots are drawn on the gamut."""
        if suggestions is None:
            self.suggestions.set_colors([])
            self.gamut.set_dots([])
            return
        if hasattr(suggestions, "rgb"):
            colors = list(suggestions.rgb)
            tips = [f"({w:.0%})" for w in suggestions.weights]
            abs_ = list(suggestions.ab)
        else:
            colors, tips = [tuple(c) for c in suggestions], None
            abs_ = [tuple(rgb8_to_lab(np.array([c], np.uint8))[0, 1:]) for c in colors]
        self.suggestions.set_colors(colors[:9], tips[:9] if tips else None)
        self.gamut.set_dots([(a, b, c) for (a, b), c in zip(abs_[:9], colors[:9])])

    def add_recent(self, rgb: Sequence[int]) -> None:
        """Put ``rgb`` first in the recent colours (no repeats, at most :data:`RECENT_MAX`)."""
        rgb = tuple(int(c) for c in rgb)
        self._recent = ([rgb] + [c for c in self._recent if c != rgb])[:RECENT_MAX]  # type: ignore[list-item]
        self.recent.set_colors(self._recent)

    def set_palette(self, colors: Sequence[Sequence[int]]) -> None:
        """Replace the palette (and re-send it as the global hint when that box is ticked)."""
        self.palette_row.set_colors([tuple(int(c) for c in rgb) for rgb in colors])  # type: ignore[misc]
        self._emit_global()

    # ----------------------------------------------------------------------------- internals

    def _picked(self, rgb: tuple) -> None:
        self._color = tuple(int(c) for c in rgb)  # type: ignore[assignment]
        self.add_recent(self._color)
        self._show_current()
        self.colorPicked.emit(self._color)

    def _emit_global(self) -> None:
        self.globalPaletteChanged.emit(self.palette() if self.global_check.isChecked() else [])

    def _show_current(self) -> None:
        r, g, b = self._color
        self.current.setStyleSheet(f"background-color: rgb({r}, {g}, {b}); border: 1px solid #222;")
        lab = rgb8_to_lab(np.array([self._color], np.uint8))[0]
        self.gamut.set_marker((float(lab[1]), float(lab[2])))
        self.lightness_label.setText(f"L {self.gamut.lightness:.0f}   a {lab[1]:.0f}   b {lab[2]:.0f}")
