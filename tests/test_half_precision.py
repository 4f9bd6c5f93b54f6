"""The fp16 path every engine takes on a GPU (``load(cuda, half=True)``), exercised on the CPU.

No GPU is needed: the shipped networks are cast to float16 exactly as ``load`` does on CUDA, and the
engines' own dtype handling (inputs cast to the network's dtype, outputs back to float32, uint8 out)
runs unchanged. The fp16 pictures must match the fp32 ones to within a few grey levels.
"""

import numpy as np
import pytest
import torch

from ganpaint.document.imageio import load_rgb
from ganpaint.engines.registry import ModelRegistry, shipped_models_dir
from ganpaint.inference.cancel import CancelToken
from ganpaint.inference.requests import InpaintRequest, SegmentRequest, SynthesisRequest

from .conftest import SAMPLES


def _engine(name):
    registry = ModelRegistry([shipped_models_dir()])
    assert name in registry.names(), f"model {name} is not shipped"
    engine = registry.create_engine(name)
    engine.load(torch.device("cpu"))
    return engine


def _to_half(engine):
    """What ``load(device, half=True)`` does on CUDA, on the CPU."""
    if engine.task == "segment":
        engine.segmenter.net = engine.segmenter.net.half()
        engine.segmenter.half = True
    else:
        engine.net = engine.net.half()
        if getattr(engine, "encoder", None) is not None:
            engine.encoder = engine.encoder.half()
            engine._style_cache = None
    engine.half = True
    assert engine.supports_half
    return engine


def _run(engine, request):
    return engine.run(request, CancelToken(), lambda fraction, partial=None: None)


@pytest.fixture(scope="module")
def coffee():
    return load_rgb(SAMPLES / "coffee.png")


@pytest.mark.parametrize("name", ["inpaint-gated-v1", "inpaint-v2"])
def test_inpaint_fp16_matches_fp32(coffee, name):
    engine = _engine(name)
    mask = np.zeros(coffee.shape[:2], np.uint8)
    mask[120:170, 180:250] = 255
    request = InpaintRequest.snapshot(0, coffee, mask, engine.card.name)
    texture = getattr(engine, "texture", 0.0)
    engine.texture = 0.0  # the network alone: fp16 and fp32 fills agree pixel by pixel
    full = _run(engine, request)
    half = _run(_to_half(engine), request)
    assert half.dtype == np.uint8 and half.shape == coffee.shape
    assert np.array_equal(half[mask == 0], coffee[mask == 0])
    diff = np.abs(half.astype(int) - full.astype(int))[mask > 0]
    assert diff.mean() < 2.0 and diff.max() <= 24
    if texture:  # PatchMatch may pick another source for a few pixels of a slightly different fill
        engine.texture = texture
        half_textured = _run(engine, request)
        engine.half = False
        engine.net = engine.net.float()
        full_textured = _run(engine, request)
        diff = np.abs(half_textured.astype(int) - full_textured.astype(int))[mask > 0]
        assert diff.mean() < 2.0 and np.mean(diff > 8) < 0.02


def test_spade_fp16_matches_fp32(coffee):
    engine = _engine("spade-landscape")
    labels = np.full((256, 256), 3, np.uint8)
    labels[:128] = 0
    labels[150:200, 40:220] = 4
    for style in (None, coffee):  # random style code, then the style encoder
        request = SynthesisRequest.snapshot(0, labels, engine.card.name, seed=3, style=style)
        engine.load(torch.device("cpu"))  # back to fp32
        engine.half, engine._style_cache = False, None
        full = _run(engine, request)
        half = _run(_to_half(engine), request)
        assert half.dtype == np.uint8 and half.shape == (256, 256, 3)
        diff = np.abs(half.astype(int) - full.astype(int))
        assert diff.mean() < 2.0, diff.mean()


def test_segment_fp16_matches_fp32(coffee):
    engine = _engine("segment-landscape")
    request = SegmentRequest.snapshot(0, coffee, engine.card.name)
    full = _run(engine, request)
    half = _run(_to_half(engine), request)
    assert half.shape == coffee.shape[:2]
    assert (half == full).mean() > 0.98


@pytest.mark.parametrize("name", ["colorize-photo", "colorize-lineart"])
def test_colorize_fp16_matches_fp32(coffee, name):
    from ganpaint.document.vectors import ColorHint
    from ganpaint.inference.requests import ColorizeRequest

    engine = _engine(name)
    image = coffee if name == "colorize-photo" else np.where(coffee.mean(axis=2, keepdims=True) > 100, 255, 0).astype(np.uint8).repeat(3, axis=2)
    hints = [ColorHint(300.0, 200.0, (200, 30, 40), 4.0), ColorHint(100.0, 100.0, (30, 90, 200), 3.0)]
    request = ColorizeRequest.snapshot(0, image, engine.card.name, hints, query=[(300.0, 200.0)])
    full = _run(engine, request)
    half = _run(_to_half(engine), request)
    assert half.image.shape == image.shape and half.image.dtype == np.uint8
    diff = np.abs(half.image.astype(int) - full.image.astype(int))
    assert diff.mean() < 2.0, diff.mean()
    assert len(half.extras["suggestions"]) == 1
