"""Start the studio: Qt application, main window, first document, crash recovery."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ganpaint.paths import APP_ICON, SAMPLES

DEFAULT_SAMPLE = SAMPLES / "coffee.png"


def create_window(file: str | None = None, device: str | None = None, offer_recovery: bool = True):
    """Build the main window, offer crash recovery, then open ``file`` (default: the bundled sample photo).

    Recovery is offered whether or not a file is named; if the user recovers a picture, it stays open and
    a notice says that ``file`` was not opened. A file that cannot be opened leaves the window with a
    notice saying why; nothing here lets an exception end the studio before it starts.

    Needs a running ``QApplication``. Returns the window, not yet shown.
    """
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.ui.main_window import MainWindow
    from ganpaint.ui.settings import app_settings, model_dirs

    window = MainWindow(ModelRegistry(model_dirs(app_settings())), device=device)
    recovered = False
    if offer_recovery:
        try:
            recovered = window.offer_recovery()
        except Exception:  # noqa: BLE001 - a broken autosave folder must not keep the studio from starting
            logging.getLogger(__name__).exception("crash recovery failed")
            window.notice_bar.show_message("Crash recovery failed; the autosaves were kept.", "error")
    if recovered:
        if file is not None:
            window.notice_bar.show_message(
                f"'{Path(file).name}' was not opened because a recovered picture is open; use File > Open.", "info")
        return window
    try:
        window.open_path(file if file is not None else str(DEFAULT_SAMPLE))
    except Exception:  # noqa: BLE001 - open_path reports GanpaintError itself; anything else is a bug
        logging.getLogger(__name__).exception("opening %s failed", file)
        window.notice_bar.show_message(f"Could not open '{Path(file or DEFAULT_SAMPLE).name}': unexpected error "
                                       f"(see the log).", "error")
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
