"""The DCGAN generator (Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016) in the layout of the PyTorch DCGAN tutorial
(``main.0`` ... ``main.13``: transposed convolutions 4x4 with batch norm and ReLU, tanh output), so that
checkpoints made with that tutorial's code load with their own key names.

It exposes the interface :class:`ganpaint.engines.latent.ManifoldModel` expects of a generator, with the
latent space being ``z`` itself (DCGAN has no mapping network): ``mapping`` is the identity with
``w_avg = 0``, ``synthesis(w)`` draws ``(N, nz)`` codes, ``w_from_z(z, psi) = psi * z``. iGAN (Zhu et al.
2016) edited DCGANs in this way.

Images: ``float (N, 3, 64, 64)`` in ``[-1, 1]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class DCGANOptions:
    """``nz``: latent size; ``ngf``: generator width (64 in the tutorial); ``ndf``: discriminator width
    (training only); ``nc``: image channels."""

    nz: int = 100
    ngf: int = 64
    nc: int = 3
    ndf: int = 64

    @property
    def resolution(self) -> int:
        return 64

    @property
    def z_dim(self) -> int:
        return self.nz

    @property
    def w_dim(self) -> int:
        return self.nz

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DCGANOptions":
        return cls(**{k: int(data[k]) for k in cls.__dataclass_fields__ if k in data})


class IdentityMapping(nn.Module):
    """``z -> z`` with a non-persistent ``w_avg`` of zeros (the mean of ``z ~ N(0, I)``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("w_avg", torch.zeros(dim), persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return z


class DCGANGenerator(nn.Module):
    """``z (N, nz) -> image (N, 3, 64, 64)``; see the module docstring."""

    def __init__(self, opt: DCGANOptions) -> None:
        super().__init__()
        self.opt = opt
        g, nz = opt.ngf, opt.nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, g * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(g * 8), nn.ReLU(True),
            nn.ConvTranspose2d(g * 8, g * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(g * 4), nn.ReLU(True),
            nn.ConvTranspose2d(g * 4, g * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(g * 2), nn.ReLU(True),
            nn.ConvTranspose2d(g * 2, g, 4, 2, 1, bias=False), nn.BatchNorm2d(g), nn.ReLU(True),
            nn.ConvTranspose2d(g, opt.nc, 4, 2, 1, bias=False), nn.Tanh())
        self.mapping = IdentityMapping(nz)

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """``(N, nz)`` latents -> ``(N, 3, 64, 64)`` pictures."""
        return self.main(w[:, :, None, None])

    def w_from_z(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """The latent of ``z`` with truncation ``psi`` (``psi * z``)."""
        return z * psi

    def forward(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:  # noqa: D102
        return self.synthesis(self.w_from_z(z, psi))


class DCGANDiscriminator(nn.Module):
    """The DCGAN discriminator: ``image (N, 3, 64, 64) in [-1, 1] -> logits (N,)`` (raw scores, real > fake).

    Four 4x4 stride-2 convolutions (``ndf``, 2, 4, 8 x ``ndf`` channels; batch norm after all but the first,
    LeakyReLU 0.2) down to 4 px, then a 4x4 convolution to one logit, as in Radford et al. 2016.
    """

    def __init__(self, opt: DCGANOptions) -> None:
        super().__init__()
        d = opt.ndf
        layers: list[nn.Module] = [nn.Conv2d(opt.nc, d, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b in ((d, 2 * d), (2 * d, 4 * d), (4 * d, 8 * d)):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(8 * d, 1, 4, 1, 0))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.main(x).flatten()


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation (apply with ``module.apply``): convolutions ``N(0, 0.02)``, batch-norm scales
    ``N(1, 0.02)`` and shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


__all__ = ["DCGANDiscriminator", "DCGANGenerator", "DCGANOptions", "IdentityMapping", "init_dcgan_weights"]
