"""Non-destructive Apply in the real window (#9.1): edit layers, the Layers dock, re-edit, before/after
against the original, projects that keep the stack."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.fakes import FILL_COLOR, synth_color
from tests.test_gui import drag

pytestmark = pytest.mark.gui


def _settled(doc):
    return doc.result is not None and doc.result_revision == doc.revision


def _apply_stroke(window, qtbot, points):
    doc = window.controller.doc
    drag(window.canvas, points)
    qtbot.waitUntil(lambda: _settled(doc) and window.controller._result_is_current(), timeout=10000)
    assert window.controller.apply_result()


def test_apply_adds_a_layer_and_before_after_compares_with_the_original(window, qtbot, tmp_path):
    doc = window.controller.doc
    photo = doc.photo.copy()
    window.controller.settings.size = 20
    _apply_stroke(window, qtbot, [(60, 60), (90, 60)])
    assert np.array_equal(doc.photo, photo)  # the original is untouched
    assert [layer.name for layer in doc.edits] == ["Fill 1"]
    assert tuple(doc.composite()[60, 75]) == FILL_COLOR and not doc.mask.any()
    qtbot.waitUntil(lambda: doc.result is None, timeout=5000)
    # the canvas shows the composite; "before" (\ and the split view) is the original photo
    assert tuple(window.canvas._display[60, 75]) == FILL_COLOR
    window.compare_action.trigger()
    assert tuple(window.canvas._before_array[60, 75]) == tuple(photo[60, 75])
    window.compare_action.trigger()
    # the Layers dock lists the layer above the photo, with a thumbnail
    panel = window.layers_panel
    assert [panel.list.item(r).text() for r in range(panel.list.count())] == ["Fill 1", "Photo"]
    assert not panel.list.item(0).icon().isNull()
    # save and reopen: the original photo and the layer are both there
    path = tmp_path / "cat.ganpaint"
    assert window._save_to(str(path))
    assert window.open_path(str(path))
    reopened = window.controller.doc
    assert np.array_equal(reopened.photo, photo)
    assert [layer.name for layer in reopened.edits] == ["Fill 1"]
    assert tuple(reopened.composite()[60, 75]) == FILL_COLOR


def test_next_erasure_reads_the_composite(window, qtbot, fake_models):
    doc = window.controller.doc
    window.controller.settings.size = 20
    _apply_stroke(window, qtbot, [(60, 60), (90, 60)])
    captured = []
    original_run = fake_models.run

    def spying_run(self, request, cancel, progress):
        captured.append(np.array(request.image))
        return original_run(self, request, cancel, progress)

    fake_models.run = spying_run
    try:
        drag(window.canvas, [(150, 150), (170, 150)])
        qtbot.waitUntil(lambda: _settled(doc), timeout=10000)
    finally:
        fake_models.run = original_run
    assert captured and tuple(captured[-1][60, 75]) == FILL_COLOR  # the engine built on the applied fill


def test_layers_dock_hides_fades_reorders_merges_and_deletes_undoably(window, qtbot):
    doc = window.controller.doc
    photo = doc.photo.copy()
    panel = window.layers_panel
    window.controller.settings.size = 20
    _apply_stroke(window, qtbot, [(60, 60), (90, 60)])
    _apply_stroke(window, qtbot, [(60, 100), (90, 100)])
    qtbot.waitUntil(lambda: panel.list.count() == 3, timeout=3000)
    assert panel.list.item(0).text() == "Fill 2" and panel.current_index() == 1
    # visibility: untick the top layer
    panel.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not doc.edits[1].visible and np.array_equal(doc.composite()[100, 75], photo[100, 75])
    assert doc.undo_text == "Hide Fill 2"
    window.undo_action.trigger()
    assert doc.edits[1].visible
    # opacity of the selected layer
    panel.refresh()
    panel.select(1)
    panel.opacity.setValue(40)
    assert doc.edits[1].opacity == pytest.approx(0.4)
    assert doc.undo_text == "Opacity of Fill 2"
    # move down, then merge down, then delete: each one undo step
    qtbot.mouseClick(panel.buttons["down"], Qt.MouseButton.LeftButton)
    assert [layer.name for layer in doc.edits] == ["Fill 2", "Fill 1"]
    assert panel.current_index() == 0  # the moved layer stays selected
    panel.select(1)
    qtbot.mouseClick(panel.buttons["merge"], Qt.MouseButton.LeftButton)  # Fill 1 into Fill 2
    assert len(doc.edits) == 1 and doc.edits[0].mode == "merged"
    assert not panel.buttons["reedit"].isEnabled()
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert not doc.edits and np.array_equal(doc.composite(), photo)
    for expected in (1, 2, 2):
        window.undo_action.trigger()
        assert len(doc.edits) == expected
    assert [layer.name for layer in doc.edits] == ["Fill 1", "Fill 2"]


def test_reedit_restores_mask_model_and_seed_and_applies_again(window, qtbot):
    c = window.controller
    doc = c.doc
    c.settings.size = 20
    drag(window.canvas, [(60, 60), (90, 60)])
    mask = doc.mask.copy()
    seed = c.seed
    qtbot.waitUntil(lambda: _settled(doc) and c._result_is_current(), timeout=10000)
    assert c.apply_result()
    c.set_seed(seed + 5)
    window.layers_panel.refresh()
    window.layers_panel.select(0)
    qtbot.mouseClick(window.layers_panel.buttons["reedit"], Qt.MouseButton.LeftButton)
    assert not doc.edits and np.array_equal(doc.mask, mask)
    assert c.seed == seed and c.models["inpaint"] == "fake-inpaint"
    assert doc.undo_text == "Re-edit Fill 1"
    qtbot.waitUntil(lambda: _settled(doc) and c._result_is_current(), timeout=10000)  # recomputed live
    assert (doc.result[mask > 127] == FILL_COLOR).all()
    assert c.apply_result()
    assert [layer.name for layer in doc.edits] == ["Fill 2"]


def test_semantic_apply_is_a_layer_and_reedit_regenerates_its_region(window, qtbot):
    c = window.controller
    doc = c.doc
    photo = doc.photo.copy()
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=10000)
    c.settings.label, c.settings.size = 4, 20
    drag(window.canvas, [(100, 250), (200, 250)])
    qtbot.waitUntil(lambda: _settled(doc) and c._result_is_current(), timeout=10000)
    result = doc.result.copy()
    assert c.apply_result()
    assert np.array_equal(doc.photo, photo) and np.array_equal(doc.composite(), result)
    assert doc.edits[0].name == "Synthesis 1" and set(doc.edits[0].inputs) == {"labels", "reading"}
    labels = doc.labels.copy()
    assert c.reedit_layer(0)
    assert not doc.edits and np.array_equal(doc.labels, labels)
    qtbot.waitUntil(lambda: _settled(doc) and c._result_is_current(), timeout=10000)
    assert np.array_equal(doc.result, result)
    region = doc.labels == 4
    assert (doc.result[region] == synth_color(doc.labels)[region]).all()
