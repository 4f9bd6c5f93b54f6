"""The Navigator dock: a thumbnail of the picture with the canvas' viewport drawn on it; a click or a
drag centres the canvas on that point."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

THUMB_MAX = 256
"""Longest side of the thumbnail kept in memory, in pixels."""
REFRESH_MS = 250
"""The thumbnail is redrawn at most this often while the picture changes (a stroke)."""


class NavigatorView(QWidget):
    """Follows a :class:`~ganpaint.ui.canvas.CanvasView`: its display (photo, layers, result and overlays)
    scaled to fit, with the visible part outlined."""

    def __init__(self, canvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setMinimumSize(120, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to move the view")
        self._image: QImage | None = None
        self._shown_doc = None  # the document the thumbnail shows
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.update_thumbnail)
        canvas.refreshed.connect(self._timer.start)
        canvas.view_changed.connect(self.update)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(220, 150)

    def update_thumbnail(self) -> None:
        """Rebuild the thumbnail from the canvas' display buffer."""
        display = self.canvas._display
        h, w = display.shape[:2]
        step = max(1, int(np.ceil(max(h, w) / THUMB_MAX)))
        small = np.ascontiguousarray(display[::step, ::step])
        self._image = QImage(small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_RGB888).copy()
        self._shown_doc = self.canvas._doc
        self.update()

    def _target(self) -> QRectF | None:
        """Where the thumbnail is drawn (aspect kept, centred), or None without a document."""
        doc = self.canvas._doc
        if doc is None:
            return None
        scale = min((self.width() - 8) / doc.width, (self.height() - 8) / doc.height)
        w, h = doc.width * scale, doc.height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(48, 48, 52))
        target, doc = self._target(), self.canvas._doc
        if target is None:
            return
        if self._image is None or self._image.isNull() or self._shown_doc is not doc:
            self.update_thumbnail()  # a new document: no stale thumbnail, not even for 250 ms
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        view = self.canvas.visible_rect()
        scale = target.width() / doc.width
        box = QRectF(target.left() + view.left() * scale, target.top() + view.top() * scale,
                     view.width() * scale, view.height() * scale).intersected(target.adjusted(-1, -1, 1, 1))
        painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
        painter.drawRect(box)
        painter.setPen(QPen(QColor(255, 80, 80), 1))
        painter.drawRect(box)

    def _center_at(self, pos: QPointF) -> None:
        target, doc = self._target(), self.canvas._doc
        if target is None:
            return
        scale = target.width() / doc.width
        x = min(max((pos.x() - target.left()) / scale, 0.0), doc.width)
        y = min(max((pos.y() - target.top()) / scale, 0.0), doc.height)
        self.canvas.center_on(x, y)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._center_at(event.position())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._center_at(event.position())
