"""Inpainting engine: fills the holes of a photo of any size with the gated-convolution generator.

Pipeline of :meth:`InpaintEngine.run`:

1. holes are the mask pixels ``> 127``; no hole -> the image is returned unchanged (a copy);
2. holes are grouped into crops (:func:`plan_crops`): 8-connected hole regions (found on an 8x8-block
   grid, so a 12-megapixel mask is scanned in milliseconds) get a context margin of
   ``max(min_margin, margin_ratio * max(bbox width, bbox height))`` pixels on every side, and regions
   whose expanded boxes overlap are merged until none do; each crop is the expanded box clipped to the
   image, so no crop contains another crop's holes;
3. each crop larger than the model's working size (``work_size``, default ``card.resolution``, longest
   side) is box-downscaled by the smallest integer factor that fits, averaging only known pixels
   (:func:`masked_downscale`: a cell with any hole pixel is hole, and the content under the hole never
   leaks into the context), padded to a multiple of 8 and run through the network;
4. the network's output replaces only the hole cells; the result is upsampled bicubically to the crop
   size and, with ``detail > 0`` and a factor of 2 or more, the photo's own full-resolution detail is
   copied into the hole from the context by contextual residual aggregation (HiFill,
   :mod:`ganpaint.nets.cra`), so a large hole is not soft;
5. with ``texture > 0``, that fill is streamed to the caller at once and then, at full resolution on the
   holes' box grown by ``texture_context``, its high band is replaced by the photo's own texture, copied
   along a network-guided PatchMatch field (:func:`ganpaint.nets.patchmatch.texture_fill`), so large fills
   are not soft; a box of more than ``texture_max_pixels`` is textured on a copy reduced by the smallest
   integer factor that fits, and the texture added there is upsampled onto the full-resolution fill;
6. the fill is pasted **only inside the hole** with a weight (:func:`feather_weights`: 0 outside the
   hole, ramping to 1 over ``feather`` pixels inside it; the shipped cards use 1, a hard paste, since the
   fill continues the context and any blend inside the hole would let the removed object show through),
   so every pixel outside the mask is bit-exactly the input pixel.

Only crops are ever converted to float, so a 4000x3000 photo with a small hole costs about one
network run on that crop plus a copy of the image. The geometry helpers are pure numpy and can be
tested without a network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ganpaint.engines.base import Engine, ProgressCallback
from ganpaint.errors import EngineError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import InpaintRequest

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), half-open

MASK_THRESHOLD = 127
SIZE_MULTIPLE = 8


# ------------------------------------------------------------------------------------- geometry


def hole_map(mask: np.ndarray) -> np.ndarray:
    """``bool (H, W)``: True where ``mask > 127`` (the document's hole convention)."""
    return np.asarray(mask) > MASK_THRESHOLD


def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` runs of True in a 1-D bool array."""
    padded = np.concatenate(([False], row, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _label_boxes(grid: np.ndarray) -> list[Box]:
    """Bounding boxes (grid units) of the 8-connected True regions of a small bool grid (run-based union-find)."""
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    boxes: list[list[int]] = []
    prev: list[tuple[int, int, int]] = []  # (start, end, run id) of the previous row
    rows = np.flatnonzero(grid.any(axis=1))
    last_row = -2
    for y in rows.tolist():
        if y != last_row + 1:
            prev = []
        cur = []
        for s, e in _runs(grid[y]):
            rid = len(parent)
            parent.append(rid)
            boxes.append([s, y, e, y + 1])
            for ps, pe, pid in prev:
                if ps <= e and s <= pe:  # overlap with 8-connectivity (touching diagonally counts)
                    a, b = find(rid), find(pid)
                    if a != b:
                        parent[a] = b
            cur.append((s, e, rid))
        prev = cur
        last_row = y
    merged: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        r = find(i)
        m = merged.get(r)
        if m is None:
            merged[r] = list(b)
        else:
            m[0], m[1], m[2], m[3] = min(m[0], b[0]), min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3])
    return [tuple(b) for b in merged.values()]  # type: ignore[misc]


def component_boxes(hole: np.ndarray, block: int = 8) -> list[Box]:
    """Pixel bounding boxes ``(x0, y0, x1, y1)`` of the hole regions of ``hole`` (``bool (H, W)``).

    Regions are 8-connected on a grid of ``block x block`` cells (so holes closer than about one block
    count as one region); each box is then tightened to the hole pixels it contains.
    """
    h, w = hole.shape
    gh, gw = -(-h // block), -(-w // block)
    if gh * block != h or gw * block != w:
        padded = np.zeros((gh * block, gw * block), bool)
        padded[:h, :w] = hole
    else:
        padded = hole
    grid = padded.reshape(gh, block, gw, block).any(axis=(1, 3))
    out = []
    for gx0, gy0, gx1, gy1 in _label_boxes(grid):
        x0, y0, x1, y1 = gx0 * block, gy0 * block, min(gx1 * block, w), min(gy1 * block, h)
        sub = hole[y0:y1, x0:x1]
        ys = np.flatnonzero(sub.any(axis=1))
        xs = np.flatnonzero(sub.any(axis=0))
        out.append((x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1))
    return out


def expand_box(box: Box, shape: tuple[int, int], min_margin: int = 32, margin_ratio: float = 0.5) -> Box:
    """``box`` grown by ``max(min_margin, margin_ratio * max(width, height))`` on every side, clipped to ``shape`` (H, W)."""
    x0, y0, x1, y1 = box
    m = int(math.ceil(max(min_margin, margin_ratio * max(x1 - x0, y1 - y0))))
    h, w = shape
    return (max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m))


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass(frozen=True)
class Crop:
    """One unit of network work: ``box`` is the crop rectangle, ``hole_box`` the union of its holes' bounding boxes."""

    box: Box
    hole_box: Box


def plan_crops(hole: np.ndarray, min_margin: int = 32, margin_ratio: float = 0.5, block: int = 8) -> list[Crop]:
    """Group the holes of ``hole`` (``bool (H, W)``) into crops (see the module docstring), top-left first."""
    shape = hole.shape
    groups = [(b, expand_box(b, shape, min_margin, margin_ratio)) for b in component_boxes(hole, block)]
    changed = True
    while changed:
        changed = False
        out: list[tuple[Box, Box]] = []
        for hb, eb in groups:
            for i, (ohb, oeb) in enumerate(out):
                if _overlap(eb, oeb):
                    u = (min(hb[0], ohb[0]), min(hb[1], ohb[1]), max(hb[2], ohb[2]), max(hb[3], ohb[3]))
                    out[i] = (u, expand_box(u, shape, min_margin, margin_ratio))
                    changed = True
                    break
            else:
                out.append((hb, eb))
        groups = out
    groups.sort(key=lambda g: (g[1][1], g[1][0]))
    return [Crop(box=eb, hole_box=hb) for hb, eb in groups]


def working_size(h: int, w: int, max_side: int, multiple: int = SIZE_MULTIPLE) -> tuple[int, int, int, int]:
    """Network size of an ``h x w`` crop: ``(sh, sw, ph, pw)`` = scaled size (longest side at most
    ``max_side``, aspect kept, never upscaled) and that size padded up to a multiple of ``multiple``."""
    scale = min(1.0, max_side / max(h, w))
    sh, sw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    return sh, sw, -(-sh // multiple) * multiple, -(-sw // multiple) * multiple


def hole_radius(hole: np.ndarray, limit: int | None = None) -> int:
    """Largest chessboard distance from a hole pixel to the nearest kept pixel (0 for no hole; the image
    border does not count as kept), i.e. the number of 3x3 erosions that empty the hole; stops at ``limit``
    (default: the array's longest side).

    A hole covering the whole array has no kept pixel to measure from, so erosion never empties it: its
    radius is ``limit`` (returned at once, never looping).
    """
    if limit is None:
        limit = max(hole.shape, default=0)
    if hole.size and hole.all():
        return limit
    r = 0
    inner = hole
    while inner.any() and r < limit:  # every erosion removes at least the hole pixels next to a kept one
        inner = _erode(inner)
        r += 1
    return r


def _erode(a: np.ndarray) -> np.ndarray:
    """3x3 binary erosion; pixels beyond the border count as inside (the image edge is no seam)."""
    p = np.pad(a, 1, mode="edge")
    out = a.copy()
    h, w = a.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            out &= p[dy:dy + h, dx:dx + w]
    return out


def feather_weights(hole: np.ndarray, feather: float = 1.5, mask: np.ndarray | None = None) -> np.ndarray:
    """Paste weights ``float32 (H, W)``: 0 outside the hole, ``min(1, d / feather)`` inside, where ``d`` >= 1
    is the chessboard distance to the nearest kept pixel (1 on the hole's outer ring); ``feather <= 1``
    gives 1 everywhere in the hole. With ``mask`` (the ``uint8`` request mask), soft brush-edge values
    scale the weight further by ``(mask - 127) / 128`` (255 -> 1), so a soft brush edge blends softly."""
    weight = hole.astype(np.float32)
    if feather > 1.0:
        inner = hole
        for d in range(1, int(math.ceil(feather))):
            eroded = _erode(inner)
            ring = inner & ~eroded
            weight[ring] = min(1.0, d / feather)
            inner = eroded
            if not inner.any():
                break
    if mask is not None:
        soft = hole & (mask < 255)
        if soft.any():
            weight[soft] *= (mask[soft].astype(np.float32) - MASK_THRESHOLD) / (255.0 - MASK_THRESHOLD)
    return weight


def paste(out: np.ndarray, box: Box, fill: np.ndarray, weight: np.ndarray) -> None:
    """Blend ``fill`` (``float32 (h, w, 3)`` in 0..255) into ``out[box]`` where ``weight > 0`` only.

    Pixels with weight 0 are not written at all, so they stay bit-exact.
    """
    x0, y0, x1, y1 = box
    region = out[y0:y1, x0:x1]
    sel = weight > 0
    wv = weight[sel][:, None]
    blended = wv * fill[sel] + (1.0 - wv) * region[sel].astype(np.float32)
    region[sel] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def masked_downscale(x: "torch.Tensor", hole: "torch.Tensor", factor: int) -> "tuple[torch.Tensor, torch.Tensor]":
    """Box-downscale ``x`` ``(N, C, H, W)`` by the integer ``factor`` averaging only known pixels.

    ``hole`` is ``(N, 1, H, W)`` float, 1 = hole. Both are replicate-padded to multiples of ``factor``.
    Returns ``(x_low, hole_low)`` of size ``ceil(H / factor) x ceil(W / factor)``: each cell is the mean of
    its known pixels (0 if it has none) and is a hole (1.0) when *any* of its pixels is, so the content
    under the hole never bleeds into the context the network sees (no see-through ring).
    ``factor == 1`` returns the inputs.
    """
    import torch.nn.functional as F

    if factor == 1:
        return x, hole
    h, w = x.shape[-2:]
    pad = (0, -(-w // factor) * factor - w, 0, -(-h // factor) * factor - h)
    if any(pad):
        x = F.pad(x, pad, mode="replicate")
        hole = F.pad(hole, pad, mode="replicate")
    known = 1.0 - hole
    num = F.avg_pool2d(x * known, factor)
    den = F.avg_pool2d(known, factor)
    return num / den.clamp_min(1e-6), F.max_pool2d(hole, factor)


def edge_ramp(hole: np.ndarray, ramp: float, factor: int = 1) -> "torch.Tensor":
    """``float32 (1, 1, H, W)`` tensor: ``min(1, d / ramp)`` inside the hole, 0 outside, where ``d`` is the
    Euclidean distance in pixels to the nearest kept pixel (1 on the hole's outer ring).

    ``hole`` is ``bool (H, W)``. With ``factor > 1`` the distance is computed on a ``factor``-times coarser
    grid (any hole pixel makes a cell hole) and upsampled, so large crops stay cheap. A hole without any
    kept pixel gets 1 everywhere.
    """
    import torch
    import torch.nn.functional as F

    from ganpaint.nets.patchmatch import edge_distance

    h, w = hole.shape
    if not (~hole).any():
        return torch.from_numpy(hole.astype(np.float32))[None, None]
    if factor > 1:
        gh, gw = -(-h // factor), -(-w // factor)
        padded = np.zeros((gh * factor, gw * factor), bool)
        padded[:h, :w] = hole
        coarse = padded.reshape(gh, factor, gw, factor).any(axis=(1, 3))
        dist = torch.from_numpy(edge_distance(coarse) * factor)[None, None]
        dist = F.interpolate(dist, scale_factor=float(factor), mode="bilinear", align_corners=False)[..., :h, :w]
    else:
        dist = torch.from_numpy(edge_distance(hole))[None, None]
    return (dist / float(ramp)).clamp_(max=1.0) * torch.from_numpy(hole.astype(np.float32))[None, None]


# --------------------------------------------------------------------------------------- engine

_GENERATOR_KEYS = ("base_channels", "channel_mult", "dilations", "refine_blocks", "separable", "activation",
                   "residual", "skips", "ffc_blocks", "upsample", "prefill", "output")


class InpaintEngine(Engine):
    """Serves ``InpaintRequest`` with an :class:`~ganpaint.nets.gated_conv.InpaintGenerator`.

    Model-card ``config`` keys: the generator's constructor arguments (``base_channels``, ...) plus
    optional engine settings ``min_margin`` (32), ``margin_ratio`` (0.5), ``feather`` (1.0 px: a hard
    paste; more blends the hole's outer pixels with what lies under the hole),
    ``work_size`` (longest network side; default ``card.resolution``), ``max_hole_radius`` (0 = off:
    crops whose hole is thicker than this many network pixels in inner radius are processed at a lower
    scale, so the network never sees holes much wider than in training) and ``detail`` (0 = off: strength
    of the full-resolution contextual residual aggregation for crops larger than the working size) and
    ``native_detail`` (0 = off: for crops filled at full resolution, strength of the same aggregation
    replacing the finest ``native_octaves`` (1) octaves of the network's fill by the photo's own, copied
    from the context), ``detail_ramp`` (0 = off: the copied detail fades in over this many pixels from the
    hole's edge, see :func:`edge_ramp`, so thin scratches stay smooth and accurate), ``detail_cells`` (64:
    the aggregation's grid, cells along the crop's longer side; fewer cells copy larger, more coherent
    patches with fewer seams), ``flip_average``
    (False: True averages the fill with the mirrored image's, twice the network time) and
    ``texture`` (0 = off: strength of the network-guided PatchMatch synthesis that replaces the fill's
    high band by the photo's own texture, :func:`ganpaint.nets.patchmatch.texture_fill`; 1 gives the hole the
    gradient energy of the ring around it), ``texture_max_pixels`` (4 000 000: larger boxes are textured
    on a copy reduced to fit and the added texture upsampled, bounding time and memory; 0 = stage off),
    ``texture_context`` (160 px: the synthesis works on the
    holes' bounding box grown by this much, at most the crop; its size is what ``texture_max_pixels``
    bounds), ``texture_targets`` (16 000: the synthesis matches at most about this many patches, copying
    larger blocks in larger holes) and ``texture_ramp`` (3 px: the copied texture fades in over this
    distance from the hole's edge),
    ``soft_blend`` (False: every hole pixel gets the fill at full weight; True: soft brush-edge mask
    values blend the fill with the pixel under the hole, which lets the removed object show through as a
    ring along the stroke's soft edge).
    """

    task = "inpaint"
    architectures = ("gated-conv-inpaint",)
    supports_half = True
    config_limits = {"base_channels": (1, 128), "channel_mult": (1, 16), "dilations": (1, 64),
                     "refine_blocks": (0, 16), "min_margin": (0, 4096), "margin_ratio": (0, 8), "feather": (0, 64),
                     "work_size": (8, 4096), "max_hole_radius": (0, 4096), "ffc_blocks": (0, 16),
                     "detail": (0, 4), "native_detail": (0, 4), "native_octaves": (1, 8), "detail_ramp": (0, 4096),
                     "detail_cells": (4, 256), "texture": (0, 4), "texture_max_pixels": (0, 64_000_000),
                     "texture_targets": (1000, 1_000_000), "texture_ramp": (0, 64),
                     "texture_context": (8, 4096)}

    def __init__(self, card) -> None:
        super().__init__(card)
        self.net = None
        self.last_crops: list[Crop] = []  # crops of the latest run (for the status bar and tests)
        cfg = dict(card.config or {})
        self.min_margin = int(cfg.get("min_margin", 32))
        self.margin_ratio = float(cfg.get("margin_ratio", 0.5))
        self.feather = float(cfg.get("feather", 1.0))
        self.work_size = int(cfg.get("work_size", card.resolution))
        self.max_hole_radius = int(cfg.get("max_hole_radius", 0) or 0)
        self.detail = float(cfg.get("detail", 0.0) or 0.0)
        self.native_detail = float(cfg.get("native_detail", 0.0) or 0.0)
        self.native_octaves = max(1, int(cfg.get("native_octaves", 1)))
        self.detail_ramp = float(cfg.get("detail_ramp", 0.0) or 0.0)
        self.detail_cells = int(cfg.get("detail_cells", 64))
        self.flip_average = bool(cfg.get("flip_average", False))
        self.soft_blend = bool(cfg.get("soft_blend", False))
        self.texture = float(cfg.get("texture", 0.0) or 0.0)
        self.texture_max_pixels = int(cfg.get("texture_max_pixels", 4_000_000))
        self.texture_targets = int(cfg.get("texture_targets", 16_000))
        self.texture_ramp = float(cfg.get("texture_ramp", 3.0))
        self.texture_context = int(cfg.get("texture_context", 160))

    def load(self, device: "torch.device", half: bool = False) -> None:
        import torch

        from ganpaint.engines.registry import load_frozen_network, load_state_dict
        from ganpaint.nets.gated_conv import InpaintGenerator

        device = torch.device(device)
        if self.net is None:
            state = load_state_dict(self.card)  # sha256-verified before any network is built
            cfg = {k: v for k, v in (self.card.config or {}).items() if k in _GENERATOR_KEYS}
            try:
                net = InpaintGenerator(**cfg)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"model card '{self.card.card_path}' has an invalid generator config ({exc})") from exc
            self.net = load_frozen_network(net, self.card, state)
        half = bool(half) and device.type == "cuda"
        self.net = self.net.to(device=device, dtype=torch.float16 if half else torch.float32)
        self.device = device
        self.half = half

    # ------------------------------------------------------------------------------------------

    def _factor(self, h: int, w: int, hole: np.ndarray) -> int:
        """Integer downscaling factor of an ``h x w`` crop: the smallest that brings its longest side to at
        most the working size (and, with ``max_hole_radius``, the hole's inner radius to at most that many
        network pixels, measured on a <= 128 px version of the hole to stay cheap)."""
        max_side = self.work_size
        if self.max_hole_radius > 0:
            probe = max(1, int(math.ceil(max(h, w) / 128)))
            coarse = hole
            if probe > 1:
                ch_, cw_ = h // probe, w // probe
                coarse = hole[: ch_ * probe, : cw_ * probe].reshape(ch_, probe, cw_, probe).all(axis=(1, 3))
            radius = hole_radius(coarse, limit=256) * probe
            if radius > self.max_hole_radius:
                max_side = min(max_side, max(SIZE_MULTIPLE, int(max(h, w) * self.max_hole_radius / radius)))
        return max(1, int(math.ceil(max(h, w) / max_side)))

    def _fill_crop(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """Fill of one crop: ``uint8 (h, w, 3)`` + ``bool (h, w)`` -> ``float32 (h, w, 3)`` in 0..255.

        The crop is box-downscaled by the integer :meth:`_factor` *from its known pixels only* (a hole pixel
        never leaks into a context cell; a cell with any hole pixel is hole), padded to a multiple of 8 and
        filled by the network; the known cells are put back (the network's output counts only in the
        hole) and the result is upsampled bicubically. With ``detail > 0`` and a factor of 2 or more, the
        photo's own full-resolution detail is aggregated into the hole
        (:func:`ganpaint.nets.cra.contextual_residual_aggregation`), scaled by ``detail``.
        """
        import torch
        import torch.nn.functional as F

        from ganpaint.nets.cra import contextual_residual_aggregation, upsample

        h, w = hole.shape
        f = self._factor(h, w, hole)
        dtype = torch.float16 if self.half else torch.float32
        with torch.inference_mode():
            x = torch.from_numpy(np.array(image, copy=True)).to(self.device).permute(2, 0, 1)[None].float()
            x = x.div_(127.5).sub_(1.0)
            m = torch.from_numpy(np.array(hole, copy=True)).to(self.device)[None, None].float()
            x_low, m_low = masked_downscale(x, m, f)
            sh, sw = x_low.shape[-2:]
            ph, pw = -(-sh // SIZE_MULTIPLE) * SIZE_MULTIPLE, -(-sw // SIZE_MULTIPLE) * SIZE_MULTIPLE
            xi, mi = x_low, m_low
            if (ph, pw) != (sh, sw):
                mode = "reflect" if (ph - sh) < sh and (pw - sw) < sw else "replicate"
                xi = F.pad(xi, (0, pw - sw, 0, ph - sh), mode=mode)
                mi = F.pad(mi, (0, pw - sw, 0, ph - sh), mode=mode)
            xi, mi = (xi * (1.0 - mi)).to(dtype), mi.to(dtype)
            y = self.net(xi, mi).float()
            if self.flip_average:  # test-time augmentation: the mean of the fill and of the mirrored fill
                y = 0.5 * (y + self.net(xi.flip(-1), mi.flip(-1)).float().flip(-1))
            y = y[:, :, :sh, :sw].clamp_(-1.0, 1.0)
            coarse = torch.where(m_low > 0, y, x_low)
            if f == 1 and self.native_detail > 0:
                # the network's finest octaves are replaced by the photo's own, copied from the context
                f = 2 ** self.native_octaves
                coarse = F.avg_pool2d(F.pad(coarse, (0, -w % f, 0, -h % f), mode="replicate"), f)
                strength = self.native_detail
            else:
                strength = self.detail
            fill = upsample(coarse, f, (h, w))
            if strength > 0 and f > 1:
                detail = contextual_residual_aggregation(x, m, coarse, f, grid=self.detail_cells)
                if self.detail_ramp > 0:  # near the edge the fill is known well: less invented texture
                    detail = detail * edge_ramp(hole, self.detail_ramp, f).to(detail)
                fill = fill + strength * detail
            fill = fill.clamp_(-1.0, 1.0).add_(1.0).mul_(127.5)
            return fill[0].permute(1, 2, 0).cpu().numpy()

    def _texture_box(self, crop: Crop) -> Box | None:
        """Where the texture stage works for ``crop``: its holes' box grown by ``texture_context`` pixels
        and clipped to the crop (image coordinates); None when ``texture_max_pixels`` is 0 (stage off)."""
        if self.texture_max_pixels <= 0:
            return None
        x0, y0, x1, y1 = crop.box
        hx0, hy0, hx1, hy1 = crop.hole_box
        c = self.texture_context
        return (max(hx0 - c, x0), max(hy0 - c, y0), min(hx1 + c, x1), min(hy1 + c, y1))

    def _texture_factor(self, h: int, w: int) -> int:
        """Integer scale the texture stage works at for an ``h x w`` box: 1 (full resolution) when it has at
        most ``texture_max_pixels`` pixels, else the smallest factor whose reduced box fits."""
        return max(1, int(math.ceil(math.sqrt(h * w / max(self.texture_max_pixels, 1)) - 1e-9)))

    def _texture_crop(self, image: np.ndarray, hole: np.ndarray, fill: np.ndarray,
                      cancel: "CancelToken | None" = None) -> np.ndarray:
        """The network's ``fill`` (``float32 (h, w, 3)`` in 0..255) with the photo's own texture in its high
        band (:func:`ganpaint.nets.patchmatch.texture_fill`, strength ``texture``); same type and range.

        Runs on the CPU whatever the engine's device (the fill is already a numpy array). The block side
        (stride) grows with the hole so that at most about ``texture_targets`` patches are matched, which
        bounds the time for any hole size (see ``ganpaint bench``). ``cancel`` is checked between
        PatchMatch steps (raises ``Cancelled``).

        A box of more than ``texture_max_pixels`` pixels (a hole of thousands of pixels in a 12 MP photo)
        is synthesised on a copy reduced by :meth:`_texture_factor` (:func:`masked_downscale`: the pixels
        under the hole never reach the context) and the texture it adds to the reduced fill is upsampled
        (bicubic) onto the full-resolution fill: grain at that scale instead of the network's soft fill,
        with time and memory bounded like a ``texture_max_pixels`` box."""
        import torch

        from ganpaint.nets.cra import upsample
        from ganpaint.nets.patchmatch import block_stride, texture_fill

        h, w = hole.shape
        f = self._texture_factor(h, w)
        with torch.inference_mode():
            x = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
            y = torch.from_numpy(np.array(fill, dtype=np.float32)).permute(2, 0, 1).div_(127.5).sub_(1.0)
            m = torch.from_numpy(np.array(hole, copy=True))
            if f > 1:
                x, m_low = masked_downscale(x[None], m[None, None].float(), f)
                x, m = x[0], m_low[0, 0] > 0
                y_full, y = y, masked_downscale(y[None], torch.zeros(1, 1, h, w), f)[0][0]
            stride = block_stride(int(m.sum()), self.texture_targets)
            # 25 compared pixels per patch: a dense 5 px patch for small holes, sparser wider ones for large ones
            patch = 5 if stride == 1 else max(9, 2 * stride - 1) | 1
            patch_stride = 1 if stride == 1 else patch // 4
            out = texture_fill(x, m, y, self.texture, ramp=self.texture_ramp / f, stride=stride, patch=patch,
                               patch_stride=patch_stride, check=cancel.raise_if_cancelled if cancel is not None else None)
            if f > 1:  # the reduced fill's added texture, upsampled onto the full-resolution fill
                del x
                out = y_full.add_(upsample(out.sub_(y).mul_(m)[None], f, (h, w))[0]).clamp_(-1.0, 1.0)
            return out.add_(1.0).mul_(127.5).permute(1, 2, 0).numpy()

    def run(self, request: "InpaintRequest", cancel: "CancelToken", progress: ProgressCallback) -> np.ndarray:
        """Fill ``request.mask > 127`` in ``request.image``; returns a new ``uint8 (H, W, 3)`` (see the module docstring).

        Raises:
            Cancelled: ``cancel`` was set (checked before and after each crop).
            EngineError: not loaded, image/mask of the wrong type or size, or a mask covering every pixel
                (no context to fill from).
        """
        if self.net is None:
            raise EngineError("the inpainting engine was used before its model was loaded")
        image, mask = request.image, request.mask
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise EngineError("the image to inpaint must be an RGB uint8 (H, W, 3) array")
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.shape != image.shape[:2]:
            raise EngineError(f"the mask must be a (H, W) array of the image's size {image.shape[1]}x{image.shape[0]}")
        cancel.raise_if_cancelled()
        hole = hole_map(mask)
        if hole.all():
            raise EngineError("the mask covers the whole picture, so nothing is left to fill it from; "
                              "unmask part of the photo")
        out = np.array(image, copy=True, order="C")
        crops = plan_crops(hole, self.min_margin, self.margin_ratio) if hole.any() else []
        self.last_crops = crops
        for i, crop in enumerate(crops):
            cancel.raise_if_cancelled()
            x0, y0, x1, y1 = crop.box
            crop_hole = hole[y0:y1, x0:x1]
            fill = self._fill_crop(image[y0:y1, x0:x1], crop_hole)
            cancel.raise_if_cancelled()
            soft = mask[y0:y1, x0:x1] if self.soft_blend else None
            weights = feather_weights(crop_hole, self.feather, soft)
            box = self._texture_box(crop) if self.texture > 0 and request.texture else None
            if box is not None:
                # show the network's fill at once, then the same fill with the photo's texture
                paste(out, crop.box, fill, weights)
                progress((i + 0.5) / len(crops), out)
                sx0, sy0, sx1, sy1 = box
                sub = (slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0))
                fill[sub] = self._texture_crop(image[sy0:sy1, sx0:sx1], crop_hole[sub], fill[sub], cancel)
                cancel.raise_if_cancelled()
            paste(out, crop.box, fill, weights)
            # stream the picture with the crops done so far while more remain (the worker copies it)
            progress((i + 1) / len(crops), out if i + 1 < len(crops) else None)
        if not crops:
            progress(1.0, None)
        return out


def inpaint_array(engine: InpaintEngine, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """Convenience for scripts and evaluation: run ``engine`` on arrays without a worker."""
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import InpaintRequest

    request = InpaintRequest.snapshot(0, image, mask, engine.card.name, seed)
    return engine.run(request, CancelToken(), lambda f, p: None)


__all__: Sequence[str] = (
    "Crop", "InpaintEngine", "component_boxes", "expand_box", "feather_weights", "hole_map", "inpaint_array",
    "paste", "plan_crops", "working_size",
)
