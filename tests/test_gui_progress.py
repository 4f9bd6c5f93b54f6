"""Progress that moves (#9.4): real fractions in the status bar, a spinner while the first result is
pending, a Cancel button next to the bar, and a notice bar that floats over the canvas."""

import pytest
from PySide6.QtCore import Qt

from tests.test_gui import drag

pytestmark = pytest.mark.gui


def test_long_job_shows_fraction_spinner_and_can_be_cancelled_from_the_bar(window, qtbot, fake_models):
    doc = window.controller.doc
    fake_models.release.clear()  # the engine reports 40 % and holds
    drag(window.canvas, [(40, 40), (60, 40)])
    qtbot.waitUntil(lambda: window.progress_bar.isVisible(), timeout=5000)
    assert window.progress_bar.value() == 40
    cancel = window.progress.cancel_button
    assert cancel.isVisible()
    # no result to show yet: the canvas says it is working, with the percentage
    assert window.canvas.busy_text is not None and "40 %" in window.canvas.busy_text
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    fake_models.release.set()
    qtbot.waitUntil(lambda: not window.controller.worker.busy, timeout=5000)
    assert not window.progress_bar.isVisible() and not cancel.isVisible()
    assert window.canvas.busy_text is None and doc.result is None
    assert "cancelled" in window.notice_bar.text.text()


def test_quick_job_shows_no_bar(window, qtbot):
    doc = window.controller.doc
    drag(window.canvas, [(40, 40), (60, 40)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    assert not window.progress_bar.isVisible() and window.canvas.busy_text is None


def test_notice_floats_over_the_canvas_without_moving_it(window, qtbot):
    canvas = window.canvas
    window.notice_bar.hide()
    before = canvas.geometry()
    zoom, offset = canvas.zoom, canvas.offset
    window.notice_bar.show_message("A long warning that must not push the picture down", "warning")
    qtbot.waitUntil(lambda: window.notice_bar.isVisible())
    assert canvas.geometry() == before
    assert canvas.zoom == zoom and canvas.offset == offset
    bar = window.notice_bar.geometry()
    assert bar.top() == before.top() and bar.width() == before.width() and bar.height() >= 20
    window.notice_bar.hide()
    assert canvas.geometry() == before


def test_progress_of_a_request_the_user_moved_on_from_is_not_shown(window, qtbot):
    from ganpaint.inference import events

    c = window.controller
    seen = []
    c.progress.connect(seen.append)
    stale = c._submitted_revision - 1 if c._submitted_revision > 0 else 10**6
    c._on_worker_event(events.Started(stale, "segment", "fake-segment"))
    c._on_worker_event(events.Progress(stale, 0.7))
    assert seen == [] and c.running_task != "segment"


def test_spinner_says_when_the_model_is_loading(window, qtbot, fake_models):
    from ganpaint.inference import events

    c = window.controller
    fake_models.release.clear()
    drag(window.canvas, [(40, 40), (60, 40)])
    qtbot.waitUntil(lambda: window.progress_bar.isVisible(), timeout=5000)
    c._on_worker_event(events.Started(c._submitted_revision, "inpaint", "fake-inpaint", loading=True))
    window.progress.show_progress(0.0)
    assert "Loading the model fake-inpaint" in window.canvas.busy_text
    fake_models.release.set()
    qtbot.waitUntil(lambda: not c.worker.busy, timeout=5000)
