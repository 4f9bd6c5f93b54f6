"""The Layers dock, like Krita's: the edit layers above the photo with thumbnails, visibility, opacity,
order, delete, merge down and re-edit, plus the display overlays (live result, mask, label map).

Every layer operation is one undo step of the document (:class:`~ganpaint.document.history.LayerPatch`);
the panel edits the document directly and redraws itself from the document's change notifications.
"""

from __future__ import annotations

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.document.layers import EditLayer
from ganpaint.ui.panels import _slider

THUMB = 48
"""Thumbnail side in pixels (the longer side of the image)."""
PHOTO_ROW = -1
"""Item data of the photo row (edit layer rows hold their stack index, 0 = bottom)."""


def _checkerboard(width: int, height: int, cell: int = 6) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(QColor(200, 200, 200))
    painter = QPainter(pixmap)
    for y in range(0, height, cell):
        for x in range((y // cell % 2) * cell, width, 2 * cell):
            painter.fillRect(x, y, cell, cell, QColor(150, 150, 150))
    painter.end()
    return pixmap


def _rgba_image(rgb: np.ndarray, alpha: np.ndarray | None) -> QImage:
    """A QImage owning a copy of RGB ``uint8 (h, w, 3)`` with optional ``uint8 (h, w)`` alpha."""
    h, w = rgb.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255 if alpha is None else alpha
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def thumbnail(width: int, height: int, rgb: np.ndarray, alpha: np.ndarray | None = None,
              box: tuple[int, int, int, int] | None = None) -> QIcon:
    """An icon showing ``rgb`` (with ``alpha``) placed at ``box`` of a ``width`` x ``height`` image, over a
    checkerboard, scaled so the image's longer side is :data:`THUMB` pixels."""
    scale = THUMB / max(width, height)
    tw, th = max(1, round(width * scale)), max(1, round(height * scale))
    x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
    step = max(1, int(1 / scale) // 2)  # subsample big crops before Qt scales them (speed, not quality)
    image = _rgba_image(np.ascontiguousarray(rgb[::step, ::step]), None if alpha is None else np.ascontiguousarray(alpha[::step, ::step]))
    pixmap = _checkerboard(tw, th)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawImage(round(x0 * scale), round(y0 * scale),
                      image.scaled(max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)),
                                   Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation))
    painter.end()
    return QIcon(pixmap)


def describe(layer: EditLayer) -> str:
    """Tool tip of a layer: what made it and where it lies."""
    x0, y0, x1, y1 = layer.box
    made = "a merge of layers (cannot be re-edited)" if layer.mode == "merged" else (
        f"mode {layer.mode}, model {layer.model or 'none'}, seed {layer.seed}")
    return f"{layer.name}: {made}; {x1 - x0}x{y1 - y0} px at ({x0}, {y0}); opacity {layer.opacity:.0%}"


class LayersPanel(QWidget):
    """Edit layers (top first) above the photo, their operations, and the display overlays.

    Signals:
        changed(): an overlay option changed; read :attr:`show_result`, :attr:`mask_overlay`,
            :attr:`labels_overlay`.
        reedit_requested(int): the user asked to re-edit the layer at this stack index (0 = bottom).
    """

    changed = Signal()
    reedit_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = None
        self._count = 0  # layers shown, to select a new one
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the selected layer")
        self.opacity_label = QLabel("100 %")
        self.opacity_label.setMinimumWidth(40)
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_label)
        layout.addLayout(opacity_row)

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setToolTip("Edit layers above the photo: the tick shows or hides a layer; double-click renames it")
        layout.addWidget(self.list, 1)

        buttons = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for key, icon, tip in (
            ("up", "fa5s.arrow-up", "Move the layer up"),
            ("down", "fa5s.arrow-down", "Move the layer down"),
            ("merge", "fa5s.layer-group", "Merge the layer down (into the photo for the lowest layer)"),
            ("delete", "fa5s.trash", "Delete the layer"),
            ("reedit", "fa5s.redo-alt", "Re-edit: take the layer out and restore its inputs, model and seed, "
                                        "so the engine computes it again"),
        ):
            button = QToolButton()
            button.setIcon(qta.icon(icon))
            button.setToolTip(tip)
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        layout.addLayout(buttons)

        form = QFormLayout()
        self.result_check = QCheckBox("Show live result")
        self.result_check.setChecked(True)
        self.result_check.setToolTip("Show the engine's live result over the layers (\\ compares with the original photo)")
        self.mask_opacity = _slider(0, 100, 50)
        self.labels_opacity = _slider(0, 100, 0)
        form.addRow(self.result_check)
        form.addRow("Mask overlay", self.mask_opacity)
        form.addRow("Label map overlay", self.labels_opacity)
        layout.addLayout(form)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(120)  # coalesce the notifications of a stroke into one redraw
        self._refresh_timer.timeout.connect(self.refresh)

        for widget in (self.mask_opacity, self.labels_opacity):
            widget.valueChanged.connect(self.changed)
        self.result_check.toggled.connect(self.changed)
        self.list.currentRowChanged.connect(lambda row: self._sync_controls())
        self.list.itemChanged.connect(self._item_changed)
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.opacity.sliderReleased.connect(self._commit_opacity)
        self.buttons["up"].clicked.connect(lambda: self._move(+1))
        self.buttons["down"].clicked.connect(lambda: self._move(-1))
        self.buttons["merge"].clicked.connect(self.merge_down)
        self.buttons["delete"].clicked.connect(self.delete)
        self.buttons["reedit"].clicked.connect(lambda: self.current_index() is not None and self.reedit_requested.emit(self.current_index()))
        self._sync_controls()

    # ----------------------------------------------------------------- overlays
    @property
    def show_result(self) -> bool:
        return self.result_check.isChecked()

    @property
    def mask_overlay(self) -> float:
        return self.mask_opacity.value() / 100.0

    @property
    def labels_overlay(self) -> float:
        return self.labels_opacity.value() / 100.0

    # ----------------------------------------------------------------- document
    def set_document(self, doc) -> None:
        """Show the layers of ``doc`` and follow its changes."""
        if self.doc is not None:
            self.doc.remove_listener(self._on_doc_changed)
        self.doc = doc
        self._count = len(doc.edits)
        doc.add_listener(self._on_doc_changed)
        self.refresh()

    def _on_doc_changed(self, layers: set[str], rect) -> None:
        if "edits" in layers:
            self.refresh()
        elif "photo" in layers:
            self._refresh_timer.start()  # the photo's thumbnail, once a stroke pauses

    def refresh(self) -> None:
        """Rebuild the rows from the document (top layer first, the photo last), keeping the selection."""
        self._refresh_timer.stop()
        doc = self.doc
        if doc is None:
            return
        selected = self.current_index()
        self.list.blockSignals(True)
        self.list.clear()
        for index in reversed(range(len(doc.edits))):
            layer = doc.edits[index]
            item = QListWidgetItem(thumbnail(doc.width, doc.height, layer.pixels, layer.alpha, layer.box), layer.name)
            item.setData(Qt.ItemDataRole.UserRole, index)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable)
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            item.setToolTip(describe(layer))
            self.list.addItem(item)
        photo = QListWidgetItem(thumbnail(doc.width, doc.height, doc.photo), "Photo")
        photo.setData(Qt.ItemDataRole.UserRole, PHOTO_ROW)
        photo.setToolTip("The original photo (the paint brush and the photo fill paint on it)")
        self.list.addItem(photo)
        grown, self._count = len(doc.edits) > self._count, len(doc.edits)
        if not doc.edits:
            row = 0  # the photo
        elif grown or selected is None:
            row = 0  # a new layer (an Apply) is selected, as in Krita
        else:
            row = len(doc.edits) - 1 - min(selected, len(doc.edits) - 1)
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self._sync_controls()

    def current_index(self) -> int | None:
        """Stack index (0 = bottom) of the selected edit layer, or None (the photo or nothing selected)."""
        item = self.list.currentItem()
        if item is None or self.doc is None:
            return None
        index = item.data(Qt.ItemDataRole.UserRole)
        return index if isinstance(index, int) and 0 <= index < len(self.doc.edits) else None

    def select(self, index: int) -> None:
        """Select the edit layer at stack ``index`` (0 = bottom)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == index:
                self.list.setCurrentRow(row)

    def _sync_controls(self) -> None:
        index = self.current_index()
        layer = None if index is None else self.doc.edits[index]
        count = len(self.doc.edits) if self.doc is not None else 0
        self.opacity.blockSignals(True)
        self.opacity.setValue(100 if layer is None else round(layer.opacity * 100))
        self.opacity.blockSignals(False)
        self.opacity_label.setText(f"{self.opacity.value()} %")
        self.opacity.setEnabled(layer is not None)
        enabled = {"up": layer is not None and index < count - 1, "down": layer is not None and index > 0,
                   "merge": layer is not None, "delete": layer is not None,
                   "reedit": layer is not None and layer.rerunnable}
        for key, button in self.buttons.items():
            button.setEnabled(enabled[key])

    # ----------------------------------------------------------------- operations (each one undo step)
    def _item_changed(self, item: QListWidgetItem) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        if self.doc is None or not isinstance(index, int) or not 0 <= index < len(self.doc.edits):
            return
        layer = self.doc.edits[index]
        visible = item.checkState() == Qt.CheckState.Checked
        name = item.text().strip() or layer.name
        if visible != layer.visible:
            self.doc.update_edit_layer(index, f"{'Show' if visible else 'Hide'} {layer.name}", visible=visible)
        elif name != layer.name:
            self.doc.update_edit_layer(index, f"Rename {layer.name}", name=name)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        if not self.opacity.isSliderDown():  # keys and clicks commit at once; a drag on release
            self._commit_opacity()

    def _commit_opacity(self) -> None:
        index = self.current_index()
        if index is not None:
            layer = self.doc.edits[index]
            self.doc.update_edit_layer(index, f"Opacity of {layer.name}", opacity=self.opacity.value() / 100.0)

    def _move(self, delta: int) -> None:
        index = self.current_index()
        if index is not None:
            layer = self.doc.edits[index]
            if self.doc.move_edit_layer(index, index + delta, f"Move {layer.name} {'up' if delta > 0 else 'down'}"):
                self.refresh()
                self.select(index + delta)

    def merge_down(self) -> None:
        index = self.current_index()
        if index is not None:
            below = self.doc.edits[index - 1].name if index > 0 else "the photo"
            self.doc.merge_edit_layer_down(index, f"Merge {self.doc.edits[index].name} into {below}")
            self.refresh()
            if index > 0:
                self.select(index - 1)

    def delete(self) -> None:
        index = self.current_index()
        if index is not None:
            self.doc.remove_edit_layer(index, f"Delete {self.doc.edits[index].name}")
            self.refresh()

