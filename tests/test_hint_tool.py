"""The colour-hint tool: click = point hint, drag = stroke hint, hints can be moved, recoloured and erased;
every gesture is one undo step, the live drag updates the layer without history, and projects keep the hints."""

import numpy as np

from ganpaint.document.model import Document
from ganpaint.document.project import load_project, save_project
from ganpaint.document.vectors import ColorHint
from ganpaint.tools import ColorHintTool, ToolSettings


def _doc():
    return Document(np.full((100, 160, 3), 128, np.uint8))


def _tool(color=(200, 30, 40), size=8):
    return ColorHintTool(ToolSettings(size=size, color=color))


def _gesture(tool, doc, points):
    tool.press(doc, *points[0])
    for p in points[1:-1]:
        tool.move(doc, *p)
    return tool.release(doc, *points[-1])


def test_click_adds_a_point_hint_as_one_undo_step():
    doc, tool = _doc(), _tool()
    rect = _gesture(tool, doc, [(40, 30), (41, 30)])
    assert doc.hints == [ColorHint(40, 30, (200, 30, 40), 4.0)]
    assert not doc.hints[0].is_stroke and tool.selected == 0
    x0, y0, x1, y1 = rect
    assert x0 <= 36 and x1 >= 45 and y0 <= 26 and y1 >= 35
    assert doc.undo_text == "Add colour hint"
    doc.undo()
    assert doc.hints == []
    doc.redo()
    assert len(doc.hints) == 1


def test_drag_adds_a_stroke_hint_and_updates_live_without_history():
    doc, tool = _doc(), _tool(size=6)
    seen = []
    doc.add_listener(lambda layers, rect: seen.append((set(layers), list(doc.hints))))
    tool.press(doc, 10, 50)
    for x in range(16, 90, 4):
        tool.move(doc, x, 50 + (x - 10) / 10)
        assert doc.hints[-1].is_stroke  # the layer shows the growing stroke
    assert doc.undo_text is None  # nothing recorded while dragging
    tool.release(doc, 90, 58)
    (hint,) = doc.hints
    assert hint.is_stroke and hint.points[0] == (10.0, 50.0) and hint.points[-1][0] > 80
    assert all(np.hypot(b[0] - a[0], b[1] - a[1]) >= 1.5 for a, b in zip(hint.points, hint.points[1:]))
    assert any("hints" in layers and s and s[-1].is_stroke for layers, s in seen)
    assert doc.undo_text == "Add colour hint"
    doc.undo()
    assert doc.hints == []


def test_press_on_a_hint_selects_and_drag_moves_it():
    doc, tool = _doc(), _tool()
    _gesture(tool, doc, [(40, 30), (40, 30)])
    _gesture(tool, doc, [(100, 60), (100, 60)])
    rect = _gesture(tool, doc, [(41, 31), (50, 40), (61, 51)])  # grab the first hint near its centre
    assert len(doc.hints) == 2
    assert (doc.hints[0].x, doc.hints[0].y) == (60.0, 50.0) and (doc.hints[1].x, doc.hints[1].y) == (100.0, 60.0)
    assert rect[0] <= 36 and rect[2] >= 64  # old and new places are repainted
    assert doc.undo_text == "Move colour hint"
    doc.undo()
    assert (doc.hints[0].x, doc.hints[0].y) == (40.0, 30.0)


def test_moving_a_stroke_moves_every_point():
    doc, tool = _doc(), _tool(size=4)
    _gesture(tool, doc, [(10, 10), (30, 10), (50, 10)])
    before = doc.hints[0].points
    _gesture(tool, doc, [(30, 11), (30, 31)])  # grab it in the middle
    after = doc.hints[0].points
    assert len(after) == len(before) and all(b == (a[0], a[1] + 20) for a, b in zip(before, after))


def test_recolor_and_erase_selected_and_erase_mode():
    doc, tool = _doc(), _tool()
    _gesture(tool, doc, [(40, 30), (40, 30)])
    _gesture(tool, doc, [(100, 60), (100, 60)])
    _gesture(tool, doc, [(40, 30), (40, 30)])  # select the first
    assert tool.selected == 0
    tool.recolor_selected(doc, (10, 200, 30))
    assert doc.hints[0].rgb == (10, 200, 30) and doc.hints[1].rgb == (200, 30, 40)
    assert doc.undo_text == "Recolour hint"
    tool.erase_selected(doc)
    assert [h.x for h in doc.hints] == [100.0] and tool.selected is None
    tool.mode = "erase"
    tool.press(doc, 5, 5)  # nothing there
    assert len(doc.hints) == 1
    tool.press(doc, 102, 61)
    assert doc.hints == [] and doc.undo_text == "Erase colour hint"
    doc.undo()
    doc.undo()
    assert [h.rgb for h in doc.hints] == [(10, 200, 30), (200, 30, 40)]


def test_escape_restores_the_layer():
    doc, tool = _doc(), _tool()
    _gesture(tool, doc, [(40, 30), (40, 30)])
    tool.press(doc, 40, 30)
    tool.move(doc, 80, 80)
    assert doc.hints[0].x == 80
    tool.cancel(doc)
    assert doc.hints[0].x == 40 and not tool.active and doc.undo_text == "Add colour hint"


def test_point_and_stroke_hints_survive_a_project_round_trip(tmp_path):
    doc, tool = _doc(), _tool()
    _gesture(tool, doc, [(40, 30), (40, 30)])
    _gesture(tool, doc, [(10, 80), (40, 85), (70, 90)])
    save_project(doc, tmp_path / "p.ganpaint")
    loaded = load_project(tmp_path / "p.ganpaint")
    assert loaded.hints == doc.hints and loaded.hints[1].is_stroke
