"""Progress of the running request: the status bar's bar and Cancel button, and the canvas spinner.

Quick requests (an inpainting stroke, ~40 ms) show nothing; a request still running after
:data:`SHOW_AFTER_MS` shows the bar with the engine's real fractions and a Cancel button (the same as
Esc), and, while the document has no result to show yet (a new canvas, the first reading of a photo),
a spinner with the percentage over the canvas.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QProgressBar, QToolButton

SHOW_AFTER_MS = 400
"""A request running longer than this shows the progress bar (and the spinner when nothing is shown yet)."""
TASK_TEXT = {
    "inpaint": "Filling the holes",
    "synthesize": "Painting from the label map",
    "segment": "Reading the photo's regions",
}
"""Spinner text per request task."""


class ProgressIndicator(QObject):
    """Owns :attr:`bar` and :attr:`cancel_button` (for the status bar) and drives ``canvas.set_busy``.

    Connect the controller's ``progress(fraction)`` signal to :meth:`show_progress` (-1 = idle).
    """

    def __init__(self, controller, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller, self.canvas = controller, canvas
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(140)
        self.bar.setRange(0, 100)
        self.bar.setFormat("%p %")
        self.bar.setToolTip("Progress of the engine")
        self.bar.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(qta.icon("fa5s.stop-circle"))
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running engine (Esc)")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(controller.cancel)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_AFTER_MS)
        self._timer.timeout.connect(self._reveal)
        self.fraction = -1.0

    @property
    def showing(self) -> bool:
        """Whether the bar is shown (a long request is running)."""
        return self.bar.isVisible()

    def show_progress(self, fraction: float) -> None:
        """The running request's completion in [0, 1], or -1 when nothing runs."""
        self.fraction = fraction
        if fraction < 0:
            self._timer.stop()
            self.bar.hide()
            self.cancel_button.hide()
            self.canvas.set_busy(None)
            return
        self.bar.setValue(int(round(fraction * 100)))
        if self.bar.isVisible():
            self._update_spinner()
        elif not self._timer.isActive():
            self._timer.start()

    def _reveal(self) -> None:
        if self.fraction < 0 or not self.controller.worker.busy:
            return
        self.bar.show()
        self.cancel_button.show()
        self._update_spinner()

    def _update_spinner(self) -> None:
        doc = self.controller.doc
        if doc is None or doc.result is not None:  # a (partial) result is on show: the bar is enough
            self.canvas.set_busy(None)
            return
        task, loads = self.controller.running_task, self.controller.running_loads
        doing = f"Loading the model {loads}" if loads else TASK_TEXT.get(task, "Computing")
        self.canvas.set_busy(f"{doing}...\n{int(round(self.fraction * 100))} %  (Esc or Cancel stops it)")
