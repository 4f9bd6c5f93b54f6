"""The window's centre: the canvas with scroll bars, and the notice bar floating over its top edge.

The notice bar is a child laid over the canvas (not a row above it), so showing or hiding a notice
never moves or resizes the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QGridLayout, QScrollBar, QWidget

from ganpaint.ui.canvas import CanvasView
from ganpaint.ui.panels import NoticeBar


class CanvasArea(QWidget):
    """:attr:`canvas` (a :class:`CanvasView`), horizontal and vertical scroll bars that follow its view,
    and :attr:`notice_bar` over the canvas' top edge.

    When the zoomed image is larger than the canvas, the scroll range is the image plus half a viewport
    of margin on each side (so any image point can be brought to the centre), widened to a view panned
    further (wheel, Space+drag); when it fits, a bar has nothing to scroll.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = CanvasView()
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.vbar = QScrollBar(Qt.Orientation.Vertical)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(self.canvas, 0, 0)
        grid.addWidget(self.vbar, 0, 1)
        grid.addWidget(self.hbar, 1, 0)
        self.notice_bar = NoticeBar(self)
        self.notice_bar.installEventFilter(self)
        self.canvas.installEventFilter(self)
        self._syncing = False
        self.canvas.view_changed.connect(self.sync_scrollbars)
        self.hbar.valueChanged.connect(lambda value: self._scrolled())
        self.vbar.valueChanged.connect(lambda value: self._scrolled())

    # ----------------------------------------------------------------- notice bar over the canvas
    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest, QEvent.Type.Move):
            self._place_notice()
        return False

    def _place_notice(self) -> None:
        bar, area = self.notice_bar, self.canvas.geometry()
        height = bar.heightForWidth(area.width()) if bar.hasHeightForWidth() else bar.sizeHint().height()
        bar.setGeometry(area.x(), area.y(), area.width(), max(height, bar.minimumSizeHint().height()))
        bar.raise_()

    # ----------------------------------------------------------------- scroll bars
    def _margins(self) -> tuple[float, float]:
        return self.canvas.width() / 2, self.canvas.height() / 2

    def sync_scrollbars(self) -> None:
        """Set the bars' ranges and positions from the canvas' zoom and offset (without panning it)."""
        doc = self.canvas._doc
        if doc is None:
            return
        mx, my = self._margins()
        self._syncing = True
        for bar, content, viewport, margin, offset in (
            (self.hbar, doc.width * self.canvas.zoom, self.canvas.width(), mx, self.canvas.offset.x()),
            (self.vbar, doc.height * self.canvas.zoom, self.canvas.height(), my, self.canvas.offset.y()),
        ):
            if content <= viewport:  # it all fits: nothing to scroll (the handle fills the bar)
                value = round(-offset)
                bar.setRange(value, value)
            else:
                value = round(margin - offset)
                top = round(content + 2 * margin - viewport)
                bar.setRange(min(0, value), max(top, value))
            bar.setPageStep(max(1, viewport))
            bar.setSingleStep(max(1, viewport // 20))
            bar.setValue(value)
        self._syncing = False

    def _scrolled(self) -> None:
        if self._syncing:
            return
        doc, canvas = self.canvas._doc, self.canvas
        if doc is None:
            return
        mx, my = self._margins()
        x = canvas.offset.x() if doc.width * canvas.zoom <= canvas.width() else mx - self.hbar.value()
        y = canvas.offset.y() if doc.height * canvas.zoom <= canvas.height() else my - self.vbar.value()
        self.canvas.set_offset(QPointF(x, y))
