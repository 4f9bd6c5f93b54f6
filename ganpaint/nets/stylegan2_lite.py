"""A light StyleGAN2 (Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020)
for small unconditional GANs that a CPU can train and optimise through live.

What is kept from StyleGAN2: the mapping network ``z -> w`` (with the tracked average ``w_avg`` used for
the truncation trick and as the start and prior of projection), modulated and demodulated convolutions, "skip" RGB outputs summed over resolutions, equalised learning rate,
and a residual discriminator with a minibatch standard-deviation layer.

What is cut for speed (one optimisation step of 8 latent codes at 64 px must take about 30 ms on two
CPU cores): one convolution per resolution instead of two, bilinear up-sampling instead of the FIR
filters, no noise inputs (the picture depends on ``w`` alone, which projection needs), a 2-layer
mapping network instead of 8, and narrow channels (256 at 4 px halving down to 16 at 64 px). What is
changed: the 4x4 input is a linear function of ``w`` instead of a learned constant (see :class:`Synthesis`).

Modulation is computed in its "non-fused" form: the input is scaled by the style ``s`` per channel,
convolved with the shared weight, and the output scaled by the demodulation factor
``d = 1 / sqrt(sum_{i,k} (w_{o,i,k} s_i)^2)``, which equals StyleGAN2's per-sample weights exactly and
costs one convolution for the whole batch.

Tensors: latent ``z`` and intermediate latent ``w`` are ``float (N, w_dim)``; :meth:`Synthesis.forward`
also takes one ``w`` per layer, ``(N, num_ws, w_dim)`` (the "W+" space). Images are ``float (N, 3, R, R)``
in ``[-1, 1]`` (not clamped).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

#: Activation gain of LeakyReLU(0.2) in StyleGAN (keeps the signal's magnitude).
LRELU_GAIN = math.sqrt(2.0)


def default_channels(resolution: int, max_channels: int = 256, min_channels: int = 16) -> list[int]:
    """Channels at 4, 8, ..., ``resolution`` px: ``max_channels`` at 4 px, halving per octave, at least
    ``min_channels``. For 64 px: ``[256, 128, 64, 32, 16]``.

    Raises:
        ValueError: ``resolution`` is not a power of two >= 8.
    """
    levels = int(round(math.log2(resolution))) - 1
    if resolution < 8 or 2 ** (levels + 1) != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return [max(min_channels, max_channels >> i) for i in range(levels)]


@dataclass
class GANOptions:
    """Hyperparameters of :class:`Generator` and :class:`Discriminator` (stored in checkpoints and cards).

    Attributes:
        resolution: output side in pixels (power of two).
        z_dim, w_dim: latent sizes.
        mapping_layers: fully connected layers of the mapping network.
        channels: generator channels per resolution, 4 px first (``len = log2(resolution) - 1``).
        d_channels: discriminator channels per resolution, ``resolution`` first, 4 px last.
        mbstd_group: minibatch standard-deviation group size.
    """

    resolution: int = 64
    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 2
    channels: list[int] = field(default_factory=list)
    d_channels: list[int] = field(default_factory=list)
    mbstd_group: int = 4

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = default_channels(self.resolution)
        if not self.d_channels:
            self.d_channels = list(reversed(default_channels(self.resolution)))
        n = len(default_channels(self.resolution))
        if len(self.channels) != n or len(self.d_channels) != n:
            raise ValueError(f"{self.resolution} px needs {n} channel counts per network")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GANOptions":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate: weights stored ``~N(0, 1 / lr_mul^2)`` and scaled
    by ``lr_mul / sqrt(in_features)`` at run time; ``bias_init`` fills the bias."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.gain, self.lr_mul = lr_mul / math.sqrt(in_features), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.linear(x, self.weight * self.gain, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """Convolution (stride 1, "same" padding) with equalised learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.gain, self.pad = 1.0 / math.sqrt(in_channels * kernel * kernel), kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.conv2d(x, self.weight * self.gain, self.bias, padding=self.pad)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise each row of ``(N, D)`` to unit root-mean-square (ProGAN / StyleGAN's input ``z``)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """``z (N, z_dim) -> w (N, w_dim)``: pixel norm, then ``layers`` x (EqualLinear, lr_mul 0.01, LeakyReLU).

    Buffer ``w_avg (w_dim,)``: moving average of ``w`` over training batches (decay ``w_avg_beta``), updated
    in training mode only; the truncation trick and projection start from it.
    """

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.fcs = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = pixel_norm(z)
        for fc in self.fcs:
            x = F.leaky_relu(fc(x), 0.2) * LRELU_GAIN
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(x.detach().mean(dim=0), 1.0 - self.w_avg_beta)
        return x


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution, non-fused (see the module docstring).

    ``forward(x (N, C_in, H, W), w (N, w_dim))`` -> ``(N, C_out, H', W')`` with ``H' = 2H`` when ``up``
    (bilinear up-sampling before the convolution), else ``H``. ``demodulate=False`` for RGB outputs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, w_dim: int, demodulate: bool = True,
                 up: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.gain, self.pad = 1.0 / math.sqrt(in_channels * kernel * kernel), kernel // 2
        self.demodulate, self.up = demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: D102
        styles = self.affine(w)  # (N, C_in)
        weight = self.weight * self.gain
        x = x * styles[:, :, None, None]
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.conv2d(x, weight, padding=self.pad)
        if self.demodulate:
            # sum_{i,k} (W_oik s_i)^2 = (s^2) @ (sum_k W_oik^2)^T
            d = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)
            y = y * d[:, :, None, None]
        return y


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution + bias + LeakyReLU(0.2) x sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.leaky_relu(self.conv(x, w) + self.bias[None, :, None, None], 0.2) * LRELU_GAIN


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB (no demodulation) + bias."""

    def __init__(self, in_channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.conv(x, w) + self.bias[None, :, None, None]


class Synthesis(nn.Module):
    """``w -> image``: a 4x4 input computed from ``w`` by a fully connected layer, one :class:`SynthesisLayer`
    per resolution (up-sampling from 8 px on), and a "skip" sum of :class:`ToRGB` outputs up-sampled
    bilinearly.

    StyleGAN2 starts from a learned constant and lets ``w`` act only through modulation; with one
    convolution per resolution and no noise inputs that left every sample with the same layout after
    3500 steps on flowers (colours varied, shapes did not), so here ``w`` also sets the input, as in
    DCGAN and ProGAN.

    ``num_ws = 2 * levels`` (a layer and its RGB output per resolution). ``forward(w)`` takes ``(N, w_dim)``
    (the same ``w`` everywhere) or ``(N, num_ws, w_dim)`` and returns ``(N, 3, R, R)``, nominally in
    ``[-1, 1]``.
    """

    def __init__(self, opt: GANOptions) -> None:
        super().__init__()
        ch = opt.channels
        self.input = EqualLinear(opt.w_dim, ch[0] * 16)
        self.layers = nn.ModuleList([SynthesisLayer(ch[0], ch[0], opt.w_dim)]
                                    + [SynthesisLayer(a, b, opt.w_dim, up=True) for a, b in zip(ch[:-1], ch[1:])])
        self.rgbs = nn.ModuleList(ToRGB(c, opt.w_dim) for c in ch)
        self.num_ws = 2 * len(ch)

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if w.dim() == 2:
            ws = [w] * self.num_ws
        else:
            ws = w.unbind(dim=1)
        x = self.input(ws[0]).reshape(w.shape[0], -1, 4, 4)
        img = None
        for i, (layer, rgb) in enumerate(zip(self.layers, self.rgbs)):
            x = layer(x, ws[2 * i])
            y = rgb(x, ws[2 * i + 1])
            img = y if img is None else F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + y
        return img


class Generator(nn.Module):
    """Mapping + synthesis. ``forward(z, psi=1.0)``: ``z (N, z_dim)`` -> image ``(N, 3, R, R)``; ``psi < 1``
    applies the truncation trick ``w = w_avg + psi (w - w_avg)``. :meth:`mapping` and :attr:`synthesis`
    are used separately by projection (which works in ``w``)."""

    def __init__(self, opt: GANOptions) -> None:
        super().__init__()
        self.opt = opt
        self.mapping = MappingNetwork(opt.z_dim, opt.w_dim, opt.mapping_layers)
        self.synthesis = Synthesis(opt)

    def w_from_z(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """``(N, w_dim)`` intermediate latents for ``z``, truncated towards ``w_avg`` by ``psi``."""
        w = self.mapping(z)
        if psi != 1.0:
            w = self.mapping.w_avg.lerp(w, psi)
        return w

    def forward(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:  # noqa: D102
        return self.synthesis(self.w_from_z(z, psi))


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling, ``(N, C, H, W) -> (N, C, H / 2, W / 2)``, computed as a bilinear half-size resize
    (identical values; about twice as fast as ``avg_pool2d`` forward + backward on a CPU)."""
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


class DiscriminatorBlock(nn.Module):
    """Residual down-sampling block: ``conv3x3 -> LReLU -> avgpool2`` plus a ``avgpool2 -> 1x1`` skip,
    summed and scaled by ``1 / sqrt(2)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = downsample2(F.leaky_relu(self.conv(x), 0.2) * LRELU_GAIN)
        return (y + self.skip(downsample2(x))) * (1 / math.sqrt(2))


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one channel: the mean standard deviation of features over groups of ``group`` samples
    (ProGAN). ``(N, C, H, W) -> (N, C + 1, H, W)``; ``N`` need not be a multiple of ``group``."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.reshape(g, -1, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (N / g,)
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """``image (N, 3, R, R) in [-1, 1] -> logits (N,)`` (raw scores, real > fake).

    1x1 "from RGB" to ``d_channels[0]``, a :class:`DiscriminatorBlock` per octave down to 4 px, minibatch
    standard deviation, 3x3 conv, two fully connected layers.
    """

    def __init__(self, opt: GANOptions) -> None:
        super().__init__()
        ch = opt.d_channels
        self.from_rgb = EqualConv2d(3, ch[0], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(a, b) for a, b in zip(ch[:-1], ch[1:]))
        self.conv = EqualConv2d(ch[-1] + 1, ch[-1], 3)
        self.fc = EqualLinear(ch[-1] * 16, ch[-1])
        self.out = EqualLinear(ch[-1], 1)
        self.mbstd_group = opt.mbstd_group

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = F.leaky_relu(self.from_rgb(x), 0.2) * LRELU_GAIN
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, self.mbstd_group)
        x = F.leaky_relu(self.conv(x), 0.2) * LRELU_GAIN
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * LRELU_GAIN
        return self.out(x).squeeze(1)


def param_count(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def load_generator(state: dict[str, torch.Tensor], opt: GANOptions, device: Optional[torch.device] = None) -> Generator:
    """A :class:`Generator` in eval mode with gradients off, from a state dict (fp16 weights become fp32).

    Raises:
        RuntimeError: the state dict's keys or shapes do not match ``opt``.
    """
    G = Generator(opt)
    G.load_state_dict({k: v.float() for k, v in state.items()})
    G.eval().requires_grad_(False)
    return G.to(device) if device is not None else G


__all__ = ["Discriminator", "DiscriminatorBlock", "EqualConv2d", "EqualLinear", "GANOptions", "Generator",
           "MappingNetwork", "ModulatedConv2d", "Synthesis", "SynthesisLayer", "ToRGB", "default_channels", "downsample2",
           "load_generator", "minibatch_stddev", "param_count", "pixel_norm"]
