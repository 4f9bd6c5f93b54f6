"""ganpaint.nets.patchmatch: network-guided PatchMatch texture for inpainting fills, and its use by the engine."""

import numpy as np
import pytest
import torch

from ganpaint.nets import patchmatch as P


def stripes(h=96, w=96, period=6, seed=0):
    """A photo of vertical stripes (texture at the finest scales) on a left-to-right colour ramp, in [-1, 1]."""
    x = torch.arange(w, dtype=torch.float32)
    band = 0.4 * torch.sign(torch.sin(2 * np.pi * x / period))
    ramp = torch.linspace(-0.4, 0.4, w)
    img = torch.stack([ramp + band, ramp * 0.5 + band, -ramp + 0.3 * band])[:, None, :].expand(3, h, w).clone()
    noise = torch.randn(3, h, w, generator=torch.Generator().manual_seed(seed)) * 0.02
    return (img + noise).clamp(-1, 1)


def box_hole(h=96, w=96, box=(30, 30, 66, 66)):
    hole = torch.zeros(h, w, dtype=torch.bool)
    x0, y0, x1, y1 = box
    hole[y0:y1, x0:x1] = True
    return hole


def fine_energy(x, hole):
    return float(P._grad_energy(x, hole))


def test_gaussian_blur_keeps_the_mean_and_smooths():
    x = torch.zeros(1, 21, 21)
    x[0, 10, 10] = 1.0
    y = P.gaussian_blur(x, 2.0)
    assert y.shape == x.shape
    assert abs(float(y.sum()) - 1.0) < 1e-4
    assert 0 < float(y.max()) < 0.1
    assert torch.equal(P.gaussian_blur(x, 0.0), x)


def test_detail_is_zero_outside_the_hole_and_copies_the_photo_band():
    img = stripes()
    hole = box_hole()
    smooth = P.gaussian_blur(img, 6.0)  # a "network" fill with no detail at all
    detail = P.guided_patch_detail(img, hole, smooth, seed=3)
    assert detail.shape == (1, 96, 96)  # the luma's high band
    assert float(detail[:, ~hole].abs().max()) == 0.0
    # the copied values are the photo's own high band: every hole pixel's value occurs in the known high band
    luma = (img * P._LUMA.view(3, 1, 1)).sum(0, keepdim=True)
    high = luma - P.gaussian_blur(luma, 1.25)
    known_values = set(np.round(high[0][~box_hole(box=(23, 23, 73, 73))].numpy(), 5).tolist())
    copied = np.round(detail[0][hole].numpy(), 5)
    assert np.mean([v in known_values for v in copied]) > 0.99
    assert fine_energy(detail, hole) > 0.5 * fine_energy(high, ~hole)


class _FakeField:
    """The NNF part of ``P._Field`` that ``_copy_blocks`` reads: every lattice point of an ``h x w`` picture is a
    target mapped to ``source(ty, tx)``."""

    def __init__(self, h, w, stride, source):
        ty, tx = torch.meshgrid(torch.arange(0, h, stride), torch.arange(0, w, stride), indexing="ij")
        ty, tx = ty.flatten(), tx.flatten()
        self.grid = torch.full((h, w), -1, dtype=torch.long)
        self.grid[ty, tx] = torch.arange(ty.numel())
        self.y, self.x = source(ty, tx)


def _smooth_noise(h=64, w=64, seed=0):
    noise = torch.randn(1, h, w, generator=torch.Generator().manual_seed(seed))
    high = P.gaussian_blur(noise, 1.5)
    return high / high.std()


def _seam_ratio(detail, hole, stride):
    """Mean squared step between horizontal neighbours across block boundaries over that within blocks."""
    d = (detail[0, :, 1:] - detail[0, :, :-1]).pow(2)
    both = hole[:, 1:] & hole[:, :-1]
    seam = torch.zeros_like(both)
    seam[:, stride - 1::stride] = True  # the step from column k*stride - 1 to k*stride
    return float(d[both & seam].mean() / d[both & ~seam].mean())


def test_blended_copies_hide_the_block_seams_and_keep_the_grain():
    stride, high = 6, _smooth_noise()
    hole = box_hole(64, 64, (12, 12, 52, 52))
    pixels = hole.reshape(-1).nonzero().squeeze(1)
    gen = torch.Generator().manual_seed(1)
    field = _FakeField(64, 64, stride, lambda ty, tx: (torch.randint(8, 56, ty.shape, generator=gen),
                                                       torch.randint(8, 56, tx.shape, generator=gen)))
    hard = P._copy_blocks(high, field, pixels, 64, stride, blend=False)
    soft = P._copy_blocks(high, field, pixels, 64, stride, blend=True)
    assert float(hard[:, ~hole].abs().max()) == 0.0 and float(soft[:, ~hole].abs().max()) == 0.0
    assert _seam_ratio(hard, hole, stride) > 3.0  # unrelated blocks meet with a jump ...
    assert _seam_ratio(soft, hole, stride) < 1.5  # ... blended, the steps across seams are like any other
    assert 0.7 < float(soft[0][hole].std()) / float(hard[0][hole].std()) < 1.3  # the grain's contrast is kept


def test_blending_a_coherent_field_copies_exactly():
    stride, high = 4, _smooth_noise(seed=2)
    hole = box_hole(64, 64, (16, 16, 48, 48))
    pixels = hole.reshape(-1).nonzero().squeeze(1)
    field = _FakeField(64, 64, stride, lambda ty, tx: (ty.clamp(max=59) - 3, tx.clamp(max=59) + 2))
    soft = P._copy_blocks(high, field, pixels, 64, stride, blend=True)
    want = torch.zeros_like(high)
    want[:, hole] = high[:, 13:45, 18:50].reshape(1, -1)  # every target copies from 3 px up, 2 px right
    assert torch.allclose(soft, want, atol=1e-5)


def test_large_blocks_are_blended_small_ones_copied_verbatim():
    img = torch.cat([_smooth_noise(96, 96, seed=s) for s in range(3)]).mul(0.2).clamp(-1, 1)
    hole = box_hole()
    fill = P.gaussian_blur(img, 6.0)
    hard = P.guided_patch_detail(img, hole, fill, stride=5, blend_from=0)
    soft = P.guided_patch_detail(img, hole, fill, stride=5)  # default: blended from stride 4
    assert _seam_ratio(soft, hole, 5) < 0.6 * _seam_ratio(hard, hole, 5)
    assert torch.equal(P.guided_patch_detail(img, hole, fill, stride=2),
                       P.guided_patch_detail(img, hole, fill, stride=2, blend_from=0))


def test_colour_detail_has_three_channels():
    img, hole = stripes(), box_hole()
    detail = P.guided_patch_detail(img, hole, P.gaussian_blur(img, 6.0), luma=False)
    assert detail.shape == img.shape and float(detail[:, hole].abs().mean()) > 0.05


def test_same_seed_same_detail_other_seed_other_detail():
    img, hole = stripes(), box_hole()
    fill = P.gaussian_blur(img, 6.0)
    a = P.guided_patch_detail(img, hole, fill, seed=1)
    b = P.guided_patch_detail(img, hole, fill, seed=1)
    c = P.guided_patch_detail(img, hole, fill, seed=2, iters=0)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_texture_fill_restores_the_rings_detail_and_keeps_the_rest():
    img, hole = stripes(), box_hole()
    fill = P.gaussian_blur(img, 6.0)
    out = P.texture_fill(img, hole, fill, strength=1.0)
    assert torch.equal(out[:, ~hole], img[:, ~hole])  # outside the hole: the photo itself
    ring = P.dilate(hole, 12) & ~hole
    soft = fine_energy(torch.where(hole[None], fill, img), hole)
    textured = fine_energy(out, hole)
    assert textured > 5 * soft
    assert 0.5 < textured / fine_energy(img, ring) < 1.5  # about the surroundings' detail, not more
    # the low band stays the network's: colours match the fill when both are blurred
    blur_out, blur_fill = P.gaussian_blur(out, 4.0), P.gaussian_blur(torch.where(hole[None], fill, img), 4.0)
    inner = hole & ~P.dilate(~hole, 8)
    assert float((blur_out - blur_fill)[:, inner].abs().mean()) < 0.08
    # strength 0: the fill's low band only (the stripes blurred in at the hole's edge, nothing copied)
    flat = P.texture_fill(img, hole, fill, strength=0.0)
    assert fine_energy(flat, hole) < 0.2 * textured
    assert torch.equal(flat[:, ~hole], img[:, ~hole])


def test_texture_follows_the_guide_to_the_matching_side():
    """Left half dark stripes, right half bright flat: a dark guide in the hole gets stripes, a bright one none."""
    img = torch.full((3, 80, 120), 0.6)
    x = torch.arange(60, dtype=torch.float32)
    img[:, :, :60] = -0.5 + 0.3 * torch.sign(torch.sin(2 * np.pi * x / 4))
    hole = box_hole(80, 120, (30, 25, 90, 55))
    guide = img.clone()
    guide[:, :, :60] = -0.5
    detail = P.guided_patch_detail(img, hole, guide, seed=0)
    left, right = hole.clone(), hole.clone()
    left[:, 60:], right[:, :60] = False, False
    assert fine_energy(detail, left) > 8 * (fine_energy(detail, right) + 1e-4)  # some bleed at the seam


def test_no_source_or_no_hole_gives_zero_detail():
    img = stripes(24, 24)
    everything_near = box_hole(24, 24, (2, 2, 22, 22))  # no patch far enough from the hole
    assert float(P.guided_patch_detail(img, everything_near, img).abs().max()) == 0.0
    assert float(P.guided_patch_detail(img, torch.zeros(24, 24, dtype=torch.bool), img).abs().max()) == 0.0
    out = P.texture_fill(img, everything_near, img * 0, strength=1.0)
    assert torch.equal(out[:, ~everything_near], img[:, ~everything_near])


@pytest.mark.parametrize("kwargs", [{"patch": 8}, {"patch": 1}, {"patch": 9, "stride": 6}, {"stride": 0}])
def test_bad_patch_settings_raise(kwargs):
    img, hole = stripes(32, 32), box_hole(32, 32, (10, 10, 20, 20))
    with pytest.raises(ValueError):
        P.guided_patch_detail(img, hole, img, **kwargs)


# ------------------------------------------------------------------------------------ in the engine


@pytest.fixture
def textured_engine(tmp_path):
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.nets.gated_conv import InpaintGenerator
    from ganpaint.training.checkpoint import export_model
    from ganpaint.training.train_inpaint import inpaint_card

    tiny = {"base_channels": 4, "channel_mult": [1, 2, 2], "dilations": [2, 4], "refine_blocks": 0,
            "separable": False, "activation": "elu"}
    torch.manual_seed(0)
    export_model(InpaintGenerator(**tiny), tmp_path, "tiny-tex",
                 inpaint_card(dict(tiny, texture=1.0), resolution=64, dataset=["none"], training={}))
    eng = ModelRegistry([tmp_path]).create_engine("tiny-tex")
    eng.load(torch.device("cpu"))
    return eng


def _run(engine, image, mask, progress=None):
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import InpaintRequest

    req = InpaintRequest.snapshot(1, image, mask, engine.card.name)
    return engine.run(req, CancelToken(), progress or (lambda f, p: None))


def _stripe_photo(h=64, w=96, period=4):
    img = ((stripes(h, w, period=period) + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    return np.ascontiguousarray(img)


def test_engine_streams_the_network_fill_then_adds_the_photos_texture(textured_engine):
    assert textured_engine.texture == 1.0
    image = _stripe_photo()
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:44, 36:60] = 255
    hole = mask > 127
    partials = []
    out = _run(textured_engine, image, mask, progress=lambda f, p: partials.append((f, None if p is None else p.copy())))
    assert np.array_equal(out[~hole], image[~hole])
    (f0, first), (f1, last) = partials
    assert f0 < f1 == 1.0 and last is None
    assert np.array_equal(first[~hole], image[~hole]) and not np.array_equal(first[hole], out[hole])

    assert _hole_energy(out, hole) > 3 * _hole_energy(first, hole)
    textured_engine.texture = 0.0
    partials.clear()
    plain = _run(textured_engine, image, mask, progress=lambda f, p: partials.append(p))
    assert partials == [None]  # one crop, no texture stage: nothing to stream
    assert np.array_equal(plain[hole], first[hole])


def _hole_energy(a, hole):
    return float(P._grad_energy(torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1), torch.from_numpy(hole)))


def test_engine_textures_a_box_above_its_pixel_budget_at_a_reduced_scale(textured_engine):
    """A box larger than ``texture_max_pixels`` (a huge hole in a 12 MP photo) is textured on a reduced copy
    and the texture upsampled: the fill gets the photo's stripes, never the soft fill alone; 0 = stage off."""
    image = _stripe_photo(256, 320, period=8)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[80:176, 112:208] = 255
    hole = mask > 127
    textured_engine.texture_max_pixels = 10_000  # the texture box (hole + context, whole crop) is ~37 000 px
    partials = []
    out = _run(textured_engine, image, mask, progress=lambda f, p: partials.append(None if p is None else p.copy()))
    crop = textured_engine.last_crops[0]
    x0, y0, x1, y1 = textured_engine._texture_box(crop)
    assert textured_engine._texture_factor(y1 - y0, x1 - x0) >= 2
    soft, last = partials
    assert last is None and np.array_equal(out[~hole], image[~hole])
    assert _hole_energy(out, hole) > 3 * _hole_energy(soft, hole)
    assert _hole_energy(out, hole) < 2 * _hole_energy(image, ~hole)  # about the photo's texture, not more
    textured_engine.texture_max_pixels = 0
    partials.clear()
    plain = _run(textured_engine, image, mask, progress=lambda f, p: partials.append(p))
    assert partials == [None] and np.array_equal(plain, soft)


def test_check_is_called_during_the_search_and_can_abandon_it():
    img, hole = stripes(), box_hole()
    calls = []

    class Stop(Exception):
        pass

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        P.guided_patch_detail(img, hole, P.gaussian_blur(img, 6.0), check=check)
    assert len(calls) == 3


def test_engine_cancel_during_the_texture_stage(textured_engine):
    from ganpaint.inference.cancel import CancelToken, Cancelled
    from ganpaint.inference.requests import InpaintRequest

    image = _stripe_photo()
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:44, 36:60] = 255
    cancel = CancelToken()
    seen = []

    def progress(fraction, picture):
        seen.append(fraction)
        cancel.cancel()  # the user painted again while the network's fill was on screen

    with pytest.raises(Cancelled):
        textured_engine.run(InpaintRequest.snapshot(1, image, mask, "tiny-tex"), cancel, progress)
    assert seen == [0.5]


def test_copied_detail_is_limited_to_a_few_times_the_rings_grain():
    """A photo of faint grain with two hard dark lines: the copied detail never exceeds ``clip`` times the
    grain's typical size (no specks); without the limit its extremes are larger."""
    g = torch.Generator().manual_seed(0)
    img = (0.02 * torch.randn(1, 96, 96, generator=g)).expand(3, -1, -1).clone()
    img[:, :, 8:10] = -0.9  # outside the ring around the hole, inside the source area
    img[:, :, 86:88] = -0.9
    hole = box_hole()
    fill = P.gaussian_blur(torch.where(hole[None], torch.zeros_like(img), img), 4.0)
    typical = P.typical_detail(img, hole, 1.25)
    assert 0.01 < typical < 0.03  # the grain (std 0.02), not the lines
    low = P.gaussian_blur(torch.where(hole[None], fill, img), 1.25)
    limited = (P.texture_fill(img, hole, fill, strength=1.0, clip=3.0) - low)[:, hole]
    assert float(limited.abs().max()) <= 3.0 * typical + 1e-4
    free = (P.texture_fill(img, hole, fill, strength=1.0, clip=0.0) - low)[:, hole]
    assert float(free.abs().max()) > 1.2 * float(limited.abs().max())


def test_engine_textures_the_holes_box_plus_context_not_the_whole_crop(textured_engine):
    """The pixel budget applies to the holes' box grown by ``texture_context``, not to the crop around it
    (whose margin grows with the hole), so a large hole is textured at full resolution; one pixel more of
    context and the box is textured at half scale."""
    image = _stripe_photo(64, 96)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[24:40, 40:56] = 255
    textured_engine.texture_context = 8
    textured_engine.texture_max_pixels = 32 * 32  # the 16 px hole + 8 px on each side fits, the crop does not
    calls = []
    out = _run(textured_engine, image, mask, progress=lambda f, p: calls.append(f))
    assert calls == [0.5, 1.0]
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert textured_engine._texture_factor(32, 32) == 1
    textured_engine.texture_context = 9  # 34 x 34 > the budget: textured at half scale
    assert textured_engine._texture_factor(34, 34) == 2
    calls.clear()
    _run(textured_engine, image, mask, progress=lambda f, p: calls.append(f))
    assert calls == [0.5, 1.0]


def test_block_stride_bounds_the_matched_patches():
    from ganpaint.nets.patchmatch import block_stride

    assert block_stride(100, 16_000) == 1  # a small hole: every pixel is a target
    assert block_stride(1_000_000, 16_000) == 8  # 1e6 / 8**2 = 15 625 targets
    assert block_stride(100, 16_000, minimum=2) == 2
    assert block_stride(10_000_000, 16_000, minimum=2, maximum=5) == 5
