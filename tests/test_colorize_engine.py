"""Colorization engine mechanics with tiny networks: full-resolution L, recolouring, flat line-art fills that
keep the lines, hint rasterisation, suggestions and global hints."""

from pathlib import Path

import cv2

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.document.vectors import ColorHint
from ganpaint.engines.colorize import (ColorizeEngine, colorize_array, global_histogram, rasterize_hints, suggest_ab,
                                       work_size)
from ganpaint.engines.registry import ModelCard
from ganpaint.errors import EngineError
from ganpaint.inference.requests import HintSnapshot
from ganpaint.lab import rgb8_to_lab
from ganpaint.nets.colorization import AB_BINS, ColorizationOutput, LiteSIGGRAPHGenerator, ab_bin_centers


class LocalNet(nn.Module):
    """A stand-in network with known behaviour: each pixel takes the mean hint colour within 7 px (else a
    constant), and the distribution head puts all mass on the bin of that colour."""

    size_multiple, output_stride, class_logit_scale = 16, 1, 1.0

    def __init__(self, channels=2, global_bins=0, constant=(0.0, 0.0, 0.0)):
        super().__init__()
        self.hint_channels = self.out_channels = channels
        self.global_bins = global_bins
        self.register_buffer("constant", torch.tensor(constant[:channels], dtype=torch.float32))
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, l, ab, mask, global_hint=None):
        covered = (mask > 0).float()
        total = F.avg_pool2d(ab * covered, 15, 1, 7, count_include_pad=False)
        count = F.avg_pool2d(covered, 15, 1, 7, count_include_pad=False)
        color = torch.where(count > 0, total / count.clamp_min(1e-6), self.constant.view(1, -1, 1, 1))
        return ColorizationOutput(color, color[:, -2:])

    def class_logits(self, features):
        centres = ab_bin_centers().to(features) / 110.0
        d = ((features[:, :, None] - centres.T[None, :, :, None, None]) ** 2).sum(1)
        return -1000.0 * d


def engine_for(net, mode="photo", resolution=64):
    card = ModelCard(name=f"test-{mode}", task="colorize", architecture="lite-siggraph17", resolution=resolution,
                     weights="none.safetensors", sha256="0" * 64, card_path=Path("test.json"),
                     config={"mode": mode, "mask_center": 0.5})
    engine = ColorizeEngine(card)
    engine.net = net.eval()
    engine.load(torch.device("cpu"))
    return engine


def gray_photo(h=90, w=130, seed=0):
    rng = np.random.default_rng(seed)
    g = (rng.random((h, w)) * 160 + 50).astype(np.uint8)  # full-resolution detail the network never sees
    return np.repeat(g[..., None], 3, axis=2)


def test_work_size_keeps_aspect_and_multiples():
    assert work_size(3000, 4000, 256, 16) == (192, 256)
    assert work_size(100, 30, 256, 16) == (256, 80)
    assert work_size(5, 5, 256, 8) == (256, 256)


def test_rasterize_hints_discs_strokes_and_tiny_hints():
    disc = HintSnapshot(((20.0, 20.0),), (255, 0, 0), 5.0)
    stroke = HintSnapshot(((5.0, 40.0), (45.0, 40.0)), (0, 255, 0), 2.0)
    tiny = HintSnapshot(((47.3, 3.6),), (0, 0, 255), 0.1)
    outside = HintSnapshot(((500.0, 500.0),), (0, 0, 255), 3.0)
    index = rasterize_hints([disc, stroke, tiny, outside], 50, 50)
    assert 70 <= (index == 0).sum() <= 95  # pi * 5^2 = 78.5
    rows = np.nonzero(index == 1)[0]
    assert 150 <= (index == 1).sum() <= 230 and rows.min() >= 37 and rows.max() <= 43
    assert index[3, 47] == 2 and (index == 2).sum() == 1
    assert (index == 3).sum() == 0
    half = rasterize_hints([disc], 25, 25, 0.5, 0.5)  # on a grid of half the resolution
    assert index[20, 20] == 0 and half[10, 10] == 0 and 14 <= (half == 0).sum() <= 26


def test_photo_output_keeps_the_full_resolution_lightness():
    net = LiteSIGGRAPHGenerator(widths=(8, 8, 8, 8), middle=1, global_bins=0)
    with torch.no_grad():  # a constant, in-gamut prediction: ab = (11, -5.5)
        net.model_out[0].weight.zero_()
        net.model_out[0].bias.copy_(torch.atanh(torch.tensor([0.1, -0.05])))
    engine = engine_for(net)
    image = gray_photo()
    out = colorize_array(engine, image, [ColorHint(30, 30, (200, 0, 0), 3)]).image
    assert out.shape == image.shape and out.dtype == np.uint8
    lab_in, lab_out = rgb8_to_lab(image), rgb8_to_lab(out)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).max() < 1.0  # every pixel's detail is the input's
    assert np.allclose(lab_out[..., 1], 11, atol=1.5) and np.allclose(lab_out[..., 2], -5.5, atol=1.5)


def test_hint_colour_reaches_its_neighbourhood_only():
    engine = engine_for(LocalNet())
    image = gray_photo()
    out = colorize_array(engine, image, [ColorHint(30.5, 40.5, (200, 40, 40), 2)]).image
    lab = rgb8_to_lab(out)
    assert lab[40, 30, 1] > 25  # red at the hint
    assert abs(lab[40, 110, 1]) < 2 and abs(lab[5, 5, 1]) < 2  # grey far away


def test_recolor_keeps_untouched_pixels_bit_exact():
    engine = engine_for(LocalNet())
    rng = np.random.default_rng(1)
    image = (rng.random((80, 120, 3)) * 255).astype(np.uint8)
    assert np.array_equal(colorize_array(engine, image, [], recolor=True).image, image)
    out = colorize_array(engine, image, [ColorHint(20.5, 20.5, (30, 60, 220), 2)], recolor=True).image
    far = np.zeros(image.shape[:2], bool)
    far[:, 70:] = True
    assert np.array_equal(out[far], image[far])
    lab_out, lab_in = rgb8_to_lab(out), rgb8_to_lab(image)
    assert lab_out[20, 20, 2] < -30 and np.abs(lab_out[..., 0] - lab_in[..., 0])[20, 20] < 2


def line_art(h, w, width):
    """Two boxes side by side on white paper, black outlines ``width`` px wide."""
    img = np.full((h, w, 3), 255, np.uint8)
    for x0, x1 in ((w // 10, w // 2 - w // 20), (w // 2 + w // 20, w - w // 10)):
        y0, y1 = h // 5, h - h // 5
        img[y0:y1, x0:x0 + width] = img[y0:y1, x1 - width:x1] = 0
        img[y0:y0 + width, x0:x1] = img[y1 - width:y1, x0:x1] = 0
    return img


@pytest.mark.parametrize("size,width", [((90, 160), 2), ((450, 800), 6)])
def test_line_art_flat_fill_stays_inside_closed_lines_and_lines_stay_black(size, width):
    h, w = size
    engine = engine_for(LocalNet(3, constant=(0.45, 0.0, 0.0)), mode="lineart")  # unhinted: L 95 grey
    drawing = line_art(h, w, width)
    hint = ColorHint(w * 0.2, h * 0.5, (220, 40, 40), 2)
    out = colorize_array(engine, drawing, [hint]).image
    black = drawing[..., 0] == 0
    assert (out[black] == 0).all()  # lines exactly black at any size
    left = np.zeros((h, w), bool)
    left[h // 5 + width:h - h // 5 - width, w // 10 + width:w // 2 - w // 20 - width] = True
    right = np.zeros((h, w), bool)
    right[h // 5 + width:h - h // 5 - width, w // 2 + w // 20 + width:w - w // 10 - width] = True
    assert (np.abs(out[left].astype(int) - (220, 40, 40)) <= 1).all()  # the whole region, flat, the hint's colour
    assert (out[right][:, 0].astype(int) - out[right][:, 1] < 5).all()  # nothing red leaked into the other box
    assert len(np.unique(out[right].reshape(-1, 3), axis=0)) == 1  # flat


def test_suggestions_and_suggest_ab():
    p = np.zeros(AB_BINS)
    centres = ab_bin_centers().numpy()
    p[np.argmin(((centres - (40, 20)) ** 2).sum(1))] = 0.6
    p[np.argmin(((centres - (-30, -50)) ** 2).sum(1))] = 0.3
    p[np.argmin(((centres - (-20, -50)) ** 2).sum(1))] = 0.1
    ab, w = suggest_ab(p)
    assert np.allclose(ab[0], (40, 20)) and np.allclose(ab[1], (-27.5, -50), atol=0.1)
    assert np.allclose(w, (0.6, 0.4))
    engine = engine_for(LocalNet())
    out = colorize_array(engine, gray_photo(), [ColorHint(30.5, 40.5, (40, 160, 60), 2)], query=[(30.5, 40.5)])
    (s,) = out.extras["suggestions"]
    hint_ab = rgb8_to_lab(np.array([[40, 160, 60]], np.uint8))[0, 1:]
    assert np.hypot(*(np.array(s.ab[0]) - hint_ab)) < 10 and s.weights[0] > 0.9
    assert (s.x, s.y) == (30.5, 40.5) and abs(s.lightness - rgb8_to_lab(gray_photo()[40:41, 30:31])[0, 0, 0]) < 1e-3


def test_random_compact_network_runs_with_query_and_global_hint():
    torch.manual_seed(0)
    engine = engine_for(LiteSIGGRAPHGenerator(widths=(8, 8, 8, 8), middle=1))
    out = colorize_array(engine, gray_photo(), [ColorHint(10, 10, (1, 2, 3), 1)], query=[(5, 5), (100, 80)],
                         palette=[(200, 0, 0)])
    assert out.image.shape == (90, 130, 3) and len(out.extras["suggestions"]) == 2
    assert all(len(s.rgb) == len(s.weights) <= 9 for s in out.extras["suggestions"])


def test_global_histogram_and_refusal_without_a_global_branch():
    hist = global_histogram(palette=[(200, 30, 30), (30, 30, 200)])
    assert hist.shape == (AB_BINS,) and hist.sum() == pytest.approx(1) and (hist > 0).sum() == 2
    ref = np.zeros((300, 200, 3), np.uint8)
    ref[:, :100] = (20, 180, 40)
    hist = global_histogram(reference=ref)
    assert hist.max() == pytest.approx(0.5, abs=0.02)
    assert global_histogram() is None
    engine = engine_for(LocalNet(global_bins=0))
    with pytest.raises(EngineError, match="global hints"):
        colorize_array(engine, gray_photo(), [], palette=[(200, 30, 30)])


def test_colorize_request_through_the_worker_delivers_suggestions(tmp_path):
    import queue

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.events import Finished
    from ganpaint.inference.requests import ColorizeRequest
    from ganpaint.inference.worker import InferenceWorker
    from ganpaint.training.checkpoint import export_model
    from ganpaint.training.train_colorize import colorize_card

    cfg = {"widths": [8, 8, 8, 8], "middle": 1, "hint_channels": 2, "out_channels": 2, "global_bins": 529}
    torch.manual_seed(0)
    export_model(LiteSIGGRAPHGenerator(**cfg), tmp_path, "tiny", colorize_card(cfg, "photo", dataset=[], training={}))
    events = queue.Queue()
    worker = InferenceWorker(ModelRegistry([tmp_path]), device="cpu", on_event=events.put)
    worker.start()
    try:
        request = ColorizeRequest.snapshot(7, gray_photo(), "tiny", [ColorHint(10, 10, (200, 0, 0), 2)],
                                           query=[(10.0, 10.0)])
        worker.submit(request)
        while True:
            event = events.get(timeout=30)
            if isinstance(event, Finished):
                break
    finally:
        assert worker.stop(30)
    result = event.result
    assert result.revision == 7 and result.task == "colorize" and result.image.shape == (90, 130, 3)
    (s,) = result.extras["suggestions"]
    assert (s.x, s.y) == (10.0, 10.0) and 1 <= len(s.rgb) <= 9


def test_pin_hints_makes_hinted_pixels_exact_and_fades_across_edges():
    from ganpaint.engines.colorize import pin_hints

    pred = np.zeros((40, 60, 2), np.float32)
    lightness = np.full((40, 60), 30.0, np.float32)
    lightness[:, 30:] = 90.0  # an edge at x = 30
    index = np.full((40, 60), -1, np.int32)
    index[20, 25] = 0
    out = pin_hints(pred, lightness, index, np.array([[40.0, -20.0]]))
    assert np.allclose(out[20, 25], (40 / 1.05, -20 / 1.05), atol=0.01)  # the hint's colour (prior 0.05)
    assert out[20, 20, 0] > 30 and out[20, 35, 0] < 1  # spreads on its side of the edge, not across it
    assert np.array_equal(pin_hints(pred, lightness, np.full((40, 60), -1, np.int32), np.zeros((0, 2))), pred)


def test_guided_upsample_puts_colour_boundaries_on_the_lightness_edges():
    from ganpaint.engines.colorize import _resize, guided_upsample

    H = W = 128
    full_l = np.full((H, W), 30.0, np.float32)
    full_l[:, 70:] = 80.0  # an edge at x = 70, inside a pixel of the 4x coarser grid
    truth = np.where(full_l > 55, 40.0, -20.0).astype(np.float32)
    small_l = cv2.resize(full_l, (32, 32), interpolation=cv2.INTER_AREA)
    ab = np.repeat(cv2.resize(truth, (32, 32), interpolation=cv2.INTER_AREA)[..., None], 2, axis=2)  # the coarse grid
    plain = _resize(ab, H, W)[..., 0]
    guided = guided_upsample(ab, small_l, full_l, radius=2, eps=1.0)[..., 0]
    assert guided.shape == (H, W)
    near = np.s_[:, 60:80]  # plain bilinear smears the colour over the coarse pixels around the edge
    assert np.abs(plain[near] - truth[near]).mean() > 4
    assert np.abs(guided[near] - truth[near]).mean() < 0.5  # the guided one switches at the edge pixel
    flat = guided_upsample(np.full((32, 32, 2), 7.0, np.float32), small_l, full_l, radius=2)
    assert np.allclose(flat, 7.0, atol=1e-3)  # a uniform colour stays uniform


def test_guided_radius_zero_gives_the_plain_bilinear_upsampling():
    engine = engine_for(LocalNet())
    img = gray_photo()
    hints = [ColorHint(20.5, 20.5, (200, 30, 30), 4.0)]
    guided = colorize_array(engine, img, hints).image
    engine.guided_radius = 0.0
    plain = colorize_array(engine, img, hints).image
    assert guided.shape == plain.shape and not np.array_equal(guided, plain)


def test_auto_strength_tempers_only_the_colours_no_hint_asked_for():
    engine = engine_for(LocalNet(constant=(0.2, -0.2)))  # the network's guess: ab (22, -22) everywhere
    engine.guided_radius = 0.0
    img = gray_photo()
    full = rgb8_to_lab(colorize_array(engine, img).image)[..., 1:]
    engine.auto_strength = 0.5
    tempered = rgb8_to_lab(colorize_array(engine, img).image)[..., 1:]
    assert np.allclose(full.mean((0, 1)), (22, -22), atol=2) and np.allclose(tempered.mean((0, 1)), (11, -11), atol=2)
    hint = [ColorHint(30.5, 40.5, (200, 40, 40), 3.0)]
    hinted = rgb8_to_lab(colorize_array(engine, img, hint).image)[..., 1:]
    engine.auto_strength = 1.0
    whole = rgb8_to_lab(colorize_array(engine, img, hint).image)[..., 1:]
    assert np.abs(whole[40, 30] - (22, -22)).max() > 20  # the hint changes the colour there ...
    assert np.allclose(hinted[38:43, 28:33], whole[38:43, 28:33], atol=1.5)  # ... and it is not tempered
    assert np.allclose(hinted[5:20, 90:].mean((0, 1)), (11, -11), atol=2)  # ... the guess far from it tempered
