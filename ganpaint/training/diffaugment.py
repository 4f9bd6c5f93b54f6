"""Differentiable Augmentation (Zhao, Liu, Lin, Zhu and Han, "Differentiable Augmentation for
Data-Efficient GAN Training", NeurIPS 2020).

The same random, differentiable transformations are applied to real and generated images before every
discriminator call (in both the discriminator and the generator step), so the discriminator cannot
memorise a small training set, while gradients still reach the generator through the augmentation.

Policies (the paper's ``color,translation,cutout``), on images ``float (N, 3, H, W)`` in ``[-1, 1]``:

* ``color``: brightness ``+ U(-0.5, 0.5)``, saturation ``x U(0, 2)``, contrast ``x U(0.5, 1.5)`` per image;
* ``translation``: shift by up to 1/8 of the side in x and y, zero padding;
* ``cutout``: a zeroed square of half the side at a random position.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

POLICIES = ("color", "translation", "cutout")


def _rand(x: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def color(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random brightness, saturation and contrast per image (see the module docstring)."""
    x = x + (_rand(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Shift each image by a random integer offset of at most ``ratio`` of its side, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device, generator=generator)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device, generator=generator)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy[None] + ty + 1).clamp(0, h + 1)
    gx = (gx[None] + tx + 1).clamp(0, w + 1)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    idx = (gy * (w + 2) + gx).reshape(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).reshape_as(x)


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Zero a square of ``ratio`` times the side at a random position in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device, generator=generator)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device, generator=generator)
    gy = torch.arange(h, device=x.device)[None, :, None]
    gx = torch.arange(w, device=x.device)[None, None, :]
    y0, x0 = cy - ch // 2, cx - cw // 2
    inside = (gy >= y0) & (gy < y0 + ch) & (gx >= x0) & (gx < x0 + cw)  # (N, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, policy: Sequence[str] = POLICIES,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Apply the named policies in order (an empty policy returns ``x``).

    Raises:
        ValueError: an unknown policy name.
    """
    for name in policy:
        if name == "color":
            x = color(x, generator)
        elif name == "translation":
            x = translation(x, generator=generator)
        elif name == "cutout":
            x = cutout(x, generator=generator)
        else:
            raise ValueError(f"unknown DiffAugment policy {name!r} (known: {', '.join(POLICIES)})")
    return x


def parse_policy(text: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> names (``""`` or ``"none"``: no augmentation).

    Raises:
        ValueError: an unknown policy name.
    """
    names = tuple(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none")
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r} (known: {', '.join(POLICIES)})")
    return names


__all__ = ["POLICIES", "color", "cutout", "diff_augment", "parse_policy", "translation"]
