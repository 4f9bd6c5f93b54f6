"""A fake inpainting engine for GUI and scheduling tests: fills holes with a flat colour."""

import threading

import numpy as np
import torch
from safetensors.torch import save_file

from ganpaint.engines.base import Engine
from ganpaint.engines.registry import sha256_file, write_card

FILL_COLOR = (255, 0, 255)


def write_fake_model(folder, name):
    """Write a tiny weights file and a card with the right sha256 into ``folder``."""
    weights = folder / f"{name}.safetensors"
    save_file({"scale": torch.ones(1)}, str(weights))
    card = {
        "name": name,
        "task": "inpaint",
        "architecture": "fake-inpaint",
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
    clearing ``release`` holds runs until the test sets it again."""

    task = "inpaint"
    architectures = ("fake-inpaint",)
    release = threading.Event()
    fail_next = False
    runs = 0

    @classmethod
    def reset(cls):
        cls.release = threading.Event()
        cls.release.set()
        cls.fail_next = False
        cls.runs = 0

    def load(self, device, half=False):
        self.device = device

    def run(self, request, cancel, progress):
        type(self).release.wait(10)
        type(self).runs += 1
        if type(self).fail_next:
            type(self).fail_next = False
            raise RuntimeError("the fake engine was told to fail")
        out = np.array(request.image)
        out[request.mask > 127] = FILL_COLOR
        return out
