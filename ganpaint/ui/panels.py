"""Side panels and bars of the main window: tool options, engine, notice bar, palette (the Layers dock
is :mod:`ganpaint.ui.layers_panel`)."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.labelsets import LabelSet
from ganpaint.tools import ToolSettings


def _swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def _slider(minimum: int, maximum: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(minimum, maximum)
    slider.setValue(value)
    slider.setMinimumWidth(90)
    return slider


class ToolOptionsBar(QWidget):
    """Options of the active tool: fill target, size, hardness, opacity, colour, class, and the photo
    fill's tolerance and gap closing; only those the tool uses with the current target are shown.

    Emits ``changed()`` after any edit of ``settings`` (a shared :class:`ToolSettings`).
    """

    changed = Signal()

    def __init__(self, settings: ToolSettings, labelset: LabelSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(int(ToolSettings.MIN_SIZE), int(ToolSettings.MAX_SIZE))
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush size in image pixels ([ and ] to change)")
        self.hardness = _slider(0, 100, int(settings.hardness * 100))
        self.hardness.setToolTip("Brush hardness")
        self.opacity = _slider(1, 100, int(settings.opacity * 100))
        self.opacity.setToolTip("Paint opacity")
        self.color_button = QToolButton()
        self.color_button.setToolTip("Paint colour (the eyedropper picks it from the photo)")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("Class painted by the label brush and the fill (the eyedropper picks it)")
        self.target_combo = QComboBox()
        for key, text in (("mask", "Mask"), ("labels", "Label map"), ("photo", "Photo")):
            self.target_combo.addItem(text, key)
        self.target_combo.setToolTip("Layer the fill and the eyedropper act on")
        self.tolerance_spin = QSpinBox()
        self.tolerance_spin.setRange(0, 255)
        self.tolerance_spin.setToolTip("Photo fill: pixels within this difference of the clicked colour are filled (0..255)")
        self.gap_spin = QSpinBox()
        self.gap_spin.setRange(0, 64)
        self.gap_spin.setSuffix(" px")
        self.gap_spin.setSpecialValueText("off")
        self.gap_spin.setToolTip("Photo fill on line art: seal gaps in the lines up to this wide, and fill under the lines' edges")
        self._tool = None
        self._widgets = {}
        for title, widget in (
            ("Target", self.target_combo),
            ("Size", self.size_spin),
            ("Hardness", self.hardness),
            ("Opacity", self.opacity),
            ("Colour", self.color_button),
            ("Class", self.label_combo),
            ("Tolerance", self.tolerance_spin),
            ("Close gaps", self.gap_spin),
        ):
            label = QLabel(title)
            layout.addWidget(label)
            layout.addWidget(widget)
            self._widgets[title] = (label, widget)
        layout.addStretch(1)
        self.set_labelset(labelset)
        self.sync()
        self.size_spin.valueChanged.connect(self._edited)
        self.hardness.valueChanged.connect(self._edited)
        self.opacity.valueChanged.connect(self._edited)
        self.label_combo.currentIndexChanged.connect(self._edited)
        self.target_combo.currentIndexChanged.connect(self._edited)
        self.tolerance_spin.valueChanged.connect(self._edited)
        self.gap_spin.valueChanged.connect(self._edited)
        self.color_button.clicked.connect(self._pick_color)

    def set_labelset(self, labelset: LabelSet) -> None:
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        for label in labelset.labels:
            self.label_combo.addItem(_swatch(label.color), f"{label.id}: {label.name.replace('_', ' ')}", label.id)
        self.label_combo.blockSignals(False)

    def show_for(self, tool) -> None:
        """Show only the options that ``tool`` uses with the current target (e.g. the fill's tolerance and
        gap closing only for the photo, its class only for the label map, its colour only for the photo)."""
        self._tool = tool
        self._update_visibility()

    def visible_options(self) -> set[str]:
        """Titles of the options shown for the current tool and target."""
        tool = self._tool
        if tool is None:
            return set()
        target = tool.layer or self.settings.target
        picks_target = tool.layer is None  # the fill and the eyedropper follow the target
        visible = {
            "Target": picks_target,
            "Size": tool.uses_size,
            "Hardness": tool.uses_hardness,
            "Opacity": tool.uses_opacity,
            "Colour": tool.name in ("brush", "hint") or (picks_target and target == "photo"),
            "Class": tool.name == "labels" or (picks_target and target == "labels"),
            "Tolerance": tool.name == "fill" and target == "photo",
            "Close gaps": tool.name == "fill" and target == "photo",
        }
        return {title for title, shown in visible.items() if shown}

    def _update_visibility(self) -> None:
        shown = self.visible_options()
        for title, (label, widget) in self._widgets.items():
            label.setVisible(title in shown)
            widget.setVisible(title in shown)

    def sync(self) -> None:
        """Update the widgets from ``settings`` (after [ ], the eyedropper...)."""
        widgets = (self.size_spin, self.hardness, self.opacity, self.label_combo, self.target_combo,
                   self.tolerance_spin, self.gap_spin)
        for widget in widgets:
            widget.blockSignals(True)
        self.size_spin.setValue(int(self.settings.size))
        self.tolerance_spin.setValue(int(self.settings.tolerance))
        self.gap_spin.setValue(int(self.settings.gap))
        self.hardness.setValue(int(round(self.settings.hardness * 100)))
        self.opacity.setValue(int(round(self.settings.opacity * 100)))
        index = self.label_combo.findData(self.settings.label)
        if index >= 0:
            self.label_combo.setCurrentIndex(index)
        self.target_combo.setCurrentIndex(max(self.target_combo.findData(self.settings.target), 0))
        self.color_button.setIcon(_swatch(self.settings.color, 18))
        for widget in widgets:
            widget.blockSignals(False)
        self._update_visibility()

    def _edited(self) -> None:
        self.settings.size = float(self.size_spin.value())
        self.settings.hardness = self.hardness.value() / 100.0
        self.settings.opacity = self.opacity.value() / 100.0
        if self.label_combo.currentData() is not None:
            self.settings.label = int(self.label_combo.currentData())
        self.settings.target = self.target_combo.currentData()
        self.settings.tolerance = self.tolerance_spin.value()
        self.settings.gap = self.gap_spin.value()
        self._update_visibility()
        self.changed.emit()

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(*self.settings.color), self, "Paint colour")
        if color.isValid():
            self.settings.color = (color.red(), color.green(), color.blue())
            self.sync()
            self.changed.emit()


class EnginePanel(QWidget):
    """One engine's options: model, live preview, seed with a dice, and the apply action.

    ``extra`` widgets (e.g. the style choice of semantic synthesis) are added below the seed row.
    """

    model_changed = Signal(str)
    live_changed = Signal(bool)
    seed_changed = Signal(int)
    apply_clicked = Signal()

    def __init__(self, model_names: list[str], apply_text: str, apply_tip: str, missing: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.form = QFormLayout()
        self.model_combo = QComboBox()
        self.model_combo.addItems(model_names)
        if not model_names:
            self.model_combo.addItem(missing)
            self.model_combo.setEnabled(False)
        self.live_check = QCheckBox("Preview while painting")
        self.live_check.setChecked(True)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 2)
        dice = QToolButton()
        dice.setIcon(qta.icon("fa5s.dice"))
        dice.setToolTip("New random seed")
        self.seed_row = QWidget()
        seed_row = QHBoxLayout(self.seed_row)
        seed_row.setContentsMargins(0, 0, 0, 0)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(dice)
        self.seed_label = QLabel("Seed")
        self.form.addRow("Model", self.model_combo)
        self.form.addRow(self.live_check)
        self.form.addRow(self.seed_label, self.seed_row)
        layout.addLayout(self.form)
        self.apply_button = QPushButton(qta.icon("fa5s.check"), apply_text)
        self.apply_button.setToolTip(apply_tip)
        layout.addWidget(self.apply_button)
        self.buttons = layout
        self.model_combo.currentTextChanged.connect(self.model_changed)
        self.live_check.toggled.connect(self.live_changed)
        self.seed_spin.valueChanged.connect(self.seed_changed)
        dice.clicked.connect(self.roll)
        self.apply_button.clicked.connect(self.apply_clicked)

    def add_button(self, icon: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(qta.icon(icon), text)
        button.setToolTip(tip)
        self.buttons.addWidget(button)
        return button

    def set_seed_visible(self, visible: bool) -> None:
        """Show the seed row only for models whose output depends on it."""
        self.seed_label.setVisible(visible)
        self.seed_row.setVisible(visible)

    def finish(self) -> None:
        self.buttons.addStretch(1)

    def roll(self) -> None:
        import random

        self.seed_spin.setValue(random.randrange(0, 2**31 - 2))


class NoticeBar(QFrame):
    """A dismissable banner above the canvas for errors and notices; info messages fade after 8 s."""

    COLORS = {"info": "#2d4f7c", "warning": "#7c5a1e", "error": "#7c2323"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(qta.icon("fa5s.times", color="white"))
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.level = "info"
        self.hide()

    def dismiss_info(self) -> None:
        """Hide the banner if it shows an info message (warnings and errors stay until closed)."""
        if self.level == "info":
            self._timer.stop()
            self.hide()

    def show_message(self, message: str, level: str = "info") -> None:
        """Show ``message`` (level info: hidden after 8 s; warning, error: until closed); an empty info
        message hides an info notice instead (see :data:`ganpaint.modes.base.NoticeCallback`)."""
        if not message and level == "info":
            self.dismiss_info()
            return
        self.level = level
        icon = {"info": "fa5s.info-circle", "warning": "fa5s.exclamation-triangle", "error": "fa5s.times-circle"}[level]
        self.icon.setPixmap(qta.icon(icon, color="white").pixmap(16, 16))
        self.text.setText(message)
        self.setStyleSheet(f"NoticeBar {{ background: {self.COLORS[level]}; }} QLabel {{ color: white; }}")
        self.show()
        if level == "info":
            self._timer.start(8000)
        else:
            self._timer.stop()


class PalettePanel(QWidget):
    """The classes of the active label set, each with its colour and name; clicking one selects it
    for the label brush and the fill. ``class_chosen(id)`` is emitted on a click."""

    class_chosen = Signal(int)

    def __init__(self, labelset: LabelSet, parent: QWidget | None = None) -> None:
        from PySide6.QtWidgets import QListWidget

        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel()
        self.list = QListWidget()
        self.list.setIconSize(QPixmap(18, 18).size())
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.list.currentRowChanged.connect(self._row_changed)
        self.set_labelset(labelset)

    def set_labelset(self, labelset: LabelSet) -> None:
        from PySide6.QtWidgets import QListWidgetItem

        self.labelset = labelset
        self.title.setText(f"Label set: {labelset.name} ({len(labelset.labels)} classes)")
        self.list.blockSignals(True)
        self.list.clear()
        for label in labelset.labels:
            item = QListWidgetItem(_swatch(label.color, 18), f"{label.name.replace('_', ' ')}  ({label.id})")
            item.setData(Qt.ItemDataRole.UserRole, label.id)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def select(self, class_id: int) -> None:
        """Highlight ``class_id`` without emitting ``class_chosen``."""
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == class_id:
                self.list.setCurrentRow(row)
        self.list.blockSignals(False)

    def _row_changed(self, row: int) -> None:
        if row >= 0:
            self.class_chosen.emit(int(self.list.item(row).data(Qt.ItemDataRole.UserRole)))
