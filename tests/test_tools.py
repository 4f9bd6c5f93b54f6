"""Canvas tools turn pointer events into document edits (headless, no Qt)."""

import numpy as np
import pytest

from ganpaint.document.model import Document
from ganpaint.tools import EraserTool, EyedropperTool, FillTool, LabelBrushTool, MaskBrushTool, PaintBrushTool, ToolSettings
from ganpaint.tools.raster import StrokeCoverage, dab_centres, dab_coverage


def _doc(width=120, height=80):
    photo = np.zeros((height, width, 3), np.uint8)
    photo[:, :, 1] = 100
    return Document(photo)


def _stroke(tool, doc, points):
    tool.press(doc, *points[0])
    for point in points[1:-1]:
        tool.move(doc, *point)
    return tool.release(doc, *points[-1])


def test_hard_dab_covers_a_disc_and_soft_dab_falls_off():
    rect, hard = dab_coverage(50.0, 50.0, 20.0, 1.0, (100, 100))
    x0, y0, _, _ = rect
    assert hard[50 - y0, 50 - x0] == 1.0
    assert hard[50 - y0, 58 - x0] == 1.0  # pixel centre 8.5 px from the centre: inside
    assert hard[50 - y0, 60 - x0] == 0.0  # pixel centre 10.5 px from the centre: outside
    _, soft = dab_coverage(50.0, 50.0, 20.0, 0.0, (100, 100))
    assert 0.0 < soft[50 - y0, 56 - x0] < soft[50 - y0, 51 - x0] <= 1.0


def test_dab_outside_image_is_none():
    assert dab_coverage(-50, -50, 10, 1, (20, 20)) is None


def test_dab_spacing_is_independent_of_event_rate():
    one, _ = dab_centres((0, 0), (100, 0), 20)
    many, carry = [], 0.0
    for x in range(0, 100, 5):
        centres, carry = dab_centres((x, 0), (x + 5, 0), 20, carry)
        many += centres
    assert len(one) == len(many)
    assert np.allclose([c[0] for c in one], [c[0] for c in many])


def test_stroke_coverage_takes_max_not_sum():
    cov = StrokeCoverage((50, 50))
    cov.add_dab(25, 25, 10, 0.0)
    first = cov.coverage(cov.rect).copy()
    cov.add_dab(25, 25, 10, 0.0)
    assert np.array_equal(first, cov.coverage(cov.rect))


def test_mask_brush_stroke_is_one_undo_step_and_bumps_revision():
    doc = _doc()
    tool = MaskBrushTool(ToolSettings(size=10, hardness=1.0))
    revision = doc.revision
    rect = _stroke(tool, doc, [(20, 40), (40, 40), (60, 40), (80, 40)])
    assert rect is not None
    assert doc.revision > revision
    assert doc.mask[40, 20:81].min() == 255
    assert doc.mask[10, :].max() == 0
    assert doc.undo()
    assert doc.mask.max() == 0
    assert doc.redo() and doc.mask[40, 50] == 255


def test_eraser_removes_holes():
    doc = _doc()
    doc.mask[:] = 255
    _stroke(EraserTool(ToolSettings(size=12, hardness=1.0)), doc, [(10, 10), (100, 10)])
    assert doc.mask[10, 20:90].max() == 0
    assert doc.mask[60, 60] == 255


def test_paint_brush_blends_colour_at_opacity():
    doc = _doc()
    settings = ToolSettings(size=10, hardness=1.0, opacity=0.5, color=(200, 0, 0))
    _stroke(PaintBrushTool(settings), doc, [(30, 30), (30, 30)])
    assert tuple(doc.photo[30, 30]) == (100, 50, 0)
    # a stroke does not build up over itself
    _stroke(PaintBrushTool(settings), doc, [(60, 30), (61, 30), (60, 30), (61, 30)])
    assert tuple(doc.photo[30, 60]) == (100, 50, 0)


def test_label_brush_paints_class_ids():
    doc = _doc()
    _stroke(LabelBrushTool(ToolSettings(size=8, hardness=0.2, label=4)), doc, [(50, 50), (70, 50)])
    assert doc.labels[50, 60] == 4
    assert set(np.unique(doc.labels)) == {0, 4}


def test_cancelled_stroke_restores_layer():
    doc = _doc()
    tool = MaskBrushTool(ToolSettings(size=10))
    tool.press(doc, 20, 20)
    tool.move(doc, 60, 20)
    assert doc.mask.any()
    tool.cancel(doc)
    assert not doc.mask.any() and not doc.can_undo


def test_fill_labels_fills_connected_region_only():
    doc = _doc()
    doc.labels[:, 60:] = 2
    doc.labels[:, 59] = 1  # a wall between two class-0 areas? left is 0, right is 2
    settings = ToolSettings(label=3, target="labels")
    FillTool(settings).press(doc, 10, 10)
    assert (doc.labels[:, :59] == 3).all()
    assert (doc.labels[:, 60:] == 2).all()
    assert doc.undo() and (doc.labels[:, :59] == 0).all()


def test_fill_mask_fills_enclosed_outline():
    doc = _doc()
    doc.mask[20:60, 20] = doc.mask[20:60, 60] = 255
    doc.mask[20, 20:61] = doc.mask[60, 20:61] = 255
    FillTool(ToolSettings(target="mask")).press(doc, 40, 40)
    assert doc.mask[21:60, 21:60].min() == 255
    assert doc.mask[5, 5] == 0


def test_fill_photo_respects_tolerance():
    doc = _doc()
    doc.photo[:, 60:] = (0, 130, 0)
    FillTool(ToolSettings(target="photo", color=(9, 9, 9), tolerance=10)).press(doc, 5, 5)
    assert tuple(doc.photo[5, 5]) == (9, 9, 9)
    assert tuple(doc.photo[5, 100]) == (0, 130, 0)


@pytest.mark.parametrize("target", ["photo", "labels"])
def test_eyedropper_picks_colour_or_class(target):
    doc = _doc()
    doc.photo[10, 10] = (1, 2, 3)
    doc.labels[10, 10] = 6
    settings = ToolSettings(target=target)
    EyedropperTool(settings).press(doc, 10.5, 10.5)
    if target == "photo":
        assert settings.color == (1, 2, 3)
    else:
        assert settings.label == 6


def test_brush_resize_is_clamped():
    settings = ToolSettings(size=900)
    settings.resize(2.0)
    assert settings.size == ToolSettings.MAX_SIZE
    settings.size = 1
    settings.resize(0.5)
    assert settings.size == ToolSettings.MIN_SIZE


def _segmented_labels():
    """Sky (0) over grass (3) and mountain (6), with what segmentation and anti-aliased imports leave: a
    one-pixel seam of class 5 along the horizon, specks of class 7 on the grass side, a stray pixel in the
    sky, a second grass field touching the first only at a corner, and a pond (4) to keep."""
    labels = np.full((80, 120), 6, np.uint8)
    labels[:40] = 0
    labels[40, :] = 5  # the seam between sky and the ground
    labels[41:60, :60] = 3  # grass field A
    labels[60:80, 60:120] = 3  # grass field B: meets A only diagonally at (59, 59) / (60, 60)
    labels[41, 10:13] = 7  # specks along the seam
    labels[20, 50] = 7  # a stray pixel inside the sky
    labels[65:75, 80:100] = 4  # a pond inside field B: a real region, kept
    return labels


def test_fill_labels_leaves_no_specks_on_old_boundaries():
    """#9.8: refilling a class takes its diagonal neighbours, and the specks and one-pixel seams along its
    boundary, with it."""
    doc = Document(np.zeros((80, 120, 3), np.uint8))
    doc.labels[...] = _segmented_labels()
    FillTool(ToolSettings(label=1, target="labels")).press(doc, 30, 50)  # grass -> tree
    labels = doc.labels
    assert not (labels == 3).any()  # both fields: 8-connected
    assert not (labels[40, :60] == 5).any() and not (labels == 7)[30:].any()  # seam and specks went
    assert (labels[40, 61:] == 5).all()  # the seam above the mountain is not the grass's boundary
    assert (labels[65:75, 80:100] == 4).all() and (labels[41:60, 60:] == 6).all()
    assert (labels[:40] == 0).sum() == 40 * 120 - 1 and labels[20, 50] == 7  # the sky is untouched


def _line_art(gap=4):
    """White paper with a dark anti-aliased ring (radius 30 px, core 2 px, grey edges) open by ``gap`` px."""
    yy, xx = np.mgrid[:100, :100]
    d = np.abs(np.hypot(yy - 50 + 0.5, xx - 50 + 0.5) - 30)
    ink = np.clip(2.0 - d, 0.0, 1.0)  # 1 at the core, grey over the last pixel
    ink[(np.abs(yy - 50) <= gap / 2) & (xx > 70)] = 0  # the gap on the right
    picture = np.rint(255 * (1 - ink))[..., None].repeat(3, axis=2).astype(np.uint8)
    return picture, ink


def test_line_art_fill_closes_gaps_and_fills_under_the_edges():
    """#9.8: on line art the fill bridges small gaps and leaves no white halo along the lines."""
    picture, ink = _line_art(gap=4)
    plain = Document(picture)
    FillTool(ToolSettings(target="photo", color=(200, 40, 40), tolerance=24, gap=0)).press(plain, 50, 50)
    assert tuple(plain.photo[2, 2]) == (200, 40, 40)  # without gap closing it leaks out through the gap
    doc = Document(picture)
    FillTool(ToolSettings(target="photo", color=(200, 40, 40), tolerance=24, gap=6)).press(doc, 50, 50)
    assert tuple(doc.photo[50, 50]) == (200, 40, 40) and tuple(doc.photo[2, 2]) == (255, 255, 255)
    grey_inside = (ink > 0.05) & (ink < 0.95) & (np.hypot(*np.mgrid[:100, :100] - 49.5) < 30)
    assert grey_inside.any()
    assert (doc.photo[grey_inside][:, 1] < picture[grey_inside][:, 1]).all()  # tinted, no white or grey halo
    core = ink >= 0.99
    assert (doc.photo[core].max(axis=1) <= 10).all()  # the lines stay dark
    assert doc.undo() and np.array_equal(doc.photo, picture)
