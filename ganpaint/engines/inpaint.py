"""Inpainting engine: fills the holes of a photo of any size with the gated-convolution generator.

Pipeline of :meth:`InpaintEngine.run`:

1. holes are the mask pixels ``> 127``; no hole -> the image is returned unchanged (a copy);
2. holes are grouped into crops (:func:`plan_crops`): 8-connected hole regions (found on an 8x8-block
   grid, so a 12-megapixel mask is scanned in milliseconds) get a context margin of
   ``max(min_margin, margin_ratio * max(bbox width, bbox height))`` pixels on every side, and regions
   whose expanded boxes overlap are merged until none do; each crop is the expanded box clipped to the
   image, so no crop contains another crop's holes;
3. each crop is, if larger than the model's working resolution (``card.resolution``, longest side),
   downscaled with antialiasing keeping its aspect ratio, reflect-padded to a multiple of 8 and run
   through the network; a working-resolution pixel counts as hole if any source pixel under it is;
4. the fill is upsampled back (bicubic) to the crop size and pasted **only inside the hole** with a
   feathered weight (:func:`feather_weights`: 0 outside the hole, ramping to 1 over ``feather`` pixels
   inside it), so every pixel outside the mask is bit-exactly the input pixel.

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


# --------------------------------------------------------------------------------------- engine

_GENERATOR_KEYS = ("base_channels", "channel_mult", "dilations", "refine_blocks", "separable", "activation",
                   "residual", "skips")


class InpaintEngine(Engine):
    """Serves ``InpaintRequest`` with an :class:`~ganpaint.nets.gated_conv.InpaintGenerator`.

    Model-card ``config`` keys: the generator's constructor arguments (``base_channels``, ...) plus
    optional engine settings ``min_margin`` (32), ``margin_ratio`` (0.5), ``feather`` (1.5 px),
    ``work_size`` (longest network side; default ``card.resolution``) and ``max_hole_radius`` (0 = off:
    crops whose hole is thicker than this many network pixels in inner radius are processed at a lower
    scale, so the network never sees holes much wider than in training).
    """

    task = "inpaint"
    architectures = ("gated-conv-inpaint",)
    supports_half = True
    config_limits = {"base_channels": (1, 128), "channel_mult": (1, 16), "dilations": (1, 64),
                     "refine_blocks": (0, 16), "min_margin": (0, 4096), "margin_ratio": (0, 8), "feather": (0, 64),
                     "work_size": (8, 4096), "max_hole_radius": (0, 4096)}

    def __init__(self, card) -> None:
        super().__init__(card)
        self.net = None
        self.last_crops: list[Crop] = []  # crops of the latest run (for the status bar and tests)
        cfg = dict(card.config or {})
        self.min_margin = int(cfg.get("min_margin", 32))
        self.margin_ratio = float(cfg.get("margin_ratio", 0.5))
        self.feather = float(cfg.get("feather", 1.5))
        self.work_size = int(cfg.get("work_size", card.resolution))
        self.max_hole_radius = int(cfg.get("max_hole_radius", 0) or 0)

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

    def _fill_crop(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """Network fill of one crop: ``uint8 (h, w, 3)`` + ``bool (h, w)`` -> ``float32 (h, w, 3)`` in 0..255."""
        import torch
        import torch.nn.functional as F

        h, w = hole.shape
        max_side = self.work_size
        if self.max_hole_radius > 0:
            # Holes much wider than those seen in training are filled at a coarser scale: shrink the crop so
            # the hole's inner radius is at most max_hole_radius network pixels (measured on a <= 128 px
            # version of the hole to stay cheap).
            probe = max(1, int(math.ceil(max(h, w) / 128)))
            coarse = hole[: h - h % probe or h, : w - w % probe or w]
            if probe > 1:
                ch_, cw_ = coarse.shape[0] // probe, coarse.shape[1] // probe
                coarse = coarse[: ch_ * probe, : cw_ * probe].reshape(ch_, probe, cw_, probe).all(axis=(1, 3))
            radius = hole_radius(coarse) * probe
            if radius > self.max_hole_radius:
                max_side = min(max_side, max(SIZE_MULTIPLE, int(max(h, w) * self.max_hole_radius / radius)))
        sh, sw, ph, pw = working_size(h, w, max_side)
        dtype = torch.float16 if self.half else torch.float32
        with torch.inference_mode():
            x = torch.from_numpy(np.array(image, copy=True)).to(self.device).permute(2, 0, 1)[None].float()
            m = torch.from_numpy(np.array(hole, copy=True)).to(self.device)[None, None].float()
            if (sh, sw) != (h, w):
                x = F.interpolate(x, size=(sh, sw), mode="bilinear", align_corners=False, antialias=True)
                m = (F.adaptive_max_pool2d(m, (sh, sw)) > 0).float()  # any hole pixel under a cell -> hole
            x = x.div_(127.5).sub_(1.0)
            if (ph, pw) != (sh, sw):
                mode = "reflect" if (ph - sh) < sh and (pw - sw) < sw else "replicate"
                x = F.pad(x, (0, pw - sw, 0, ph - sh), mode=mode)
                m = F.pad(m, (0, pw - sw, 0, ph - sh), mode=mode)
            x = x * (1.0 - m)
            y = self.net(x.to(dtype), m.to(dtype)).float()[:, :, :sh, :sw]
            if (sh, sw) != (h, w):
                y = F.interpolate(y, size=(h, w), mode="bicubic", align_corners=False)
            y = y.clamp_(-1.0, 1.0).add_(1.0).mul_(127.5)
            return y[0].permute(1, 2, 0).cpu().numpy()

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
            paste(out, crop.box, fill, feather_weights(crop_hole, self.feather, mask[y0:y1, x0:x1]))
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
