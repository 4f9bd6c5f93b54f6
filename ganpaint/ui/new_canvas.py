"""File > New canvas: size presets, and in the Semantic mode the starting class and a sample-photo style."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from ganpaint.labelsets import LabelSet
from ganpaint.ui.panels import _swatch

PRESETS = (
    ("Square 512 x 512", 512, 512),
    ("Landscape 768 x 512", 768, 512),
    ("Landscape 1024 x 768", 1024, 768),
    ("Portrait 512 x 768", 512, 768),
    ("HD 1280 x 720", 1280, 720),
    ("Full HD 1920 x 1080", 1920, 1080),
)
"""(title, width, height) of the size presets, in pixels."""
MIN_SIDE, MAX_SIDE = 8, 8192


@dataclass(frozen=True)
class NewCanvas:
    """What the dialog asked for: ``width`` x ``height`` pixels; ``label`` the class the label map starts
    with and ``style`` a sample photo's path for the look (Semantic mode; None otherwise)."""

    width: int
    height: int
    label: Optional[int] = None
    style: Optional[str] = None


class NewCanvasDialog(QDialog):
    """Asks for a canvas size (a preset or custom) and, with a ``labelset``, the starting class and the
    style (``styles``: (title, sample path or None) pairs)."""

    def __init__(self, what: str, labelset: Optional[LabelSet] = None, label: int = 0,
                 styles: tuple[tuple[str, Optional[str]], ...] = (), style: Optional[str] = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New canvas")
        form = QFormLayout(self)
        form.addRow(QLabel(f"Makes {what}."))
        self.preset_combo = QComboBox()
        for title, width, height in PRESETS:
            self.preset_combo.addItem(title, (width, height))
        self.preset_combo.addItem("Custom", None)
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(MIN_SIDE, MAX_SIDE)
            spin.setSuffix(" px")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("x"))
        size_row.addWidget(self.height_spin)
        form.addRow("Size", self.preset_combo)
        form.addRow("", size_row)
        self.class_combo = QComboBox()
        self.style_combo = QComboBox()
        if labelset is not None:
            for item in labelset.labels:
                self.class_combo.addItem(_swatch(item.color), item.name.replace("_", " "), item.id)
            self.class_combo.setCurrentIndex(max(self.class_combo.findData(label), 0))
            for title, path in styles:
                self.style_combo.addItem(title, path)
            self.style_combo.setCurrentIndex(max(self.style_combo.findData(style), 0))
            form.addRow("Starting class", self.class_combo)
            form.addRow("Style", self.style_combo)
        self.labelset = labelset
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        self.width_spin.valueChanged.connect(self._size_edited)
        self.height_spin.valueChanged.connect(self._size_edited)
        self._preset_chosen(0)

    def _preset_chosen(self, index: int) -> None:
        size = self.preset_combo.itemData(index)
        if size is not None:
            for spin, value in zip((self.width_spin, self.height_spin), size):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _size_edited(self) -> None:
        size = (self.width_spin.value(), self.height_spin.value())
        index = self.preset_combo.findData(size)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(index if index >= 0 else self.preset_combo.count() - 1)
        self.preset_combo.blockSignals(False)

    def choice(self) -> NewCanvas:
        """The canvas the dialog describes."""
        semantic = self.labelset is not None
        return NewCanvas(self.width_spin.value(), self.height_spin.value(),
                         self.class_combo.currentData() if semantic else None,
                         self.style_combo.currentData() if semantic else None)
