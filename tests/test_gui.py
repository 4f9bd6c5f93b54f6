"""GUI tests: drive the real main window (offscreen) with qtbot, with a fake inpainting engine."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from ganpaint.document.autosave import autosave_dir
from tests.conftest import SAMPLES
from tests.fakes import FILL_COLOR

pytestmark = pytest.mark.gui


def _send(widget, kind, pos, button, buttons):
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(canvas, points):
    """Press, move through and release the left button at image-pixel ``points``."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    widget_points = [canvas.image_to_widget(x, y) for x, y in points]
    _send(canvas, QEvent.Type.MouseButtonPress, widget_points[0], left, left)
    for pos in widget_points[1:]:
        _send(canvas, QEvent.Type.MouseMove, pos, none, left)
    _send(canvas, QEvent.Type.MouseButtonRelease, widget_points[-1], left, none)


def test_mask_stroke_is_filled_and_undo_clears_it(window, qtbot):
    doc = window.controller.doc
    photo = doc.photo.copy()
    window.set_tool("mask")
    window.controller.settings.size = 30
    drag(window.canvas, [(100, 150), (150, 150), (200, 150)])
    assert doc.mask[150, 150] == 255
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    holes = doc.mask > 127
    assert (doc.result[holes] == FILL_COLOR).all()
    assert np.array_equal(doc.result[~holes], photo[~holes])
    assert "ms" in window.timing_label.text()
    # the canvas shows the fill: the display buffer inside the hole is the fill colour (outline aside)
    window.undo_action.trigger()
    assert not doc.mask.any()
    qtbot.waitUntil(lambda: doc.result is None, timeout=5000)
    window.redo_action.trigger()
    assert doc.mask[150, 150] == 255


def test_apply_keeps_fill_as_a_layer_undoably(window, qtbot):
    doc = window.controller.doc
    photo = doc.photo.copy()
    drag(window.canvas, [(60, 60), (90, 60)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    window.apply_action.trigger()
    assert tuple(doc.composite()[60, 75]) == FILL_COLOR
    assert np.array_equal(doc.photo, photo)  # the original stays untouched under the layer
    assert not doc.mask.any()
    window.undo_action.trigger()
    assert not doc.edits and np.array_equal(doc.composite(), photo)
    assert doc.mask[60, 75] == 255


def test_engine_failure_shows_notice_and_app_keeps_working(window, qtbot, fake_models):
    doc = window.controller.doc
    fake_models.fail_next = True
    drag(window.canvas, [(50, 50), (70, 50)])
    qtbot.waitUntil(lambda: window.notice_bar.isVisible() and window.notice_bar.level == "error", timeout=10000)
    assert "fail" in window.notice_bar.text.text()
    drag(window.canvas, [(150, 200), (170, 200)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)


def test_save_and_reopen_project(window, qtbot, tmp_path):
    doc = window.controller.doc
    drag(window.canvas, [(40, 40), (80, 80)])
    path = tmp_path / "cat.ganpaint"
    assert window._save_to(str(path))
    assert not doc.dirty and "cat.ganpaint" in window.windowTitle()
    mask = doc.mask.copy()
    drag(window.canvas, [(120, 40), (160, 40)])
    assert doc.dirty and window.windowTitle().startswith("*")
    window.undo_action.trigger()  # back to what was saved: the title loses its star
    assert not doc.dirty and not window.windowTitle().startswith("*")
    window.controller.clear_mask()
    assert window.windowTitle().startswith("*")
    assert window.open_path(str(path))
    reopened = window.controller.doc
    assert reopened is not doc
    assert np.array_equal(reopened.mask, mask)
    assert np.array_equal(reopened.photo, doc.photo)


def test_bad_file_gives_visible_notice_and_keeps_document(window, tmp_path):
    doc = window.controller.doc
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    assert not window.open_path(str(bad))
    assert window.notice_bar.isVisible() and window.notice_bar.level == "error"
    assert "broken.png" in window.notice_bar.text.text()
    assert window.controller.doc is doc


def test_tool_shortcuts_and_brush_size_keys(window, qtbot):
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    assert window.controller.tool.name == "brush"
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.controller.tool.name == "eraser"
    size = window.controller.settings.size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.controller.settings.size > size
    assert window.options_bar.size_spin.value() == int(window.controller.settings.size)
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert window.controller.tool.name == "mask"


def test_ctrl_wheel_zooms_around_pointer_and_fit(window):
    canvas = window.canvas
    zoom = canvas.zoom
    pos = QPointF(canvas.width() / 2, canvas.height() / 2)
    before = canvas.widget_to_image(pos)
    event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, event)
    assert canvas.zoom == pytest.approx(zoom * 1.25)
    assert canvas.widget_to_image(pos) == pytest.approx(before)
    canvas.actual_size()
    assert canvas.zoom == 1.0
    assert "100 %" in window.zoom_label.text()


def test_before_after_toggle_and_split(window):
    window.compare_action.trigger()
    assert window.canvas.showing_before
    window.compare_action.trigger()
    assert not window.canvas.showing_before
    window.split_action.trigger()
    assert window.canvas.split == 0.5


def _crashed_window(qtbot, file="chelsea.png"):
    """A window that painted a stroke, autosaved and then 'crashed' (its locks dropped, files kept)."""
    from ganpaint.ui.app import create_window

    first = create_window(str(SAMPLES / file), device="cpu", offer_recovery=False)
    qtbot.addWidget(first)
    drag(first.canvas, [(30, 30), (60, 60)])
    first.autosave_now()
    first.controller.shutdown()
    first.autosave_timer.stop()
    first.autosave.abandon()  # what the operating system does when the process dies
    first.autosave = type(first.autosave)()  # the 'dead' window must not clean up when the test closes it
    first.confirm_discard = False
    return first


def _answer_recovery(monkeypatch, action):
    """Make RecoveryDialog.exec run ``action(dialog)`` instead of waiting for the user."""
    from ganpaint.ui import recovery

    seen = []

    def fake_exec(dialog):
        seen.append(dialog)
        action(dialog)
        return 0

    monkeypatch.setattr(recovery.RecoveryDialog, "exec", fake_exec)
    return seen


def test_autosave_then_recovery_offer(qtbot, fake_models, monkeypatch):
    from ganpaint.ui.app import create_window

    first = _crashed_window(qtbot)
    mask = first.controller.doc.mask.copy()
    folder = autosave_dir()
    files = sorted(p.name for p in folder.iterdir())
    seen = _answer_recovery(monkeypatch, lambda dialog: dialog.recover_selected())
    second = create_window(None, device="cpu", offer_recovery=True)
    qtbot.addWidget(second)
    second.confirm_discard = False
    [dialog] = seen
    [entry] = dialog.entries
    assert entry.name == "chelsea.png" and entry.thumbnail is not None
    assert not dialog.list.item(0).icon().isNull()
    assert np.array_equal(second.controller.doc.mask, mask)
    assert second.controller.doc.dirty
    assert sorted(p.name for p in folder.iterdir()) == files  # kept until saved or discarded
    # a second crash before the next autosave: the work is still offered
    second.controller.shutdown()
    second.autosave_timer.stop()
    second.autosave.abandon()
    third = create_window(None, device="cpu", offer_recovery=True)
    qtbot.addWidget(third)
    third.confirm_discard = False
    assert len(seen) == 2 and np.array_equal(third.controller.doc.mask, mask)
    third.close()  # the user closed without saving (Discard): now the autosave goes
    assert list(folder.iterdir()) == []


def test_declined_recovery_keeps_every_session_and_discard_is_explicit(qtbot, fake_models, monkeypatch):
    from ganpaint.ui.app import create_window

    for name in ("chelsea.png", "coffee.png", "astronaut.png"):
        _crashed_window(qtbot, name)
    folder = autosave_dir()
    seen = _answer_recovery(monkeypatch, lambda dialog: dialog.later_button.click())
    win = create_window(str(SAMPLES / "rocket.jpg"), device="cpu", offer_recovery=True)
    qtbot.addWidget(win)
    win.confirm_discard = False
    assert sorted(e.name for e in seen[0].entries) == ["astronaut.png", "chelsea.png", "coffee.png"]
    assert win.controller.doc.settings["source_name"] == "rocket.jpg"  # the named file opened
    assert len(list(folder.glob("*.ganpaint"))) == 3
    win.close()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)

    def discard_coffee(dialog):
        dialog.select([e.name for e in dialog.entries].index("coffee.png"))
        assert dialog.discard_selected()
        dialog.reject()

    seen = _answer_recovery(monkeypatch, discard_coffee)
    win = create_window(None, device="cpu", offer_recovery=True)
    qtbot.addWidget(win)
    win.confirm_discard = False
    assert sorted(e.name for e in seen[0].entries) == ["astronaut.png", "chelsea.png"]
    assert len(list(folder.glob("*.ganpaint"))) == 2
    win.close()


def test_recovery_is_offered_when_a_file_is_named(qtbot, fake_models, monkeypatch):
    from ganpaint.ui.app import create_window

    first = _crashed_window(qtbot)
    mask = first.controller.doc.mask.copy()
    seen = _answer_recovery(monkeypatch, lambda dialog: dialog.recover_selected())
    win = create_window(str(SAMPLES / "coffee.png"), device="cpu", offer_recovery=True)
    qtbot.addWidget(win)
    win.confirm_discard = False
    assert len(seen) == 1 and np.array_equal(win.controller.doc.mask, mask)
    assert "coffee.png' was not opened" in win.notice_bar.text.text()
    win.close()


def test_escape_cancels_stroke_in_progress(window):
    doc = window.controller.doc
    canvas = window.canvas
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(canvas, QEvent.Type.MouseButtonPress, canvas.image_to_widget(40, 40), left, left)
    _send(canvas, QEvent.Type.MouseMove, canvas.image_to_widget(90, 40), none, left)
    assert doc.mask.any()
    window.cancel_action.trigger()
    assert not doc.mask.any()
    _send(canvas, QEvent.Type.MouseButtonRelease, canvas.image_to_widget(90, 40), left, none)
    assert not doc.mask.any() and not doc.can_undo


def test_held_inference_can_be_cancelled(window, qtbot, fake_models):
    doc = window.controller.doc
    fake_models.release.clear()  # the engine holds until released
    drag(window.canvas, [(40, 40), (60, 40)])
    qtbot.waitUntil(lambda: window.controller.worker.busy, timeout=5000)
    window.cancel_action.trigger()
    fake_models.release.set()
    qtbot.waitUntil(lambda: not window.controller.worker.busy, timeout=5000)
    assert doc.result is None
    assert "cancelled" in window.notice_bar.text.text()


def _studio(qtbot, path):
    """The real window (installed models) on ``path``, shown, closing without questions."""
    from ganpaint.ui.app import create_window

    win = create_window(str(path), device="cpu", offer_recovery=False)
    win.confirm_discard = False
    qtbot.addWidget(win)
    win.show()
    return win


def test_shipped_model_fills_a_mask_stroke_in_the_studio(qtbot):
    """The real window with the shipped inpainting model: paint a stroke, wait for the fill."""
    win = _studio(qtbot, SAMPLES / "coffee.png")
    doc = win.controller.doc
    photo = doc.photo.copy()
    assert win.controller.models["inpaint"] == "inpaint-v2"  # the registry's default
    win.controller.settings.size = 24
    drag(win.canvas, [(300, 120), (340, 130), (380, 140)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=30000)
    holes = doc.mask > 127
    assert np.array_equal(doc.result[~holes], photo[~holes])
    assert not np.array_equal(doc.result[holes], photo[holes])
    win.close()


def test_fill_tool_on_an_empty_mask_is_explained_and_inpainting_goes_on(qtbot):
    """Issue #8.1 in the studio, with the shipped model: one click of the Fill tool on an empty mask masks
    the whole photo; that request is refused with a sentence within seconds, and the next stroke is filled."""
    win = _studio(qtbot, SAMPLES / "chelsea.png")
    doc = win.controller.doc
    photo = doc.photo.copy()
    win.set_tool("fill")
    win.controller.settings.target = "mask"
    drag(win.canvas, [(40, 40)])
    assert (doc.mask == 255).all()
    qtbot.waitUntil(lambda: "covers the whole picture" in win.notice_bar.text.text(), timeout=30000)
    win.undo_action.trigger()
    win.set_tool("mask")
    win.controller.settings.size = 24
    drag(win.canvas, [(100, 100), (140, 110)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=30000)
    holes = doc.mask > 127
    assert holes.any() and np.array_equal(doc.result[~holes], photo[~holes])
    win.close()


def test_project_with_bad_settings_opens_with_a_notice(qtbot, fake_models, tmp_path):
    """Issue #8.2: '"seed": "abc"' used to load and then crash the window."""
    from ganpaint.document.model import Document
    from ganpaint.document.project import save_project

    doc = Document.blank(40, 30, (10, 200, 30))
    doc.settings = {"seed": "abc", "inpaint_model": ["not", "a", "name"]}
    path = tmp_path / "bad.ganpaint"
    save_project(doc, path)
    win = _studio(qtbot, path)
    assert win.controller.doc is not None and (win.controller.doc.photo == (10, 200, 30)).all()
    assert "Ignored the setting" in win.notice_bar.text.text()
    assert win.controller.seed == 0
    win.close()


def test_saving_over_a_read_only_project_asks_first(window, monkeypatch, tmp_path):
    """Issue #8.6: overwriting a read-only file asks; No keeps the file, Yes writes it and keeps its mode."""
    import os
    import stat

    from ganpaint.document.project import load_project

    path = tmp_path / "locked.ganpaint"
    path.write_bytes(b"the user's old file")
    os.chmod(path, 0o444)
    answers = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    answers.append(QMessageBox.StandardButton.No)
    assert window._save_to(str(path)) is False
    assert path.read_bytes() == b"the user's old file" and "read-only" in window.notice_bar.text.text()
    answers.append(QMessageBox.StandardButton.Yes)
    assert window._save_to(str(path)) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert load_project(path).shape == window.controller.doc.shape
