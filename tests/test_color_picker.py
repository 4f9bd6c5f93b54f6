"""The gamut-aware colour picker: the ab gamut follows the lightness, picks stay in gamut, suggestions, recent
colours and the palette emit colours, and the palette can be sent as a global hint."""

import numpy as np
from PySide6.QtCore import QPoint, Qt

from ganpaint.engines.colorize import ColorSuggestions
from ganpaint.lab import in_gamut, rgb8_to_lab
from ganpaint.ui.color_picker import RECENT_MAX, ColorPicker, gamut_image, nearest_in_gamut


def _lab(rgb):
    return rgb8_to_lab(np.array([rgb], np.uint8))[0]


def test_gamut_shrinks_towards_black_and_white():
    areas = {L: gamut_image(L, 64)[1].mean() for L in (5, 50, 97)}
    assert areas[50] > areas[5] and areas[50] > areas[97] > 0
    rgb, inside = gamut_image(50, 64)
    assert inside[32, 32] and not inside[0, 0]  # grey is inside, a = -110 / b = 110 at L 50 is not
    assert tuple(rgb[0, 0]) == (64, 64, 64)


def test_nearest_in_gamut_keeps_hue_and_reaches_the_boundary():
    a, b = nearest_in_gamut(50.0, 100.0, 100.0)
    assert in_gamut(np.array([50.0, a, b])) and abs(a - b) < 1e-6 and 30 < a < 100
    assert nearest_in_gamut(50.0, 10.0, -5.0) == (10.0, -5.0)


def test_click_on_the_gamut_emits_a_colour_at_that_lightness(qtbot):
    picker = ColorPicker()
    qtbot.addWidget(picker)
    picker.set_lightness(60)
    view = picker.gamut
    # the point of a = 40, b = 20 (inside the gamut at L 60)
    point = view.point_of(40.0, 20.0).toPoint()
    with qtbot.waitSignal(picker.colorPicked) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=point)
    lab = _lab(blocker.args[0])
    assert abs(lab[0] - 60) < 1.5 and abs(lab[1] - 40) < 4 and abs(lab[2] - 20) < 4
    assert picker.color() == blocker.args[0] and picker.recent_colors()[0] == blocker.args[0]


def test_click_outside_the_gamut_picks_the_nearest_reachable_colour(qtbot):
    picker = ColorPicker()
    qtbot.addWidget(picker)
    picker.set_lightness(90)
    with qtbot.waitSignal(picker.colorPicked) as blocker:
        qtbot.mouseClick(picker.gamut, Qt.MouseButton.LeftButton, pos=QPoint(2, picker.gamut.height() - 3))
    lab = _lab(blocker.args[0])
    assert abs(lab[0] - 90) < 2 and lab[1] < -5 and lab[2] < -5  # a green-blue of L 90, not the asked (-110, -110)


def test_suggestions_recent_and_palette_rows(qtbot):
    picker = ColorPicker(palette=[(10, 20, 30), (200, 100, 0)])
    qtbot.addWidget(picker)
    rgb = tuple((i * 25, 200 - i * 20, 40) for i in range(9))
    ab = tuple(tuple(map(float, _lab(c)[1:])) for c in rgb)
    picker.set_suggestions(ColorSuggestions(5.0, 6.0, 50.0, rgb, ab, tuple([1 / 9] * 9)))
    assert picker.suggestions.colors == list(rgb) and len(picker.suggestions.buttons) == 9
    with qtbot.waitSignal(picker.colorPicked) as blocker:
        picker.suggestions.buttons[3].click()
    assert blocker.args[0] == rgb[3]
    with qtbot.waitSignal(picker.colorPicked) as blocker:
        picker.palette_row.buttons[1].click()
    assert blocker.args[0] == (200, 100, 0)
    assert picker.recent_colors()[:2] == [(200, 100, 0), rgb[3]]
    for i in range(RECENT_MAX + 3):
        picker.add_recent((i, i, i))
    picker.add_recent((1, 1, 1))
    recent = picker.recent_colors()
    assert len(recent) == RECENT_MAX and recent[0] == (1, 1, 1) and len(set(recent)) == RECENT_MAX
    picker.set_suggestions(None)
    assert picker.suggestions.buttons == []


def test_palette_as_global_hint(qtbot):
    picker = ColorPicker(palette=[(10, 20, 30)])
    qtbot.addWidget(picker)
    with qtbot.waitSignal(picker.globalPaletteChanged) as blocker:
        picker.global_check.setChecked(True)
    assert blocker.args[0] == [(10, 20, 30)]
    with qtbot.waitSignal(picker.globalPaletteChanged) as blocker:
        picker.set_palette([(1, 2, 3), (4, 5, 6)])
    assert blocker.args[0] == [(1, 2, 3), (4, 5, 6)]
    with qtbot.waitSignal(picker.globalPaletteChanged) as blocker:
        picker.global_check.setChecked(False)
    assert blocker.args[0] == []


def test_line_art_lightness_slider(qtbot):
    picker = ColorPicker()
    qtbot.addWidget(picker)
    picker.show()
    assert not picker.lightness_slider.isVisible()
    picker.set_lightness_editable(True)
    assert picker.lightness_slider.isVisible()
    picker.lightness_slider.setValue(80)
    assert picker.lightness() == 80
