"""Settings > Preferences: inference device, CPU threads, autosave interval, the user models folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

AUTOSAVE_MINUTES = (1, 60)
"""Allowed autosave interval, in minutes."""


@dataclass(frozen=True)
class Preferences:
    """device: ``"auto"``, ``"cpu"``, ``"cuda"``...; threads: CPU threads for inference (>= 1);
    autosave_minutes: minutes between autosaves; models_dir: the user models folder."""

    device: str
    threads: int
    autosave_minutes: int
    models_dir: str


class PreferencesDialog(QDialog):
    """Edits a :class:`Preferences`; :meth:`choice` reads the result. The models folder is read when the
    studio starts, so the dialog says a change needs a restart."""

    def __init__(self, current: Preferences, devices: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.initial = current
        form = QFormLayout(self)
        self.device_combo = QComboBox()
        self.device_combo.addItems(devices)
        self.device_combo.setCurrentIndex(max(self.device_combo.findText(current.device), 0))
        self.device_combo.setToolTip("Where the engines run; 'auto' picks CUDA, then Apple MPS, then the CPU")
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, max(os.cpu_count() or 1, current.threads))
        self.threads_spin.setValue(current.threads)
        self.threads_spin.setToolTip("CPU threads one inference uses (fewer keep the rest of the machine responsive)")
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(*AUTOSAVE_MINUTES)
        self.autosave_spin.setSuffix(" min")
        self.autosave_spin.setValue(current.autosave_minutes)
        self.autosave_spin.setToolTip("How often unsaved changes are copied for crash recovery")
        self.models_edit = QLineEdit(current.models_dir)
        self.models_edit.setMinimumWidth(340)
        self.models_edit.setToolTip("Your own models (a card .json with its weights) are read from this folder")
        browse = QPushButton("Choose...")
        self.open_button = QPushButton("Open folder")
        row = QHBoxLayout()
        row.addWidget(self.models_edit, 1)
        row.addWidget(browse)
        row.addWidget(self.open_button)
        self.restart_note = QLabel("A new models folder is used after a restart of GANPaint Studio.")
        self.restart_note.setWordWrap(True)
        form.addRow("Inference device", self.device_combo)
        form.addRow("CPU threads", self.threads_spin)
        form.addRow("Autosave every", self.autosave_spin)
        form.addRow("User models folder", row)
        form.addRow("", self.restart_note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        browse.clicked.connect(self._browse)
        self.open_button.clicked.connect(self.open_models_folder)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "User models folder", self.models_edit.text())
        if folder:
            self.models_edit.setText(folder)

    def open_models_folder(self) -> bool:
        """Show the models folder in the file manager (created first if missing)."""
        folder = Path(self.models_edit.text()).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def choice(self) -> Preferences:
        return Preferences(self.device_combo.currentText(), self.threads_spin.value(), self.autosave_spin.value(),
                           self.models_edit.text().strip() or self.initial.models_dir)
