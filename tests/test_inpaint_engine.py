"""ganpaint.engines.inpaint: crop geometry (numpy only) and the engine with a tiny random-weight model."""

import numpy as np
import pytest
import torch

from ganpaint.engines import inpaint as E
from ganpaint.engines.registry import ModelRegistry
from ganpaint.errors import EngineError, ModelError
from ganpaint.inference.cancel import CancelToken, Cancelled
from ganpaint.inference.requests import InpaintRequest
from ganpaint.nets.gated_conv import InpaintGenerator
from ganpaint.training.checkpoint import export_model
from ganpaint.training.train_inpaint import inpaint_card

TINY = {"base_channels": 4, "channel_mult": [1, 2, 2], "dilations": [2, 4], "refine_blocks": 0,
        "separable": False, "activation": "elu"}


@pytest.fixture
def registry(tmp_path):
    torch.manual_seed(0)
    export_model(InpaintGenerator(**TINY), tmp_path, "tiny-inpaint",
                 inpaint_card(TINY, resolution=64, dataset=["none"], training={"steps": 0}))
    return ModelRegistry([tmp_path])


@pytest.fixture
def engine(registry):
    eng = registry.create_engine("tiny-inpaint")
    assert isinstance(eng, E.InpaintEngine)
    eng.load(torch.device("cpu"), half=True)  # half is ignored on the CPU
    assert eng.half is False
    return eng


class Spy(torch.nn.Module):
    """Wraps the network and records the input sizes it sees."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.shapes = []

    def forward(self, x, m):
        self.shapes.append(tuple(x.shape[-2:]))
        return self.net(x, m)


def run(engine, image, mask, cancel=None, progress=None):
    req = InpaintRequest.snapshot(1, image, mask, "tiny-inpaint")
    return engine.run(req, cancel or CancelToken(), progress or (lambda f, p: None))


def random_image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------------- geometry


def test_component_boxes_and_plan_merge_close_holes():
    hole = np.zeros((300, 400), bool)
    hole[10:20, 10:30] = True      # A
    hole[25:30, 40:45] = True      # B, close to A -> same crop
    hole[200:260, 300:350] = True  # C, far away
    boxes = sorted(E.component_boxes(hole))
    assert (10, 10, 30, 20) in boxes and (300, 200, 350, 260) in boxes
    crops = E.plan_crops(hole)
    assert len(crops) == 2
    assert crops[0].hole_box == (10, 10, 45, 30)
    assert crops[0].box == (0, 0, 45 + 32, 30 + 32)  # margin 32, clipped at 0
    m = max(32, int(np.ceil(0.5 * 60)))
    assert crops[1].box == (300 - m, 200 - m, 350 + m, min(300, 260 + m))
    # no crop holds hole pixels of another, and every hole pixel is in a crop
    covered = np.zeros_like(hole)
    for c in crops:
        x0, y0, x1, y1 = c.box
        covered[y0:y1, x0:x1] = True
    assert covered[hole].all()


def test_diagonal_touching_is_one_region_and_empty_gives_none():
    hole = np.zeros((64, 64), bool)
    assert E.plan_crops(hole) == []
    hole[np.arange(64), np.arange(64)] = True
    assert len(E.component_boxes(hole)) == 1


def test_working_size_keeps_aspect_and_pads_to_8():
    assert E.working_size(100, 60, 256) == (100, 60, 104, 64)
    sh, sw, ph, pw = E.working_size(1000, 500, 256)
    assert (sh, sw) == (256, 128) and ph % 8 == 0 and pw % 8 == 0


def test_feather_is_zero_outside_and_reaches_one_inside():
    hole = np.zeros((40, 40), bool)
    hole[10:30, 10:30] = True
    w = E.feather_weights(hole, feather=3.0)
    assert (w[~hole] == 0).all()
    assert w[20, 20] == 1.0 and 0 < w[10, 20] < 1.0
    assert (E.feather_weights(hole, 1.0)[hole] == 1).all()
    mask = np.where(hole, 255, 0).astype(np.uint8)
    mask[20, 20] = 191  # a soft brush-edge value
    soft = E.feather_weights(hole, 1.0, mask)
    assert soft[20, 20] == pytest.approx(0.5) and soft[15, 15] == 1.0 and (soft[~hole] == 0).all()


def test_paste_writes_only_weighted_pixels():
    out = random_image(20, 20)
    before = out.copy()
    weight = np.zeros((10, 10), np.float32)
    weight[3:6, 3:6] = 1.0
    E.paste(out, (5, 5, 15, 15), np.zeros((10, 10, 3), np.float32), weight)
    changed = np.any(out != before, axis=2)
    assert not changed[~np.pad(weight > 0, 5)].any()
    assert (out[8:11, 8:11] == 0).all()


# ------------------------------------------------------------------------------------- engine


def test_outside_pixels_are_bit_exact_with_several_holes(engine):
    img = random_image(400, 600)
    mask = np.zeros((400, 600), np.uint8)
    mask[10:30, 10:40] = 255
    mask[300:350, 450:530] = 200
    mask[200:203, 5:100] = 255
    mask[60:70, 200:210] = 100  # <= 127: not a hole
    out = run(engine, img, mask)
    assert out.shape == img.shape and out.dtype == np.uint8
    keep = mask <= 127
    assert np.array_equal(out[keep], img[keep])
    assert np.any(out[mask > 127] != img[mask > 127])
    assert len(engine.last_crops) == 3


def test_empty_mask_returns_the_input(engine):
    img = random_image(50, 70)
    calls = []
    out = run(engine, img, np.full((50, 70), 127, np.uint8), progress=lambda f, p: calls.append(f))
    assert np.array_equal(out, img)
    assert calls == [1.0]


def test_large_photo_runs_only_a_crop_through_the_network(engine):
    img = np.zeros((3000, 4000, 3), np.uint8)
    img[:, :, 1] = 90
    mask = np.zeros((3000, 4000), np.uint8)
    mask[1500:1540, 2000:2050] = 255
    spy = Spy(engine.net)
    engine.net = spy
    out = run(engine, img, mask)
    assert len(spy.shapes) == 1
    h, w = spy.shapes[0]
    assert h <= 64 and w <= 64  # the card's working resolution
    assert np.array_equal(out[mask == 0], img[mask == 0])


def test_large_hole_is_downscaled_to_the_working_resolution(engine):
    img = random_image(400, 600)
    mask = np.zeros((400, 600), np.uint8)
    mask[100:300, 150:450] = 255
    spy = Spy(engine.net)
    engine.net = spy
    out = run(engine, img, mask)
    assert max(spy.shapes[0]) <= 64 and all(s % 8 == 0 for s in spy.shapes[0])
    assert np.array_equal(out[mask == 0], img[mask == 0])


def test_progress_and_cancellation(engine):
    img = random_image(200, 300)
    mask = np.zeros((200, 300), np.uint8)
    mask[10:20, 10:20] = 255
    mask[150:160, 250:260] = 255
    fractions = []
    run(engine, img, mask, progress=lambda f, p: fractions.append(f))
    assert fractions == [0.5, 1.0]

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run(engine, img, mask, cancel=token)

    token = CancelToken()
    with pytest.raises(Cancelled):  # cancelled while the first crop reports progress
        run(engine, img, mask, cancel=token, progress=lambda f, p: token.cancel())


def test_bad_requests_and_unloaded_engine(registry, engine):
    with pytest.raises(EngineError):
        engine.run(InpaintRequest(revision=0, model="x", image=np.zeros((4, 4), np.uint8),
                                  mask=np.zeros((4, 4), np.uint8)), CancelToken(), lambda f, p: None)
    fresh = registry.create_engine("tiny-inpaint")
    with pytest.raises(EngineError):
        run(fresh, random_image(8, 8), np.zeros((8, 8), np.uint8))


def test_corrupt_weights_raise_model_error(registry):
    card = registry.get("tiny-inpaint")
    card.weights_path.write_bytes(b"not the weights")
    with pytest.raises(ModelError):
        registry.create_engine("tiny-inpaint").load(torch.device("cpu"))


def test_generator_shapes_and_range():
    g = InpaintGenerator(**TINY).eval()
    with torch.no_grad():
        y = g(torch.zeros(2, 3, 24, 40), torch.ones(2, 1, 24, 40))
    assert y.shape == (2, 3, 24, 40) and y.abs().max() <= 1
    with pytest.raises(ValueError):
        g(torch.zeros(1, 3, 20, 20), torch.zeros(1, 1, 20, 20))


def test_wide_holes_are_filled_at_a_coarser_scale(tmp_path):
    cfg = dict(TINY, max_hole_radius=8, work_size=256)
    export_model(InpaintGenerator(**TINY), tmp_path, "tiny-coarse",
                 inpaint_card(cfg, resolution=256, dataset=["none"], training={}))
    eng = ModelRegistry([tmp_path]).create_engine("tiny-coarse")
    eng.load(torch.device("cpu"))
    spy = Spy(eng.net)
    eng.net = spy
    img = random_image(200, 200)
    mask = np.zeros((200, 200), np.uint8)
    mask[60:140, 60:140] = 255  # inner radius 40 px
    out = run(eng, img, mask)
    assert max(spy.shapes[0]) <= 200 * 8 // 40 + 8
    assert np.array_equal(out[mask == 0], img[mask == 0])
    thin = np.zeros((200, 200), np.uint8)
    thin[100:103, 20:180] = 255  # thin: native scale
    run(eng, img, thin)
    assert max(spy.shapes[-1]) >= 160


def test_hole_radius():
    hole = np.zeros((50, 60), bool)
    assert E.hole_radius(hole) == 0
    hole[10:30, 5:55] = True
    assert E.hole_radius(hole) == 10


def test_partial_results_stream_between_crops(engine):
    img = random_image(200, 300)
    mask = np.zeros((200, 300), np.uint8)
    mask[10:20, 10:20] = 255
    mask[150:160, 250:260] = 255
    partials = []
    out = run(engine, img, mask, progress=lambda f, p: partials.append(None if p is None else p.copy()))
    first, last = partials
    assert last is None  # the final picture is the result itself
    # after the first crop: its hole is filled, the second hole not yet
    assert np.array_equal(first[10:20, 10:20], out[10:20, 10:20])
    assert np.array_equal(first[150:160, 250:260], img[150:160, 250:260])


# ------------------------------------------------------------------- holes without any kept pixel


def test_hole_radius_of_a_hole_without_kept_pixels_returns_at_once():
    """Issue #8.1: a hole covering every pixel never erodes away (the border counts as hole)."""
    assert E.hole_radius(np.ones((4, 6), bool)) == 6
    assert E.hole_radius(np.ones((1, 1), bool)) == 1
    assert E.hole_radius(np.ones((5, 5), bool), limit=3) == 3
    assert E.hole_radius(np.zeros((0, 0), bool)) == 0


@pytest.fixture
def coarse_engine(tmp_path):
    cfg = dict(TINY, max_hole_radius=8, work_size=64)
    torch.manual_seed(0)
    export_model(InpaintGenerator(**TINY), tmp_path, "tiny-coarse",
                 inpaint_card(cfg, resolution=64, dataset=["none"], training={}))
    eng = ModelRegistry([tmp_path]).create_engine("tiny-coarse")
    eng.load(torch.device("cpu"))
    return eng


@pytest.mark.parametrize("shape", [(64, 80), (1, 1)])
def test_fully_masked_photo_is_refused_with_one_sentence(coarse_engine, shape):
    """An all-white mask, or a 1x1 photo with its pixel masked: a clear EngineError, not an endless loop."""
    img = random_image(*shape)
    with pytest.raises(EngineError, match="covers the whole picture"):
        run(coarse_engine, img, np.full(shape, 255, np.uint8))


def test_hole_leaving_only_pixels_the_coarse_probe_drops_is_filled(coarse_engine):
    """The kept pixels sit only in the last row and column, which the 2x coarse radius probe of a 129 px
    crop leaves out: the probe sees a hole without kept pixels and must still end."""
    img = random_image(129, 129)
    mask = np.full((129, 129), 255, np.uint8)
    mask[-1, :] = 0
    mask[:, -1] = 0
    out = run(coarse_engine, img, mask)
    assert out.shape == img.shape and np.array_equal(out[mask == 0], img[mask == 0])
