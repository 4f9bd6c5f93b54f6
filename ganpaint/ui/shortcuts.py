"""Help > Keyboard shortcuts: a table generated from the window's menu actions (never a hand-kept
list), plus the canvas' pointer gestures."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

from ganpaint.ui.canvas import GESTURES


def shortcut_rows(menu_bar) -> list[tuple[str, str, str]]:
    """(keys, action, menu) for every action with a shortcut in the menus of ``menu_bar``, in menu order,
    then the canvas gestures; keys in the platform's native text ("Ctrl+Z, Ctrl+Y"). An action whose text
    changes with the document (Undo names the step) gives its stable ``shortcut_name`` property."""
    rows = []

    def walk(menu, title: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{title} > {action.menu().title().replace('&', '')}")
            elif action.shortcuts():
                keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
                name = action.property("shortcut_name") or action.text()  # Undo's text names the step
                rows.append((keys, str(name).replace("&", "").rstrip("."), title))

    for action in menu_bar.actions():
        if action.menu() is not None:
            walk(action.menu(), action.menu().title().replace("&", ""))
    rows += [(keys, what, "Canvas") for keys, what in GESTURES]
    return rows


class ShortcutsDialog(QDialog):
    """A read-only table of :func:`shortcut_rows`."""

    def __init__(self, menu_bar, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 620)
        rows = shortcut_rows(menu_bar)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Menu"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnToContents(0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
