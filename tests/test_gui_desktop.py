"""Desktop habits (#9.7): copy and paste pictures, drag and drop files, a layout and tool settings that
persist, and the Preferences dialog."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.conftest import SAMPLES
from tests.fakes import FILL_COLOR
from tests.test_gui import drag
from tests.test_gui_modes import _real_window

pytestmark = pytest.mark.gui


def test_ctrl_c_copies_the_picture_and_ctrl_v_opens_the_clipboard_image(window, qtbot, monkeypatch):
    from ganpaint.ui.clipboard import qimage_to_rgb

    doc = window.controller.doc
    window.controller.settings.size = 20
    drag(window.canvas, [(60, 60), (90, 60)])
    qtbot.waitUntil(lambda: window.controller._result_is_current(), timeout=10000)
    assert window.controller.apply_result()
    qtbot.waitUntil(lambda: doc.result is None, timeout=5000)
    window.copy_action.trigger()
    copied = qimage_to_rgb(QApplication.clipboard().image())
    assert np.array_equal(copied, doc.composite()) and tuple(copied[60, 75]) == FILL_COLOR
    # an image from another program: transparency becomes white, as for files
    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(QColor(10, 200, 30, 255))
    image.setPixelColor(0, 0, QColor(0, 0, 0, 0))
    QApplication.clipboard().setImage(image)
    # unsaved changes: the question comes first, and Cancel keeps the picture
    window.confirm_discard = True
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.paste_action.trigger()
    assert window.controller.doc is doc
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.paste_action.trigger()
    pasted = window.controller.doc
    assert pasted is not doc and pasted.shape == (30, 40)
    assert tuple(pasted.photo[5, 5]) == (10, 200, 30) and tuple(pasted.photo[0, 0]) == (255, 255, 255)
    assert window.windowTitle().startswith("*Pasted image")
    window.confirm_discard = False


def test_clipboard_without_a_picture_says_so(window):
    QApplication.clipboard().setText("just words")
    assert not window.paste_picture()
    assert "no picture" in window.notice_bar.text.text()


def _drop(widget, mime):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    # Qt's QDragEnterEvent takes an integer QPoint (PySide6 < 6.12 insists on it), QDropEvent a QPointF
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_dropping_photos_and_projects_on_the_canvas_opens_them(window, tmp_path):
    from ganpaint.document.project import save_project

    doc = window.controller.doc
    save_project(doc, str(tmp_path / "kept.ganpaint"))
    text = QMimeData()
    text.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    (tmp_path / "notes.txt").write_text("x")
    assert _drop(window.canvas, text) == (False, False)
    photo = QMimeData()
    photo.setUrls([QUrl.fromLocalFile(str(SAMPLES / "coffee.png"))])
    assert _drop(window.canvas, photo) == (True, True)
    assert window.controller.doc.settings["source_name"] == "coffee.png"
    project = QMimeData()
    project.setUrls([QUrl.fromLocalFile(str(tmp_path / "kept.ganpaint"))])
    assert _drop(window.canvas, project) == (True, True)
    assert window.controller.doc.path == str(tmp_path / "kept.ganpaint")


def _new_window(qtbot):
    return _real_window(qtbot, SAMPLES / "chelsea.png")


def test_layout_docks_and_tool_settings_persist(qtbot, fake_models):
    first = _new_window(qtbot)
    first.resize(760, 560)  # inside the offscreen screen (800x600): restoreGeometry keeps windows on screen
    qtbot.waitUntil(lambda: first.width() == 760)
    size = (first.width(), first.height())  # the docks' minimum heights may win over 560
    first.docks["Navigator"].hide()
    first.controller.settings.size, first.controller.settings.color = 63.0, (1, 2, 3)
    first.controller.settings.tolerance, first.controller.settings.gap = 40, 5
    first.close()
    second = _new_window(qtbot)
    try:
        assert (second.width(), second.height()) == size
        assert second.docks["Navigator"].isHidden() and not second.docks["Engine"].isHidden()
        s = second.controller.settings
        assert (s.size, s.color, s.tolerance, s.gap) == (63.0, (1, 2, 3), 40, 5)
        assert second.options_bar.size_spin.value() == 63
    finally:
        second.close()


def test_preferences_apply_device_threads_autosave_and_models_folder(window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QDialog

    from ganpaint.ui import settings as stored
    from ganpaint.ui.preferences import PreferencesDialog

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    models = tmp_path / "my models"

    def answer(dialog):
        assert dialog.models_edit.text() == window.preferences.models_dir  # shows the current folder
        assert "restart" in dialog.restart_note.text()
        dialog.device_combo.setCurrentText("cpu")
        dialog.threads_spin.setValue(1)
        dialog.autosave_spin.setValue(5)
        dialog.models_edit.setText(str(models))
        dialog.open_button.click()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PreferencesDialog, "exec", answer)
    assert window.edit_preferences()
    assert opened == [str(models)] and models.is_dir()
    assert window.autosave_timer.interval() == 5 * 60_000
    qtbot.waitUntil(lambda: window.device_label.text() == "device: CPU (1 thread)", timeout=5000)
    assert "restart" in window.notice_bar.text.text()
    prefs = stored.load_preferences(stored.app_settings())
    assert (prefs.device, prefs.threads, prefs.autosave_minutes, prefs.models_dir) == ("cpu", 1, 5, str(models))
    monkeypatch.delenv("GANPAINT_MODELS_DIR")
    assert stored.model_dirs(stored.app_settings())[-1] == models  # used from the next start


def test_a_closed_dock_comes_back_from_the_view_menu(window):
    dock = window.docks["Navigator"]
    dock.close()
    assert dock.isHidden()
    menu = next(m for m in window.menuBar().findChildren(type(window.recent_menu)) if m.title() == "&Docks")
    next(a for a in menu.actions() if a.text() == "Navigator").trigger()
    assert not dock.isHidden()
