"""SPADE / GauGAN networks (Park, Liu, Wang, Zhu, "Semantic Image Synthesis with Spatially-Adaptive
Normalization", CVPR 2019), written to match the module names and tensor shapes of the official
implementation (NVlabs/SPADE, ``models/networks/``), so a released ``latest_net_G.pth`` loads with
``load_state_dict(strict=True)``:

* :class:`SPADE` (``normalization.py``): a parameter-free normalisation (``param_free_norm``: batch norm
  without affine parameters in the released configurations, "syncbatch"; or instance norm) followed by
  a per-pixel scale and shift predicted from the semantic map: ``mlp_shared`` (``Sequential(Conv3x3(
  semantic_nc, nhidden), ReLU)``), ``mlp_gamma`` and ``mlp_beta`` (``Conv3x3(nhidden, C)``); output
  ``normalized * (1 + gamma) + beta``. The official ``nhidden`` is 128 (hard-coded there); here it is
  ``SPADEOptions.spade_hidden`` so the compact model can use less.
* :class:`SPADEResnetBlock` (``architecture.py``): ``conv_0``/``conv_1`` (3x3, spectral norm), a learned
  1x1 shortcut ``conv_s`` (no bias) with its own ``norm_s`` when the width changes, LeakyReLU(0.2).
* :class:`SPADEGenerator` (``generator.py``): ``fc`` (3x3 conv of the downsampled semantic map, or a
  linear layer of the style code ``z`` with the VAE), ``head_0``, ``G_middle_0``, ``G_middle_1``,
  ``up_0`` .. ``up_3`` (``up_4`` with ``"most"``), nearest (or, with ``upsample_mode``, bilinear) x2
  upsampling between them, ``conv_img`` + tanh.
* :class:`ConvEncoder` (``encoder.py``): the VAE style encoder (stride-2 3x3 convs with spectral +
  instance norm, ``fc_mu``/``fc_var``).
* :class:`NLayerDiscriminator` / :class:`MultiscaleDiscriminator` (``discriminator.py``): PatchGAN
  discriminators on ``concat(semantic map, image)``, the second on a 2x average-pooled copy; they
  return every intermediate activation for the feature-matching loss (pix2pixHD).

Tensor conventions: images ``float (N, 3, H, W)`` in ``[-1, 1]``; label maps ``long (N, H, W)`` of class
ids; the *semantic map* fed to the networks is ``float (N, semantic_nc, H, W)``: the one-hot label map
(``label_nc`` channels, plus one don't-care channel when ``contain_dontcare_label``), plus the instance
edge map (1 channel) unless ``no_instance`` (see :func:`semantic_input`).

Spectral norm comes from :func:`torch.nn.utils.spectral_norm`, which gives the checkpoint's
``weight_orig``/``weight_u``/``weight_v`` keys. :mod:`ganpaint.nets.spade_fast` turns a trained
generator into an equivalent inference network (spectral norm folded into plain weights, batch norm
running statistics folded into scale/shift, SPADE modulation computed by table look-up).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

#: ``num_upsampling_layers`` value -> number of x2 up-samplings between the latent grid and the image.
#: "normal", "more" and "most" are the official values; "fewer" (4) is ours: no up-sampling between
#: ``head_0`` and ``G_middle_0``, so the latent grid is 1/16 of the image instead of 1/32.
UPSAMPLING_STAGES = {"fewer": 4, "normal": 5, "more": 6, "most": 7}
#: the decoder's x2 up-sampling modes (:attr:`SPADEOptions.upsample_mode`)
UPSAMPLING_MODES = ("nearest", "bilinear")


# ------------------------------------------------------------------------------------------ options


@dataclass(frozen=True)
class SPADEOptions:
    """The options of the official ``SPADEGenerator`` that shape its ``state_dict`` (same names as the
    official ``opt``), plus ``spade_hidden`` (official: 128) and the encoder/discriminator widths.

    Attributes:
        label_nc: number of label classes (ids ``0 .. label_nc - 1``).
        contain_dontcare_label: one extra one-hot channel (id ``label_nc``) for "don't care" pixels.
        no_instance: False adds the instance edge-map channel to the semantic map.
        ngf: generator width (the last block has ``ngf`` channels, the head ``16 * ngf``).
        num_upsampling_layers: "fewer" | "normal" | "more" | "most" (see :data:`UPSAMPLING_STAGES`).
        crop_size: training width in pixels; with ``aspect_ratio`` it fixes the latent grid of the
            VAE's ``fc`` layer (``sw = crop_size // 2**stages``, ``sh = round(sw / aspect_ratio)``).
        aspect_ratio: training width / height.
        use_vae: ``fc`` is ``Linear(z_dim, 16 ngf sh sw)`` fed by a style code, and a :class:`ConvEncoder`
            exists; else ``fc`` is a 3x3 conv of the semantic map.
        z_dim: style code size.
        norm_G: ``"spectralspade<norm><k>x<k>"`` (official: ``spectralspadesyncbatch3x3``); ``<norm>``:
            ``syncbatch``/``batch`` (batch norm without affine, running stats in the state dict) or
            ``instance``; ``<k>``: SPADE kernel size; without the ``spectral`` prefix no spectral norm.
        spade_hidden: SPADE ``mlp_shared`` width ("nhidden", official 128).
        ngf_E: encoder width (official: equal to ``ngf``); ``0`` means ``ngf``.
        ndf: discriminator width (official 64).
        n_layers_D: layers per discriminator (official train default 4).
        num_D: discriminator scales (official 2).
        upsample_mode: ``"nearest"`` (official) or ``"bilinear"``: how the decoder doubles its feature maps
            before the blocks of :func:`upsample_before` (see :func:`upsample2x`). Not part of the state
            dict: a network trained with one mode can be fine-tuned with the other.
    """

    label_nc: int
    contain_dontcare_label: bool = False
    no_instance: bool = True
    ngf: int = 64
    num_upsampling_layers: str = "normal"
    crop_size: int = 256
    aspect_ratio: float = 1.0
    use_vae: bool = False
    z_dim: int = 256
    norm_G: str = "spectralspadesyncbatch3x3"
    spade_hidden: int = 128
    ngf_E: int = 0
    ndf: int = 64
    n_layers_D: int = 4
    num_D: int = 2
    upsample_mode: str = "nearest"

    def __post_init__(self) -> None:
        if self.label_nc < 1:
            raise ValueError(f"label_nc must be >= 1, got {self.label_nc}")
        if self.num_upsampling_layers not in UPSAMPLING_STAGES:
            raise ValueError(f"num_upsampling_layers must be one of {sorted(UPSAMPLING_STAGES)}, "
                             f"got {self.num_upsampling_layers!r}")
        parse_norm_g(self.norm_G)
        if self.upsample_mode not in UPSAMPLING_MODES:
            raise ValueError(f"upsample_mode must be one of {', '.join(UPSAMPLING_MODES)}, got {self.upsample_mode!r}")
        if self.ngf < 1 or self.spade_hidden < 1 or self.z_dim < 1:
            raise ValueError("ngf, spade_hidden and z_dim must be positive")

    @property
    def num_labels(self) -> int:
        """One-hot channels: ``label_nc`` (+1 don't-care). Valid label-map ids are ``0 .. num_labels - 1``."""
        return self.label_nc + (1 if self.contain_dontcare_label else 0)

    @property
    def semantic_nc(self) -> int:
        """Channels of the semantic map: ``num_labels`` (+1 instance edge map)."""
        return self.num_labels + (0 if self.no_instance else 1)

    @property
    def dontcare_id(self) -> Optional[int]:
        """Label-map id of the don't-care class (``label_nc``), or None."""
        return self.label_nc if self.contain_dontcare_label else None

    @property
    def stages(self) -> int:
        """Number of x2 up-samplings (the image side is ``2**stages`` times the latent grid)."""
        return UPSAMPLING_STAGES[self.num_upsampling_layers]

    @property
    def size_multiple(self) -> int:
        """Network inputs must have sides that are multiples of this (``2**stages``)."""
        return 2 ** self.stages

    def latent_size(self) -> tuple[int, int]:
        """``(sh, sw)`` of the VAE ``fc`` grid, as the official ``compute_latent_vector_size``."""
        sw = self.crop_size // (2 ** self.stages)
        sh = round(sw / self.aspect_ratio)
        return sh, sw

    @property
    def encoder_width(self) -> int:
        return self.ngf_E or self.ngf

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SPADEOptions":
        """Build from a mapping, ignoring unknown keys (model cards hold more than these options).

        Raises:
            ValueError / TypeError: a missing ``label_nc`` or an invalid value.
        """
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def parse_norm_g(norm_g: str) -> tuple[bool, str, int]:
    """``"spectralspadesyncbatch3x3"`` -> ``(spectral=True, "syncbatch", kernel=3)``.

    Raises:
        ValueError: not of the form ``[spectral]spade<norm><k>x<k>`` with norm syncbatch/batch/instance.
    """
    spectral = norm_g.startswith("spectral")
    rest = norm_g[len("spectral"):] if spectral else norm_g
    m = re.fullmatch(r"spade(syncbatch|batch|instance)(\d)x(\d)", rest)
    if not m or m.group(2) != m.group(3):
        raise ValueError(f"norm_G must look like 'spectralspadesyncbatch3x3', got {norm_g!r}")
    return spectral, m.group(1), int(m.group(2))


#: The three released NVlabs/SPADE generator configurations (options from their ``opt.txt``).
OFFICIAL_OPTIONS: dict[str, SPADEOptions] = {
    "ade20k": SPADEOptions(label_nc=150, contain_dontcare_label=True, no_instance=True, ngf=64,
                           num_upsampling_layers="normal", crop_size=256, aspect_ratio=1.0),
    "coco": SPADEOptions(label_nc=182, contain_dontcare_label=True, no_instance=False, ngf=64,
                         num_upsampling_layers="normal", crop_size=256, aspect_ratio=1.0),
    "cityscapes": SPADEOptions(label_nc=35, contain_dontcare_label=False, no_instance=False, ngf=64,
                               num_upsampling_layers="more", crop_size=512, aspect_ratio=2.0),
}


def compact_options(label_nc: int, contain_dontcare_label: bool, **overrides: Any) -> SPADEOptions:
    """The project's compact configuration (that of the shipped ``spade-landscape``/``spade-facades``),
    sized for live use on a 2-core CPU and for training there in under an hour (timings in
    :mod:`ganpaint.engines.synthesis`): ``ngf`` 16 (head 256 channels, 5.3 M generator parameters with 9
    classes), SPADE hidden width 16 (paper 128), five up-samplings ("normal"), 128-pixel training crops,
    VAE style encoder of width 16 with a 64-d style code, batch-norm SPADE with spectral norm as the
    paper, and a 2-scale discriminator of width 32 with 3 layers. ``overrides`` replace any field."""
    base = SPADEOptions(label_nc=label_nc, contain_dontcare_label=contain_dontcare_label, no_instance=True,
                        ngf=16, num_upsampling_layers="normal", crop_size=128, aspect_ratio=1.0, use_vae=True,
                        z_dim=64, norm_G="spectralspadesyncbatch3x3", spade_hidden=16, ngf_E=16, ndf=32,
                        n_layers_D=3, num_D=2)
    return replace(base, **overrides)


# --------------------------------------------------------------------------------- semantic input


def instance_edges(instances: torch.Tensor) -> torch.Tensor:
    """The official ``get_edges``: ``float (N, 1, H, W)``, 1 where a pixel differs from a 4-neighbour.

    Args:
        instances: ``(N, 1, H, W)`` or ``(N, H, W)`` integer instance ids.
    """
    t = instances if instances.dim() == 4 else instances[:, None]
    edge = torch.zeros_like(t, dtype=torch.bool)
    dx = t[:, :, :, 1:] != t[:, :, :, :-1]
    dy = t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :, 1:] |= dx
    edge[:, :, :, :-1] |= dx
    edge[:, :, 1:, :] |= dy
    edge[:, :, :-1, :] |= dy
    return edge.float()


def semantic_input(labels: torch.Tensor, opt: SPADEOptions, edges: Optional[torch.Tensor] = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The official preprocessing (``Pix2PixModel.preprocess_input``): one-hot label map + edge map.

    Args:
        labels: ``long (N, H, W)`` ids in ``0 .. opt.num_labels - 1``.
        opt: the generator options.
        edges: ``float (N, 1, H, W)`` instance edge map (:func:`instance_edges`) for configurations with
            instances; None gives a zero edge map (the studio has no instance maps).
        dtype: floating dtype of the result.

    Returns:
        ``(N, opt.semantic_nc, H, W)``.

    Raises:
        ValueError: ids out of range.
    """
    if labels.dim() != 3:
        raise ValueError(f"labels must be (N, H, W), got shape {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= opt.num_labels):
        raise ValueError(f"label ids must be in 0..{opt.num_labels - 1}, got {int(labels.min())}..{int(labels.max())}")
    n, h, w = labels.shape
    sem = torch.zeros(n, opt.semantic_nc, h, w, dtype=dtype, device=labels.device)
    sem.scatter_(1, labels[:, None].long(), 1.0)
    if not opt.no_instance and edges is not None:
        sem[:, opt.num_labels:] = edges.to(dtype)
    return sem


# --------------------------------------------------------------------------------------- modules


def _param_free_norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    # "syncbatch" (SynchronizedBatchNorm2d in the official code) and "batch" share their state_dict keys
    return nn.BatchNorm2d(channels, affine=False)


class SPADE(nn.Module):
    """Spatially-adaptive normalisation.

    Args:
        norm_kind: "syncbatch", "batch" or "instance" (parameter-free normalisation).
        kernel: kernel size of the three convolutions (3 in the paper).
        norm_nc: channels ``C`` of the normalised activations.
        label_nc: channels of the semantic map (``semantic_nc``).
        nhidden: width of ``mlp_shared`` (128 in the paper).

    Forward: ``x`` ``(N, C, h, w)``, ``segmap`` ``(N, label_nc, H, W)`` (resized to ``h x w`` with nearest
    neighbour) -> ``(N, C, h, w)`` = ``norm(x) * (1 + gamma(segmap)) + beta(segmap)``.
    """

    def __init__(self, norm_kind: str, kernel: int, norm_nc: int, label_nc: int, nhidden: int = 128) -> None:
        super().__init__()
        self.param_free_norm = _param_free_norm(norm_kind, norm_nc)
        pw = kernel // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, kernel_size=kernel, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, kernel_size=kernel, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, kernel_size=kernel, padding=pw)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    """Residual block with SPADE normalisations (official ``SPADEResnetBlock``).

    ``fin -> fout`` channels at constant resolution: ``x_s + conv_1(act(norm_1(conv_0(act(norm_0(x))))))``
    with ``x_s = conv_s(norm_s(x))`` when ``fin != fout`` (else ``x``); act = LeakyReLU(0.2); the middle
    width is ``min(fin, fout)``.
    """

    def __init__(self, fin: int, fout: int, opt: SPADEOptions) -> None:
        super().__init__()
        spectral, norm_kind, kernel = parse_norm_g(opt.norm_G)
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        sn = spectral_norm if spectral else (lambda m: m)
        self.conv_0 = sn(nn.Conv2d(fin, fmiddle, kernel_size=3, padding=1))
        self.conv_1 = sn(nn.Conv2d(fmiddle, fout, kernel_size=3, padding=1))
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, kernel_size=1, bias=False))
        self.norm_0 = SPADE(norm_kind, kernel, fin, opt.semantic_nc, opt.spade_hidden)
        self.norm_1 = SPADE(norm_kind, kernel, fmiddle, opt.semantic_nc, opt.spade_hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(norm_kind, kernel, fin, opt.semantic_nc, opt.spade_hidden)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx


#: Names of the generator's residual blocks in forward order, with (fin, fout) as multiples of ngf.
_BLOCKS = (("head_0", 16, 16), ("G_middle_0", 16, 16), ("G_middle_1", 16, 16), ("up_0", 16, 8),
           ("up_1", 8, 4), ("up_2", 4, 2), ("up_3", 2, 1))


def upsample2x(x: torch.Tensor, opt: SPADEOptions) -> torch.Tensor:
    """The decoder's x2 up-sampling of ``(N, C, h, w)`` -> ``(N, C, 2h, 2w)``: nearest neighbour as the
    official SPADE, or bilinear (``opt.upsample_mode``), which does not leave the block grid that a short
    training of a nearest-up-sampling decoder shows as a plaid at 100 %."""
    if opt.upsample_mode == "bilinear":
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def upsample_before(opt: SPADEOptions) -> dict[str, bool]:
    """Which blocks are preceded by the x2 up-sampling :func:`upsample2x` (official forward order)."""
    ups = {"head_0": False, "G_middle_0": opt.stages >= 5, "G_middle_1": opt.stages >= 6,
           "up_0": True, "up_1": True, "up_2": True, "up_3": True}
    if opt.stages >= 7:
        ups["up_4"] = True
    return ups


class SPADEGenerator(nn.Module):
    """The GauGAN generator (official ``SPADEGenerator``; same ``state_dict`` for the same options).

    Forward: ``seg`` ``float (N, semantic_nc, H, W)`` (see :func:`semantic_input`; ``H`` and ``W`` multiples
    of ``opt.size_multiple``), ``z`` ``float (N, z_dim)`` or None (VAE models draw ``z ~ N(0, I)``) ->
    image ``float (N, 3, H, W)`` in ``[-1, 1]``.

    Resolution independence (ours; the official code is tied to ``crop_size``): the non-VAE ``fc`` is
    convolutional and runs on the semantic map downsampled to ``H / 2**stages x W / 2**stages``; the VAE
    ``fc`` output (grid ``opt.latent_size()``) is resized bilinearly to that grid when it differs.
    """

    def __init__(self, opt: SPADEOptions) -> None:
        super().__init__()
        self.opt = opt
        nf = opt.ngf
        self.sh, self.sw = opt.latent_size()
        if opt.use_vae:
            self.fc = nn.Linear(opt.z_dim, 16 * nf * self.sh * self.sw)
        else:
            self.fc = nn.Conv2d(opt.semantic_nc, 16 * nf, 3, padding=1)
        for name, fin, fout in _BLOCKS:
            setattr(self, name, SPADEResnetBlock(fin * nf, fout * nf, opt))
        final_nc = nf
        if opt.stages >= 7:
            self.up_4 = SPADEResnetBlock(nf, nf // 2, opt)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        self._ups = upsample_before(opt)

    def block_names(self) -> list[str]:
        return [name for name, _, _ in _BLOCKS] + (["up_4"] if self.opt.stages >= 7 else [])

    def latent_grid(self, height: int, width: int) -> tuple[int, int]:
        """Grid of the first feature map for an ``height x width`` output."""
        m = self.opt.size_multiple
        if height % m or width % m:
            raise ValueError(f"the SPADE generator needs sides that are multiples of {m}, got {width}x{height}")
        return height // m, width // m

    def initial(self, seg: torch.Tensor, z: Optional[torch.Tensor]) -> torch.Tensor:
        """The ``fc`` feature map ``(N, 16 ngf, H / 2**stages, W / 2**stages)``."""
        gh, gw = self.latent_grid(seg.shape[2], seg.shape[3])
        if self.opt.use_vae:
            if z is None:
                z = torch.randn(seg.shape[0], self.opt.z_dim, device=seg.device, dtype=seg.dtype)
            x = self.fc(z).view(-1, 16 * self.opt.ngf, self.sh, self.sw)
            if (gh, gw) != (self.sh, self.sw):
                x = F.interpolate(x, size=(gh, gw), mode="bilinear", align_corners=False)
            return x
        return self.fc(F.interpolate(seg, size=(gh, gw), mode="nearest"))

    def forward(self, seg: torch.Tensor, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.initial(seg, z)
        for name in self.block_names():
            if self._ups[name]:
                x = upsample2x(x, self.opt)
            x = getattr(self, name)(x, seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# --------------------------------------------------------------------------- encoder, discriminator


def _sn_conv(cin: int, cout: int, kernel: int, stride: int, padding: int, norm: str) -> nn.Module:
    """The official ``get_nonspade_norm_layer(opt, "spectral<norm>")(Conv2d(...))``: spectral norm, and
    for ``norm == "instance"`` the bias removed and ``InstanceNorm2d(affine=False)`` appended in a
    ``Sequential`` (so keys are ``<name>.0.weight_orig`` ...)."""
    conv = spectral_norm(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=norm == "none"))
    if norm == "none":
        return conv
    return nn.Sequential(conv, nn.InstanceNorm2d(cout, affine=False))


class ConvEncoder(nn.Module):
    """VAE style encoder (official ``ConvEncoder``, ``norm_E = spectralinstance``).

    Stride-2 3x3 convs ``3 -> w -> 2w -> 4w -> 8w -> 8w (-> 8w for crop_size >= 256)`` down to a 4x4 grid,
    LeakyReLU(0.2), then ``fc_mu`` and ``fc_var`` (linear, ``8w * 16 -> z_dim``).

    Forward: image ``float (N, 3, H, W)`` in ``[-1, 1]`` (any size; resized bilinearly to ``input_size``
    = 256 for ``crop_size >= 256`` else 128, where the official code always resizes to 256, which breaks
    its own 5-layer variant) -> ``(mu, logvar)``, each ``(N, z_dim)``.
    """

    def __init__(self, opt: SPADEOptions) -> None:
        super().__init__()
        w = opt.encoder_width
        widths = [3, w, 2 * w, 4 * w, 8 * w, 8 * w] + ([8 * w] if opt.crop_size >= 256 else [])
        for i in range(1, len(widths)):
            setattr(self, f"layer{i}", _sn_conv(widths[i - 1], widths[i], 3, 2, 1, "instance"))
        self.n_layers = len(widths) - 1
        self.input_size = 4 * 2 ** self.n_layers
        self.fc_mu = nn.Linear(8 * w * 16, opt.z_dim)
        self.fc_var = nn.Linear(8 * w * 16, opt.z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        for i in range(1, self.n_layers + 1):
            x = getattr(self, f"layer{i}")(x if i == 1 else F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).flatten(1)
        return self.fc_mu(x), self.fc_var(x)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``z = mu + eps * exp(logvar / 2)``, ``eps ~ N(0, I)`` (the VAE reparameterisation trick)."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Official ``KLDLoss``: ``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))`` (summed over batch and dims)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator (official ``NLayerDiscriminator``, ``norm_D = spectralinstance``).

    ``model0``: Conv4x4/2 + LeakyReLU; ``model1 .. model{n-1}``: spectral-norm Conv4x4 (stride 2, the last
    stride 1) + instance norm + LeakyReLU, width doubling up to 512; ``model{n}``: Conv4x4 -> 1 channel.

    Forward: ``float (N, input_nc, H, W)`` -> list of the ``n + 1`` outputs (features, then logits).
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        nf = ndf
        self.model0 = nn.Sequential(nn.Conv2d(input_nc, nf, 4, stride=2, padding=2), nn.LeakyReLU(0.2))
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            setattr(self, f"model{n}", nn.Sequential(_sn_conv(prev, nf, 4, stride, 2, "instance"), nn.LeakyReLU(0.2)))
        setattr(self, f"model{n_layers}", nn.Sequential(nn.Conv2d(nf, 1, 4, stride=1, padding=2)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for module in self.children():
            x = module(x)
            out.append(x)
        return out


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` :class:`NLayerDiscriminator` s (``discriminator_0`` ...), each on the input average-pooled
    once more than the previous (3x3, stride 2, ``count_include_pad=False``).

    Forward: ``float (N, input_nc, H, W)`` = ``concat(semantic map, image)`` -> list (one per scale) of lists
    of activations; the last entry of each inner list is the patch logits.
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_D: int = 2) -> None:
        super().__init__()
        for i in range(num_D):
            self.add_module(f"discriminator_{i}", NLayerDiscriminator(input_nc, ndf, n_layers))

    @classmethod
    def for_options(cls, opt: SPADEOptions) -> "MultiscaleDiscriminator":
        return cls(opt.semantic_nc + 3, opt.ndf, opt.n_layers_D, opt.num_D)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        result = []
        for i, d in enumerate(self.children()):
            if i:
                x = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)
            result.append(d(x))
        return result


def param_count(module: nn.Module) -> int:
    """Number of trainable-parameter elements (spectral norm's ``weight_orig`` counted once)."""
    return sum(p.numel() for p in module.parameters())


def snap_size(height: int, width: int, resolution: int, multiple: int) -> tuple[int, int]:
    """Network size for an ``height x width`` picture: aspect kept, the longer side near ``resolution``,
    both sides rounded to positive multiples of ``multiple``."""
    scale = resolution / max(height, width)
    return (max(multiple, int(round(height * scale / multiple)) * multiple),
            max(multiple, int(round(width * scale / multiple)) * multiple))


__all__ = [
    "ConvEncoder", "MultiscaleDiscriminator", "NLayerDiscriminator", "OFFICIAL_OPTIONS", "SPADE", "SPADEGenerator",
    "SPADEOptions", "SPADEResnetBlock", "UPSAMPLING_STAGES", "compact_options", "instance_edges", "kld_loss",
    "param_count", "parse_norm_g", "reparameterize", "semantic_input", "snap_size",
]
