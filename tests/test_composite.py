"""Canvas overlay blending (ui/composite.py) and the studio's large-photo memory check (ui/memory_check.py)."""

import numpy as np
import pytest

from ganpaint.ui import composite
from ganpaint.ui.composite import OverlayState, compose


@pytest.mark.parametrize("outline", [False, True])
def test_banded_blend_equals_whole_picture_blend(monkeypatch, outline):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (301, 97, 3), dtype=np.uint8)
    labels = rng.integers(0, 256, (301, 97, 3), dtype=np.uint8)
    mask = np.zeros((301, 97), np.uint8)
    mask[40:260, 20:70] = 255
    mask[::9] = 0  # hole edges on many rows, some at band boundaries
    state = OverlayState(labels_opacity=0.4, mask_outline_only=outline)
    monkeypatch.setattr(composite, "BAND_PIXELS", 10 * 97)  # bands of 10 rows
    banded = compose(picture, mask, labels, state)
    monkeypatch.setattr(composite, "BAND_PIXELS", 10**9)
    whole = compose(picture, mask, labels, state)
    assert np.array_equal(banded, whole)
    assert not np.array_equal(whole, picture)


def test_large_photo_memory_check_drives_the_studio(qapp):
    from ganpaint.ui.memory_check import measure_large_edit_memory

    result = measure_large_edit_memory(320, 240, brush=40, device="cpu", timeout_s=120)
    assert result["width"] == 320 and result["height"] == 240
    assert result["peak_rss_mib"] >= result["open_rss_mib"] > 0
    assert set(result["seconds"]) == {"open", "inpaint stroke", "segment", "label stroke"}
