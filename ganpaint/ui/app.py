"""Start the studio: Qt application, main window, first document, crash recovery."""

from __future__ import annotations

import logging
import sys

from ganpaint.paths import APP_ICON, SAMPLES

DEFAULT_SAMPLE = SAMPLES / "coffee.png"


def create_window(file: str | None = None, device: str | None = None, offer_recovery: bool = True):
    """Build the main window and open ``file`` (default: the bundled sample photo; with no file, a crashed session is offered for recovery first).

    Needs a running ``QApplication``. Returns the window, not yet shown.
    """
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.ui.main_window import MainWindow
    from ganpaint.ui.settings import app_settings, model_dirs

    window = MainWindow(ModelRegistry(model_dirs(app_settings())), device=device)
    recovered = offer_recovery and file is None and window.offer_recovery()
    if not recovered:
        # a file that cannot be opened leaves an empty canvas with the notice saying why
        window.open_path(file if file is not None else str(DEFAULT_SAMPLE))
    return window


def run_app(file: str | None = None, device: str | None = None) -> int:
    """Run the studio until its window closes; returns the exit status."""
    from PySide6.QtWidgets import QApplication

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GANPaint Studio")
    app.setOrganizationName("GANPaint")
    app.setOrganizationDomain("ganpaint.invalid")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(APP_ICON)))
    window = create_window(file, device)
    window.show()
    return app.exec()
