"""GUI tests of semantic synthesis in the studio, with fake segmentation and synthesis engines."""

import numpy as np
import pytest
from PIL import Image

from tests.fakes import synth_color
from tests.test_gui import drag

pytestmark = pytest.mark.gui


def test_photo_is_read_into_labels_and_painting_regenerates_only_that_region(window, qtbot):
    doc = window.controller.doc
    photo = doc.photo.copy()
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=10000)
    qtbot.waitUntil(window.notice_bar.isHidden, timeout=5000)  # "Reading the photo's regions..." went with it
    assert doc.labels[10, 10] == 0 and doc.labels[-10, 10] == 3
    assert window.layers_panel.labels_opacity.value() > 0
    assert window.controller.tool.name == "labels"
    window.palette_panel.list.setCurrentRow(4)  # water
    assert window.controller.settings.label == 4
    window.controller.settings.size = 20
    drag(window.canvas, [(100, 250), (200, 250)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    region = doc.labels != 3
    region[: doc.height // 2] = False
    assert region.any()
    assert (doc.result[region] == synth_color(doc.labels)[region]).all()
    model = window.controller.active.model
    assert window.model_label.text() == f"model: fake-editor (editor of {model})"  # who painted the edit
    assert np.array_equal(doc.result[~region & (np.arange(doc.height)[:, None] >= doc.height // 2)],
                          photo[~region & (np.arange(doc.height)[:, None] >= doc.height // 2)])
    # undo the stroke: labels equal the reading again, nothing to regenerate
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: doc.result is None, timeout=5000)


def answer_new_canvas(monkeypatch, width, height, label=None, style=None):
    """Make File > New canvas's dialog answer OK with this size (and class and style in Semantic mode)."""
    from PySide6.QtWidgets import QDialog

    from ganpaint.ui.new_canvas import NewCanvasDialog

    def exec_(dialog):
        dialog.width_spin.setValue(width)
        dialog.height_spin.setValue(height)
        if label is not None:
            dialog.class_combo.setCurrentIndex(dialog.class_combo.findData(label))
        if style is not None:
            dialog.style_combo.setCurrentIndex(dialog.style_combo.findData(style))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(NewCanvasDialog, "exec", exec_)


def test_blank_canvas_doodle_becomes_picture(window, qtbot, monkeypatch):
    window.set_mode("synthesize")
    answer_new_canvas(monkeypatch, 256, 192, label=0)
    window.new_canvas()
    doc = window.controller.doc
    assert doc.shape == (192, 256) and (doc.labels == 0).all()
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    assert (doc.result == 0).all()
    window.controller.settings.label = 6
    window.controller.settings.size = 30
    drag(window.canvas, [(50, 150), (200, 150)])
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    assert np.array_equal(doc.result, synth_color(doc.labels))
    # "before" on a blank canvas shows the label map's colours
    assert np.array_equal(window.canvas._before_array[150, 100], window.controller.labelset.colorize(doc.labels)[150, 100])


def test_match_photo_switch_is_disabled_while_there_is_no_photo(window, qtbot, monkeypatch):
    """*Match photo* and *Read regions from photo* do nothing on a blank canvas: both are greyed out there, and enabled again once an applied picture makes the canvas a photo to edit,
    or when a photo is opened."""
    panel = window.mode_panels["synthesize"]
    box, read = panel.switch("exemplar"), panel.resegment_button
    window.set_mode("synthesize")
    assert box.isEnabled() and read.isEnabled()  # the test photo
    answer_new_canvas(monkeypatch, 128, 96, label=0)
    window.new_canvas()
    doc = window.controller.doc
    assert not box.isEnabled() and not read.isEnabled()
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    assert window.controller.apply_result()
    assert box.isEnabled() and read.isEnabled()  # later label edits repaint regions of the applied picture
    window.undo_action.trigger()
    assert not box.isEnabled() and not read.isEnabled()


def test_label_map_import_refuses_unknown_colours_and_can_snap(window, tmp_path, qtbot):
    doc = window.controller.doc
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=10000)
    colours = window.controller.labelset.colorize(np.full(doc.shape, 4, np.uint8))
    colours[:5, :5] = (255, 0, 255)
    path = tmp_path / "labels.png"
    Image.fromarray(colours).save(path)
    assert not window.import_labels_from(str(path), snap=False)
    assert window.notice_bar.level == "error" and "#ff00ff" in window.notice_bar.text.text().lower()
    assert window.import_labels_from(str(path), snap=True)
    assert doc.labels[100, 100] == 4


def test_label_map_of_another_size_is_refused(window, tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(path)
    assert not window.import_labels_from(str(path), snap=False)
    assert "10x10" in window.notice_bar.text.text()


def test_late_result_for_a_replaced_document_of_the_same_size_is_dropped(window, qtbot):
    """A segmentation started for one photo must never become the label map of the next one."""
    from ganpaint.document.model import Document
    from ganpaint.inference import events
    from ganpaint.inference.requests import Result

    controller = window.controller
    first = controller.doc
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: first.settings.get("labels_source") == "segmenter", timeout=10000)
    stale_revision = controller._submitted_revision
    second = Document(np.full_like(first.photo, 200))
    assert second.revision <= first.revision  # a fresh document starts again from revision 0
    controller.set_document(second)
    wrong = np.full(second.shape, 5, np.uint8)
    for revision in range(stale_revision + 1):  # whatever the older document had in flight
        controller._on_worker_event(events.Finished(Result(revision=revision, task="segment", image=wrong)))
    reading = controller.modes["synthesize"].reading
    assert reading is None or not (reading == 5).all()
    qtbot.waitUntil(lambda: second.settings.get("labels_source") == "segmenter", timeout=10000)
    assert not (second.labels == 5).all()


def test_label_brush_on_a_blank_canvas_keeps_the_picture_visible(window, qtbot, monkeypatch):
    window.set_mode("synthesize")
    answer_new_canvas(monkeypatch, 128, 96)
    window.notice_bar.show_message("Reading the photo's regions...", "info")
    window.new_canvas()
    assert window.notice_bar.isHidden()  # a notice about the previous photo goes with it
    window.set_tool("fill")
    window.set_tool("labels")
    assert window.layers_panel.labels_opacity.value() == 0  # the label map is the split view's "before"


def test_match_photo_switch_reaches_the_request_and_the_layer(window, qtbot):
    """The Semantic tab's *Match photo* switch: in the photo-edit request, computed again when toggled,
    remembered by the layer it made (re-edit restores it)."""
    from tests.fakes import FakeSynthesisEngine

    c, doc = window.controller, window.controller.doc
    panel = window.mode_panels["synthesize"]
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=10000)
    assert panel.switch("exemplar").isChecked() and c.active.exemplar
    FakeSynthesisEngine.last_exemplar = None
    c.settings.label, c.settings.size = 4, 20
    drag(window.canvas, [(100, 250), (200, 250)])
    qtbot.waitUntil(lambda: FakeSynthesisEngine.last_exemplar is True and c._result_is_current(), timeout=10000)
    panel.switch("exemplar").click()  # off: the same edit is painted again without the photo's exemplars
    qtbot.waitUntil(lambda: FakeSynthesisEngine.last_exemplar is False and c._result_is_current(), timeout=10000)
    assert c.apply_result()
    assert doc.edits[-1].settings.get("exemplar") is False
    panel.switch("exemplar").click()  # back on for new edits
    assert c.active.exemplar
    assert c.reedit_layer(len(doc.edits) - 1)  # the layer's own choice comes back
    assert not c.active.exemplar and not panel.switch("exemplar").isChecked()
    qtbot.waitUntil(lambda: c._result_is_current(), timeout=10000)
    assert FakeSynthesisEngine.last_exemplar is False


def test_synthesis_request_default_matches_the_photo():
    from ganpaint.inference.requests import SynthesisRequest

    labels = np.zeros((8, 8), np.uint8)
    photo = np.zeros((8, 8, 3), np.uint8)
    assert SynthesisRequest.snapshot(0, labels, "m", photo=photo).exemplar is True
    assert SynthesisRequest.snapshot(0, labels, "m", photo=photo, exemplar=False).exemplar is False
