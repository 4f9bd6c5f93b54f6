"""The Inpainting tab's *Photo texture* switch: it reaches the engine's request, computes again, and is
remembered by the fill layer it made (re-edit restores it)."""

import numpy as np
import pytest

from tests.test_gui import drag

pytestmark = pytest.mark.gui


def test_photo_texture_switch_reaches_the_request_and_the_layer(window, qtbot, fake_models):
    controller, doc = window.controller, window.controller.doc
    panel = window.mode_panels["inpaint"]
    assert panel.switch("texture").isChecked() and controller.active.texture
    window.set_tool("mask")
    drag(window.canvas, [(60, 60), (120, 90)])
    qtbot.waitUntil(lambda: fake_models.last_texture is True and controller._result_is_current(), timeout=10000)
    runs = fake_models.runs
    panel.switch("texture").click()  # off: the same mask is filled again, smooth
    qtbot.waitUntil(lambda: fake_models.runs > runs and controller._result_is_current(), timeout=10000)
    assert fake_models.last_texture is False
    controller.apply_result()
    layer = doc.edits[-1]
    assert layer.settings.get("texture") is False
    panel.switch("texture").click()  # back on for new fills
    assert controller.active.texture
    assert controller.reedit_layer(len(doc.edits) - 1)  # the layer's own choice comes back
    assert not controller.active.texture and not panel.switch("texture").isChecked()
    qtbot.waitUntil(lambda: controller._result_is_current(), timeout=10000)
    assert fake_models.last_texture is False and doc.mask.any()


def test_request_default_is_textured():
    from ganpaint.inference.requests import InpaintRequest

    image = np.zeros((8, 8, 3), np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    assert InpaintRequest.snapshot(0, image, mask, "m").texture is True
    assert InpaintRequest.snapshot(0, image, mask, "m", texture=False).texture is False
