"""A fake inpainting engine for GUI and scheduling tests: fills holes with a flat colour."""

import threading

import numpy as np
import torch
from safetensors.torch import save_file

from ganpaint.engines.base import Engine
from ganpaint.engines.registry import sha256_file, write_card

FILL_COLOR = (255, 0, 255)


def write_fake_model(folder, name, task="inpaint", architecture="fake-inpaint", labels=None):
    """Write a tiny weights file and a card with the right sha256 into ``folder``."""
    weights = folder / f"{name}.safetensors"
    save_file({"scale": torch.ones(1)}, str(weights))
    card = {
        "name": name,
        "task": task,
        "architecture": architecture,
        "labels": labels,
        "resolution": 64,
        "weights": weights.name,
        "sha256": sha256_file(weights),
        "dataset": "none",
        "licence": "CC0",
        "training": {"command": "none"},
        "metrics": {},
    }
    write_card(card, folder / f"{name}.json")


class FakeInpaintEngine(Engine):
    """Fills holes (mask > 127) with :data:`FILL_COLOR`. ``fail_next`` makes the next run raise;
    clearing ``release`` holds runs (after reporting 40 % progress) until the test sets it again."""

    task = "inpaint"
    architectures = ("fake-inpaint",)
    release = threading.Event()
    fail_next = False
    runs = 0
    last_texture = None  # the ``texture`` switch of the latest request run

    @classmethod
    def reset(cls):
        cls.release = threading.Event()
        cls.release.set()
        cls.fail_next = False
        cls.runs = 0
        cls.last_texture = None

    def load(self, device, half=False):
        self.device = device

    def run(self, request, cancel, progress):
        progress(0.4, None)  # as a real engine reports its crops or blocks
        type(self).release.wait(10)
        cancel.raise_if_cancelled()
        type(self).runs += 1
        type(self).last_texture = request.texture
        if type(self).fail_next:
            type(self).fail_next = False
            raise RuntimeError("the fake engine was told to fail")
        out = np.array(request.image)
        out[request.mask > 127] = FILL_COLOR
        return out


class FakeSegmentEngine(Engine):
    """Reads every photo as sky (class 0) over grass (class 3)."""

    task = "segment"
    architectures = ("fake-segment",)

    def load(self, device, half=False):
        self.device = device

    def run(self, request, cancel, progress):
        height, width = request.image.shape[:2]
        labels = np.full((height, width), 3, np.uint8)
        labels[: height // 2] = 0
        return labels


def synth_color(labels):
    """The fake synthesis engine's picture of a label map: grey level 20 x class id, RGB uint8."""
    return np.repeat((labels.astype(np.uint8) * 20)[..., None], 3, axis=2)


class FakeSynthesisEngine(Engine):
    """Paints each class as a grey level; in photo mode only inside ``region``, as its photo editor
    ``fake-editor`` would (``last_generator``)."""

    task = "synthesize"
    architectures = ("fake-spade",)
    last_exemplar = None  # the ``exemplar`` switch of the latest photo-edit request

    def load(self, device, half=False):
        self.device = device

    def run(self, request, cancel, progress):
        picture = synth_color(request.labels)
        if request.photo is not None:
            type(self).last_exemplar = request.exemplar
        self.last_generator = None if request.photo is None else "fake-editor"
        if request.photo is None:
            return picture
        out = np.array(request.photo)
        region = request.region if request.region is not None else np.ones(request.labels.shape, bool)
        out[region] = picture[region]
        return out


def write_tiny_colorize_model(folder, name, mode="photo"):
    """Export a tiny random compact colorization network (real engine, ``pin_hints`` on for photos) into ``folder``."""
    from ganpaint.nets.colorization import LiteSIGGRAPHGenerator
    from ganpaint.training.checkpoint import export_model
    from ganpaint.training.train_colorize import colorize_card

    cfg = {"widths": [8, 8, 8, 8], "middle": 1, "hint_channels": 2, "out_channels": 2, "global_bins": 529}
    torch.manual_seed(0)
    card = colorize_card(cfg, mode, dataset=[], training={"command": "none"})
    card["resolution"] = 64
    export_model(LiteSIGGRAPHGenerator(**cfg), folder, name, card)


def write_tiny_gan_model(folder, name):
    """Export a tiny random light StyleGAN2 with its latent encoder (a real GAN engine, 16 px) into ``folder``."""
    from ganpaint.engines.manifold import ENCODER_PREFIX
    from ganpaint.nets.latent_encoder import EncoderOptions, LatentEncoder
    from ganpaint.nets.stylegan2_lite import GANOptions, Generator
    from ganpaint.training.checkpoint import export_model

    torch.manual_seed(0)
    G = Generator(GANOptions(resolution=16, z_dim=16, w_dim=16, channels=[32, 16, 8], d_channels=[8, 16, 32]))
    E = LatentEncoder(EncoderOptions(resolution=16, w_dim=16, channels=[8, 16, 32]))
    state = {**G.state_dict(), **{ENCODER_PREFIX + k: v for k, v in E.state_dict().items()}}
    card = {"task": "manifold", "architecture": "stylegan2-lite", "resolution": 16,
            "config": {"options": G.opt.to_dict(), "encoder": E.opt.to_dict()}}
    export_model(state, folder, name, card, half=False)
