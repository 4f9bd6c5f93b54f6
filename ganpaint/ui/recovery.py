"""The crash-recovery dialog: every recoverable autosave with its name, time, size and a thumbnail.

The user recovers one (it opens; its autosave stays until the picture is saved or discarded), discards
any of them explicitly, or keeps them all for later ("Not now"); nothing is deleted otherwise, except by
the 7-day pruning (:meth:`ganpaint.document.autosave.Autosave.prune`).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from ganpaint.document.autosave import RETENTION, Autosave, RecoveryEntry

__all__ = ["RecoveryDialog", "describe"]

THUMBNAIL_PX = 96


def describe(entry: RecoveryEntry) -> str:
    """Three lines for the list: name; local time and size; the file it belongs to."""
    when = entry.saved_at.astimezone().strftime("%Y-%m-%d %H:%M")
    size = f", {entry.size[0]} x {entry.size[1]} px" if entry.size else ""
    where = entry.original_path or "never saved"
    return f"{entry.name}\nautosaved {when}{size}\n{where}"


class RecoveryDialog(QDialog):
    """Lists ``entries`` (newest first). After ``exec()``, :attr:`chosen` is the entry to recover, or None.

    Args:
        autosave: the session's :class:`~ganpaint.document.autosave.Autosave` (used to discard entries).
        entries: what :meth:`Autosave.pending` returned.
        parent: parent widget.
    """

    def __init__(self, autosave: Autosave, entries: list[RecoveryEntry], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.autosave = autosave
        self.chosen: RecoveryEntry | None = None
        self._entries = list(entries)
        layout = QVBoxLayout(self)
        count = len(entries)
        layout.addWidget(QLabel(
            f"GANPaint Studio did not close cleanly. {count} picture{'s were' if count != 1 else ' was'} "
            f"autosaved; choose one to recover."))
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.list.setSpacing(4)
        for entry in self._entries:
            item = QListWidgetItem(describe(entry))
            pixmap = QPixmap(str(entry.thumbnail)) if entry.thumbnail else QPixmap()
            if not pixmap.isNull():
                item.setIcon(QIcon(pixmap))
            item.setData(Qt.ItemDataRole.UserRole, entry.session)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self.recover_selected())
        layout.addWidget(self.list, 1)
        self.status = QLabel(f"Pictures you do not recover are kept for {RETENTION.days} days, until you discard them.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.recover_button = buttons.addButton("Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.discard_button: QPushButton = buttons.addButton("Discard...", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.later_button = buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(self.recover_selected)
        self.discard_button.clicked.connect(lambda: self.discard_selected())
        self.later_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 420)

    @property
    def entries(self) -> list[RecoveryEntry]:
        """The entries still listed."""
        return list(self._entries)

    def select(self, row: int) -> None:
        """Select the entry in ``row`` (0 = newest)."""
        self.list.setCurrentRow(row)

    def selected_entry(self) -> RecoveryEntry | None:
        """The selected entry, or None."""
        row = self.list.currentRow()
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def recover_selected(self) -> None:
        """Close the dialog choosing the selected entry."""
        entry = self.selected_entry()
        if entry is not None:
            self.chosen = entry
            self.accept()

    def discard_selected(self, confirm: bool = True) -> bool:
        """Delete the selected entry's autosave after asking (``confirm``); True if it was deleted."""
        entry = self.selected_entry()
        if entry is None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self, "Discard autosave", f"Delete the autosave of '{entry.name}' for good?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Discard:
                return False
        if not self.autosave.discard(entry):
            self.status.setText(f"'{entry.name}' is in use by another running GANPaint Studio; it was kept.")
            return False
        row = self._entries.index(entry)
        del self._entries[row]
        self.list.takeItem(row)
        if not self._entries:
            self.reject()
        return True
