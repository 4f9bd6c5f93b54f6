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
        for classical in ("telea", "ns", "shiftmap"):
            assert r["model"]["psnr"] > r[classical]["psnr"], (kind, classical)
            assert r["model"]["vgg"] < r[classical]["vgg"], (kind, classical)
        assert 0.8 <= r["model"]["sharpness"] <= 1.2, kind  # as detailed as the real image, not soft


def test_default_fill_has_the_photos_grain():
    """The shipped default copies the photo's texture into a hole in a grainy region instead of a soft fill."""
    registry = ModelRegistry([shipped_models_dir()])
    engine = registry.create_engine(DEFAULT)
    engine.load(torch.device("cpu"))
    rng = np.random.default_rng(0)
    base = np.clip(np.full((160, 160, 3), 120.0) + rng.normal(0, 18, (160, 160, 1)), 0, 255).astype(np.uint8)
    mask = np.zeros((160, 160), np.uint8)
    mask[50:110, 50:110] = 255
    hole = mask > 127
    out = inpaint_array(engine, base, mask)
    assert np.array_equal(out[~hole], base[~hole])

    def grain(img, region):
        y = img.astype(np.float32).mean(axis=2)
        d = (y[:, 1:] - y[:, :-1]) ** 2
        return float(d[region[:, 1:] & region[:, :-1]].mean())

    inner = np.zeros_like(hole)
    inner[58:102, 58:102] = True
    ring = ~hole
    assert 0.5 < grain(out, inner) / grain(base, ring) < 2.2  # texture 1.3: up to 1.3^2 of the ring on pure noise
    engine.texture = 0.0
    soft = inpaint_array(engine, base, mask)
    assert grain(soft, inner) < 0.3 * grain(out, inner)


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
