"""OpenRaster in the studio: opening an ``.ora`` (asking which layer is the photo, the mask, the label
map when the layer names do not tell). The file format itself is :mod:`ganpaint.document.openraster`
(no Qt); the file filter is :data:`ganpaint.ui.files.ORA_FILTER`."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from ganpaint.document import openraster
from ganpaint.document.model import Document
from ganpaint.errors import ImageLoadError
from ganpaint.labelsets import LabelSet

ROLE_CHOICES = (("", "Ignore"), ("photo", "Photo"), ("mask", "Mask (holes)"), ("labels", "Label map"))
"""(role, text) offered for each layer; "" leaves the layer out."""


class LayerRolesDialog(QDialog):
    """Assign the layers of an OpenRaster file to the photo, the mask and the label map.

    One row per layer (top first) with a choice among :data:`ROLE_CHOICES`, pre-set to ``roles``. OK
    is enabled only with exactly one photo and at most one mask and one label map.
    """

    def __init__(self, stack: openraster.OraStack, roles: dict[str, int], name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open layers")
        layout = QVBoxLayout(self)
        intro = QLabel(f"Which layers of '{name}' ({stack.width} x {stack.height}) should GANPaint Studio use?")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        by_index = {index: role for role, index in roles.items()}
        self.combos: list[QComboBox] = []
        for index, layer in enumerate(stack.layers):
            combo = QComboBox()
            for role, text in ROLE_CHOICES:
                combo.addItem(text, role)
            combo.setCurrentIndex(next(i for i, (role, _) in enumerate(ROLE_CHOICES) if role == by_index.get(index, "")))
            combo.currentIndexChanged.connect(self._check)
            form.addRow(layer.name or f"(unnamed layer {index + 1})", combo)
            self.combos.append(combo)
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._check()

    def roles(self) -> dict[str, int]:
        """Role -> layer index as chosen (the topmost layer wins if a role was chosen twice)."""
        chosen: dict[str, int] = {}
        for index, combo in enumerate(self.combos):
            role = combo.currentData()
            if role and role not in chosen:
                chosen[role] = index
        return chosen

    def problem_text(self) -> str:
        """Why the choice cannot be used yet ("" when it can)."""
        counts = {role: 0 for role, _ in ROLE_CHOICES if role}
        for combo in self.combos:
            if combo.currentData():
                counts[combo.currentData()] += 1
        if counts["photo"] != 1:
            return "Choose exactly one layer as the photo."
        doubled = [text for role, text in ROLE_CHOICES if role and counts[role] > 1]
        return f"Choose one layer at most as the {doubled[0].lower()}." if doubled else ""

    def _check(self) -> None:
        text = self.problem_text()
        self.problem.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not text)


def ask_layer_roles(parent: QWidget | None, stack: openraster.OraStack, roles: dict[str, int], name: str) -> dict[str, int] | None:
    """Show :class:`LayerRolesDialog`; the chosen roles, or None when cancelled."""
    dialog = LayerRolesDialog(stack, roles, name, parent)
    return dialog.roles() if dialog.exec() == QDialog.DialogCode.Accepted else None


def open_openraster(parent: QWidget | None, path: str, labelset: LabelSet) -> Document | None:
    """Read an ``.ora`` into a new document, asking for the layer roles when the names do not settle
    them and whether to snap label colours that are not in ``labelset``'s palette.

    Returns:
        The document, or None when the user cancelled.

    Raises:
        GanpaintError: the file cannot be read (a sentence for the notice bar).
    """
    name = os.path.basename(path)
    stack = openraster.read_stack(path)
    roles, certain = openraster.guess_roles(stack)
    if not certain:
        roles = ask_layer_roles(parent, stack, roles, name)
        if roles is None:
            return None
    try:
        return openraster.load_document(path, labelset, roles)
    except ImageLoadError as error:
        if "colour" not in str(error):
            raise
        answer = QMessageBox.question(parent, "Unknown colours", f"{error}\n\nMap them to the nearest class colour?")
        if answer != QMessageBox.StandardButton.Yes:
            raise
        return openraster.load_document(path, labelset, roles, snap=True)
