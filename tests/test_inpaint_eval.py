"""ganpaint.training.eval_inpaint: metric definitions and a tiny end-to-end evaluation run."""

import json

import numpy as np
import pytest
from PIL import Image

from ganpaint.cli import main
from ganpaint.nets.gated_conv import InpaintGenerator
from ganpaint.training import eval_inpaint as ev
from ganpaint.training.checkpoint import export_model
from ganpaint.training.train_inpaint import inpaint_card

TINY = {"base_channels": 4, "channel_mult": [1, 2, 2], "dilations": [2, 4], "refine_blocks": 0}


def test_metrics():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    hole = np.zeros((48, 48), bool)
    hole[10:30, 10:30] = True
    assert ev.psnr_in_hole(truth, truth, hole) == float("inf")
    assert ev.ssim_in_hole(truth, truth, hole) == pytest.approx(1.0)
    flat = ev.mean_fill(truth, hole)
    assert ev.gradient_energy(flat, hole) == 0.0 and ev.gradient_energy(truth, hole) > 0
    noisy = truth.astype(int)
    noisy[hole] += 10
    assert ev.psnr_in_hole(np.clip(noisy, 0, 255).astype(np.uint8), truth, hole) == pytest.approx(28.13, abs=0.3)
    filled = ev.telea_fill(flat, hole)
    assert np.array_equal(filled[~hole], truth[~hole])


def test_eval_command_writes_json_and_grid(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)).save(data / f"{i}.png")
    export_model(InpaintGenerator(**TINY), tmp_path / "models", "tiny-inpaint",
                 inpaint_card(TINY, resolution=64, dataset=["none"], training={}))
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(tmp_path / "models"))
    out = tmp_path / "eval.json"
    grid = tmp_path / "grid.png"
    assert main(["eval", "inpaint", "--data", str(data), "--size", "64", "--json", str(out), "--grid", str(grid),
                 "--model", "tiny-inpaint", "--card-metrics"]) == 0
    report = json.loads(out.read_text())
    assert report["n_images"] == 2 and set(report["results"]) == {"thin", "thick", "box"}
    for kind in report["results"].values():
        assert set(kind) == {"model", "telea", "mean"}
    assert Image.open(grid).size[0] > 64 * 4
    card = json.loads((tmp_path / "models" / "tiny-inpaint.json").read_text())
    assert card["metrics"]["eval"]["results"] == report["results"]


def test_unknown_model_is_a_user_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(tmp_path))
    data = tmp_path / "d"
    data.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(data / "a.png")
    assert main(["eval", "inpaint", "--data", str(data), "--model", "nope", "--size", "32"]) == 2
    assert "unknown model" in capsys.readouterr().err
