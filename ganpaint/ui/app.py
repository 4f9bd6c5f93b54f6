"""Start the studio: Qt application, main window, first document, crash recovery."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ganpaint.errors import GanpaintError
from ganpaint.paths import APP_ICON, SAMPLES

DEFAULT_SAMPLE = SAMPLES / "coffee.png"
SMOKE_EXIT_ENV = "GANPAINT_SMOKE_EXIT_MS"
"""Testing hook: when set to N (milliseconds), the studio closes its window N ms after showing it and
prints one ``smoke: ...`` line on stdout, so packaging checks can open the GUI headless and see it exit
cleanly (``QT_QPA_PLATFORM=offscreen``)."""


def create_window(file: str | None = None, device: str | None = None, offer_recovery: bool = True):
    """Build the main window, offer crash recovery, then open ``file`` (default: the bundled sample photo).

    Recovery is offered whether or not a file is named; if the user recovers a picture, it stays open and
    a notice says that ``file`` was not opened. A file that cannot be opened leaves the window with a
    notice saying why; nothing here lets an exception end the studio before it starts.

    Needs a running ``QApplication``. Returns the window, not yet shown. Raises
    :class:`~ganpaint.ui.qt_check.BindingError` before building anything when the installed Qt binding
    would abort the studio mid-session.
    """
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.ui.main_window import MainWindow
    from ganpaint.ui.qt_check import require_sound_binding
    from ganpaint.ui.settings import app_settings, model_dirs

    require_sound_binding()

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
    """Run the studio until its window closes; returns the exit status.

    Raises GanpaintError when :data:`SMOKE_EXIT_ENV` is set to something other than milliseconds, or when
    the installed Qt binding is one that would abort the studio (:mod:`ganpaint.ui.qt_check`; a message
    box says so too).
    """
    smoke_ms = _smoke_exit_ms()
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ganpaint.ui.qt_check import BindingError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GANPaint Studio")
    app.setOrganizationName("GANPaint")
    app.setOrganizationDomain("ganpaint.invalid")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(APP_ICON)))
    try:
        window = create_window(file, device)
    except BindingError as exc:  # said in a message box too: a studio started from a menu has no terminal
        if smoke_ms is None:
            QMessageBox.critical(None, "GANPaint Studio cannot start", str(exc))
        raise
    window.show()
    if smoke_ms is not None:
        _close_after(window, smoke_ms)
    return app.exec()


def _smoke_exit_ms() -> int | None:
    """The delay of :data:`SMOKE_EXIT_ENV` in milliseconds, or None when it is not set."""
    value = os.environ.get(SMOKE_EXIT_ENV)
    if not value:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        raise GanpaintError(f"{SMOKE_EXIT_ENV} must be a number of milliseconds, not {value!r}.") from None


def _process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``, 10 ms resolution), or None elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as uptime:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
            return float(uptime.read().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _close_after(window, delay: int) -> None:
    """Close ``window`` (without the unsaved-changes question) ``delay`` ms after the event loop starts,
    first printing what it shows: ``smoke: shown 'TITLE' WxH, visible=..., N models``."""
    from PySide6.QtCore import QTimer

    def close() -> None:
        doc = window.controller.doc
        size = f"{doc.width}x{doc.height}" if doc is not None else "no picture"
        models = len(window.controller.registry.cards())
        age = _process_age()
        after = f", {age:.2f} s after the process started" if age is not None else ""
        print(f"smoke: shown {window.windowTitle()!r} {size}, visible={window.isVisible()}, {models} models{after}",
              flush=True)
        window.confirm_discard = False
        window.close()

    QTimer.singleShot(delay, close)
