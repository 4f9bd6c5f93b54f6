"""Dialogs and navigation (#9.6): suggested file names, the Open dialog's filters, Open Recent, the New
canvas dialog, scroll bars, re-fit, the navigator, Space+drag from anywhere, the shortcuts list, one
name for the apply action."""

import os

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton

from tests.test_gui import _send, drag
from tests.test_gui_synthesis import answer_new_canvas

pytestmark = pytest.mark.gui


@pytest.fixture
def file_dialogs(monkeypatch):
    """Record the start path and filters of every file dialog; answer 'cancelled'."""
    asked = []

    def record(kind):
        def dialog(parent, title, start, filters="", *args, **kwargs):
            asked.append((kind, title, start, filters))
            return "", ""
        return dialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", record("save"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", record("open"))
    return asked


def test_save_and_export_suggest_the_documents_name(window, file_dialogs, tmp_path):
    window.save_as()
    window.export_result()
    window.export_mask()
    window.export_labels()
    names = [os.path.basename(start) for _, _, start, _ in file_dialogs]
    assert names == ["chelsea.ganpaint", "chelsea-edited.png", "chelsea-mask.png", "chelsea-labels.png"]
    assert window._save_to(str(tmp_path / "cat.ganpaint"))
    window.save_as()
    assert file_dialogs[-1][2] == str(tmp_path / "cat.ganpaint")
    window.export_result()
    assert file_dialogs[-1][2] == str(tmp_path / "cat-edited.png")


def test_open_dialogs_default_filter_includes_projects(window, file_dialogs):
    window.open_dialog()
    first = file_dialogs[-1][3].split(";;")[0]
    assert first.startswith("All supported") and "*.ganpaint" in first and "*.png" in first and "*.jpg" in first


def test_open_recent_lists_existing_files_and_opens_them(window, tmp_path):
    window._save_to(str(tmp_path / "one.ganpaint"))
    window._save_to(str(tmp_path / "two.ganpaint"))
    (tmp_path / "one.ganpaint").unlink()
    window._fill_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert [t for t in texts if "ganpaint" in t or "chelsea" in t] == ["&1 two.ganpaint", "&2 chelsea.png"]
    window.recent_menu.actions()[1].trigger()  # chelsea.png
    assert window.controller.doc.settings["source_name"] == "chelsea.png"
    clear = next(a for a in window.recent_menu.actions() if a.text() == "&Clear list")
    clear.trigger()
    window._fill_recent_menu()
    assert window.recent_menu.actions()[0].text() == "(no recent files)"


def test_new_canvas_dialog_offers_presets_class_and_style(window, qtbot, monkeypatch):
    from ganpaint.ui.mode_panels import sample_styles
    from ganpaint.ui.new_canvas import NewCanvasDialog

    dialog = NewCanvasDialog("a white canvas")
    qtbot.addWidget(dialog)
    dialog.preset_combo.setCurrentIndex(2)
    assert (dialog.width_spin.value(), dialog.height_spin.value()) == (1024, 768)
    dialog.width_spin.setValue(1000)
    assert dialog.preset_combo.currentText() == "Custom"
    assert dialog.class_combo.count() == 0  # no starting class outside the Semantic mode
    window.set_mode("synthesize")
    style = sample_styles()[1][1]
    answer_new_canvas(monkeypatch, 320, 200, label=6, style=style)
    window.new_canvas()
    doc = window.controller.doc
    assert doc.shape == (200, 320) and (doc.labels == 6).all()
    assert window.controller.context.style_name == style and window.controller.style_image is not None
    assert window.mode_panels["synthesize"].style_combo.currentData() == style


def test_scrollbars_pan_and_fit_mode_refits_on_resize(window, qtbot):
    canvas, area = window.canvas, window.canvas_area
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: canvas.fit_mode and canvas.zoom > 0)
    fitted = canvas.zoom
    window.resize(900, 650)  # still in fit mode: the picture re-fits
    qtbot.waitUntil(lambda: canvas.zoom < fitted)
    canvas.set_zoom(4.0)
    assert not canvas.fit_mode and area.hbar.maximum() > area.hbar.minimum()
    offset = canvas.offset
    area.hbar.setValue(area.hbar.value() + 100)
    assert canvas.offset.x() == pytest.approx(offset.x() - 100)
    area.vbar.setValue(area.vbar.value() + 50)
    assert canvas.offset.y() == pytest.approx(offset.y() - 50)
    window.resize(1000, 700)  # not in fit mode: the zoom stays
    qtbot.waitUntil(lambda: window.width() == 1000)
    assert canvas.zoom == 4.0
    canvas.fit_to_window()
    assert canvas.fit_mode


def test_navigator_click_centres_the_view(window, qtbot):
    canvas, nav = window.canvas, window.navigator
    canvas.set_zoom(6.0)
    target = nav._target()
    doc = window.controller.doc
    point = QPointF(target.left() + target.width() * 0.25, target.top() + target.height() * 0.75)
    _send(nav, QEvent.Type.MouseButtonPress, point, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    centre = canvas.visible_rect().center()
    assert centre.x() == pytest.approx(doc.width * 0.25, abs=1.0)
    assert centre.y() == pytest.approx(doc.height * 0.75, abs=1.0)


def _key(widget, kind, autorepeat=False):
    QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", autorepeat))


def test_space_drag_pans_from_anywhere_and_survives_auto_repeat(window, qtbot):
    doc, canvas = window.controller.doc, window.canvas
    button = window.mode_panels["inpaint"].apply_button
    button.setFocus()
    clicked = []
    button.clicked.connect(lambda: clicked.append(True))
    _key(button, QEvent.Type.KeyPress)
    for _ in range(3):  # a held key: auto-repeated release and press pairs
        _key(button, QEvent.Type.KeyRelease, autorepeat=True)
        _key(button, QEvent.Type.KeyPress, autorepeat=True)
    assert canvas._space_down
    offset = QPointF(canvas.offset)
    drag(canvas, [(100, 100), (140, 120)])
    assert not doc.mask.any() and not doc.can_undo  # it panned instead of painting
    assert canvas.offset != offset
    _key(button, QEvent.Type.KeyRelease)
    assert not canvas._space_down and not clicked
    # Space still types into text fields
    spin = window.options_bar.size_spin
    spin.setFocus()
    _key(spin, QEvent.Type.KeyPress)
    assert not canvas._space_down


def test_shortcuts_dialog_is_generated_from_the_actions(window, qtbot):
    from ganpaint.ui.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog(window.menuBar(), window)
    qtbot.addWidget(dialog)
    rows = {(dialog.table.item(r, 1).text(), dialog.table.item(r, 0).text()) for r in range(dialog.table.rowCount())}
    assert ("Apply fill", "Ctrl+Return, Ctrl+Enter") in rows
    assert ("Before / after", "\\") in rows and ("Mask brush", "M") in rows and ("Keyboard shortcuts", "F1") in rows
    assert any(action == "pan" for action, _ in rows)
    with_keys = [a for menu in window.menuBar().findChildren(type(window.recent_menu)) for a in menu.actions() if a.shortcuts()]
    assert len(with_keys) >= 25 and all((a.text().replace("&", "").rstrip("."), a.shortcuts()[0].toString()) in
                                        {(n, k.split(", ")[0]) for n, k in rows} for a in with_keys)


@pytest.mark.parametrize("mode", ["inpaint", "synthesize"])
def test_the_apply_action_has_one_name_everywhere(window, mode):
    window.set_mode(mode)
    active = window.controller.active
    panel = window.mode_panels[mode]
    toolbar_button = next(b for b in window.findChildren(QToolButton) if b.defaultAction() is window.apply_action)
    assert window.apply_action.text().replace("&", "") == panel.apply_button.text() == active.apply_text
    assert toolbar_button.toolTip() == panel.apply_button.toolTip() == active.apply_tip
    from ganpaint.ui.shortcuts import shortcut_rows

    assert (("Ctrl+Return, Ctrl+Enter", active.apply_text, "Edit") in shortcut_rows(window.menuBar()))
