"""The encoder of iGAN's hybrid projection (Zhu et al., "Generative Visual Manipulation on the Natural Image
Manifold", ECCV 2016, section 3.2): a feed-forward network that predicts the latent code of an image, so
that optimisation starts from a good guess instead of from scratch.

Here it predicts the intermediate latent ``w`` of a :class:`~ganpaint.nets.stylegan2_lite.Generator`, as
an offset from the generator's ``w_avg``: ``w = w_avg + E(x)``. Its trunk is the discriminator's (residual
down-sampling blocks, :class:`~ganpaint.nets.stylegan2_lite.DiscriminatorBlock`) without the minibatch
layer, ending in two fully connected layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.nets.stylegan2_lite import LRELU_GAIN, DiscriminatorBlock, EqualConv2d, EqualLinear, default_channels


@dataclass
class EncoderOptions:
    """Hyperparameters of :class:`LatentEncoder`.

    Attributes:
        resolution: input side in pixels (the generator's).
        w_dim: size of the predicted latent.
        channels: channels per resolution, ``resolution`` first, 4 px last.
    """

    resolution: int = 64
    w_dim: int = 128
    channels: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = [min(2 * c, 256) for c in reversed(default_channels(self.resolution))]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EncoderOptions":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class LatentEncoder(nn.Module):
    """``image float (N, 3, R, R) in [-1, 1] -> w offset float (N, w_dim)`` (add the generator's ``w_avg``).

    The last layer starts at zero, so an untrained encoder predicts ``w_avg`` (the average picture).
    """

    def __init__(self, opt: EncoderOptions) -> None:
        super().__init__()
        self.opt = opt
        ch = opt.channels
        self.from_rgb = EqualConv2d(3, ch[0], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(a, b) for a, b in zip(ch[:-1], ch[1:]))
        self.fc = EqualLinear(ch[-1] * 16, ch[-1])
        self.out = EqualLinear(ch[-1], opt.w_dim)
        nn.init.zeros_(self.out.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = F.leaky_relu(self.from_rgb(x), 0.2) * LRELU_GAIN
        for block in self.blocks:
            x = block(x)
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * LRELU_GAIN
        return self.out(x)


__all__ = ["EncoderOptions", "LatentEncoder"]
