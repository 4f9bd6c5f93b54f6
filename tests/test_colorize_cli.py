"""``ganpaint colorize IMAGE -o OUT [--hints HINTS.json]`` through ganpaint.cli.main: output, default model and
the refusal of bad hint files (exit 2, one line)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.cli import main
from ganpaint.lab import rgb8_to_lab
from ganpaint.nets.colorization import LiteSIGGRAPHGenerator
from ganpaint.training.checkpoint import export_model
from ganpaint.training.train_colorize import colorize_card

TINY = {"widths": [8, 8, 8, 8], "middle": 1, "hint_channels": 2, "out_channels": 2, "global_bins": 529}


@pytest.fixture
def files(tmp_path, monkeypatch):
    models = tmp_path / "models"
    torch.manual_seed(0)
    for name, mode in (("tiny-photo", "photo"), ("tiny-lineart", "lineart")):
        cfg = dict(TINY, hint_channels=3, out_channels=3) if mode == "lineart" else TINY
        export_model(LiteSIGGRAPHGenerator(**cfg), models, name, colorize_card(cfg, mode, dataset=["none"], training={}))
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    gray = np.repeat(np.random.default_rng(0).integers(0, 256, (90, 120, 1), dtype=np.uint8), 3, axis=2)
    Image.fromarray(gray).save(tmp_path / "photo.png")
    return tmp_path, gray


def write(path, data):
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_colours_with_the_default_photo_model_keeping_lightness(files, capsys):
    d, gray = files
    hints = write(d / "h.json", [{"x": 10, "y": 20, "rgb": [200, 30, 30], "radius": 3},
                                 {"x": 50, "y": 50, "rgb": [0, 0, 250], "radius": 2, "points": [[50, 50], [80, 60]]}])
    assert main(["colorize", str(d / "photo.png"), "-o", str(d / "out.png"), "--hints", hints]) == 0
    out = np.asarray(Image.open(d / "out.png"))
    assert out.shape == gray.shape
    l_out, l_in = rgb8_to_lab(out)[..., 0].ravel(), rgb8_to_lab(gray)[..., 0].ravel()
    assert np.corrcoef(l_out, l_in)[0, 1] > 0.95  # the photo's own detail (random net: some colours clip)
    text = capsys.readouterr().out
    assert "tiny-photo" in text and "2 hints" in text  # the photo model is the default


@pytest.mark.parametrize("content,needle", [
    ([{"x": "10", "y": 20, "rgb": [1, 2, 3], "radius": 2}], "hint 1"),
    ([{"x": 10, "y": 20, "rgb": [1, 2, 3], "radius": 2}, {"x": 10, "y": 20, "rgb": [300, 0, 0], "radius": 2}], "hint 2"),
    ([{"x": 10, "y": 20, "rgb": [1, 2], "radius": 2}], "rgb"),
    ([{"x": 10, "y": 20, "rgb": "red", "radius": 2}], "rgb"),
    ([{"x": 10, "y": 20, "rgb": [1, 2, 3], "radius": -1}], "radius"),
    ([{"x": 10, "y": 20, "rgb": [1, 2, 3]}], "missing radius"),
    ([{"x": 120, "y": 20, "rgb": [1, 2, 3], "radius": 2}], "outside the 120x90 image"),
    ([{"x": 10, "y": -1, "rgb": [1, 2, 3], "radius": 2}], "outside"),
    ([{"x": 10, "y": 20, "rgb": [1, 2, 3], "radius": 2, "points": [[10, 20], [500, 20]]}], "outside"),
    ([{"x": True, "y": 20, "rgb": [1, 2, 3], "radius": 2}], "hint 1"),
    ({"x": 10, "y": 20, "rgb": [1, 2, 3], "radius": 2}, "JSON list"),
    ("[{\"x\": 10,", "not valid JSON"),
    (["hello"], "JSON object"),
])
def test_bad_hint_files_exit_2_with_one_line(files, capsys, content, needle):
    d, _ = files
    code = main(["colorize", str(d / "photo.png"), "-o", str(d / "out.png"), "--hints", write(d / "bad.json", content)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ganpaint: error: ") and err.count("\n") == 1 and needle in err
    assert not (d / "out.png").exists()


def test_missing_hint_file_and_bad_palette(files, capsys):
    d, _ = files
    assert main(["colorize", str(d / "photo.png"), "-o", str(d / "o.png"), "--hints", str(d / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["colorize", str(d / "photo.png"), "-o", str(d / "o.png"), "--palette", "#12345g"]) == 2
    assert "#rrggbb" in capsys.readouterr().err


def test_line_art_model_and_palette(files):
    d, _ = files
    drawing = np.full((64, 64, 3), 255, np.uint8)
    drawing[10:12, :] = 0
    Image.fromarray(drawing).save(d / "drawing.png")
    code = main(["colorize", str(d / "drawing.png"), "-o", str(d / "out.png"), "--model", "tiny-lineart",
                 "--palette", "#ff0000,#00ff00"])
    assert code == 0
    out = np.asarray(Image.open(d / "out.png"))
    assert (out[10:12] == 0).all()
