"""The fill tool in the real window (#9.8): no specks left on label boundaries, line-art fill with gap
closing, and options shown only for the target they apply to."""

import numpy as np
import pytest
from PIL import Image

from tests.test_gui import drag
from tests.test_tools import _line_art, _segmented_labels

pytestmark = pytest.mark.gui


def _options(window):
    return {title for title, (label, widget) in window.options_bar._widgets.items() if not widget.isHidden()}


def test_fill_options_follow_the_target(window):
    window.set_tool("fill")
    bar = window.options_bar
    bar.target_combo.setCurrentIndex(bar.target_combo.findData("mask"))
    assert _options(window) == {"Target"}
    bar.target_combo.setCurrentIndex(bar.target_combo.findData("photo"))
    assert _options(window) == {"Target", "Colour", "Tolerance", "Close gaps"}
    bar.target_combo.setCurrentIndex(bar.target_combo.findData("labels"))
    assert _options(window) == {"Target", "Class"}
    window.set_tool("eyedropper")
    assert _options(window) == {"Target", "Class"}
    window.set_tool("brush")
    assert "Tolerance" not in _options(window) and "Colour" in _options(window)


def test_label_fill_leaves_no_specks_in_the_studio(window, qtbot):
    doc = window.controller.doc
    window.set_mode("synthesize")
    qtbot.waitUntil(lambda: doc.settings.get("labels_source") == "segmenter", timeout=10000)
    labels = np.zeros(doc.shape, np.uint8)
    labels[: _segmented_labels().shape[0], : _segmented_labels().shape[1]] = _segmented_labels()
    labels[_segmented_labels().shape[0]:] = 6
    labels[:, _segmented_labels().shape[1]:] = 6
    doc.set_layer("labels", labels, "Import label map")
    window.set_tool("fill")
    window.controller.settings.label = 1
    drag(window.canvas, [(30, 50)])
    assert not (doc.labels == 3).any() and not (doc.labels[41:60, :60] == 7).any()
    assert not (doc.labels[40, :60] == 5).any()
    assert doc.undo_text == "Fill labels"


def test_line_art_fill_closes_gaps_in_the_studio(window, qtbot, tmp_path):
    picture, _ = _line_art(gap=4)
    Image.fromarray(picture).save(tmp_path / "ring.png")
    assert window.open_path(str(tmp_path / "ring.png"))
    doc = window.controller.doc
    window.set_tool("fill")
    bar = window.options_bar
    bar.target_combo.setCurrentIndex(bar.target_combo.findData("photo"))
    window.controller.settings.color = (200, 40, 40)
    bar.gap_spin.setValue(6)
    assert window.controller.settings.gap == 6
    drag(window.canvas, [(50, 50)])
    assert tuple(doc.photo[50, 50]) == (200, 40, 40)
    assert tuple(doc.photo[2, 2]) == (255, 255, 255)  # the gap held
