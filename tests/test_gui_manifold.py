"""The Manifold tab (iGAN) in the real window, with a tiny random GAN: project, stroke, pick, apply."""

import numpy as np
import pytest

from tests.test_gui import drag

pytestmark = pytest.mark.gui


def test_project_stroke_choose_and_apply(window, qtbot):
    c = window.controller
    doc = c.doc
    photo = doc.photo.copy()
    window.set_mode("manifold")
    panel = window.mode_panels["manifold"]
    mode = c.active
    assert c.tool.name == "gan-color" and window.canvas.frame_source is not None
    region = mode.frame(doc)
    assert region[2] - region[0] == region[3] - region[1] == min(doc.shape)  # the centred square
    # drag a smaller region with the region tool, then project it
    window.set_tool("region")
    drag(window.canvas, [(20, 30), (140, 150)])
    x0, y0, x1, y1 = mode.frame(doc)
    assert (x0, y0) == (20, 30) and x1 - x0 == y1 - y0 == 120
    panel.steps_spin.setValue(5)
    panel.project_button.click()
    qtbot.waitUntil(lambda: mode.projected and c._result_is_current(), timeout=30000)
    assert "PSNR" in panel.error_label.text()
    outside = np.ones(doc.shape, bool)
    outside[30:150, 20:140] = False
    assert np.array_equal(doc.result[outside], photo[outside])  # the projection is shown in the region only
    # a colour stroke: K candidates, the best one transferred onto the photo
    window.set_tool("gan-color")
    c.settings.color = (250, 20, 20)
    c.settings.size = 12
    drag(window.canvas, [(50, 80), (110, 80)])
    assert len(doc.strokes) == 1 and doc.strokes[0].kind == "color"
    qtbot.waitUntil(lambda: mode.candidates is not None and c._result_is_current(), timeout=60000)
    assert panel.gallery.count() == mode.candidate_count
    assert np.array_equal(doc.result[outside], photo[outside])  # the transfer keeps pixels outside the region
    first = doc.result.copy()
    panel.gallery.setCurrentRow(mode.candidate_count - 1)  # the worst candidate looks different
    qtbot.waitUntil(lambda: c._result_is_current() and not np.array_equal(doc.result, first), timeout=30000)
    panel.morph_slider.setValue(0)  # the start of the morph: the projection itself
    qtbot.waitUntil(lambda: c._result_is_current() and mode.morph_frame == 0, timeout=30000)
    panel.morph_slider.setValue(panel.morph_slider.maximum())
    qtbot.waitUntil(lambda: c._result_is_current() and mode.morph_frame is None, timeout=30000)
    assert c.apply_result()
    assert len(doc.edits) == 1 and not doc.strokes and not mode.projected
    assert doc.edits[0].settings["strokes"][0]["kind"] == "color"
    window.undo_action.trigger()
    assert not doc.edits and len(doc.strokes) == 1


def test_dice_opens_a_gan_sample_ready_to_edit(window, qtbot):
    c = window.controller
    window.set_mode("manifold")
    first = c.doc
    window.mode_panels["manifold"].sample_button.click()
    qtbot.waitUntil(lambda: c.doc is not first and c.active.projected, timeout=30000)
    doc = c.doc
    assert doc.shape == (64, 64) and c.mode == "manifold"
    assert c.active.frame(doc) == (0, 0, 64, 64)
    c.settings.size = 6
    drag(window.canvas, [(10, 20), (50, 20)])
    qtbot.waitUntil(lambda: c.active.candidates is not None and c._result_is_current(), timeout=60000)
    assert doc.result.shape == (64, 64, 3)
