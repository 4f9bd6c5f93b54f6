"""SN-PatchGAN discriminator (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019).

A stack of spectrally normalised (Miyato et al. 2018) 5x5 convolutions with stride 2 and LeakyReLU(0.2);
every element of the final feature map is a real/fake logit for one image patch (the paper applies the
hinge loss to each). The discriminator also sees the mask, as in DeepFill v2.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn.utils import spectral_norm


class PatchDiscriminator(nn.Module):
    """SN-PatchGAN.

    Args:
        base_channels: channels of the first layer.
        channel_mult: multipliers of ``base_channels`` per stride-2 layer (paper: 1, 2, 4, 4, 4, 4).
        in_channels: 3 (RGB) + 1 (mask) by default.

    Input: ``image`` ``(N, 3, H, W)`` in ``[-1, 1]`` and ``mask`` ``(N, 1, H, W)`` (1 = hole).
    Returns ``(logits, features)``: ``logits`` ``(N, 1, H / 2^L, W / 2^L)`` (``L`` = number of stride-2
    layers; raw scores, no sigmoid) and ``features``, the list of the ``L`` intermediate activations
    (after LeakyReLU) used by the feature-matching loss.
    """

    def __init__(self, base_channels: int = 32, channel_mult: Sequence[int] = (1, 2, 4, 4, 4), in_channels: int = 4) -> None:
        super().__init__()
        self.config = {"base_channels": int(base_channels), "channel_mult": [int(m) for m in channel_mult]}
        layers = []
        prev = in_channels
        for m in channel_mult:
            ch = int(base_channels * m)
            layers.append(spectral_norm(nn.Conv2d(prev, ch, 5, stride=2, padding=2)))
            prev = ch
        self.layers = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Conv2d(prev, 1, 3, padding=1))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = torch.cat([image, mask.to(image.dtype)], dim=1)
        features = []
        for layer in self.layers:
            h = self.act(layer(h))
            features.append(h)
        return self.head(h), features
