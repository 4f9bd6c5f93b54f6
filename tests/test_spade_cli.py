"""``ganpaint synthesize``: exit codes, output size, photo mode that only touches relabelled pixels."""

import numpy as np
import pytest
from PIL import Image

from ganpaint.cli import main
from ganpaint.engines.synthesis import PASTE_BAND, dilate
from tests.test_spade_engine import CLASSES, tiny_model


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    tiny_model(folder)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(folder))
    return folder


def save(path, array):
    Image.fromarray(array).save(path)
    return str(path)


def scene(h=60, w=90):
    labels = np.zeros((h, w), np.uint8)
    labels[h // 2:] = 2
    return labels


def test_blank_canvas_from_id_and_colour_maps(models, tmp_path, capsys):
    ids = save(tmp_path / "ids.png", scene())
    out = tmp_path / "out.png"
    assert main(["synthesize", ids, "-o", str(out), "--seed", "5"]) == 0
    assert np.asarray(Image.open(out)).shape == (60, 90, 3)
    lut = np.zeros((256, 3), np.uint8)
    for c in CLASSES:
        lut[c["id"]] = c["color"]
    colours = save(tmp_path / "colours.png", lut[scene()])
    out2 = tmp_path / "out2.png"
    assert main(["synthesize", colours, "-o", str(out2), "--seed", "5", "--model", "tiny-spade"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(out2)))


def test_style_reference(models, tmp_path):
    ids = save(tmp_path / "ids.png", scene())
    style = save(tmp_path / "style.png", np.random.default_rng(0).integers(0, 255, (30, 40, 3)).astype(np.uint8))
    assert main(["synthesize", ids, "-o", str(tmp_path / "o.png"), "--style", style]) == 0


def test_bad_input_exits_2_with_one_line(models, tmp_path, capsys):
    bad_ids = scene()
    bad_ids[0, 0] = 77
    cases = [
        ["synthesize", save(tmp_path / "bad.png", bad_ids), "-o", str(tmp_path / "o.png")],
        ["synthesize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")],
        ["synthesize", save(tmp_path / "ok.png", scene()), "-o", str(tmp_path / "o.png"), "--model", "nope"],
        ["synthesize", save(tmp_path / "ok2.png", scene()), "-o", str(tmp_path / "o.xyz")],
        ["synthesize", save(tmp_path / "ok3.png", scene()), "-o", str(tmp_path / "o.png"),
         "--photo", save(tmp_path / "small.png", np.zeros((10, 10, 3), np.uint8))],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("ganpaint: error: ") and "\n" not in err and "Traceback" not in err


def test_photo_mode_needs_a_segmenter(models, tmp_path, capsys):
    photo = save(tmp_path / "photo.png", np.zeros((60, 90, 3), np.uint8))
    assert main(["synthesize", save(tmp_path / "l.png", scene()), "-o", str(tmp_path / "o.png"), "--photo", photo]) == 2
    assert "segmentation model" in capsys.readouterr().err


class FakeSegmenter:
    """Labels every photo as the plain sky-over-grass scene."""

    def segment(self, rgb):
        return scene(*rgb.shape[:2])


def test_photo_mode_regenerates_only_relabelled_pixels(models, tmp_path, monkeypatch):
    import ganpaint.engines.segment as segment
    import ganpaint.engines.synthesis as synthesis

    fake_card = type("Card", (), {"name": "fake-segmenter"})()
    monkeypatch.setattr(synthesis, "find_segmenter_card", lambda registry, card: fake_card)
    monkeypatch.setattr(segment, "load_segmenter", lambda card, device, registry=None: FakeSegmenter())
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (60, 90, 3)).astype(np.uint8)
    edited = scene()
    edited[10:20, 30:50] = 1  # a tree painted into the sky
    out = tmp_path / "edit.png"
    assert main(["synthesize", save(tmp_path / "edit_labels.png", edited), "-o", str(out),
                 "--photo", save(tmp_path / "photo.png", photo)]) == 0
    result = np.asarray(Image.open(out))
    changed = edited != scene()
    keep = ~dilate(changed, PASTE_BAND)
    assert np.array_equal(result[keep], photo[keep])
    assert (result[changed] != photo[changed]).any()


@pytest.mark.parametrize("flag, expected", [([], True), (["--no-match-photo"], False)])
def test_no_match_photo_reaches_the_photo_edit_request(models, tmp_path, monkeypatch, flag, expected):
    import ganpaint.commands.engine_run as engine_run
    import ganpaint.engines.segment as segment
    import ganpaint.engines.synthesis as synthesis

    fake_card = type("Card", (), {"name": "fake-segmenter"})()
    monkeypatch.setattr(synthesis, "find_segmenter_card", lambda registry, card: fake_card)
    monkeypatch.setattr(segment, "load_segmenter", lambda card, device, registry=None: FakeSegmenter())
    seen = []
    real = engine_run.run_timed
    monkeypatch.setattr(engine_run, "run_timed", lambda engine, request: (seen.append(request.exemplar), real(engine, request))[1])
    edited = scene()
    edited[10:20, 30:50] = 1
    photo = np.random.default_rng(0).integers(0, 255, (60, 90, 3)).astype(np.uint8)
    assert main(["synthesize", save(tmp_path / "e.png", edited), "-o", str(tmp_path / "o.png"),
                 "--photo", save(tmp_path / "p.png", photo), *flag]) == 0
    assert seen == [expected]
