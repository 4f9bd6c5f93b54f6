"""ganpaint.training.eval_inpaint: metric definitions and a tiny end-to-end evaluation run."""

import json

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion

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
    for fill in (ev.telea_fill, ev.ns_fill):
        filled = fill(flat, hole)
        assert np.array_equal(filled[~hole], truth[~hole])
    assert ev.edge_error(truth, truth, hole) == 0.0
    smooth = np.tile(np.linspace(0, 200, 48).astype(np.uint8)[None, :, None], (48, 1, 3))
    see_through = smooth.copy()
    see_through[hole] = 127  # the removed object's grey ...
    ringed = ev.telea_fill(smooth, hole)
    edge = hole & ~binary_erosion(hole, iterations=2)  # ... showing through along the edge
    ringed[edge] = (0.5 * ringed[edge] + 0.5 * see_through[edge]).astype(np.uint8)
    assert ev.edge_error(ringed, smooth, hole) > ev.edge_error(ev.telea_fill(smooth, hole), smooth, hole) + 5


def test_shiftmap_baseline_fills_only_the_hole():
    if not ev.shiftmap_available():
        with pytest.raises(ev.GanpaintError):
            ev.shiftmap_fill(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool))
        return
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    hole = np.zeros((40, 40), bool)
    hole[15:25, 15:25] = True
    out = ev.shiftmap_fill(img, hole)
    assert out.shape == img.shape and out.dtype == np.uint8


def test_baseline_cache_round_trip(tmp_path):
    cache = ev._Cache(str(tmp_path))
    given = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4), np.uint8)
    assert cache.get("telea", given, mask, need_vgg=False) is None
    cache.put("telea", given, mask, {"out": given, "ms": 1.0})
    assert cache.get("telea", given, mask, need_vgg=False)["ms"] == 1.0
    assert cache.get("telea", given, mask, need_vgg=True) is None  # stored without VGG scores
    cache.put("model", given, mask, {"out": given, "ms": 1.0})  # models are never cached
    assert cache.get("model", given, mask, need_vgg=False) is None


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
    assert report["n_images"] == 2 and set(report["results"]) == {"thin", "thick", "box", "blob"}
    expected = {"model", "telea", "ns", "mean"} | ({"shiftmap"} if ev.shiftmap_available() else set())
    for kind in report["results"].values():
        assert set(kind) == expected
        for r in kind.values():
            assert {"psnr", "ssim", "vgg", "kid", "sharpness", "ring"} <= set(r)
        assert kind["mean"]["vgg"] > 0 and kind["mean"]["sharpness"] == 0
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
