"""The canvas: shows the document (photo or result plus overlays), zooms, pans, and forwards pointer
events in image coordinates to the active tool.

Zoom: Ctrl+wheel (around the pointer), ``fit_to_window`` (which stays in force, re-fitting on every
resize, until the user zooms or pans), ``actual_size`` (100 %).
Pan: Space+drag (the main window forwards Space from anywhere, see :meth:`CanvasView.set_space_down`),
middle-button drag, the plain wheel (Shift+wheel pans sideways), the scroll bars and the navigator.
Compare: ``set_split(fraction)`` shows the original photo ("before") left of a draggable divider and
the composite with the live result ("after") right of it; ``set_show_before(True)`` shows the photo alone.
Busy: ``set_busy(text)`` draws a spinner with ``text`` over the picture while its first result is pending.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from ganpaint.tools.raster import Rect
from ganpaint.ui.composite import OverlayState, compose

ZOOM_MIN, ZOOM_MAX = 0.02, 32.0
SPLIT_GRAB_PX = 8
SPINNER_MS = 80
"""Spinner animation step in milliseconds."""

#: pointer gestures of the canvas that are not menu actions: (keys, what they do), for Help > Keyboard shortcuts.
GESTURES = (
    ("Space+drag, middle drag", "pan"),
    ("Wheel / Shift+wheel", "scroll up and down / sideways"),
    ("Ctrl+wheel", "zoom at the pointer"),
    ("Drag the split divider", "move the before/after split"),
)


def _qimage(array: np.ndarray) -> QImage:
    """A QImage viewing an RGB uint8 (H, W, 3) C-contiguous array (no copy; keep the array alive)."""
    height, width = array.shape[:2]
    return QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888)


class CanvasView(QWidget):
    """Widget that renders a document and turns pointer input into tool events.

    Signals carry image coordinates in pixels (float): ``stroke_pressed/moved/released(x, y)``;
    ``cursor_moved(x, y)`` on every hover; ``zoom_changed(zoom)`` with 1.0 = 100 %; ``view_changed()``
    after any change of zoom, offset or widget size (scroll bars and navigator follow it);
    ``refreshed()`` after the picture was recomposed.
    """

    stroke_pressed = Signal(float, float)
    stroke_moved = Signal(float, float)
    stroke_released = Signal(float, float)
    cursor_moved = Signal(float, float)
    zoom_changed = Signal(float)
    view_changed = Signal()
    refreshed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(320, 240)
        self.overlay = OverlayState()
        self.brush_size = 40.0  # image pixels; 0 hides the brush outline
        self.zoom = 1.0
        self.offset = QPointF(0.0, 0.0)
        self._doc = None
        self._labels_rgb_lut: np.ndarray | None = None
        self._display = np.zeros((1, 1, 3), np.uint8)
        self._display_image = _qimage(self._display)
        self._photo_image: QImage | None = None
        self._before_array: np.ndarray | None = None  # keeps the "before" picture's pixels alive
        # callable(doc, y0, y1, x0, x1) -> RGB crop shown as "before"; None: the photo itself
        self.before_source = None
        self._split: float | None = None
        self._show_before = False
        self._space_down = False
        self._pan_anchor: QPointF | None = None
        self._dragging_split = False
        self._stroking = False
        self._hover: QPointF | None = None
        self.fit_mode = True  # re-fit on resize until the user zooms or pans
        self.busy_text: str | None = None
        #: vector layers drawn over the picture (``"hints"``, ``"strokes"``), set by the active mode
        self.vector_layers: frozenset[str] = frozenset()
        self.show_vectors = True  # toggled with Shift+H
        #: callable(doc) -> (x0, y0, x1, y1) or None: a rectangle outlined over the picture (the active mode's)
        self.frame_source = None
        #: callable() -> list of (x, y) image points or None: an outline being drawn (the lasso's), shown closed
        self.outline_source = None
        self._spin_angle = 0
        self._spin_timer = QTimer(self)
        self._spin_timer.setInterval(SPINNER_MS)
        self._spin_timer.timeout.connect(self._spin)

    # ----------------------------------------------------------------- document
    def set_document(self, doc, label_lut: np.ndarray | None = None) -> None:
        """Show ``doc``; ``label_lut`` uint8 (256, 3) colours the label map overlay."""
        self._doc = doc
        self._labels_rgb_lut = label_lut
        self._display = np.zeros((doc.height, doc.width, 3), np.uint8)
        self._display_image = _qimage(self._display)
        self.refresh()
        self.fit_to_window()

    def set_label_lut(self, lut: np.ndarray | None) -> None:
        self._labels_rgb_lut = lut
        self.refresh()

    def picture(self) -> np.ndarray:
        """The RGB picture under the overlays: the live result when shown and present, else the
        composite (photo and visible edit layers)."""
        doc = self._doc
        if self.overlay.show_result and doc.result is not None:
            return doc.result
        return doc.composite()

    def refresh(self, rect: Rect | None = None) -> None:
        """Recompose the display buffer inside ``rect`` (image pixels; None = everything) and repaint."""
        doc = self._doc
        if doc is None:
            return
        if doc.photo.shape[:2] != self._display.shape[:2]:
            self._display = np.zeros((doc.height, doc.width, 3), np.uint8)
            self._display_image = _qimage(self._display)
        x0, y0, x1, y1 = rect if rect is not None else (0, 0, doc.width, doc.height)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, doc.width), min(y1, doc.height)
        if x0 < x1 and y0 < y1:
            # one pixel of context so the hole outline is right at the rectangle's border
            cx0, cy0, cx1, cy1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, doc.width), min(y1 + 1, doc.height)
            labels = None
            if self._labels_rgb_lut is not None and self.overlay.labels_opacity > 0:
                labels = self._labels_rgb_lut[doc.labels[cy0:cy1, cx0:cx1]]
            composed = compose(self.picture()[cy0:cy1, cx0:cx1], doc.mask[cy0:cy1, cx0:cx1], labels, self.overlay)
            self._display[y0:y1, x0:x1] = composed[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        self._refresh_before(doc, rect)
        if rect is None:
            self.update()
        else:
            self.update(self._widget_rect(rect).adjusted(-2, -2, 2, 2))
        self.refreshed.emit()

    def _refresh_before(self, doc, rect: Rect | None) -> None:
        """Keep the "before" picture current: the photo (wrapped, not copied) or, with
        :attr:`before_source`, a buffer updated only inside ``rect``."""
        if self.before_source is None:
            before = doc.photo if doc.photo.flags.c_contiguous else np.ascontiguousarray(doc.photo)
        else:
            before = self._before_array
            if rect is None or before is None or before.shape != doc.photo.shape or before is doc.photo:
                before = np.ascontiguousarray(self.before_source(doc, 0, doc.height, 0, doc.width))
            else:
                x0, y0 = max(rect[0], 0), max(rect[1], 0)
                x1, y1 = min(rect[2], doc.width), min(rect[3], doc.height)
                if x0 < x1 and y0 < y1:
                    before[y0:y1, x0:x1] = self.before_source(doc, y0, y1, x0, x1)
        if before is not self._before_array or self._photo_image is None:
            self._before_array = before
            self._photo_image = _qimage(before)

    # ----------------------------------------------------------------- view transform
    def image_to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.zoom + self.offset.x(), y * self.zoom + self.offset.y())

    def widget_to_image(self, point: QPointF) -> tuple[float, float]:
        return ((point.x() - self.offset.x()) / self.zoom, (point.y() - self.offset.y()) / self.zoom)

    def _widget_rect(self, rect: Rect) -> QRect:
        top_left = self.image_to_widget(rect[0], rect[1])
        bottom_right = self.image_to_widget(rect[2], rect[3])
        return QRectF(top_left, bottom_right).toAlignedRect()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %) keeping the image point under ``anchor`` (widget px) fixed; ends
        the "fit" mode."""
        zoom = float(np.clip(zoom, ZOOM_MIN, ZOOM_MAX))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        ix, iy = self.widget_to_image(anchor)
        self.zoom = zoom
        self.fit_mode = False
        self.offset = QPointF(anchor.x() - ix * zoom, anchor.y() - iy * zoom)
        self.zoom_changed.emit(self.zoom)
        self._view_moved()

    def set_offset(self, offset: QPointF) -> None:
        """Pan: put the image's top-left corner at ``offset`` (widget px); ends the "fit" mode."""
        self.offset = QPointF(offset)
        self.fit_mode = False
        self._view_moved()

    def center_on(self, x: float, y: float) -> None:
        """Pan so image point ``(x, y)`` (pixels) is at the widget's centre (the navigator's click)."""
        self.set_offset(QPointF(self.width() / 2 - x * self.zoom, self.height() / 2 - y * self.zoom))

    def visible_rect(self) -> QRectF:
        """The part of the image (in image pixels, possibly beyond its edges) the widget shows."""
        x0, y0 = self.widget_to_image(QPointF(0, 0))
        x1, y1 = self.widget_to_image(QPointF(self.width(), self.height()))
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def _view_moved(self) -> None:
        self.update()
        self.view_changed.emit()

    def fit_to_window(self) -> None:
        """Zoom so the whole image fits, centred; the view keeps fitting on every resize until the user
        zooms or pans."""
        self.fit_mode = True
        if self._doc is None:
            return
        zoom = min((self.width() - 20) / self._doc.width, (self.height() - 20) / self._doc.height)
        self.zoom = float(np.clip(zoom, ZOOM_MIN, ZOOM_MAX))
        self.offset = QPointF((self.width() - self._doc.width * self.zoom) / 2, (self.height() - self._doc.height * self.zoom) / 2)
        self.zoom_changed.emit(self.zoom)
        self._view_moved()

    def actual_size(self) -> None:
        """100 % zoom around the widget centre."""
        self.set_zoom(1.0)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    # ----------------------------------------------------------------- busy spinner
    def set_busy(self, text: str | None) -> None:
        """Show a spinner with ``text`` over the picture (None hides it)."""
        if text == self.busy_text:
            return
        self.busy_text = text
        if text is None:
            self._spin_timer.stop()
        elif not self._spin_timer.isActive():
            self._spin_timer.start()
        self.update()

    def _spin(self) -> None:
        self._spin_angle = (self._spin_angle + 30) % 360
        self.update(self._busy_rect().toAlignedRect().adjusted(-2, -2, 2, 2))

    def _busy_rect(self) -> QRectF:
        return QRectF(self.width() / 2 - 170, self.height() / 2 - 34, 340, 68)

    def _paint_busy(self, painter: QPainter) -> None:
        box = self._busy_rect()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 24, 200))
        painter.drawRoundedRect(box, 10, 10)
        ring = QRectF(box.left() + 18, box.center().y() - 14, 28, 28)
        painter.setPen(QPen(QColor(255, 255, 255, 60), 4))
        painter.drawEllipse(ring)
        painter.setPen(QPen(QColor(110, 180, 255), 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawArc(ring, -self._spin_angle * 16, 100 * 16)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box.adjusted(60, 0, -10, 0), Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, self.busy_text)
        painter.restore()

    # ----------------------------------------------------------------- compare
    def set_split(self, fraction: float | None) -> None:
        """Split view: photo left of ``fraction`` x width, result right; None turns it off."""
        self._split = None if fraction is None else float(np.clip(fraction, 0.0, 1.0))
        self.update()

    @property
    def split(self) -> float | None:
        return self._split

    def set_show_before(self, before: bool) -> None:
        """Show the unedited photo instead of the composed view (before/after toggle)."""
        self._show_before = before
        self.update()

    @property
    def showing_before(self) -> bool:
        return self._show_before

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(48, 48, 52))
        if self._doc is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a photo (Ctrl+O) or start a new canvas (Ctrl+N)")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0)
        target = QRectF(self.offset.x(), self.offset.y(), self._doc.width * self.zoom, self._doc.height * self.zoom)
        after = self._photo_image if (self._show_before and self._photo_image is not None) else self._display_image
        painter.drawImage(target, after)
        if self._split is not None and self._photo_image is not None:
            split_x = self.width() * self._split
            painter.save()
            painter.setClipRect(QRectF(0, 0, split_x, self.height()))
            painter.drawImage(target, self._photo_image)
            painter.restore()
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(QPointF(split_x, 0), QPointF(split_x, self.height()))
            painter.drawText(QPointF(split_x - 60, 20), "before")
            painter.drawText(QPointF(split_x + 10, 20), "after")
        if self.show_vectors and self.vector_layers:
            self._paint_vectors(painter)
        frame = self.frame_source(self._doc) if self.frame_source is not None else None
        if frame is not None:
            self._paint_frame(painter, frame)
        outline = self.outline_source() if self.outline_source is not None else None
        if outline:
            self._paint_outline(painter, outline)
        if self.busy_text is not None:
            self._paint_busy(painter)
        if self._hover is not None and self.brush_size > 0 and not self._space_down:
            radius = self.brush_size * self.zoom / 2
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
            painter.drawEllipse(self._hover, radius, radius)
            painter.setPen(QPen(QColor(255, 255, 255, 230), 1))
            painter.drawEllipse(self._hover, radius, radius)

    def _paint_frame(self, painter: QPainter, frame) -> None:
        """A dashed rectangle around image rectangle ``frame`` (:meth:`_paint_dashed`)."""
        x0, y0, x1, y1 = frame
        rect = QRectF(self.image_to_widget(x0, y0), self.image_to_widget(x1, y1))
        self._paint_dashed(painter, lambda: painter.drawRect(rect))

    def _paint_outline(self, painter: QPainter, points) -> None:
        """A closed dashed outline through image points ``points`` (the lasso's, :meth:`_paint_dashed`)."""
        polygon = QPolygonF([self.image_to_widget(x, y) for x, y in points])
        self._paint_dashed(painter, lambda: painter.drawPolygon(polygon), antialias=True)

    @staticmethod
    def _paint_dashed(painter: QPainter, draw, antialias: bool = False) -> None:
        """Call ``draw()`` twice, unfilled: a 3 px dark line under a dashed white one, visible on any picture."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, antialias)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
        draw()
        pen = QPen(QColor(255, 255, 255, 230), 1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        draw()
        painter.restore()

    def _paint_vectors(self, painter: QPainter) -> None:
        """Colour hints as small discs in their colour (ideepcolor's look) and strokes as polylines, each
        with a light and a dark outline so they show on any picture."""
        doc = self._doc
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if "strokes" in self.vector_layers:
            for stroke in doc.strokes:
                points = [self.image_to_widget(x, y) for x, y in stroke.points]
                if not points:
                    continue
                width = max(2.0, stroke.width * self.zoom)
                for color, extra in ((QColor(0, 0, 0, 140), 2.0), (QColor(*stroke.rgb), 0.0)):
                    pen = QPen(color, width + extra)
                    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                    painter.setPen(pen)
                    if len(points) == 1:
                        painter.drawPoint(points[0])
                    else:
                        painter.drawPolyline(points)
        if "hints" in self.vector_layers:
            for hint in doc.hints:
                centre = self.image_to_widget(hint.x + 0.5, hint.y + 0.5)
                radius = max(5.0, hint.radius * self.zoom)
                painter.setBrush(QColor(*hint.rgb))
                painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
                painter.drawEllipse(centre, radius, radius)
                painter.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
                painter.drawEllipse(centre, radius, radius)
        painter.restore()

    # ----------------------------------------------------------------- input
    def _near_split(self, x: float) -> bool:
        return self._split is not None and abs(x - self.width() * self._split) <= SPLIT_GRAB_PX

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if event.button() == Qt.MouseButton.MiddleButton or (event.button() == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_anchor = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self._near_split(pos.x()):
            self._dragging_split = True
        elif event.button() == Qt.MouseButton.LeftButton and self._doc is not None:
            self._stroking = True
            self.stroke_pressed.emit(*self.widget_to_image(pos))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        old_hover, self._hover = self._hover, pos
        if self._pan_anchor is not None:
            delta, self._pan_anchor = pos - self._pan_anchor, pos
            self.set_offset(self.offset + delta)
            return
        if self._dragging_split:
            self.set_split(pos.x() / max(self.width(), 1))
            return
        x, y = self.widget_to_image(pos)
        self.cursor_moved.emit(x, y)
        if self._stroking:
            self.stroke_moved.emit(x, y)
        self._update_cursor_area(old_hover)
        self._update_cursor_area(pos)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_anchor is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_anchor = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space_down else Qt.CursorShape.CrossCursor)
        elif self._dragging_split:
            self._dragging_split = False
        elif self._stroking and event.button() == Qt.MouseButton.LeftButton:
            self._stroking = False
            self.stroke_released.emit(*self.widget_to_image(event.position()))

    def leaveEvent(self, event) -> None:  # noqa: N802
        old, self._hover = self._hover, None
        self._update_cursor_area(old)

    def enterEvent(self, event) -> None:  # noqa: N802
        self.setCursor(Qt.CursorShape.CrossCursor)

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * (1.25 ** (delta.y() / 120.0)), event.position())
        else:
            dx, dy = (delta.y(), 0) if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else (delta.x(), delta.y())
            self.set_offset(self.offset + QPointF(dx / 2, dy / 2))

    def set_space_down(self, down: bool) -> None:
        """Space held (pan with the left button) or released; the main window calls this for Space
        pressed anywhere in the window, the canvas itself when it has the focus. Idempotent, so key
        auto-repeat changes nothing."""
        if down == self._space_down:
            return
        self._space_down = down
        if not down:
            self._pan_anchor = None
        self.setCursor(Qt.CursorShape.OpenHandCursor if down else Qt.CursorShape.CrossCursor)
        self.update()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            self.set_space_down(True)  # auto-repeated presses change nothing
        else:
            super().keyPressEvent(event)

    def end_stroke(self) -> None:
        """Forget the stroke in progress (Escape); the pointer release that follows paints nothing."""
        self._stroking = False

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():  # an auto-repeat sends release+press pairs while held
                self.set_space_down(False)
        else:
            super().keyReleaseEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._doc is not None and (self.fit_mode or event.oldSize().width() <= 0):
            self.fit_to_window()
        else:
            self.view_changed.emit()

    def _update_cursor_area(self, pos: QPointF | None) -> None:
        if pos is None:
            return
        radius = int(self.brush_size * self.zoom / 2) + 4
        self.update(QRect(int(pos.x()) - radius, int(pos.y()) - radius, 2 * radius, 2 * radius))
