"""Gated-convolution inpainting generator (DeepFill v2 family).

Follows Yu, Lin, Yang, Shen, Lu, Huang, "Free-Form Image Inpainting with Gated Convolution", ICCV 2019
(DeepFill v2): every convolution is a *gated* convolution ``act(W_f * x) * sigmoid(W_g * x)``, the
encoder down-samples, a stack of dilated gated convolutions (dilations 2, 4, 8, 16) widens the receptive
field, and the decoder up-samples with nearest-neighbour resize + gated convolution ("gated deconv").

Differences from the paper, made so the network stays live on a 2-core CPU:

* single stage (no coarse network, no contextual attention);
* 4x down-sampling with narrow channels (``base_channels`` x (1, 2, 4) by default);
* optionally depthwise-separable convolutions in the dilated bottleneck (``separable=True``);
* the feature and gate convolutions are computed by one convolution with ``2 * out`` channels.

Options added for ``inpaint-v2`` (the defaults keep ``inpaint-gated-v1``'s network):

* ``prefill="pullpush"``: the hole is first filled by pull-push interpolation
  (:func:`ganpaint.nets.ffc.pull_push_fill`) and the network sees that smooth, boundary-continuous fill
  instead of zeros; with ``output="residual"`` it predicts a correction added to it (the output layer
  starts at zero, so an untrained network already returns the pull-push fill);
* ``ffc_blocks=N``: N LaMa Fast-Fourier-Convolution residual blocks (:class:`ganpaint.nets.ffc.FFCResBlock`)
  after the dilated ones: an image-wide receptive field without dilation's gridding (plaid streaks);
* ``upsample="bilinear"``: the decoder's resize-convolutions upsample bilinearly instead of
  nearest-neighbour (no 2x2 blocks / checkerboard).

Tensor conventions (see ``docs/ARCHITECTURE.md``): float NCHW in ``[-1, 1]``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.nets.ffc import FFCResBlock, pull_push_fill

#: Height and width given to :class:`InpaintGenerator` must be multiples of this (4x down-sampling and
#: a safety factor; the inpainting engine pads crops to it).
SIZE_MULTIPLE = 8


def _activation(name: str) -> nn.Module:
    if name == "elu":
        return nn.ELU(inplace=False)
    if name == "lrelu":
        return nn.LeakyReLU(0.2, inplace=False)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}")


class GatedConv2d(nn.Module):
    """Gated convolution: ``y = act(conv_f(x)) * sigmoid(conv_g(x))``.

    Both convolutions share one ``nn.Conv2d`` producing ``2 * out_channels`` maps (first half: features,
    second half: gates). With ``separable=True`` the convolution is depthwise (``k x k``, dilated) followed
    by a pointwise ``1 x 1`` convolution, as in lightweight DeepFill variants.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, dilation: as for ``nn.Conv2d``; padding keeps ``H/stride x W/stride``.
        activation: ``"elu"`` (paper), ``"lrelu"`` or ``"none"`` (used for the output layer).
        separable: depthwise-separable convolution.

    Shapes: ``(N, in, H, W) -> (N, out, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        activation: str = "elu",
        separable: bool = False,
    ) -> None:
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.out_channels = out_channels
        if separable:
            self.conv = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding, dilation, groups=in_channels),
                nn.Conv2d(in_channels, 2 * out_channels, 1),
            )
        else:
            self.conv = nn.Conv2d(in_channels, 2 * out_channels, kernel_size, stride, padding, dilation)
        self.act = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat, gate = torch.split(self.conv(x), self.out_channels, dim=1)
        return self.act(feat) * torch.sigmoid(gate)


class GatedDeconv2d(nn.Module):
    """"Gated deconvolution" of DeepFill v2: up-sampling x2 (``mode`` ``"nearest"`` as in the paper, or
    ``"bilinear"``), then :class:`GatedConv2d` (a resize-convolution, never a transposed one).

    Shapes: ``(N, in, H, W) -> (N, out, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, activation: str = "elu",
                 mode: str = "nearest") -> None:
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"unknown upsampling mode {mode!r}")
        self.mode = mode
        self.conv = GatedConv2d(in_channels, out_channels, kernel_size, activation=activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))


class InpaintGenerator(nn.Module):
    """Compact single-stage gated-convolution inpainting generator.

    Layout (``c = base_channels``, ``m = channel_mult``)::

        in 4 -> GConv5x5 c*m0 ........................ e0        (H)
             -> GConv3x3/2 c*m1 -> GConv3x3 c*m1 ...... e1        (H/2)
             -> GConv3x3/2 c*m2 -> GConv3x3 c*m2                  (H/4)
             -> [+ GConv3x3 dilation d] for d in 2, 4, 8, 16      (H/4, dilated bottleneck)
             -> [+ GConv3x3 c*m2] x refine_blocks                 (H/4)
             -> GDeconv c*m1 (+ e1) -> GConv3x3 c*m0              (H/2)
             -> GDeconv c*m0 (+ e0) -> GConv3x3 c*m0/2            (H)
             -> Conv3x3 3 -> tanh

    ``[+ ...]``: with ``residual=True`` each bottleneck convolution is a residual block ``h + f(h)``;
    ``(+ e)``: with ``skips=True`` the decoder adds the encoder features of the same resolution
    (U-Net-style additive skips). Both make this shallow network train in a few thousand steps on a CPU,
    where the paper's plain stack needs far longer. ``ffc_blocks`` Fourier residual blocks follow the
    dilated ones (see the module docstring, as for ``prefill``, ``output`` and ``upsample``).

    Input: ``x`` RGB ``(N, 3, H, W)`` in ``[-1, 1]`` **with the hole already zeroed** and ``mask``
    ``(N, 1, H, W)`` in ``{0, 1}`` (1 = hole); the (optionally pull-push pre-filled) image and the mask
    are concatenated to 4 channels.
    Output: RGB ``(N, 3, H, W)`` for every pixel, in ``[-1, 1]`` (``output="tanh"``) or the pre-fill plus
    an unbounded correction (``output="residual"``: callers clamp to ``[-1, 1]``); nothing is composited
    here, the caller keeps the known pixels. ``H`` and ``W`` must be multiples of :data:`SIZE_MULTIPLE` (8).

    Args:
        base_channels: width ``c``.
        channel_mult: multipliers of ``c`` at full, 1/2 and 1/4 resolution.
        dilations: dilations of the bottleneck gated convolutions (paper: 2, 4, 8, 16).
        refine_blocks: plain gated 3x3 convolutions after the dilated ones.
        separable: depthwise-separable bottleneck convolutions.
        activation: ``"elu"`` (paper) or ``"lrelu"``.
        residual: residual bottleneck blocks.
        skips: additive encoder-decoder skips.
        ffc_blocks: Fourier (FFC) residual blocks after the dilated convolutions.
        upsample: ``"nearest"`` or ``"bilinear"`` resize in the decoder.
        prefill: ``"zero"`` (the hole stays zero) or ``"pullpush"``.
        output: ``"tanh"`` or ``"residual"`` (pre-fill + correction; needs ``prefill="pullpush"``).

    Raises:
        ValueError: an unknown option value.
    """

    def __init__(
        self,
        base_channels: int = 16,
        channel_mult: Sequence[int] = (1, 2, 4),
        dilations: Sequence[int] = (2, 4, 8, 16),
        refine_blocks: int = 1,
        separable: bool = False,
        activation: str = "elu",
        residual: bool = True,
        skips: bool = True,
        ffc_blocks: int = 0,
        upsample: str = "nearest",
        prefill: str = "zero",
        output: str = "tanh",
    ) -> None:
        super().__init__()
        if prefill not in ("zero", "pullpush"):
            raise ValueError(f"unknown prefill {prefill!r}")
        if output not in ("tanh", "residual") or (output == "residual" and prefill == "zero"):
            raise ValueError(f"output {output!r} does not go with prefill {prefill!r}")
        self.prefill, self.output = prefill, output
        c0, c1, c2 = (int(base_channels * m) for m in channel_mult)
        act = activation
        self.residual = bool(residual)
        self.skips = bool(skips)
        self.config = {
            "base_channels": int(base_channels),
            "channel_mult": [int(m) for m in channel_mult],
            "dilations": [int(d) for d in dilations],
            "refine_blocks": int(refine_blocks),
            "separable": bool(separable),
            "activation": activation,
            "residual": self.residual,
            "skips": self.skips,
            "ffc_blocks": int(ffc_blocks),
            "upsample": upsample,
            "prefill": prefill,
            "output": output,
        }
        self.enc0 = GatedConv2d(4, c0, 5, activation=act)
        self.enc1 = nn.Sequential(
            GatedConv2d(c0, c1, 3, stride=2, activation=act),
            GatedConv2d(c1, c1, 3, activation=act),
        )
        self.enc2 = nn.Sequential(
            GatedConv2d(c1, c2, 3, stride=2, activation=act),
            GatedConv2d(c2, c2, 3, activation=act),
        )
        blocks = [GatedConv2d(c2, c2, 3, dilation=d, activation=act, separable=separable) for d in dilations]
        blocks += [GatedConv2d(c2, c2, 3, activation=act, separable=separable) for _ in range(refine_blocks)]
        self.bottleneck = nn.ModuleList(blocks)
        self.ffc = nn.ModuleList([FFCResBlock(c2, activation=act) for _ in range(int(ffc_blocks))])
        self.up1 = GatedDeconv2d(c2, c1, activation=act, mode=upsample)
        self.dec1 = GatedConv2d(c1, c0, 3, activation=act)
        self.up0 = GatedDeconv2d(c0, c0, activation=act, mode=upsample)
        self.dec0 = GatedConv2d(c0, max(c0 // 2, 8), 3, activation=act)
        self.to_rgb = nn.Conv2d(max(c0 // 2, 8), 3, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m is not self.to_rgb:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for block in self.ffc:  # undo the generic initialisation above
            block.start_near_identity()
        if output == "residual":  # an untrained network returns the pull-push fill
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(self.to_rgb.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, 3, H, W)`` in [-1, 1] (hole zeroed), ``mask`` ``(N, 1, H, W)`` 1 = hole -> ``(N, 3, H, W)`` in [-1, 1]."""
        if x.shape[-2] % SIZE_MULTIPLE or x.shape[-1] % SIZE_MULTIPLE:
            raise ValueError(f"height and width must be multiples of {SIZE_MULTIPLE}, got {tuple(x.shape[-2:])}")
        mask = mask.to(x.dtype)
        if self.prefill == "pullpush":
            x = pull_push_fill(x, mask)
        e0 = self.enc0(torch.cat([x, mask], dim=1))
        e1 = self.enc1(e0)
        h = self.enc2(e1)
        for block in self.bottleneck:
            h = h + block(h) if self.residual else block(h)
        for block in self.ffc:
            h = block(h)
        h = self.up1(h)
        if self.skips:
            h = h + e1
        h = self.up0(self.dec1(h))
        if self.skips:
            h = h + e0
        out = self.to_rgb(self.dec0(h))
        return x + out if self.output == "residual" else torch.tanh(out)
