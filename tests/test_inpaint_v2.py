"""inpaint-v2 pieces: pull-push membrane pre-fill, Fourier blocks, the residual generator, masked
downscaling and contextual residual aggregation (all with tiny or no networks)."""

import numpy as np
import pytest
import torch

from ganpaint.engines import inpaint as E
from ganpaint.engines.registry import ModelRegistry
from ganpaint.errors import EngineError
from ganpaint.inference.cancel import CancelToken
from ganpaint.inference.requests import InpaintRequest
from ganpaint.nets.cra import contextual_residual_aggregation, upsample
from ganpaint.nets.ffc import FFCResBlock, FourierUnit, pull_push_fill
from ganpaint.nets.gated_conv import InpaintGenerator
from ganpaint.training.checkpoint import export_model
from ganpaint.training.train_inpaint import generator_config, inpaint_card

TINY_V2 = generator_config("v2", 4, [1, 2, 2], ffc_blocks=1)


def _hole(h, w, box):
    m = torch.zeros(1, 1, h, w)
    x0, y0, x1, y1 = box
    m[..., y0:y1, x0:x1] = 1
    return m


def test_pull_push_keeps_known_pixels_and_fills_smoothly():
    yy, xx = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    ramp = (0.02 * xx + 0.01 * yy - 0.6)[None, None].repeat(1, 3, 1, 1)
    m = _hole(48, 64, (20, 10, 44, 30))
    out = pull_push_fill(ramp * (1 - m), m)
    assert torch.equal(out[m.expand_as(out) == 0], ramp[m.expand_as(ramp) == 0])
    inside = m.expand_as(out) > 0
    assert (out - ramp)[inside].abs().max() < 0.08  # a plane is (nearly) harmonic: the membrane finds it
    flat = torch.full((1, 3, 17, 23), 0.25)
    assert torch.allclose(pull_push_fill(flat, _hole(17, 23, (2, 3, 20, 15))), flat, atol=1e-5)


def test_pull_push_of_a_fully_masked_or_tiny_image_is_finite():
    for h, w in ((1, 1), (5, 3), (64, 64)):
        out = pull_push_fill(torch.rand(2, 3, h, w), torch.ones(2, 1, h, w))
        assert torch.isfinite(out).all() and out.abs().max() == 0


def test_fourier_blocks_keep_shapes_and_run_in_half():
    fu = FourierUnit(6)
    x = torch.randn(2, 6, 12, 20)
    assert fu(x).shape == x.shape
    assert fu.half()(x.half()).dtype == torch.float16
    block = FFCResBlock(6)
    y = block(x)
    assert y.shape == x.shape and torch.allclose(y, x, atol=0.1)  # starts near the identity


def test_untrained_v2_generator_returns_the_pull_push_fill():
    g = InpaintGenerator(**TINY_V2).eval()
    x = torch.rand(1, 3, 32, 40) * 2 - 1
    m = _hole(32, 40, (8, 8, 24, 20))
    with torch.no_grad():
        y = g(x * (1 - m), m)
    assert torch.allclose(y, pull_push_fill(x * (1 - m), m), atol=1e-6)
    with pytest.raises(ValueError):
        InpaintGenerator(output="residual")  # a residual needs the pre-fill
    with pytest.raises(ValueError):
        InpaintGenerator(upsample="transposed")


def test_masked_downscale_never_sees_the_hole_content():
    x = torch.zeros(1, 3, 40, 40)
    x[..., 10:30, 10:30] = 1.0  # a bright object...
    m = _hole(40, 40, (10, 10, 30, 30))  # ...under the hole
    low, low_hole = E.masked_downscale(x, m, 3)
    assert low.shape[-2:] == (14, 14) and low_hole.shape[-2:] == (14, 14)
    assert low[low_hole.expand_as(low) == 0].abs().max() == 0  # context cells: only context pixels
    assert low_hole[0, 0, 3:10, 3:10].all() and not low_hole[0, 0, 0].any()
    same, same_hole = E.masked_downscale(x, m, 1)
    assert same is x and same_hole is m


def test_cra_adds_context_texture_only_inside_the_hole():
    rng = np.random.default_rng(0)
    h, w, f = 96, 128, 4
    image = torch.from_numpy(rng.normal(0, 0.2, (1, 3, h, w)).astype(np.float32))  # textured photo
    hole = _hole(h, w, (48, 32, 80, 64))
    coarse, low_hole = E.masked_downscale(image, hole, f)
    coarse = torch.where(low_hole > 0, torch.zeros_like(coarse), coarse)
    detail = contextual_residual_aggregation(image, hole, coarse, f)
    assert detail.shape == image.shape
    assert detail[hole.expand_as(detail) == 0].abs().max() == 0
    inside = detail[hole.expand_as(detail) > 0]
    truth_hf = (image - upsample(E.masked_downscale(image, torch.zeros_like(hole), f)[0], f, (h, w)))
    assert 0.5 < inside.std() / truth_hf.std() < 1.5  # the texture's energy, not a faded average
    assert contextual_residual_aggregation(image, hole, image, 1).abs().max() == 0


@pytest.fixture
def v2_engine(tmp_path):
    torch.manual_seed(0)
    g = InpaintGenerator(**TINY_V2)
    torch.nn.init.normal_(g.to_rgb.weight, std=0.05)  # a non-trivial residual
    export_model(g, tmp_path, "tiny-v2", inpaint_card(dict(TINY_V2, detail=1.0), resolution=64, dataset=["none"],
                                                      training={}))
    engine = ModelRegistry([tmp_path]).create_engine("tiny-v2")
    engine.load(torch.device("cpu"))
    return engine


def _run(engine, image, mask):
    return engine.run(InpaintRequest.snapshot(1, image, mask, engine.card.name), CancelToken(), lambda f, p: None)


def test_v2_engine_keeps_outside_pixels_and_details_large_holes(v2_engine):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    mask = np.zeros((300, 400), np.uint8)
    mask[100:200, 150:260] = 255  # crop larger than the 64 px working size: factor > 1, detail on
    out = _run(v2_engine, image, mask)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    filled = out[mask > 0].astype(float)
    assert filled.std() > 20  # the photo's noise-like texture was carried into the hole, not a flat fill
    half = _run(_to_half(v2_engine), image, mask)
    assert np.array_equal(half[mask == 0], image[mask == 0])


def _to_half(engine):
    engine.net = engine.net.half()
    engine.half = True
    return engine


def test_almost_fully_masked_crops_terminate_and_a_full_mask_is_refused(v2_engine):
    for shape in ((1, 1), (40, 40)):
        image = np.full(shape + (3,), 90, np.uint8)
        with pytest.raises(EngineError, match="covers the whole picture"):
            _run(v2_engine, image, np.full(shape, 255, np.uint8))
    image = np.full((40, 40, 3), 90, np.uint8)
    mask = np.full((40, 40), 255, np.uint8)
    image[39, 39] = 200
    mask[39, 39] = 0  # one kept pixel: the crop is all hole but one
    out = _run(v2_engine, image, mask)
    assert out.shape == image.shape and (out[39, 39] == 200).all()


def test_soft_brush_edges_do_not_let_the_removed_object_show_through(v2_engine):
    image = np.full((120, 160, 3), 200, np.uint8)
    image[36:84, 56:104] = 0  # a black object on a flat light background
    mask = np.zeros((120, 160), np.uint8)
    mask[36:84, 56:104] = 160  # the soft edge of the brush stroke (> 127: hole) ...
    mask[40:80, 60:100] = 255  # ... painted over the object
    edge = (mask > 127) & (mask < 255)
    with torch.no_grad():
        v2_engine.net.to_rgb.weight.zero_()  # the untrained residual: the fill is the membrane, 200 here
    assert _run(v2_engine, image, mask)[edge].min() > 190  # no dark ring along the soft edge
    v2_engine.soft_blend = True  # the old behaviour: soft values blend with the pixel under the hole
    assert _run(v2_engine, image, mask)[edge].min() < 170


def test_edge_ramp_grows_from_the_hole_edge():
    hole = np.zeros((40, 60), bool)
    hole[10:30, 10:50] = True
    r = E.edge_ramp(hole, 8.0)[0, 0].numpy()
    assert (r[~hole] == 0).all()
    assert r[10, 30] == pytest.approx(1 / 8) and r[20, 30] == 1.0  # edge row vs 10 px inside
    coarse = E.edge_ramp(hole, 8.0, factor=4)[0, 0].numpy()
    assert coarse.shape == hole.shape and (coarse[~hole] == 0).all() and coarse[20, 30] == 1.0
    assert (E.edge_ramp(np.ones((5, 5), bool), 8.0) == 1).all()  # nothing kept: no edge


def test_flip_average_is_the_mean_of_the_fill_and_the_mirrored_fill(v2_engine):
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 12:40] = 255  # the whole 64 px photo is one crop at the working size
    plain = _run(v2_engine, image, mask).astype(float)
    mirrored = _run(v2_engine, image[:, ::-1].copy(), mask[:, ::-1].copy())[:, ::-1].astype(float)
    assert np.abs(plain - mirrored)[mask > 0].max() > 4  # the tiny network is not mirror-symmetric
    v2_engine.flip_average = True
    both = _run(v2_engine, image, mask).astype(float)
    assert np.array_equal(both[mask == 0], image[mask == 0])
    assert np.abs(both - (plain + mirrored) / 2)[mask > 0].max() <= 1.0  # 8-bit rounding only


def test_native_detail_copies_context_texture_into_a_full_resolution_fill(v2_engine):
    # the shipped inpaint-v2 setting: a crop at the working size gets its finest octave from the context
    yy, xx = np.mgrid[0:64, 0:64]
    stripes = np.where((xx // 2) % 2 == 0, 60, 200)  # 4 px period texture, flat in y
    image = np.repeat(stripes[..., None], 3, axis=2).astype(np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 16:48] = 255
    v2_engine.native_detail = 0.0
    smooth = _run(v2_engine, image, mask)
    v2_engine.native_detail, v2_engine.native_octaves, v2_engine.detail_ramp = 1.0, 1, 4.0
    detailed = _run(v2_engine, image, mask)
    assert np.array_equal(detailed[mask == 0], image[mask == 0])
    inner = (slice(26, 38), slice(22, 42))  # more than the 4 px ramp inside the hole

    def fine_energy(picture):
        luma = picture[inner].astype(float).mean(axis=2)
        return float((np.diff(luma, axis=1) ** 2).mean())

    assert fine_energy(detailed) > 2 * fine_energy(smooth) + 1.0
