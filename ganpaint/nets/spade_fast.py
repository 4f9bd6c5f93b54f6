"""Inference form of a trained :class:`~ganpaint.nets.spade.SPADEGenerator`: same outputs, much less work.

What changes (all exact up to float rounding; tested against the training network in eval mode):

1. **Spectral norm folded.** In eval mode ``torch.nn.utils.spectral_norm`` divides ``weight_orig`` by
   ``sigma = u^T W v`` from the stored ``weight_u``/``weight_v`` on every call; here that division is
   done once (:func:`fold_spectral_norm`).
2. **Batch norm folded.** The parameter-free batch norm of each :class:`~ganpaint.nets.spade.SPADE`
   is ``x * s + t`` with ``s = 1 / sqrt(running_var + eps)``, ``t = -running_mean * s``; ``norm_1``'s
   affine map is folded into the preceding ``conv_0``.
3. **SPADE modulation by look-up.** ``gamma`` and ``beta`` depend only on the label map inside a
   ``(2k - 1) x (2k - 1)`` window (two stacked ``k x k`` convolutions; 5x5 for the paper's 3x3). The
   semantic map is one-hot, so ``mlp_shared`` is a sum of ``k * k`` rows of a table indexed by class
   (``embedding_bag``), never a convolution over ``semantic_nc`` channels; and wherever the window holds
   one class ``c`` (and does not touch the image border, where zero padding matters), ``(1 + gamma,
   beta)`` is a per-class constant precomputed at load time. Only pixels near a class boundary or the
   border are computed exactly (a ``k * k * nhidden -> 2C`` matrix product per pixel), so the cost of
   SPADE grows with the length of the boundaries, not with the area. At coarse resolutions, where most
   pixels are near a boundary (more than :data:`DENSE_FRACTION`), a level is computed densely instead
   (``embedding_bag`` activations, then one convolution for ``gamma`` and ``beta`` together).
4. The instance edge map is taken as all zero (the studio has no instance maps), so its channel's
   weights are dropped; the don't-care class stays an ordinary class.

Inputs are label maps ``long (N, H, W)`` of ids ``0 .. num_labels - 1`` with ``H``, ``W`` multiples of
``opt.size_multiple``; the output is ``float (N, 3, H, W)`` in ``[-1, 1]``. Activations run in
``channels_last`` memory format (faster convolutions on CPU, and the look-up tables are naturally
channels-last).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.nets.spade import (SPADE, ConvEncoder, SPADEGenerator, SPADEResnetBlock, parse_norm_g, upsample2x,
                                upsample_before)


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace every spectral-norm reparametrisation in ``module`` (in place) by a plain ``weight``
    equal to ``weight_orig / sigma`` computed from the stored ``u``/``v`` (no power iteration), which is
    what the module computes in eval mode. Returns ``module``."""
    from torch.nn.utils import remove_spectral_norm

    for sub in module.modules():
        if hasattr(sub, "weight_orig"):
            remove_spectral_norm(sub)
    return module


def freeze_channels_last(module: nn.Module) -> nn.Module:
    """Turn gradients off and store every convolution's weights channels-last (the inference networks'
    activations are channels-last; weights in the same format avoid a reorder per call). Returns ``module``."""
    for p in module.parameters():
        p.requires_grad_(False)
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.to(memory_format=torch.channels_last)
    return module


#: A level is computed densely (convolutions) when more than this share of its pixels needs exact values.
DENSE_FRACTION = 0.35


@dataclass
class _Level:
    """Label-map geometry at one resolution, shared by every SPADE layer working at it.

    Attributes:
        flat: ``long (N*h*w,)`` class ids.
        shape: ``(N, h, w)``.
        idx: ``long (M,)`` flat indices of the pixels whose modulation is computed exactly.
        bag: ``long (Q, k*k)`` rows of the ``mlp_shared`` table summed for each activation position
            needed by those pixels.
        inside: ``(Q, 1)`` 1 for activation positions inside the image, 0 for zero padding.
        inv: ``long (M, k*k)`` index into the ``Q`` positions of each pixel's ``k x k`` neighbours.
        dense: compute every pixel exactly with convolutions (set when most pixels need it, which is
            cheaper than gathering patches); then ``bag`` covers every pixel in raster order.
    """

    flat: torch.Tensor
    shape: tuple[int, int, int]
    idx: torch.Tensor
    bag: Optional[torch.Tensor] = None
    inside: Optional[torch.Tensor] = None
    inv: Optional[torch.Tensor] = None
    dense: bool = False


def build_level(labels: torch.Tensor, num_labels: int, kernel: int, dtype: torch.dtype) -> _Level:
    """Find the pixels of ``labels`` (``long (N, h, w)``) whose SPADE window is not one class or touches the
    border, and the ``mlp_shared`` look-ups they need (see :class:`_Level`)."""
    n, h, w = labels.shape
    r = kernel // 2
    flat = labels.reshape(-1)
    if r == 0:  # 1x1 SPADE: every pixel is a per-class constant
        return _Level(flat, (n, h, w), flat.new_zeros(0))
    win = 4 * r + 1
    lf = labels[:, None].float()
    hi = F.max_pool2d(lf, win, 1, 2 * r)
    lo = -F.max_pool2d(-lf, win, 1, 2 * r)
    exact = (hi != lo)[:, 0]
    exact[:, : 2 * r] = True
    exact[:, h - 2 * r:] = True
    exact[:, :, : 2 * r] = True
    exact[:, :, w - 2 * r:] = True
    idx = exact.reshape(-1).nonzero().squeeze(1)
    if idx.numel() == 0:
        return _Level(flat, (n, h, w), idx)
    kk = kernel * kernel
    off = torch.arange(kernel, device=labels.device)
    oy = off.repeat_interleave(kernel)  # tap (ey, ex) in row-major order, as conv weights [:, :, ey, ex]
    ox = off.repeat(kernel)
    taps = torch.arange(kk, device=labels.device) * (num_labels + 1)
    if idx.numel() > DENSE_FRACTION * flat.numel():
        padded = F.pad(labels, (r, r, r, r), value=num_labels)
        bag = torch.stack([padded[:, ey:ey + h, ex:ex + w] for ey, ex in zip(oy.tolist(), ox.tolist())], dim=-1)
        return _Level(flat, (n, h, w), idx, (bag + taps).reshape(-1, kk), dense=True)
    b, rem = idx // (h * w), idx % (h * w)
    y, x = rem // w, rem % w
    hp, wp = h + 2 * r, w + 2 * r  # activation grid padded by r: position (y + ey, x + ex) = pixel (y + ey - r, ...)
    q = (b[:, None] * hp + (y[:, None] + oy)) * wp + (x[:, None] + ox)
    # unique positions without sorting: mark them on the padded grid, number them in raster order
    used = torch.zeros(n * hp * wp, dtype=torch.bool, device=labels.device)
    used[q.reshape(-1)] = True
    uq = used.nonzero().squeeze(1)
    number = torch.empty(n * hp * wp, dtype=torch.long, device=labels.device)
    number[uq] = torch.arange(uq.numel(), device=labels.device)
    inv = number[q]
    qb, qrem = uq // (hp * wp), uq % (hp * wp)
    py, px = qrem // wp, qrem % wp
    inside = ((py >= r) & (py < h + r) & (px >= r) & (px < w + r)).to(dtype)[:, None]
    padded = F.pad(labels, (2 * r, 2 * r, 2 * r, 2 * r), value=num_labels)  # sentinel class: a zero row
    lab = padded[qb[:, None], py[:, None] + oy, px[:, None] + ox]
    return _Level(flat, (n, h, w), idx, lab + taps, inside, inv.reshape(idx.numel(), kk))


class FastSPADE(nn.Module):
    """Inference SPADE: ``x -> norm(x) * (1 + gamma) + beta`` with ``gamma``/``beta`` from tables.

    Buffers (``C`` = norm_nc, ``H`` = nhidden, ``L`` = number of labels, ``k`` = kernel):
    ``shared`` ``(k*k*(L+1), H)`` (``mlp_shared`` weight per tap and class, a zero row per tap for padding),
    ``shared_bias`` ``(H,)``, ``head_weight`` ``(2C, H, k, k)`` channels-last (``mlp_gamma`` and ``mlp_beta``
    as one convolution, whose memory is also the ``(2C, k*k*H)`` matrix used for single pixels),
    ``head_bias`` ``(2C,)`` (``1 +`` gamma bias, beta bias), ``table`` ``(L, 2C)`` (per-class constant).
    """

    def __init__(self, spade: SPADE, num_labels: int, fold_norm: bool = True) -> None:
        super().__init__()
        norm = spade.param_free_norm
        self.instance = isinstance(norm, nn.InstanceNorm2d)
        self.eps = float(norm.eps)
        self.affine_norm = not self.instance and fold_norm
        conv_s, conv_g, conv_b = spade.mlp_shared[0], spade.mlp_gamma, spade.mlp_beta
        k = conv_s.kernel_size[0]
        self.kernel = k
        with torch.no_grad():
            if not self.instance:
                scale = torch.rsqrt(norm.running_var.float() + norm.eps)
                self.register_buffer("scale", scale)
                self.register_buffer("shift", -norm.running_mean.float() * scale)
            ws = conv_s.weight.detach().float()[:, :num_labels]  # drop the instance-edge channel (always 0)
            hidden = ws.shape[0]
            taps = ws.permute(2, 3, 1, 0).reshape(k * k, num_labels, hidden)
            shared = torch.cat([taps, taps.new_zeros(k * k, 1, hidden)], dim=1).reshape(-1, hidden)
            wgb = torch.cat([conv_g.weight.detach(), conv_b.weight.detach()], 0).float()  # (2C, H, k, k)
            bgb = torch.cat([conv_g.bias.detach() + 1.0, conv_b.bias.detach()]).float()
            bias_s = conv_s.bias.detach().float()
            const_actv = torch.relu(taps.sum(0) + bias_s)  # (L, H)
            table = const_actv @ wgb.sum(dim=(2, 3)).t() + bgb
            self.register_buffer("shared", shared.contiguous())
            self.register_buffer("shared_bias", bias_s)
            self.register_buffer("head_weight", wgb.contiguous(memory_format=torch.channels_last))
            self.register_buffer("head_bias", bgb)
            if self.affine_norm:  # fold the batch norm: (x s + t)(1 + g) + b = x (s (1 + g)) + (t (1 + g) + b)
                table = self._fold(table)
            self.register_buffer("table", table.contiguous())
        self.channels = conv_g.weight.shape[0]

    def _fold(self, gb: torch.Tensor) -> torch.Tensor:
        """``(M, 2C)`` rows ``(1 + gamma, beta)`` -> ``(s (1 + gamma), t (1 + gamma) + beta)``, in place."""
        c = self.scale.shape[0]
        gb[:, c:].addcmul_(gb[:, :c], self.shift)
        gb[:, :c].mul_(self.scale)
        return gb

    def modulation(self, level: _Level) -> torch.Tensor:
        """``(N, 2C, h, w)`` (channels-last strides): ``1 + gamma`` then ``beta`` (times / plus the batch norm's
        scale and shift when it is folded)."""
        n, h, w = level.shape
        if level.dense:
            actv = torch.relu(F.embedding_bag(level.bag, self.shared, mode="sum") + self.shared_bias)
            actv = actv.view(n, h, w, -1).permute(0, 3, 1, 2)
            gb = F.conv2d(actv, self.head_weight, self.head_bias, padding=self.kernel // 2)
            if self.affine_norm:
                c = self.channels
                gb[:, c:].addcmul_(gb[:, :c], self.shift[:, None, None])
                gb[:, :c].mul_(self.scale[:, None, None])
            return gb
        gb = F.embedding(level.flat, self.table)
        if level.idx.numel():
            actv = torch.relu(F.embedding_bag(level.bag, self.shared, mode="sum") + self.shared_bias)
            actv = actv * level.inside
            patches = actv[level.inv].reshape(level.idx.numel(), -1)
            head = self.head_weight.permute(0, 2, 3, 1).reshape(self.head_weight.shape[0], -1).t()
            exact = torch.addmm(self.head_bias, patches, head)
            gb.index_copy_(0, level.idx, self._fold(exact) if self.affine_norm else exact)
        return gb.view(n, h, w, -1).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor, level: _Level) -> torch.Tensor:
        if self.instance:
            x = F.instance_norm(x, eps=self.eps)
        gb = self.modulation(level)  # batch norm already folded in (affine_norm)
        return torch.addcmul(gb[:, self.channels:], x, gb[:, : self.channels])


class FastResBlock(nn.Module):
    """Inference :class:`~ganpaint.nets.spade.SPADEResnetBlock` (spectral norm already folded); the batch
    norm of ``norm_1`` is folded into ``conv_0``. Takes over ``block``'s convolutions (the caller passes a
    copy when the block must stay usable)."""

    def __init__(self, block: SPADEResnetBlock, num_labels: int) -> None:
        super().__init__()
        self.learned_shortcut = block.learned_shortcut
        self.norm_0 = FastSPADE(block.norm_0, num_labels)
        self.norm_s = FastSPADE(block.norm_s, num_labels) if self.learned_shortcut else None
        self.conv_s = block.conv_s if self.learned_shortcut else None
        self.conv_0 = block.conv_0
        self.conv_1 = block.conv_1
        self.norm_1 = FastSPADE(block.norm_1, num_labels, fold_norm=False)
        if not self.norm_1.instance:
            with torch.no_grad():
                s, t = self.norm_1.scale, self.norm_1.shift
                self.conv_0.weight.mul_(s[:, None, None, None])
                self.conv_0.bias.mul_(s).add_(t)

    def forward(self, x: torch.Tensor, level: _Level) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, level)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu_(self.norm_0(x, level), 0.2))
        dx = self.conv_1(F.leaky_relu_(self.norm_1(dx, level), 0.2))
        return dx.add_(x_s)


class FastSPADEGenerator(nn.Module):
    """Inference network equivalent to ``generator.eval()`` with a zero instance edge map (see the module
    docstring). Build with :meth:`from_generator`; the source generator is not modified.

    Forward: ``labels`` ``long (N, H, W)`` (ids ``0 .. opt.num_labels - 1``; ``H``, ``W`` multiples of
    ``opt.size_multiple``), ``z`` ``(N, z_dim)`` or None (VAE models: ``z ~ N(0, I)`` from the global torch
    generator; pass ``z`` for reproducible output) -> ``float (N, 3, H, W)`` in ``[-1, 1]``.
    """

    def __init__(self, generator: SPADEGenerator, copy_weights: bool = True) -> None:
        super().__init__()
        g = fold_spectral_norm(copy.deepcopy(generator) if copy_weights else generator).eval()
        opt = g.opt
        self.opt = opt
        self.kernel = parse_norm_g(opt.norm_G)[2]
        self.num_labels = opt.num_labels
        self.sh, self.sw = g.sh, g.sw
        self.fc = g.fc
        if not opt.use_vae:
            with torch.no_grad():
                self.fc.weight = nn.Parameter(self.fc.weight[:, : self.num_labels].contiguous())
        self.names = g.block_names()
        self.blocks = nn.ModuleDict({name: FastResBlock(getattr(g, name), self.num_labels) for name in self.names})
        self.conv_img = g.conv_img
        self._ups = upsample_before(opt)
        freeze_channels_last(self)

    @classmethod
    def from_generator(cls, generator: SPADEGenerator, copy_weights: bool = True) -> "FastSPADEGenerator":
        """Build from a trained generator; with ``copy_weights=False`` the generator is consumed (its spectral
        norm is removed in place and its convolutions are reused), which halves the peak memory."""
        return cls(generator, copy_weights).eval()

    def _initial(self, labels: torch.Tensor, z: Optional[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        n, h, w = labels.shape
        m = self.opt.size_multiple
        if h % m or w % m:
            raise ValueError(f"the SPADE generator needs sides that are multiples of {m}, got {w}x{h}")
        gh, gw = h // m, w // m
        if self.opt.use_vae:
            if z is None:
                z = torch.randn(n, self.opt.z_dim, device=labels.device, dtype=dtype)
            x = self.fc(z.to(dtype)).view(n, -1, self.sh, self.sw)
            if (gh, gw) != (self.sh, self.sw):
                x = F.interpolate(x, size=(gh, gw), mode="bilinear", align_corners=False)
            return x
        small = _resize_labels(labels, gh, gw)
        onehot = torch.zeros(n, self.num_labels, gh, gw, device=labels.device, dtype=dtype)
        onehot.scatter_(1, small[:, None], 1.0)
        return self.fc(onehot)

    def forward(self, labels: torch.Tensor, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        labels = labels.long()
        dtype = self.conv_img.weight.dtype
        level_for = LevelCache(labels, self.num_labels, self.kernel, dtype)
        x = self._initial(labels, z, dtype).contiguous(memory_format=torch.channels_last)
        for name in self.names:
            if self._ups[name]:
                x = upsample2x(x, self.opt)
            x = self.blocks[name](x, level_for(x.shape[2], x.shape[3]))
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class LevelCache:
    """The label-map geometry (:func:`build_level`) of one forward pass, built once per resolution:
    ``cache(h, w)`` -> the :class:`_Level` of ``labels`` (``long (N, H, W)``) resized to ``h x w``."""

    def __init__(self, labels: torch.Tensor, num_labels: int, kernel: int, dtype: torch.dtype) -> None:
        self.labels, self.num_labels, self.kernel, self.dtype = labels, num_labels, kernel, dtype
        self.levels: dict[tuple[int, int], _Level] = {}

    def __call__(self, h: int, w: int) -> _Level:
        if (h, w) not in self.levels:
            small = self.labels if (h, w) == tuple(self.labels.shape[1:]) else _resize_labels(self.labels, h, w)
            self.levels[(h, w)] = build_level(small, self.num_labels, self.kernel, self.dtype)
        return self.levels[(h, w)]


def _resize_labels(labels: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Nearest-neighbour resize of ``long (N, H, W)`` ids, picking the same source pixels as
    ``F.interpolate(one_hot, size, mode="nearest")`` in the training network."""
    return F.interpolate(labels[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()


def fast_encoder(encoder: ConvEncoder) -> ConvEncoder:
    """A copy of the style encoder with spectral norm folded, in eval mode, without gradients."""
    enc = fold_spectral_norm(copy.deepcopy(encoder)).eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc


__all__ = ["FastResBlock", "FastSPADE", "FastSPADEGenerator", "LevelCache", "build_level", "fast_encoder", "freeze_channels_last",
           "fold_spectral_norm"]
