"""Release-to-result latency of the real studio window (used by ``ganpaint bench --gui``).

Paints short mask strokes on a photo through the controller, as the canvas would, and measures the
wall-clock time from the pointer release to the moment the fill is in the document (worker queueing,
request snapshot, engine, result hand-over and canvas refresh), next to the engine's own time.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def studio_window(photo: str | Path, device: str = "auto"):
    """The real studio window (offscreen unless a platform is set) on ``photo``, shown, live preview off,
    with default settings in a temporary config folder (the user's preferences, such as the thread count,
    neither apply nor change); yields ``(QApplication, MainWindow)`` and closes the window afterwards.
    Raises what :func:`~ganpaint.ui.app.create_window` raises (a Qt binding that would abort the process)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtWidgets import QApplication

    from ganpaint.ui.app import create_window

    app = QApplication.instance() or QApplication([])
    saved_config = os.environ.get("GANPAINT_CONFIG_DIR")
    config = tempfile.TemporaryDirectory(prefix="ganpaint-bench-")
    os.environ["GANPAINT_CONFIG_DIR"] = config.name
    window = None
    try:
        window = create_window(str(photo), device=device, offer_recovery=False)
        window.confirm_discard = False
        window.show()
        window.controller.live_preview = False
        yield app, window
    finally:
        if window is not None:
            window.close()
        if saved_config is None:
            os.environ.pop("GANPAINT_CONFIG_DIR", None)
        else:
            os.environ["GANPAINT_CONFIG_DIR"] = saved_config
        config.cleanup()


def wait_for(app, condition, timeout_s: float, what: str) -> None:
    """Process Qt events until ``condition()`` holds; raises TimeoutError(``what``) after ``timeout_s``."""
    start = time.perf_counter()
    while not condition():
        app.processEvents()
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError(what)
        time.sleep(0.0002)


def measure_release_to_fill(photo: str | Path, device: str = "auto", strokes: int = 8, timeout_s: float = 60.0) -> dict:
    """Median and worst release-to-fill time and its overhead over the engine time, in ms.

    Returns ``{"strokes", "median_total_ms", "median_engine_ms", "median_overhead_ms", "max_overhead_ms"}``
    (the first stroke, which loads the model, is left out). Raises TimeoutError when a fill never comes.
    The window runs with default settings in a temporary config folder (the user's preferences, such
    as the thread count, neither apply nor change).
    """
    totals, engines = [], []
    with studio_window(photo, device) as (app, window):
        controller = window.controller
        for i in range(strokes + 1):
            doc = controller.doc
            controller.clear_mask()
            x = 40 + (i * 37) % max(doc.width - 120, 1)
            controller.pointer_pressed(x, 60)
            controller.pointer_moved(x + 20, 80)
            start = time.perf_counter()
            controller.pointer_released(x + 30, 100)
            wait_for(app, lambda: doc.result is not None and doc.result_revision == doc.revision, timeout_s,
                     "no fill arrived")
            if i:  # the first stroke includes loading the model
                totals.append((time.perf_counter() - start) * 1000.0)
                engines.append(controller.last_elapsed_ms)
    overheads = [t - e for t, e in zip(totals, engines)]
    return {
        "strokes": len(totals),
        "median_total_ms": statistics.median(totals),
        "median_engine_ms": statistics.median(engines),
        "median_overhead_ms": statistics.median(overheads),
        "max_overhead_ms": max(overheads),
    }
