"""Losses for GAN inpainting (DeepFill v2 / SN-PatchGAN and pix2pixHD-style feature matching)."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def d_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss ``E[relu(1 - D(real))] + E[relu(1 + D(fake))]`` (SN-PatchGAN, per patch)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss ``-E[D(fake)]``."""
    return -fake_logits.mean()


def masked_l1(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, hole_weight: float = 1.0,
              valid_weight: float = 1.0) -> torch.Tensor:
    """Weighted L1: ``hole_weight * mean_hole|o - t| + valid_weight * mean_valid|o - t|``.

    ``output``, ``target`` ``(N, C, H, W)``; ``mask`` ``(N, 1, H, W)`` in [0, 1] with 1 = hole. Each term is
    the mean absolute error over its own pixels (over all channels), so the weights do not depend on the
    hole size.
    """
    err = (output - target).abs().mean(dim=1, keepdim=True)
    mask = mask.to(err.dtype)
    hole = (err * mask).sum() / mask.sum().clamp_min(1.0)
    valid = (err * (1 - mask)).sum() / (1 - mask).sum().clamp_min(1.0)
    return hole_weight * hole + valid_weight * valid


def feature_matching_loss(fake_features: Sequence[torch.Tensor], real_features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of ``L1(D_l(fake), D_l(real).detach())`` (Wang et al. 2018, pix2pixHD)."""
    if len(fake_features) != len(real_features):
        raise ValueError("feature lists differ in length")
    total = fake_features[0].new_zeros(())
    for f, r in zip(fake_features, real_features):
        total = total + F.l1_loss(f, r.detach())
    return total / max(len(fake_features), 1)
