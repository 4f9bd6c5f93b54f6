"""The shipped colorization models: complete cards; the photo model puts a hint's colour on the object under it
and keeps the photo's own lightness; the line-art model keeps lines black and fills a hinted region with the
hint's colour."""

import numpy as np
import pytest
import torch

from ganpaint.document.imageio import load_rgb
from ganpaint.document.vectors import ColorHint
from ganpaint.engines.colorize import colorize_array
from ganpaint.engines.registry import ModelRegistry, shipped_models_dir
from ganpaint.lab import rgb8_to_lab

from .conftest import SAMPLES


def _engine(name):
    registry = ModelRegistry([shipped_models_dir()])
    if name not in registry.names():
        pytest.fail(f"the shipped model card models/{name}.json is missing")
    engine = registry.create_engine(name)
    engine.load(torch.device("cpu"))
    return engine


@pytest.mark.parametrize("name,mode", [("colorize-photo", "photo"), ("colorize-lineart", "lineart")])
def test_cards_are_complete(name, mode):
    card = ModelRegistry([shipped_models_dir()]).get(name)
    assert card.task == "colorize" and card.architecture == "lite-siggraph17" and card.config["mode"] == mode
    assert card.weights_path.is_file() and (card.card_path.with_suffix(".md")).is_file()
    for key in ("command", "steps", "batch", "size", "compute", "wall_time"):
        assert key in card.training
    assert card.metrics.get("eval") and card.licence and card.dataset
    assert (shipped_models_dir() / card.metrics["samples"]).is_file()


def test_photo_model_colours_the_object_under_a_hint():
    engine = _engine("colorize-photo")
    photo = load_rgb(SAMPLES / "coffee.png")
    gray = np.repeat(photo.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    auto = rgb8_to_lab(colorize_array(engine, gray).image)
    blue = ColorHint(130.0, 280.0, (40, 90, 200), 4.0)  # on the saucer (L about 26, where blue is in gamut)
    out = colorize_array(engine, gray, [blue], query=[(130.0, 280.0)])
    got = rgb8_to_lab(out.image)
    assert np.abs(got[..., 0] - rgb8_to_lab(gray)[..., 0]).mean() < 1.5  # the photo's own lightness
    assert got[280, 130, 2] < auto[280, 130, 2] - 30 and got[280, 130, 2] < -20  # blue at the hint
    assert got[295, 145, 2] < auto[295, 145, 2] - 15  # and spread around it
    for y, x in ((20, 20), (200, 500)):  # not over the whole picture
        assert np.abs(got[y, x, 1:] - auto[y, x, 1:]).max() < 8
    (suggestions,) = out.extras["suggestions"]
    assert 1 <= len(suggestions.rgb) <= 9 and abs(suggestions.lightness - rgb8_to_lab(gray)[280, 130, 0]) < 1e-3


def test_line_art_model_keeps_lines_black_and_fills_the_hinted_region():
    engine = _engine("colorize-lineart")
    drawing = np.full((240, 320, 3), 255, np.uint8)
    import cv2

    cv2.circle(drawing, (110, 120), 70, (0, 0, 0), 4)
    cv2.rectangle(drawing, (200, 60), (300, 180), (0, 0, 0), 4)
    hint = ColorHint(110.0, 120.0, (40, 90, 200), 3.0)
    out = colorize_array(engine, drawing, [hint]).image
    dark = drawing[..., 0] < 40
    assert (out[dark] <= 40).all()  # lines stay black
    inside = np.zeros(drawing.shape[:2], np.uint8)
    cv2.circle(inside, (110, 120), 60, 1, -1)
    assert (np.abs(out[inside > 0].astype(int) - (40, 90, 200)) <= 2).all()  # the hinted region takes the colour
    box = out[70:170, 210:290].reshape(-1, 3)
    assert len(np.unique(box, axis=0)) == 1  # the other closed region is one flat colour
    assert np.abs(box[0].astype(int) - (40, 90, 200)).max() > 20  # and the hint did not leak into it


def test_line_art_hint_dropped_on_a_line_colours_the_region_beside_it():
    import cv2

    engine = _engine("colorize-lineart")
    drawing = np.full((240, 320, 3), 255, np.uint8)
    cv2.circle(drawing, (110, 120), 70, (0, 0, 0), 5)
    assert drawing[120, 179].max() == 0  # the hint's point is on the line, nearer its inner edge
    out = colorize_array(engine, drawing, [ColorHint(179.0, 120.0, (40, 90, 200), 1.0)]).image
    assert (np.abs(out[120, 110].astype(int) - (40, 90, 200)) <= 2).all()  # inside the circle
    assert np.abs(out[10, 10].astype(int) - (40, 90, 200)).max() > 20  # not outside
