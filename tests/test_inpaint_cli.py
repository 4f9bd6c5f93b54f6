"""``ganpaint inpaint IMAGE MASK -o OUT`` through ganpaint.cli.main: outputs and exit codes."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.cli import main
from ganpaint.nets.gated_conv import InpaintGenerator
from ganpaint.training.checkpoint import export_model
from ganpaint.training.train_inpaint import inpaint_card

TINY = {"base_channels": 4, "channel_mult": [1, 2, 2], "dilations": [2, 4], "refine_blocks": 0}


@pytest.fixture
def files(tmp_path, monkeypatch):
    models = tmp_path / "models"
    torch.manual_seed(0)
    export_model(InpaintGenerator(**TINY), models, "tiny-inpaint",
                 inpaint_card(TINY, resolution=64, dataset=["none"], training={}))
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    img = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "photo.png")
    mask = np.zeros((90, 120), np.uint8)
    Image.fromarray(mask).save(tmp_path / "empty.png")
    mask[30:50, 40:80] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG this is not an image")
    return tmp_path, img, mask > 127


def test_fills_holes_and_keeps_the_rest(files, capsys):
    d, img, hole = files
    assert main(["inpaint", str(d / "photo.png"), str(d / "mask.png"), "-o", str(d / "out.png")]) == 0
    out = np.asarray(Image.open(d / "out.png"))
    assert out.shape == img.shape
    assert np.array_equal(out[~hole], img[~hole])
    assert "tiny-inpaint" in capsys.readouterr().out


def test_empty_mask_writes_the_input_and_says_so(files, capsys):
    d, img, _ = files
    assert main(["inpaint", str(d / "photo.png"), str(d / "empty.png"), "-o", str(d / "same.png"), "--seed", "3"]) == 0
    assert np.array_equal(np.asarray(Image.open(d / "same.png")), img)
    assert "unchanged" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [
    (["photo.png", "small.png"], "12x10"),
    (["photo.png", "mask.png", "--model", "no-such-model"], "unknown model"),
    (["broken.png", "mask.png"], "broken.png"),
    (["missing.png", "mask.png"], "missing.png"),
    (["photo.png", "mask.png", "--device", "tpu"], "device"),
])
def test_user_errors_exit_2_with_one_line(files, capsys, args, needle):
    d, _, _ = files
    argv = ["inpaint", *[str(d / a) if a.endswith(".png") else a for a in args], "-o", str(d / "x.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganpaint: error:") and needle in err and "\n" not in err
    assert not (d / "x.png").exists()


def test_no_texture_gives_the_networks_smooth_fill(tmp_path, monkeypatch):
    """A model whose card turns the texture stage on: the default output carries the photo's grain in the
    hole, ``--no-texture`` the network's fill (much less fine detail); outside the hole both are the photo."""
    models = tmp_path / "models"
    torch.manual_seed(0)
    export_model(InpaintGenerator(**TINY), models, "tiny-tex",
                 inpaint_card(dict(TINY, texture=1.0), resolution=64, dataset=["none"], training={}))
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    rng = np.random.default_rng(1)
    img = np.clip(128 + rng.normal(0, 25, (96, 128, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
    Image.fromarray(img).save(tmp_path / "grain.png")
    mask = np.zeros((96, 128), np.uint8)
    mask[30:66, 40:88] = 255
    Image.fromarray(mask).save(tmp_path / "hole.png")
    hole = mask > 127
    outs = {}
    for name, extra in (("textured", []), ("smooth", ["--no-texture"])):
        assert main(["inpaint", str(tmp_path / "grain.png"), str(tmp_path / "hole.png"), "-o",
                     str(tmp_path / f"{name}.png"), *extra]) == 0
        outs[name] = np.asarray(Image.open(tmp_path / f"{name}.png")).astype(np.float32)
        assert np.array_equal(outs[name][~hole], img[~hole])

    def detail(a):
        y = a.mean(axis=2)
        return float(((y[:, 1:] - y[:, :-1]) ** 2)[hole[:, 1:] & hole[:, :-1]].mean())

    assert detail(outs["textured"]) > 4 * detail(outs["smooth"])
