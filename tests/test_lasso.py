"""Lasso fill (Shift+L): the outline dragged on the canvas is filled in the target layer on release, as one
undo step; a click, or Escape during the drag, changes nothing."""

import numpy as np
import pytest

from ganpaint.document.model import Document
from ganpaint.tools import LassoFillTool, ToolSettings
from ganpaint.tools.lasso import polygon_coverage
from tests.fakes import FILL_COLOR
from tests.test_gui import drag

SQUARE = [(20.0, 10.0), (60.0, 10.0), (60.0, 50.0), (20.0, 50.0)]


def _doc():
    return Document(np.full((80, 120, 3), 90, np.uint8))


def _lasso(tool, doc, points):
    rects = [tool.press(doc, *points[0])] + [tool.move(doc, *p) for p in points[1:]]
    return rects, tool.release(doc, *points[-1])


def test_polygon_coverage_fills_pixel_centres_inside_with_an_antialiased_edge():
    rect, cov = polygon_coverage(SQUARE, (80, 120))
    x0, y0, x1, y1 = rect
    full = np.zeros((80, 120), np.uint8)
    full[y0:y1, x0:x1] = cov
    assert (full[11:49, 21:59] == 255).all()  # the inside
    assert full[5, 40] == 0 and full[55, 40] == 0 and full[30, 10] == 0 and full[30, 70] == 0
    assert full[10, 40] == 255 and full[9, 40] == 0  # an edge along a pixel boundary is sharp
    _, half = polygon_coverage([(p[0], p[1] + 0.5) for p in SQUARE], (80, 120))
    assert 96 <= half[0, 20] <= 160  # through the pixel centres: about half covered
    # a triangle covers about half its box
    _, tri = polygon_coverage([(0.0, 0.0), (40.0, 0.0), (0.0, 40.0)], (80, 120))
    assert abs(tri.sum() / 255.0 - 800) < 40


def test_polygon_coverage_of_nothing_is_none():
    assert polygon_coverage([(5.0, 5.0), (6.0, 6.0)], (80, 120)) is None  # two points
    assert polygon_coverage([(5.0, 5.0), (30.0, 5.0), (60.0, 5.0)], (80, 120)) is None  # a line: no area
    assert polygon_coverage([(200.0, 200.0), (300.0, 200.0), (300.0, 300.0)], (80, 120)) is None  # outside
    rect, cov = polygon_coverage([(-50.0, -50.0), (30.0, -50.0), (30.0, 30.0), (-50.0, 30.0)], (80, 120))
    assert rect[:2] == (0, 0) and (cov[:29, :29] == 255).all()  # clipped to the picture


def test_lasso_makes_the_outline_a_hole_in_one_undo_step_keeping_other_holes():
    doc = _doc()
    doc.mask[70:75, 100:110] = 200
    before = doc.mask.copy()
    tool = LassoFillTool(ToolSettings(target="mask"))
    rects, rect = _lasso(tool, doc, SQUARE)
    assert tool.outline is None and not tool.active
    assert not np.array_equal(doc.mask, before)
    assert (doc.mask[11:49, 21:59] == 255).all() and doc.mask[5, 40] == 0
    assert (doc.mask[70:75, 100:110] == 200).all()  # the other hole stays
    x0, y0, x1, y1 = rect
    assert x0 <= 19 and y0 <= 9 and x1 >= 61 and y1 >= 51  # the repaint covers the filled box
    assert doc.history.undo_count == 1
    doc.undo()
    assert np.array_equal(doc.mask, before)


def test_lasso_paints_the_class_into_the_label_map_and_the_colour_into_the_photo():
    doc = _doc()
    settings = ToolSettings(target="labels", label=4)
    _lasso(LassoFillTool(settings), doc, SQUARE)
    assert (doc.labels[11:49, 21:59] == 4).all() and (doc.labels[:9] == 0).all()
    assert set(np.unique(doc.labels)) == {0, 4}  # labels stay discrete at the edge
    settings.target, settings.color, settings.opacity = "photo", (250, 20, 10), 1.0
    _lasso(LassoFillTool(settings), doc, [(70.0, 10.0), (110.0, 10.0), (110.0, 50.0), (70.0, 50.0)])
    assert tuple(doc.photo[30, 90]) == (250, 20, 10) and tuple(doc.photo[30, 65]) == (90, 90, 90)


def test_outline_is_shown_while_dragging_and_a_click_or_cancel_records_nothing():
    doc = _doc()
    tool = LassoFillTool(ToolSettings(target="mask"))
    tool.press(doc, 10, 10)
    rect = tool.move(doc, 40, 10)
    assert tool.active and tool.outline == [(10.0, 10.0), (40.0, 10.0)]
    assert rect[0] <= 10 and rect[2] >= 40  # the segment and the closing line are repainted
    assert tool.move(doc, 40.2, 10.1) is None  # under half a pixel: no new vertex
    tool.move(doc, 40, 40)
    tool.cancel(doc)
    assert tool.outline is None and not doc.mask.any() and doc.history.undo_count == 0
    tool.press(doc, 30, 30)
    tool.release(doc, 30, 30)  # a click
    assert not doc.mask.any() and doc.history.undo_count == 0


@pytest.mark.gui
def test_lasso_on_the_canvas_outlines_and_the_engine_fills_the_inside(window, qtbot):
    doc = window.controller.doc
    window.set_mode("inpaint")
    window.tool_actions["lasso"].trigger()
    assert window.controller.tool.name == "lasso"
    assert not window.options_bar.size_spin.isVisibleTo(window.options_bar)  # no brush size for a lasso
    drag(window.canvas, [(100, 100), (160, 100), (160, 160), (100, 160)])
    assert (doc.mask[102:158, 102:158] == 255).all() and doc.mask[90, 130] == 0
    qtbot.waitUntil(lambda: doc.result is not None and doc.result_revision == doc.revision, timeout=10000)
    assert tuple(doc.result[130, 130]) == FILL_COLOR
    window.undo_action.trigger()
    assert not doc.mask.any()


@pytest.mark.gui
def test_lasso_in_the_semantic_tab_paints_the_chosen_class(window):
    doc = window.controller.doc
    window.set_mode("synthesize")
    window.controller.settings.label = 4
    window.set_tool("lasso")
    assert window.controller.tool.target_layer() == "labels"
    drag(window.canvas, [(40, 40), (90, 40), (90, 90), (40, 90)])
    assert (doc.labels[45:85, 45:85] == 4).all()
