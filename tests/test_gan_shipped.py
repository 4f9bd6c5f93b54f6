"""The shipped GAN ``gan-flowers``: a complete card with its evaluation; varied samples; projection of one of
its own pictures gets close; a colour stroke pulls the colour under it towards the stroke's colour."""

import numpy as np
import pytest
import torch

from ganpaint.document.vectors import SketchStroke
from ganpaint.engines.constraints import color_error, rasterize_strokes
from ganpaint.engines.registry import ModelRegistry, shipped_models_dir

NAME = "gan-flowers"


@pytest.fixture(scope="module")
def model():
    registry = ModelRegistry([shipped_models_dir()])
    if NAME not in registry.names():
        pytest.fail(f"the shipped model card models/{NAME}.json is missing")
    engine = registry.create_engine(NAME)
    engine.load(torch.device("cpu"))
    return engine.model


def test_card_is_complete():
    card = ModelRegistry([shipped_models_dir()]).get(NAME)
    assert card.task == "manifold" and card.architecture == "dcgan" and card.resolution == 64
    assert "encoder" in card.config and "encoder" in card.training
    for key in ("command", "steps", "batch", "compute", "wall_time"):
        assert key in card.training
    assert card.metrics.get("gan") and card.metrics.get("igan") and card.licence and card.dataset
    assert card.metrics["gan"]["samples"]["psi_1"]["near_copies"] == 0.0, "no sample copies a training photo"
    assert (shipped_models_dir() / card.metrics["samples"]).is_file()
    assert card.card_path.with_suffix(".md").is_file()


def test_samples_differ(model):
    pics = model.render(model.sample(0, 6, psi=1.0)).astype(np.float64)
    pairs = [np.abs(pics[i] - pics[j]).mean() for i in range(6) for j in range(i + 1, 6)]
    assert min(pairs) > 10, "six samples, six different pictures"


def test_projection_of_its_own_picture_gets_close(model):
    target = model.render(model.sample(3, 1, psi=0.7))[0]
    result = model.project(target, steps=60)
    assert result.psnr > 20 and result.psnr > result.history[0][1] + 3


def test_colour_stroke_moves_the_colour(model):
    start = model.sample(4, 1, psi=0.7)[0]
    stroke = SketchStroke([(16, 32), (48, 32)], (40, 60, 220), 6, kind="color")
    maps = rasterize_strokes([stroke], (0, 0, 64, 64), 64)
    edit = model.edit(start, maps, candidates=4, steps=30)
    assert color_error(edit.images[0], maps) < color_error(model.render(start)[0], maps) - 15
