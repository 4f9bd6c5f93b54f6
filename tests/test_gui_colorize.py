"""The Colorize tab in the real window, with a tiny random compact colorization network."""

import numpy as np
import pytest

from ganpaint.document.model import Document
from ganpaint.lab import rgb8_to_lab
from tests.test_gui import drag

pytestmark = pytest.mark.gui


def _gray_document(window):
    photo = window.controller.doc.photo
    gray = np.repeat(photo.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    doc = Document(gray)
    window.controller.set_document(doc)
    return doc


def _ab(rgb):
    return rgb8_to_lab(np.asarray(rgb, np.uint8).reshape(1, 3))[0, 1:]


def test_a_dropped_hint_colours_the_picture_near_it(window, qtbot):
    doc = _gray_document(window)
    window.set_mode("colorize")
    assert window.controller.tool.name == "hint"
    assert window.canvas.vector_layers == {"hints"}
    red = (210, 40, 40)
    window.mode_panels["colorize"].picker._picked(red)  # as a click on a swatch would
    assert window.controller.settings.color == red
    window.controller.settings.size = 8
    drag(window.canvas, [(120, 100)])  # a click: a point hint
    assert len(doc.hints) == 1 and doc.hints[0].rgb == red
    qtbot.waitUntil(lambda: doc.result is not None and window.controller._result_is_current(), timeout=20000)
    near = _ab(doc.result[100, 120])
    assert np.linalg.norm(near - _ab(red)) < np.linalg.norm(_ab(red)) / 2  # coloured towards the hint
    panel = window.mode_panels["colorize"]
    assert panel.picker.suggestions.colors  # the distribution head's suggestions at the hint
    # recolour the selected hint from the picker: the picture follows
    blue = (40, 60, 210)
    panel.picker._picked(blue)
    assert doc.hints[0].rgb == blue
    qtbot.waitUntil(lambda: window.controller._result_is_current()
                    and np.linalg.norm(_ab(doc.result[100, 120]) - _ab(blue)) < np.linalg.norm(_ab(blue)) / 2,
                    timeout=20000)
    # apply: an edit layer that remembers the hints; the hints are cleared
    assert window.controller.apply_result()
    assert len(doc.edits) == 1 and not doc.hints
    assert doc.edits[0].settings["hints"][0]["rgb"] == list(blue)
    window.undo_action.trigger()
    assert not doc.edits and len(doc.hints) == 1


def test_hints_are_undoable_saved_and_a_colour_photo_is_recoloured(window, qtbot, tmp_path):
    from ganpaint.document import project

    doc = window.controller.doc
    photo = doc.photo.copy()
    window.set_mode("colorize")
    qtbot.wait(10)
    assert doc.result is None  # a colour photo without hints: nothing to recolour
    window.controller.settings.size = 6
    drag(window.canvas, [(40, 40)])
    drag(window.canvas, [(200, 150), (260, 150)])  # a drag: a stroke hint
    assert len(doc.hints) == 2 and doc.hints[1].is_stroke
    qtbot.waitUntil(lambda: doc.result is not None and window.controller._result_is_current(), timeout=20000)
    assert window.controller.active.recolors(doc)  # a colour photo is recoloured (bit-exactness: engine tests)
    assert not np.array_equal(doc.result, photo)
    path = tmp_path / "hints.ganpaint"
    project.save_project(doc, str(path))
    assert len(project.load_project(str(path)).hints) == 2
    window.undo_action.trigger()
    assert len(doc.hints) == 1
    window.toggle_vectors()  # Shift+H hides the hint discs
