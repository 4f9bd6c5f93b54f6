"""Studio modes in the real window: tools per mode, seed only for stochastic models, projects that
restore their mode, model and label set."""

import numpy as np
import pytest

from ganpaint.document import project
from tests.conftest import SAMPLES
from tests.test_gui import drag

pytestmark = pytest.mark.gui


def _real_window(qtbot, path):
    from ganpaint.ui.app import create_window

    win = create_window(str(path), device="cpu", offer_recovery=False)
    win.confirm_discard = False
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_tabs_come_from_the_mode_classes(window):
    from ganpaint.modes import MODE_CLASSES

    titles = [window.engine_tabs.tabText(i) for i in range(window.engine_tabs.count())]
    assert titles == [cls.title for cls in MODE_CLASSES]
    window.engine_tabs.setCurrentIndex(1)
    assert window.controller.mode == MODE_CLASSES[1].name
    assert window.apply_action.text().replace("&", "") == MODE_CLASSES[1].apply_text


def test_label_brush_in_the_inpainting_tab_switches_to_semantic_instead_of_painting_unseen_labels(window, qtbot):
    doc = window.controller.doc
    assert window.controller.mode == "inpaint"
    window.set_tool("labels")
    assert window.controller.mode == "synthesize"
    assert window.engine_tabs.currentIndex() == 1
    assert window.controller.tool.name == "labels"
    assert "Semantic" in window.notice_bar.text.text()
    assert not doc.can_undo  # choosing the tool recorded nothing
    # back in the Inpainting tab the label brush is not kept: the mask brush is
    window.set_mode("inpaint")
    assert window.controller.tool.name == "mask"
    assert window.controller.settings.target == "mask"


def test_seed_is_shown_only_for_stochastic_models_and_changes_the_picture(qtbot):
    win = _real_window(qtbot, SAMPLES / "coffee.png")
    try:
        inpaint, semantic = win.mode_panels["inpaint"], win.mode_panels["synthesize"]
        assert not win.controller.registry.get(win.controller.models["inpaint"]).stochastic
        assert inpaint.seed_row.isHidden()
        assert not semantic.seed_row.isHidden()
        win.set_mode("synthesize")
        win.controller.settings.label = 0  # sky
        doc = win.start_blank_canvas(128, 128)
        doc.labels[64:] = 3  # grass below
        doc.mark_changed({"labels"})
        qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=30000)
        first = doc.result.copy()
        semantic.seed_spin.setValue(win.controller.seed + 12345)
        qtbot.waitUntil(lambda: doc.result is not None and not np.array_equal(doc.result, first), timeout=30000)
        assert np.abs(doc.result.astype(int) - first.astype(int)).mean() > 2.0  # visibly different
    finally:
        win.close()


@pytest.mark.parametrize("model", ["spade-landscape", "spade-streets", "spade-facades"])
def test_project_restores_mode_model_and_label_set(qtbot, tmp_path, model):
    win = _real_window(qtbot, SAMPLES / "chelsea.png")
    try:
        win.set_mode("synthesize")
        win.mode_panels["synthesize"].model_combo.setCurrentText(model)
        labelset = win.controller.labelset
        assert labelset.name != "landscape" or model == "spade-landscape"
        doc = win.controller.doc
        qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=30000)
        last = labelset.labels[-1].id
        win.controller.settings.label = last
        win.controller.settings.size = 20
        drag(win.canvas, [(40, 40), (80, 40)])
        assert (doc.labels == last).any()
        path = tmp_path / "edit.ganpaint"
        project.save_project(doc, str(path))
    finally:
        win.close()
    again = _real_window(qtbot, path)
    try:
        c = again.controller
        assert c.mode == "synthesize" and again.engine_tabs.currentIndex() == 1
        assert c.models["synthesize"] == model
        assert again.mode_panels["synthesize"].model_combo.currentText() == model
        assert c.labelset.name == labelset.name
        assert again.palette_panel.labelset.name == labelset.name
        assert again.options_bar.label_combo.count() == len(labelset.labels)
        assert (c.doc.labels == last).any()
        assert set(np.unique(c.doc.labels)) <= {label.id for label in labelset.labels}
        assert again.model_label.text().endswith(model)
    finally:
        again.close()


def test_result_of_an_older_seed_is_never_applied(window, qtbot, fake_models):
    doc = window.controller.doc
    drag(window.canvas, [(60, 60), (90, 60)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    fake_models.release.clear()  # hold the next run
    window.controller.set_seed(window.controller.seed + 1)
    assert not window.controller.apply_result()  # the shown fill belongs to the old seed
    assert "still being computed" in window.notice_bar.text.text()
    fake_models.release.set()
    qtbot.waitUntil(lambda: window.controller._result_is_current(), timeout=10000)
    assert window.controller.apply_result()
