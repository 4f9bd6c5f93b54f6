"""A compact semantic segmentation network ("compact-segmenter") for CPU inference.

Encoder-decoder in the spirit of Fast-SCNN / a light FPN (Lin et al. 2017), sized to run a 256x256
photo in a few tens of milliseconds on two CPU cores:

* encoder: a strided 3x3 conv stem (/2), then four stages at strides /4, /8, /16 and /32 made of
  residual blocks; the first block of each stage downsamples. Blocks are either plain
  conv3x3-BN-ReLU pairs (stages with few channels) or depthwise-separable (3x3 depthwise + 1x1
  pointwise) pairs (stages with many channels, where they are much cheaper). The last stage ends with
  a pyramid-pooling context block (global + 2x2 average pooling, PSPNet-style, Zhao et al. 2017).
* decoder: FPN-style top-down path: 1x1 lateral projections of the /4, /8, /16 and /32 features to
  ``decoder_channels``, bilinear upsampling and addition, one 3x3 depthwise-separable smoothing conv
  at /4, a 1x1 classifier, and a final bilinear upsampling (x4) to the input size.

Inputs of any size are accepted: the forward pass replicate-pads the input to a multiple of 32 and
crops the logits back, so ``logits.shape[-2:] == x.shape[-2:]`` always.

:meth:`CompactSegmenter.features` returns the global-average-pooled deepest encoder features (after
the context block), ``(N, D)`` with ``D = channels[-1]``; the semantic-synthesis evaluation computes a
Frechet distance on them, so their definition must not change for a given architecture id.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURE = "compact-segmenter"

#: Total downsampling of the encoder; inputs are padded to a multiple of this.
STRIDE = 32


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


class ConvBNReLU(nn.Sequential):
    """``k x k`` conv (no bias) -> BatchNorm -> ReLU; ``(N, Cin, H, W) -> (N, Cout, H/stride, W/stride)``."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> None:
        pad = dilation * (kernel - 1) // 2
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation, bias=False), *_bn_relu(cout))


class SeparableConv(nn.Sequential):
    """Depthwise ``3x3`` conv -> BN -> pointwise ``1x1`` conv -> BN (-> ReLU if ``relu``)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1, relu: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cin, 3, stride, dilation, dilation=dilation, groups=cin, bias=False),
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a shortcut (1x1 strided conv + BN when the shape changes), then ReLU.

    Args:
        cin, cout: channels in and out.
        stride: 1 or 2 (the first conv is strided).
        separable: depthwise-separable convs instead of full 3x3 convs.
        dilation: dilation of the second conv (enlarges the receptive field without downsampling).

    Shapes: ``(N, cin, H, W) -> (N, cout, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, separable: bool = False, dilation: int = 1) -> None:
        super().__init__()
        if separable:
            self.conv1 = SeparableConv(cin, cout, stride)
            self.conv2 = SeparableConv(cout, cout, 1, dilation, relu=False)
        else:
            self.conv1 = ConvBNReLU(cin, cout, 3, stride)
            self.conv2 = nn.Sequential(
                nn.Conv2d(cout, cout, 3, 1, dilation, dilation=dilation, bias=False), nn.BatchNorm2d(cout))
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x), inplace=True)


class PyramidPooling(nn.Module):
    """PSPNet-style context: the features concatenated with upsampled 1x1 and 2x2 average-pooled
    projections, fused back to ``channels`` by a 1x1 conv. ``(N, C, H, W) -> (N, C, H, W)``."""

    def __init__(self, channels: int, bins: Sequence[int] = (1, 2)) -> None:
        super().__init__()
        self.bins = tuple(int(b) for b in bins)
        branch = max(channels // 4, 8)
        self.branches = nn.ModuleList(ConvBNReLU(channels, branch, 1) for _ in self.bins)
        self.fuse = ConvBNReLU(channels + branch * len(self.bins), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        parts = [x]
        for b, conv in zip(self.bins, self.branches):
            y = conv(F.adaptive_avg_pool2d(x, b))
            parts.append(F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False) if b > 1
                         else y.expand(-1, -1, h, w))
        return self.fuse(torch.cat(parts, 1))


class CompactSegmenter(nn.Module):
    """Semantic segmentation network: RGB photo -> per-pixel class logits.

    Args:
        num_classes: output channels; channel ``k`` scores class id ``k`` (ids of a label set index the
            channels directly; a channel whose id is not in the label set is simply never trained).
        channels: widths of the stem (/2) and the four stages (/4, /8, /16, /32); 5 values.
        blocks: residual blocks per stage (/4, /8, /16, /32); 4 values, each >= 1.
        separable_from: index (0..3) of the first stage built from depthwise-separable blocks; the
            stages before it use full 3x3 convs.
        decoder_channels: width of the FPN decoder.
        dropout: dropout on the decoder features before the classifier (training only).

    Inputs are ``float (N, 3, H, W)`` in ``[-1, 1]`` (see :mod:`ganpaint.engines.tensors`), any ``H, W >= 1``.
    """

    def __init__(self, num_classes: int, channels: Sequence[int] = (16, 24, 48, 96, 160),
                 blocks: Sequence[int] = (1, 2, 2, 2), separable_from: int = 2, decoder_channels: int = 48,
                 dropout: float = 0.1) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        blocks = [int(b) for b in blocks]
        if num_classes < 1 or len(channels) != 5 or len(blocks) != 4 or min(blocks) < 1 or min(channels) < 1:
            raise ValueError("compact-segmenter needs num_classes >= 1, 5 channel widths and 4 block counts >= 1")
        self.num_classes = int(num_classes)
        self.stem = ConvBNReLU(3, channels[0], 3, 2)
        stages = []
        for i in range(4):
            separable = i >= separable_from
            cin, cout = channels[i], channels[i + 1]
            layers: list[nn.Module] = [ResidualBlock(cin, cout, 2, separable)]
            for j in range(1, blocks[i]):
                dilation = 2 if (i == 3 and j % 2 == 1) else 1
                layers.append(ResidualBlock(cout, cout, 1, separable, dilation))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.context = PyramidPooling(channels[4])
        d = int(decoder_channels)
        self.laterals = nn.ModuleList(ConvBNReLU(c, d, 1) for c in channels[1:])
        self.smooth = SeparableConv(d, d)
        self.dropout = nn.Dropout2d(float(dropout)) if dropout > 0 else nn.Identity()
        self.classifier = nn.Conv2d(d, self.num_classes, 1)
        self.feature_dim = channels[4]
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # zero-init the last BN of every residual branch: blocks start as identities (easier from scratch)
        for m in self.modules():
            if isinstance(m, ResidualBlock):
                last_bn = [b for b in m.conv2.modules() if isinstance(b, nn.BatchNorm2d)][-1]
                nn.init.zeros_(last_bn.weight)

    @staticmethod
    def _pad(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % STRIDE, (-w) % STRIDE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return x

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features at /4, /8, /16, /32 of the (padded) input; the last one after the context
        block. ``x``: ``(N, 3, H, W)`` in ``[-1, 1]``, H and W multiples of 32."""
        y = self.stem(x)
        feats = []
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        feats[-1] = self.context(feats[-1])
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float (N, 3, H, W)`` in ``[-1, 1]`` -> logits ``float (N, num_classes, H, W)`` (unnormalised)."""
        h, w = x.shape[-2:]
        feats = self.encode(self._pad(x))
        y = self.laterals[3](feats[3])
        for i in (2, 1, 0):
            lat = self.laterals[i](feats[i])
            y = lat + F.interpolate(y, size=lat.shape[-2:], mode="bilinear", align_corners=False)
        y = self.classifier(self.dropout(self.smooth(y)))
        y = F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=False)
        return y[:, :, :h, :w]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled deepest features (after the context block).

        ``float (N, 3, H, W)`` in ``[-1, 1]`` -> ``float (N, D)`` with ``D = channels[-1]`` (non-negative:
        they follow a ReLU). Padding rows/columns added to reach a multiple of 32 are included in the
        average, so pass sizes that are multiples of 32 for exact results.
        """
        return self.encode(self._pad(x))[-1].mean(dim=(2, 3))


def build_segmenter(config: dict) -> CompactSegmenter:
    """A :class:`CompactSegmenter` from a model card's ``config`` (unknown keys ignored).

    Raises:
        ValueError, TypeError: missing ``num_classes`` or invalid values.
    """
    keys = ("num_classes", "channels", "blocks", "separable_from", "decoder_channels", "dropout")
    cfg = {k: config[k] for k in keys if k in config}
    if "num_classes" not in cfg:
        raise ValueError("config has no 'num_classes'")
    return CompactSegmenter(**cfg)
