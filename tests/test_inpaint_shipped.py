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

MODELS = ("inpaint-gated-v1", "inpaint-v2")
DEFAULT = "inpaint-v2"


@pytest.fixture(scope="module", params=MODELS)
def engine(request):
    registry = ModelRegistry([shipped_models_dir()])
    if request.param not in registry.names():
        pytest.fail(f"the shipped model card models/{request.param}.json is missing")
    eng = registry.create_engine(request.param)
    eng.load(torch.device("cpu"))
    return eng


@pytest.mark.parametrize("name", MODELS)
def test_card_is_complete(name):
    card = ModelRegistry([shipped_models_dir()]).get(name)
    assert card.task == "inpaint" and card.architecture == "gated-conv-inpaint"
    assert card.weights_path.is_file()
    for key in ("command", "steps", "batch", "size", "compute", "wall_time"):
        assert key in card.training
    assert card.metrics and card.licence and card.dataset


def test_the_newest_model_is_the_default():
    assert ModelRegistry([shipped_models_dir()]).default_for("inpaint").name == DEFAULT


def test_v2_beats_the_classical_fills_in_its_card():
    results = ModelRegistry([shipped_models_dir()]).get(DEFAULT).metrics["eval"]["results"]
    assert set(results) == {"thin", "thick", "box", "blob"}
    for kind, r in results.items():
        for classical in ("telea", "ns"):
            assert r["model"]["psnr"] > r[classical]["psnr"], (kind, classical)


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
