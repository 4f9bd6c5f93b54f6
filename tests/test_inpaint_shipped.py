"""The shipped inpainting model: loads through the registry, fills a hole in a real photo better than a
mean-colour fill, and leaves every pixel outside the hole unchanged."""

import numpy as np
import pytest
import torch

from ganpaint.document.imageio import load_rgb
from ganpaint.engines.registry import ModelRegistry, shipped_models_dir
from ganpaint.engines.inpaint import inpaint_array
from ganpaint.training.eval_inpaint import mean_fill, psnr_in_hole

from .conftest import SAMPLES

MODEL = "inpaint-gated-v1"


@pytest.fixture(scope="module")
def engine():
    registry = ModelRegistry([shipped_models_dir()])
    if MODEL not in registry.names():
        pytest.fail(f"the shipped model card models/{MODEL}.json is missing")
    eng = registry.create_engine(MODEL)
    eng.load(torch.device("cpu"))
    return eng


def test_card_is_complete():
    card = ModelRegistry([shipped_models_dir()]).get(MODEL)
    assert card.task == "inpaint" and card.architecture == "gated-conv-inpaint"
    assert card.weights_path.is_file()
    for key in ("command", "steps", "batch", "size", "compute", "wall_time"):
        assert key in card.training
    assert card.metrics and card.licence and card.dataset


@pytest.mark.parametrize("box", [(180, 120, 250, 170), (400, 250, 460, 330)])
def test_fills_a_hole_in_coffee_better_than_mean_colour(engine, box):
    image = load_rgb(SAMPLES / "coffee.png")
    x0, y0, x1, y1 = box
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 255
    hole = mask > 127
    given = image.copy()
    given[hole] = 127  # the engine must not rely on what is under the hole
    out = inpaint_array(engine, given, mask)
    assert out.shape == image.shape
    assert np.array_equal(out[~hole], given[~hole])
    assert psnr_in_hole(out, image, hole) > psnr_in_hole(mean_fill(given, hole), image, hole) + 1.0
