"""Semantic photo editing as semantic inpainting, after SESAME (Ntavelis, Romero, Kastanis, Van Gool, Timofte,
"SESAME: Semantic Editing of Scenes by Adding, Manipulating or Erasing Objects", ECCV 2020).

The generator sees the photo with the edited region cut out (zeros in the hole), the hole mask and the
new label map, and paints the hole so that it matches the photo around it: its light, colour and grain.
SESAME's generator is an encoder of the masked photo followed by a decoder of SPADE residual blocks
conditioned on the semantics; ours is the same idea sized for a 2-core CPU, and built so that a trained
compact SPADE generator (:mod:`ganpaint.nets.spade`) gives its decoder a warm start:

* **context encoder** (ours): ``concat(masked photo (3), hole mask (1), one-hot labels (L))`` at full
  resolution, a 3x3 conv to ``ngf`` channels (level 0), then per level ``k = 1 .. stages`` a stride-2 3x3
  conv and a 3x3 conv (LeakyReLU 0.2, no normalisation: statistics would mix hole and photo), widths
  ``ngf * (2, 4, 8, 16, 16)`` (capped at ``16 ngf``). Level ``stages`` is the SPADE latent grid
  (1/32 of the picture for "normal"), so the deepest features see the whole crop.
* ``fc``: a 3x3 conv of the deepest features to ``16 ngf`` channels; it replaces SPADE's ``fc`` (the
  style code's linear layer or the down-sampled label map's conv).
* **decoder**: SPADE's blocks with SPADE's names and shapes (``head_0``, ``G_middle_0``, ``G_middle_1``,
  ``up_0`` .. ``up_3``, ``conv_img``), conditioned on the one-hot *new* label map (so the inference form
  keeps :mod:`ganpaint.nets.spade_fast`'s table look-up). Before every block, and before ``conv_img``,
  the encoder features of that resolution are added through a 1x1 **skip** convolution
  (``skips.<block>``; U-Net style). The skips start at zero, so at initialisation a SPADE decoder loaded
  with :meth:`SESAMEGenerator.load_spade_decoder` paints as SPADE does from the encoder's code.

Tensor conventions: photo ``float (N, 3, H, W)`` in ``[-1, 1]``; hole ``float (N, 1, H, W)`` in ``{0, 1}``
(1 = paint here); label map ``long (N, H, W)``; ``H`` and ``W`` multiples of ``opt.size_multiple``. The
network output covers the whole picture; callers composite it into the photo inside the hole only.

SESAME's discriminator is conditioned on the semantics too; the trainer uses SPADE's
:class:`~ganpaint.nets.spade.MultiscaleDiscriminator` on ``concat(one-hot labels, hole mask, picture)``
(:func:`discriminator_input`).
"""

from __future__ import annotations

import copy
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.nets.spade import (MultiscaleDiscriminator, SPADEOptions, SPADEResnetBlock, semantic_input,
                                 upsample2x, upsample_before)

#: Decoder blocks in forward order with (fin, fout) as multiples of ngf, as :mod:`ganpaint.nets.spade`.
DECODER_BLOCKS = (("head_0", 16, 16), ("G_middle_0", 16, 16), ("G_middle_1", 16, 16), ("up_0", 16, 8),
                  ("up_1", 8, 4), ("up_2", 4, 2), ("up_3", 2, 1))
#: SPADE generator key prefixes a SESAME decoder shares (everything but ``fc``).
SHARED_PREFIXES = tuple(f"{name}." for name, _, _ in DECODER_BLOCKS) + ("conv_img.",)


def encoder_widths(opt: SPADEOptions) -> list[int]:
    """Channels of the encoder features at levels ``0 .. stages`` (level ``k`` is ``1 / 2**k`` of the picture)."""
    return [min(opt.ngf * 2 ** k, 16 * opt.ngf) for k in range(opt.stages + 1)]


def block_levels(opt: SPADEOptions) -> dict[str, int]:
    """Pyramid level each decoder block (and ``"conv_img"``) works at."""
    level = opt.stages
    ups = upsample_before(opt)
    out = {}
    for name, _, _ in DECODER_BLOCKS:
        if ups[name]:
            level -= 1
        out[name] = level
    out["conv_img"] = level
    return out


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ContextEncoder(nn.Module):
    """The context encoder of the module docstring. Forward: ``(N, 4 + L, H, W)`` -> list of features per level
    ``0 .. stages``, ``float (N, encoder_widths[k], H / 2**k, W / 2**k)``."""

    def __init__(self, opt: SPADEOptions) -> None:
        super().__init__()
        widths = encoder_widths(opt)
        self.conv_in = _conv(4 + opt.num_labels, widths[0])
        self.down = nn.ModuleList(nn.ModuleList([_conv(widths[k - 1], widths[k], 2), _conv(widths[k], widths[k])])
                                  for k in range(1, len(widths)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.leaky_relu(self.conv_in(x), 0.2)
        feats = [x]
        for down, conv in self.down:
            x = F.leaky_relu(down(x), 0.2)
            x = F.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return feats


def encoder_input(photo: torch.Tensor, hole: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """``concat(photo * (1 - hole), hole, onehot)``: the photo with the hole cut out (zeros), the hole mask
    and the one-hot label map, ``(N, 4 + L, H, W)``."""
    return torch.cat([photo * (1.0 - hole), hole, onehot], dim=1)


def discriminator_input(onehot: torch.Tensor, hole: torch.Tensor, picture: torch.Tensor) -> torch.Tensor:
    """What the trainer's discriminator sees: ``concat(one-hot labels, hole mask, picture)``."""
    return torch.cat([onehot, hole, picture], dim=1)


def sesame_discriminator(opt: SPADEOptions) -> MultiscaleDiscriminator:
    """SPADE's multi-scale PatchGAN on :func:`discriminator_input` (``num_labels + 1 + 3`` channels)."""
    return MultiscaleDiscriminator(opt.num_labels + 4, opt.ndf, opt.n_layers_D, opt.num_D)


class SESAMEGenerator(nn.Module):
    """Semantic inpainting generator (module docstring).

    Args:
        opt: SPADE options of the decoder (``use_vae`` and ``z_dim`` are ignored; ``no_instance`` must be True).

    Forward: ``photo`` ``float (N, 3, H, W)`` in ``[-1, 1]``, ``hole`` ``float (N, 1, H, W)`` (1 = hole),
    ``labels`` ``long (N, H, W)`` ids ``0 .. opt.num_labels - 1`` -> ``float (N, 3, H, W)`` in ``[-1, 1]``.

    Raises:
        ValueError: ``opt.no_instance`` is False, or sides that are not multiples of ``opt.size_multiple``.
    """

    def __init__(self, opt: SPADEOptions) -> None:
        super().__init__()
        if not opt.no_instance:
            raise ValueError("the SESAME generator has no instance edge map (no_instance must be True)")
        self.opt = opt
        nf = opt.ngf
        widths = encoder_widths(opt)
        self.encoder = ContextEncoder(opt)
        self.fc = _conv(widths[-1], 16 * nf)
        for name, fin, fout in DECODER_BLOCKS:
            setattr(self, name, SPADEResnetBlock(fin * nf, fout * nf, opt))
        self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)
        levels = block_levels(opt)
        fins = {name: fin * nf for name, fin, _ in DECODER_BLOCKS}
        fins["conv_img"] = nf
        self.skips = nn.ModuleDict({name: nn.Conv2d(widths[levels[name]], fins[name], 1) for name in fins})
        for conv in self.skips.values():
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self._ups = upsample_before(opt)

    def block_names(self) -> list[str]:
        return [name for name, _, _ in DECODER_BLOCKS]

    def check_size(self, height: int, width: int) -> None:
        m = self.opt.size_multiple
        if height % m or width % m:
            raise ValueError(f"the SESAME generator needs sides that are multiples of {m}, got {width}x{height}")

    def forward(self, photo: torch.Tensor, hole: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.check_size(photo.shape[2], photo.shape[3])
        seg = semantic_input(labels, self.opt, dtype=photo.dtype)
        feats = self.encoder(encoder_input(photo, hole, seg))
        x = self.fc(feats[-1])
        level = self.opt.stages
        for name in self.block_names():
            if self._ups[name]:
                x = upsample2x(x, self.opt)
                level -= 1
            x = getattr(self, name)(x + self.skips[name](feats[level]), seg)
        x = x + self.skips["conv_img"](feats[level])
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))

    def load_spade_decoder(self, state: Mapping[str, torch.Tensor]) -> list[str]:
        """Copy a compact SPADE generator's decoder (every key but ``fc``, official names) into this network.

        Args:
            state: a :class:`~ganpaint.nets.spade.SPADEGenerator` state dict of the same options (e.g. the
                generator keys of ``spade-landscape.safetensors``; fp16 values are converted).

        Returns:
            The names of this network's keys that were *not* loaded (encoder, ``fc``, skips).

        Raises:
            ValueError: a shared key is missing or has another shape.
        """
        own = self.state_dict()
        shared = {k: v for k, v in state.items() if k.startswith(SHARED_PREFIXES)}
        for k in own:
            if k.startswith(SHARED_PREFIXES) and (k not in shared or tuple(shared[k].shape) != tuple(own[k].shape)):
                got = tuple(shared[k].shape) if k in shared else "missing"
                raise ValueError(f"SPADE weights do not fit this SESAME decoder at '{k}': {got} vs {tuple(own[k].shape)}")
        with torch.no_grad():
            for k, v in shared.items():
                own[k].copy_(v.to(own[k].dtype))
        return [k for k in own if not k.startswith(SHARED_PREFIXES)]


class FastSESAMEGenerator(nn.Module):
    """Inference form of :class:`SESAMEGenerator`: the decoder blocks become
    :class:`~ganpaint.nets.spade_fast.FastResBlock` (spectral and batch norm folded, SPADE by table
    look-up), activations channels-last, no gradients. Same forward signature and outputs (up to float
    rounding) as the training network in eval mode; the source network is not modified (a copy is made
    unless ``copy_weights`` is False)."""

    def __init__(self, generator: SESAMEGenerator, copy_weights: bool = True) -> None:
        super().__init__()
        from ganpaint.nets.spade_fast import FastResBlock, fold_spectral_norm, freeze_channels_last, parse_norm_g

        g = fold_spectral_norm(copy.deepcopy(generator) if copy_weights else generator).eval()
        self.opt = g.opt
        self.num_labels = g.opt.num_labels
        self.kernel = parse_norm_g(g.opt.norm_G)[2]
        self.encoder, self.fc, self.skips, self.conv_img = g.encoder, g.fc, g.skips, g.conv_img
        self.names = g.block_names()
        self.blocks = nn.ModuleDict({name: FastResBlock(getattr(g, name), self.num_labels) for name in self.names})
        self._ups = g._ups
        freeze_channels_last(self)

    @classmethod
    def from_generator(cls, generator: SESAMEGenerator, copy_weights: bool = True) -> "FastSESAMEGenerator":
        return cls(generator, copy_weights).eval()

    def forward(self, photo: torch.Tensor, hole: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        from ganpaint.nets.spade_fast import LevelCache

        n, _, h, w = photo.shape
        m = self.opt.size_multiple
        if h % m or w % m:
            raise ValueError(f"the SESAME generator needs sides that are multiples of {m}, got {w}x{h}")
        labels = labels.long()
        dtype = self.conv_img.weight.dtype
        onehot = torch.zeros(n, self.num_labels, h, w, device=photo.device, dtype=dtype)
        onehot.scatter_(1, labels[:, None], 1.0)
        x_in = encoder_input(photo.to(dtype), hole.to(dtype), onehot).contiguous(memory_format=torch.channels_last)
        feats = self.encoder(x_in)
        level_for = LevelCache(labels, self.num_labels, self.kernel, dtype)
        x = self.fc(feats[-1])
        level = self.opt.stages
        for name in self.names:
            if self._ups[name]:
                x = upsample2x(x, self.opt)
                level -= 1
            x = self.blocks[name](x + self.skips[name](feats[level]), level_for(x.shape[2], x.shape[3]))
        x = x + self.skips["conv_img"](feats[level])
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def spade_generator_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The generator keys of a SPADE export (drops the style encoder's ``netE.`` keys)."""
    from ganpaint.engines.spade_import import split_state

    return split_state(state)[0]


__all__ = ["ContextEncoder", "DECODER_BLOCKS", "FastSESAMEGenerator", "SESAMEGenerator", "SHARED_PREFIXES",
           "block_levels", "discriminator_input", "encoder_input", "encoder_widths", "sesame_discriminator",
           "spade_generator_keys"]
