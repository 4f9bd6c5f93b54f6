"""Space+drag panning from anywhere in the window: an application event filter that turns Space held
over any widget of the main window (except text fields) into the canvas' pan mode, and keeps Space
from pressing a focused button."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


def types_text(widget: QWidget | None) -> bool:
    """Whether Space typed into ``widget`` is text (a line edit, spin box, editable combo box...)."""
    while widget is not None:
        if isinstance(widget, _TEXT_INPUTS) or (isinstance(widget, QComboBox) and widget.isEditable()):
            return True
        widget = widget.parentWidget() if not widget.isWindow() else None
    return False


class SpacePanFilter(QObject):
    """Installed on the application: Space pressed or released in ``window`` calls
    ``canvas.set_space_down``; auto-repeated presses and releases (a held key) change nothing."""

    def __init__(self, window: QWidget, canvas) -> None:
        super().__init__(window)
        self.window, self.canvas = window, canvas

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            if (event.key() != Qt.Key.Key_Space or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
                    or not isinstance(watched, QWidget) or watched.window() is not self.window or types_text(watched)):
                return False
            if kind == QEvent.Type.KeyPress:
                self.canvas.set_space_down(True)
            elif not event.isAutoRepeat():
                self.canvas.set_space_down(False)
            return True  # Space never clicks a focused button or ticks a list item here
        if kind == QEvent.Type.WindowDeactivate and watched is self.window:
            self.canvas.set_space_down(False)  # released while another window had the focus
        return False
