"""*Grow mask* (Inpainting tab button and *Grow by*, Edit menu, Ctrl+Shift+G): every hole grows by the chosen
number of pixels in every direction, soft edges kept, as one undo step."""

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_grow_mask_button_grows_the_holes_by_the_chosen_pixels_as_one_undo_step(window, qtbot):
    controller, doc = window.controller, window.controller.doc
    panel = window.mode_panels["inpaint"]
    window.set_mode("inpaint")
    mask = np.zeros_like(doc.mask)
    mask[40:60, 50:70] = 255
    mask[60, 50:70] = 128  # a soft bottom edge
    doc.set_layer("mask", mask, "test hole")
    panel.grow_spin.setValue(6)
    assert controller.grow_pixels == 6
    panel.grow_mask_button.click()
    grown = doc.mask
    ys, xs = np.nonzero(grown == 255)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (34, 65, 44, 75)  # 6 px further on every side ...
    assert grown[66, 60] == 128 and grown[67, 60] == 0  # ... the soft edge moved out with it
    assert grown[35, 45] == 0  # a disc, not a square: the corners are rounder
    controller.undo()
    assert np.array_equal(doc.mask, mask)  # one undo step


def test_grow_mask_without_a_hole_does_nothing(window):
    controller, doc = window.controller, window.controller.doc
    doc.set_layer("mask", np.zeros_like(doc.mask), "no hole")
    revision = doc.revision
    window.grow_action.trigger()
    assert doc.revision == revision and not doc.mask.any()
