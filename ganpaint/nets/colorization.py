"""User-guided colorization networks (Zhang, Zhu, Isola, Geng, Lin, Yu, Efros, "Real-Time User-Guided Image
Colorization with Learned Deep Priors", SIGGRAPH 2017; "ideepcolor").

* :class:`SIGGRAPHGenerator` is the paper's local-hints network with its colour-distribution head
  (``dist=True``), module for module, so its ``state_dict`` keys and shapes are exactly those of the original
  PyTorch release (107 keys, 34,187,027 parameters): a user's checkpoint of the original loads strictly.
* :class:`LiteSIGGRAPHGenerator` is the studio's compact default with the same layout (convolution blocks with
  batch norm, a dilated middle, shortcuts from the encoder into the decoder, the distribution head at 1/4
  resolution, a ``tanh`` regression head) at a fraction of the width, sized to run live on a 2-core CPU. It adds
  a *global hints* branch (the paper's second network, simplified): an ab histogram of a reference image or
  palette is mapped to a per-channel bias of the bottleneck.

Both take the paper's normalised inputs (see :func:`normalize_inputs`) and return a
:class:`ColorizationOutput`: the regressed colour at the input resolution (``ab / 110``, plus ``(L - 50) / 100``
for line-art models whose output has 3 channels) and the features the distribution head reads. The distribution
head is evaluated on demand (:meth:`class_logits`), only where the studio asks for suggestions.

Colour bins: the head classifies ab into the 23 x 23 grid of 10-unit cells centred on -110, -100, ..., 110
(529 bins); bin ``k`` is ``a = -110 + 10 * (k // 23)``, ``b = -110 + 10 * (k % 23)``, the encoding of the
paper's PyTorch training code (``encode_ab_ind``). See :func:`ab_bin_centers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: ab range and quantisation of the distribution head (the paper's ``ab_max``, ``ab_quant``).
AB_MAX, AB_QUANT = 110.0, 10.0
#: bins per ab axis (23) and in all (529).
AB_BINS_PER_AXIS = int(2 * AB_MAX / AB_QUANT) + 1
AB_BINS = AB_BINS_PER_AXIS ** 2
#: the paper's input normalisation: L centred at 50 and divided by 100, ab divided by 110.
L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0


def ab_bin_centers() -> torch.Tensor:
    """``float32 (529, 2)``: the ``(a, b)`` centre of each distribution bin (``a`` varies slowest)."""
    axis = torch.arange(AB_BINS_PER_AXIS, dtype=torch.float32) * AB_QUANT - AB_MAX
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)


def encode_ab_bins(ab: torch.Tensor) -> torch.Tensor:
    """Nearest bin index of each ab value.

    Args:
        ab: ``(N, 2, H, W)`` in Lab units (clamped to [-110, 110]).

    Returns:
        ``int64 (N, H, W)`` in [0, 529).
    """
    q = torch.round((ab.clamp(-AB_MAX, AB_MAX) + AB_MAX) / AB_QUANT).long()
    return q[:, 0] * AB_BINS_PER_AXIS + q[:, 1]


def normalize_inputs(lightness: torch.Tensor, hint_ab: torch.Tensor, hint_mask: torch.Tensor,
                     mask_center: float = 0.0, hint_lightness: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, ...]:
    """The paper's preprocessing: ``(L - 50) / 100``, ``ab / 110`` and the hint mask minus ``mask_center``.

    Args:
        lightness: ``(N, 1, H, W)`` L in [0, 100].
        hint_ab: ``(N, 2, H, W)`` hint colours in Lab units (0 where there is no hint).
        hint_mask: ``(N, 1, H, W)`` 1 where a hint is given, else 0.
        mask_center: 0 for the original Caffe-trained release (``colorization`` repository), 0.5 for checkpoints
            of the PyTorch retraining (``--mask_cent``) and for the studio's own models.
        hint_lightness: ``(N, 1, H, W)`` hint L in [0, 100] for line-art models (their hints carry a full Lab
            colour), else None.

    Returns:
        ``(l, ab, mask)`` or, with ``hint_lightness``, ``(l, ab, mask, hint_l)``, the tensors the networks take.
    """
    out = ((lightness - L_CENT) / L_NORM, hint_ab / AB_NORM, hint_mask - mask_center)
    if hint_lightness is not None:
        out = out + (((hint_lightness - L_CENT) / L_NORM) * hint_mask,)
    return out


@dataclass
class ColorizationOutput:
    """What a colorization network returns.

    Attributes:
        color: ``(N, C, H', W')`` in about [-1, 1]: ``ab / 110`` (C = 2) or ``(L - 50) / 100, a / 110, b / 110``
            (C = 3, line-art models). ``H', W'`` is the input size (SIGGRAPH17) or half of it (compact network).
        class_features: ``(N, F, H / 4, W / 4)`` the distribution head reads (see ``class_logits``).
    """

    color: torch.Tensor
    class_features: torch.Tensor


class SIGGRAPHGenerator(nn.Module):
    """The SIGGRAPH 2017 local-hints network with the colour-distribution head, keys as in the original.

    Layout (``modelK`` are ``nn.Sequential``; convolutions 3x3 with bias, ReLU, batch norm last in a block):
    ``model1`` 64 ch at full resolution, ``model2`` 128 at 1/2, ``model3`` 256 at 1/4, ``model4`` 512 at 1/8,
    ``model5``/``model6`` 512 dilated by 2, ``model7`` 512, ``model8up`` transposed conv to 1/4 plus
    ``model3short8``, ``model8`` 256 (the distribution head ``model_class``, 1x1 -> 529, reads it),
    ``model9up`` + ``model2short9`` -> ``model9`` 128 at 1/2, ``model10up`` + ``model1short10`` -> ``model10``
    128 at full resolution (leaky ReLU 0.2), ``model_out`` 1x1 -> 2 + tanh. Down-sampling is ``x[:, :, ::2, ::2]``.

    Inputs: ``l (N, 1, H, W)``, ``ab (N, 2, H, W)``, ``mask (N, 1, H, W)`` normalised by
    :func:`normalize_inputs`; ``H`` and ``W`` multiples of 8. ``global_hint`` is not supported (None).
    34.2 M parameters; 1.21 s per 256 x 256 image on a 2-core CPU (shared/README.md).
    """

    mask_channels = 1
    hint_channels = 2
    out_channels = 2
    size_multiple = 8
    output_stride = 1
    global_bins = 0
    #: the original scales the class logits by 0.2 before its softmax; :meth:`class_logits` includes it.
    class_logit_scale = 0.2

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int, n: int, dilation: int = 1) -> list[nn.Module]:
            layers: list[nn.Module] = []
            for i in range(n):
                layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, 1, dilation, dilation), nn.ReLU(True)]
            return layers + [nn.BatchNorm2d(cout)]

        self.model1 = nn.Sequential(*block(4, 64, 2))
        self.model2 = nn.Sequential(*block(64, 128, 2))
        self.model3 = nn.Sequential(*block(128, 256, 3))
        self.model4 = nn.Sequential(*block(256, 512, 3))
        self.model5 = nn.Sequential(*block(512, 512, 3, dilation=2))
        self.model6 = nn.Sequential(*block(512, 512, 3, dilation=2))
        self.model7 = nn.Sequential(*block(512, 512, 3))
        # registration order = the original's state_dict order
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, 2, 1))
        self.model8 = nn.Sequential(nn.ReLU(True), *block(256, 256, 2))
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, 2, 1))
        self.model9 = nn.Sequential(nn.ReLU(True), *block(128, 128, 1))
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, 2, 1))
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(128, 128, 3, 1, 1), nn.LeakyReLU(0.2))
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, 1, 1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, 1, 1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, 1, 1))
        self.model_class = nn.Sequential(nn.Conv2d(256, AB_BINS, 1))
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, l: torch.Tensor, ab: torch.Tensor, mask: torch.Tensor,
                global_hint: Optional[torch.Tensor] = None) -> ColorizationOutput:
        if global_hint is not None:
            raise ValueError("the SIGGRAPH17 local-hints network takes no global hints")
        conv1_2 = self.model1(torch.cat((l, ab, mask), dim=1))
        conv2_2 = self.model2(conv1_2[:, :, ::2, ::2])
        conv3_3 = self.model3(conv2_2[:, :, ::2, ::2])
        conv4_3 = self.model4(conv3_3[:, :, ::2, ::2])
        conv7_3 = self.model7(self.model6(self.model5(conv4_3)))
        conv8_3 = self.model8(self.model8up(conv7_3) + self.model3short8(conv3_3))
        conv9_3 = self.model9(self.model9up(conv8_3) + self.model2short9(conv2_2))
        conv10_2 = self.model10(self.model10up(conv9_3) + self.model1short10(conv1_2))
        return ColorizationOutput(self.model_out(conv10_2), conv8_3)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, 256, h, w)`` class features -> ``(N, 529, h, w)`` logits (softmax gives the distribution)."""
        return self.model_class(features) * self.class_logit_scale


def _conv_block(cin: int, cout: int, n: int, stride: int = 1, dilations: Sequence[int] = (1,)) -> nn.Sequential:
    """``n`` 3x3 convolutions with ReLU (the first with ``stride``), then batch norm: the paper's block."""
    layers: list[nn.Module] = []
    for i in range(n):
        d = dilations[i % len(dilations)]
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride if i == 0 else 1, d, d), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout))


class LiteSIGGRAPHGenerator(nn.Module):
    """Compact local-hints network with the SIGGRAPH17 layout, a distribution head and a global-hints branch.

    Args:
        widths: channels at 1/2, 1/4, 1/8 and 1/16 of the input resolution (the paper uses 64/128/256/512 at
            1, 1/2, 1/4 and 1/8).
        middle: dilated 3x3 convolutions at 1/16 (dilations 1, 2, 4, 1, ...).
        hint_channels: 2 (ab hints; photos) or 3 (L, a, b hints; line art).
        out_channels: 2 (ab; photos) or 3 (L, a, b; line art, where the lightness of the fills is not the
            drawing's).
        global_bins: size of the global-hint vector (an ab histogram over the 529 bins; 0 = no branch).

    Inputs: ``l (N, 1, H, W)``, ``ab (N, 2, H, W)``, ``mask (N, 1, H, W)`` (plus ``hint_l (N, 1, H, W)`` first in
    ``ab``'s place when ``hint_channels == 3``: pass ``ab = cat(hint_l, hint_ab)``), normalised as in
    :func:`normalize_inputs` with ``mask_center=0.5``; ``H`` and ``W`` multiples of 16. ``global_hint``:
    ``(N, global_bins)`` histogram (rows sum to 1; an all-zero row or None means "no global hint").
    Output colour at half the input resolution (the engines upsample it onto the full-resolution L).
    """

    mask_channels = 1
    size_multiple = 16
    output_stride = 2
    class_logit_scale = 1.0

    def __init__(self, widths: Sequence[int] = (32, 64, 96, 160), middle: int = 3, hint_channels: int = 2,
                 out_channels: int = 2, global_bins: int = AB_BINS) -> None:
        super().__init__()
        c1, c2, c3, c4 = (int(w) for w in widths)
        self.hint_channels, self.out_channels, self.global_bins = int(hint_channels), int(out_channels), int(global_bins)
        self.model1 = _conv_block(1 + hint_channels + 1, c1, 2, stride=2)
        self.model2 = _conv_block(c1, c2, 2, stride=2)
        self.model3 = _conv_block(c2, c3, 2, stride=2)
        self.model4 = _conv_block(c3, c4, 1, stride=2)
        self.model5 = _conv_block(c4, c4, middle, dilations=(1, 2, 4) if middle > 1 else (2,))
        if global_bins:
            # the global-hints network: histogram (+ a "given" flag) -> per-channel bias of the bottleneck
            self.model_global = nn.Sequential(nn.Linear(global_bins + 1, c4), nn.ReLU(True), nn.Linear(c4, c4))
        self.model6up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                      nn.Conv2d(c4, c3, 3, 1, 1))
        self.model3short6 = nn.Sequential(nn.Conv2d(c3, c3, 3, 1, 1))
        self.model6 = nn.Sequential(nn.ReLU(True), _conv_block(c3, c3, 1))
        self.model7up = nn.Sequential(nn.ConvTranspose2d(c3, c2, 4, 2, 1))
        self.model2short7 = nn.Sequential(nn.Conv2d(c2, c2, 3, 1, 1))
        self.model7 = nn.Sequential(nn.ReLU(True), _conv_block(c2, c2, 1))
        self.model8up = nn.Sequential(nn.ConvTranspose2d(c2, c1, 4, 2, 1))
        self.model1short8 = nn.Sequential(nn.Conv2d(c1, c1, 3, 1, 1))
        self.model8 = nn.Sequential(nn.ReLU(True), nn.Conv2d(c1, c1, 3, 1, 1), nn.LeakyReLU(0.2))
        self.model_class = nn.Sequential(nn.Conv2d(c2, AB_BINS, 1))
        self.model_out = nn.Sequential(nn.Conv2d(c1, out_channels, 1), nn.Tanh())

    def forward(self, l: torch.Tensor, ab: torch.Tensor, mask: torch.Tensor,
                global_hint: Optional[torch.Tensor] = None) -> ColorizationOutput:
        conv1 = self.model1(torch.cat((l, ab, mask), dim=1))
        conv2 = self.model2(conv1)
        conv3 = self.model3(conv2)
        conv5 = self.model5(self.model4(conv3))
        if self.global_bins:
            hist = conv5.new_zeros(conv5.shape[0], self.global_bins) if global_hint is None else global_hint.to(conv5.dtype)
            given = (hist.sum(dim=1, keepdim=True) > 0).to(conv5.dtype)
            conv5 = conv5 + self.model_global(torch.cat([hist, given], dim=1))[:, :, None, None]
        elif global_hint is not None:
            raise ValueError("this network has no global-hints branch")
        conv6 = self.model6(self.model6up(conv5) + self.model3short6(conv3))
        conv7 = self.model7(self.model7up(conv6) + self.model2short7(conv2))
        conv8 = self.model8(self.model8up(conv7) + self.model1short8(conv1))
        return ColorizationOutput(self.model_out(conv8), conv7)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, widths[1], h, w)`` class features -> ``(N, 529, h, w)`` logits."""
        return self.model_class(features)


def build_colorizer(architecture: str, config: Optional[dict] = None) -> nn.Module:
    """The network of a model card: ``"siggraph17"`` (no config) or ``"lite-siggraph17"`` (config = kwargs).

    Raises:
        ValueError: an unknown architecture.
    """
    if architecture == "siggraph17":
        return SIGGRAPHGenerator()
    if architecture == "lite-siggraph17":
        return LiteSIGGRAPHGenerator(**(config or {}))
    raise ValueError(f"unknown colorization architecture {architecture!r}")


def network_inputs(net: nn.Module, l: torch.Tensor, ab: torch.Tensor, mask: torch.Tensor,
                   hint_l: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Arrange normalised tensors for ``net``: line-art networks (3 hint channels) take ``cat(hint_l, ab)``."""
    if getattr(net, "hint_channels", 2) == 3:
        if hint_l is None:
            hint_l = torch.zeros_like(l)
        ab = torch.cat([hint_l, ab], dim=1)
    return l, ab, mask


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad ``(N, C, H, W)`` at the bottom/right to multiples of ``multiple``; returns the original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)
