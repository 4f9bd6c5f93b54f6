"""SynthesisEngine with a tiny random-weight SPADE model: blank-canvas size, photo-edit locality, style,
cancellation, and the fast inference network against the training network."""

import json

from dataclasses import replace

import numpy as np
import pytest
import torch

from ganpaint.engines.registry import ModelRegistry
from ganpaint.engines.synthesis import PASTE_BAND, SynthesisEngine, dilate, synthesize_array
from ganpaint.inference.cancel import CancelToken, Cancelled
from ganpaint.inference.requests import SynthesisRequest
from ganpaint.nets.spade import (OFFICIAL_OPTIONS, SPADEGenerator, SPADEOptions, compact_options, semantic_input)
from ganpaint.nets.spade_fast import FastSPADEGenerator

CLASSES = [{"id": i, "name": n, "color": c} for i, (n, c) in enumerate(
    [("sky", [110, 170, 235]), ("tree", [30, 110, 40]), ("grass", [120, 200, 80]), ("unknown", [0, 0, 0])])]


def tiny_model(folder, name="tiny-spade", resolution=64, **overrides):
    """Write a random-weight compact SPADE model (4 classes, don't-care last) into ``folder``; returns its card path."""
    from pathlib import Path

    from ganpaint.nets.spade import ConvEncoder
    from ganpaint.training.checkpoint import export_model
    from ganpaint.training.train_spade import export_state, spade_card

    torch.manual_seed(0)
    opt = compact_options(3, True, ngf=4, spade_hidden=8, z_dim=8, ngf_E=4, crop_size=64, **overrides)
    gen = SPADEGenerator(opt).eval()
    enc = ConvEncoder(opt).eval() if opt.use_vae else None
    card = spade_card(opt, data=Path("tiny"), classes=CLASSES, resolution=resolution, training={"command": "test"})
    card["config"]["segmenter"] = None
    _, card_path = export_model(export_state(gen, enc), folder, name, card, half=False)
    return card_path


@pytest.fixture
def engine(tmp_path, monkeypatch):
    tiny_model(tmp_path)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(tmp_path))
    registry = ModelRegistry.default()
    eng = registry.create_engine("tiny-spade")
    assert isinstance(eng, SynthesisEngine)
    eng.load(torch.device("cpu"))
    return eng


def scene(h, w):
    labels = np.zeros((h, w), np.uint8)
    labels[h // 2:] = 2
    labels[h // 3: h // 2, w // 4: w // 2] = 1
    return labels


def test_blank_mode_output_has_label_map_size(engine):
    for h, w in [(64, 64), (77, 131), (200, 50), (5, 300)]:
        out = synthesize_array(engine, scene(h, w), seed=1)
        assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_same_seed_same_picture_other_seed_other_picture(engine):
    labels = scene(64, 96)
    a, b, c = (synthesize_array(engine, labels, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_style_image_replaces_the_seed(engine):
    labels = scene(64, 64)
    style = np.random.default_rng(0).integers(0, 255, (40, 70, 3)).astype(np.uint8)
    a = synthesize_array(engine, labels, seed=1, style=style)
    b = synthesize_array(engine, labels, seed=2, style=style)
    assert np.array_equal(a, b)  # the style code is the encoder mean: the seed plays no role


def test_photo_edit_changes_nothing_outside_region_and_band(engine):
    rng = np.random.default_rng(1)
    h, w = 300, 420
    photo = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)
    labels = scene(h, w)
    region = np.zeros((h, w), bool)
    region[120:170, 200:260] = True
    region[250:260, 20:30] = True  # a second, separate edit
    labels[region] = 1
    out = synthesize_array(engine, labels, photo=photo, region=region)
    grown = dilate(region, PASTE_BAND)
    assert np.array_equal(out[~grown], photo[~grown])
    assert (out[region] != photo[region]).mean() > 0.9
    assert len(engine.last_crops) == 2
    for crop in engine.last_crops:  # crops stay near the edits, not the whole photo
        x0, y0, x1, y1 = crop.box
        assert (x1 - x0) * (y1 - y0) < h * w / 4


def test_photo_edit_with_empty_region_returns_the_photo(engine):
    photo = np.full((50, 60, 3), 77, np.uint8)
    out = synthesize_array(engine, scene(50, 60), photo=photo, region=np.zeros((50, 60), bool))
    assert np.array_equal(out, photo)


def test_small_region_of_large_photo_uses_a_small_crop(engine):
    h, w = 1500, 2000
    photo = np.zeros((h, w, 3), np.uint8)
    labels = np.zeros((h, w), np.uint8)
    region = np.zeros((h, w), bool)
    region[700:760, 900:980] = True
    labels[region] = 2
    out = synthesize_array(engine, labels, photo=photo, region=region)
    (crop,) = engine.last_crops
    x0, y0, x1, y1 = crop.box
    assert (x1 - x0) < 300 and (y1 - y0) < 300
    grown = dilate(region, PASTE_BAND)
    assert not out[~grown].any()


def test_cancel_and_progress(engine):
    request = SynthesisRequest.snapshot(0, scene(64, 64), "tiny-spade", 0)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        engine.run(request, token, lambda f, p: None)
    seen = []
    engine.run(request, CancelToken(), lambda f, p: seen.append(f))
    assert seen and seen[-1] == 1.0


def test_bad_requests(engine):
    from ganpaint.errors import EngineError

    with pytest.raises(EngineError, match="not a class"):
        synthesize_array(engine, np.full((32, 32), 9, np.uint8))
    with pytest.raises(ValueError):
        SynthesisRequest.snapshot(0, np.zeros((4, 4), np.uint8), "m", region=np.ones((4, 4), bool))
    with pytest.raises(ValueError):
        SynthesisRequest.snapshot(0, np.zeros((4, 4), np.uint8), "m", photo=np.zeros((5, 4, 3), np.uint8))


def test_snapshot_freezes_copies():
    labels = np.zeros((4, 5), np.uint8)
    mask = np.zeros((4, 5), np.uint8)
    mask[1, 1] = 255
    request = SynthesisRequest.snapshot(3, labels, "m", 7, photo=np.zeros((4, 5, 3), np.uint8), region=mask)
    labels[0, 0] = 1
    assert request.labels[0, 0] == 0 and not request.labels.flags.writeable
    assert request.region.dtype == np.bool_ and request.region.sum() == 1
    assert request.task == "synthesize" and request.seed == 7


def _calibrated(opt):
    """A random generator whose batch-norm running statistics come from real forward passes."""
    torch.manual_seed(0)
    gen = SPADEGenerator(opt)
    for m in gen.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    lab = torch.from_numpy(scene(2 * opt.size_multiple, 3 * opt.size_multiple).astype(np.int64))[None].repeat(2, 1, 1)
    lab[1] = lab[1].flip(-1)
    with torch.no_grad():
        gen.train()(semantic_input(lab % opt.num_labels, opt), torch.randn(2, opt.z_dim))
    return gen.eval(), lab % opt.num_labels


@pytest.mark.parametrize("opt", [
    compact_options(3, True, ngf=4, spade_hidden=8, z_dim=8),
    compact_options(3, False, ngf=4, spade_hidden=8, use_vae=False, norm_G="spectralspadeinstance3x3"),
    SPADEOptions(**{**OFFICIAL_OPTIONS["coco"].to_dict(), "ngf": 2, "spade_hidden": 8}),
    SPADEOptions(**{**OFFICIAL_OPTIONS["cityscapes"].to_dict(), "ngf": 2, "spade_hidden": 8}),
    compact_options(3, True, ngf=4, spade_hidden=8, z_dim=8, upsample_mode="bilinear"),
], ids=["compact-vae", "instance-norm", "coco-small", "cityscapes-small", "bilinear"])
def test_fast_generator_matches_training_network(opt):
    gen, lab = _calibrated(opt)
    fast = FastSPADEGenerator.from_generator(gen)
    z = torch.randn(2, opt.z_dim)
    with torch.no_grad():
        ref = gen(semantic_input(lab, opt), z)
        out = fast(lab, z)
    assert out.shape == ref.shape
    assert (out - ref).abs().max().item() < 1e-4


def test_upsample_mode_changes_the_decoder_not_its_weights():
    opt = compact_options(3, True, ngf=4, spade_hidden=8, z_dim=8)
    gen, lab = _calibrated(opt)
    smooth = SPADEGenerator(replace(opt, upsample_mode="bilinear")).eval()
    smooth.load_state_dict(gen.state_dict())  # the same keys and shapes: a run can switch modes
    z = torch.randn(2, opt.z_dim)
    with torch.no_grad():
        a, b = gen(semantic_input(lab, opt), z), smooth(semantic_input(lab, opt), z)
    assert (a - b).abs().max().item() > 1e-3
    assert SPADEOptions.from_dict({"label_nc": 3}).upsample_mode == "nearest"  # cards before the option
    with pytest.raises(ValueError, match="upsample_mode"):
        compact_options(3, True, upsample_mode="bicubic")


def test_card_records_preprocessing(tmp_path):
    card = json.loads(tiny_model(tmp_path).read_text())
    pre = card["config"]["preprocess"]
    assert card["task"] == "synthesize" and card["architecture"] == "spade"
    assert pre["label_nc"] == 3 and pre["contain_dontcare_label"] and pre["dontcare_id"] == 3
    assert pre["size_multiple"] == 32 and card["config"]["has_encoder"]


def test_blank_canvas_reports_progress_per_block_and_cancels_inside_the_network(engine):
    """#9.4: a whole-canvas run moves the progress bar in real fractions and stops when cancelled."""
    request = SynthesisRequest.snapshot(1, scene(64, 64), "tiny-spade", seed=3)
    seen = []
    engine.run(request, CancelToken(), lambda fraction, partial: seen.append(fraction))
    blocks = len(engine.stages())
    assert blocks >= 3 and len(seen) == blocks + 1 and seen[-1] == 1.0
    assert seen == sorted(seen) and 0.0 < seen[0] < 0.5  # monotonic, and the first block is a small share
    token = CancelToken()

    def cancel_after_first(fraction, partial):
        token.cancel()

    with pytest.raises(Cancelled):
        engine.run(request, token, cancel_after_first)
    assert all(not module._forward_hooks for module, _ in engine.stages())  # hooks removed


def test_card_is_stochastic_only_with_a_style_code(tmp_path):
    """The card's ``stochastic`` (the studio's seed row) follows ``use_vae``: without a style code SPADE
    starts from the down-sampled label map and ignores the seed."""
    for use_vae in (True, False):
        card = json.loads(tiny_model(tmp_path, name=f"vae-{use_vae}", use_vae=use_vae).read_text())
        assert card["config"]["stochastic"] is use_vae
        assert ModelRegistry([tmp_path]).get(f"vae-{use_vae}").stochastic is use_vae
