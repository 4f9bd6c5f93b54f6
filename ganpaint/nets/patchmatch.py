"""Network-guided PatchMatch synthesis: the photo's own texture, placed where the network's fill says.

A fill network restores a hole's colours and coarse structure, but its fine detail is soft (regression
to the mean). Exemplar-based fills (PatchMatch, Barnes, Shechtman, Finkelstein, Goldman, SIGGRAPH 2009;
Wexler, Shechtman, Irani, "Space-Time Completion of Video", PAMI 2007; content-aware fill) copy real
texture but put it in the wrong places. Here each does what it is good at:

1. the composite ``C`` (the photo outside the hole, the network's fill inside) is split into a low band
   ``L = G_sigma * C`` and a high band ``C - L``;
2. a nearest-neighbour field (NNF) maps every patch touching the hole to a source patch lying wholly in
   the known photo, far enough from the hole that its bands never saw the fill. The patch distance
   compares the guide (``G_guide_sigma * C``: the network's fill at a scale it gets right) on every
   pixel, plus the high band on known pixels (the texture continues across the hole's edge) and, after
   the first EM pass, on the hole's pixels synthesised so far (Wexler's coherence);
3. the NNF is found by PatchMatch, all targets at once: parallel propagation at jump-flood steps and
   random search at halving radii. With ``stride`` > 1 only every ``stride``-th target is matched and
   each copies a ``stride x stride`` block (4x faster at stride 2, seams 2 px apart hidden in the grain);
4. each hole pixel takes the (luma) high band of the source pixel its block maps to, verbatim: no
   averaging of overlapping patches, which would blur the copy back towards the soft fill. Large blocks
   (``stride`` >= ``blend_from``, as in holes of thousands of pixels) would show their seams as a grid:
   there the copies of the four blocks around a pixel are blended so that the grain keeps its contrast;
5. :func:`texture_fill` adds that detail to the network's low band, faded in from the hole's edge, scaled
   so the hole has the gradient energy of the known ring around it times ``strength``, and softly limited
   to a few times the ring's typical grain (a copied edge does not speckle). The network decides *what*
   is there, the photo *how it looks*, and the hole's low band (hence most of its PSNR) stays the network's.

Images are float ``(3, H, W)`` in ``[-1, 1]``, holes bool ``(H, W)`` (True = hole); the cost is
``O(targets x patch offsets x iterations)``: about 0.1 s for a 40 % hole in a 256 px crop at stride 2 on
two CPU cores (``ganpaint bench``).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.lab import LUMA_WEIGHTS

_LUMA = torch.tensor(LUMA_WEIGHTS)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of float32 ``(C, H, W)`` (CPU) with replicated borders, kernel ``2 ceil(3 sigma) + 1``
    wide (OpenCV's separable filter: about 30x faster than a grouped convolution on the CPU)."""
    import cv2

    if sigma <= 0:
        return x.clone()
    k = 2 * int(math.ceil(3 * sigma)) + 1
    planes = [cv2.GaussianBlur(np.ascontiguousarray(c), (k, k), sigma, borderType=cv2.BORDER_REPLICATE)
              for c in x.detach().cpu().numpy().astype(np.float32, copy=False)]
    return torch.from_numpy(np.stack(planes)).to(x)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of bool ``(H, W)`` by a ``(2 radius + 1)`` square (OpenCV)."""
    import cv2

    if radius <= 0:
        return mask.clone()
    m = np.ascontiguousarray(mask.cpu().numpy().astype(np.uint8))
    return torch.from_numpy(cv2.dilate(m, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0)


def edge_distance(hole: np.ndarray) -> np.ndarray:
    """``float32 (H, W)``: exact Euclidean distance in pixels from each hole pixel (``bool (H, W)``, True =
    hole) to the nearest kept pixel, 0 on kept pixels; the image border is not an edge (OpenCV's precise
    distance transform, the same values as ``scipy.ndimage.distance_transform_edt`` and several times faster).
    A hole without any kept pixel gets large values."""
    import cv2

    padded = np.pad(np.asarray(hole, np.uint8), 1, constant_values=1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


class _Field:
    """PatchMatch state: target lattice, patch offsets, planes to compare, and the current NNF."""

    def __init__(self, planes: torch.Tensor, src_ok: torch.Tensor, targets: torch.Tensor, r: int, patch_stride: int,
                 generator: torch.Generator) -> None:
        c, H, W = planes.shape
        self.H, self.W, self.r = H, W, r
        self.Wp = W + 2 * r
        self.planes = F.pad(planes[None], (r, r, r, r), mode="replicate")[0].reshape(c, -1).T.contiguous()
        span = torch.arange(-r, r + 1, max(1, patch_stride))
        dy, dx = torch.meshgrid(span, span, indexing="ij")
        self.offs = (dy * self.Wp + dx).flatten()
        self.src_ok = src_ok
        self.ty, self.tx = targets.nonzero(as_tuple=True)
        self.grid = torch.full((H, W), -1, dtype=torch.long)
        self.grid[self.ty, self.tx] = torch.arange(self.ty.numel())
        sy, sx = src_ok.nonzero(as_tuple=True)
        pick = torch.randint(0, sy.numel(), (self.ty.numel(),), generator=generator)
        self.y, self.x = sy[pick].clone(), sx[pick].clone()
        self.gen = generator

    def patches(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Plane values of the patches centred at ``(y, x)``: ``(n, offsets, C)``."""
        flat = (y + self.r) * self.Wp + (x + self.r)
        return self.planes[flat[:, None] + self.offs[None, :]]

    def valid(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ok = (y >= 0) & (y < self.H) & (x >= 0) & (x < self.W)
        return ok & self.src_ok[y.clamp(0, self.H - 1), x.clamp(0, self.W - 1)]

    def search(self, target: torch.Tensor, weight: torch.Tensor, iters: int, stride: int,
               check: Callable[[], None] | None = None) -> None:
        """PatchMatch on ``target`` ``(M, offsets, C)`` with per-value ``weight`` (broadcastable to it);
        ``check`` is called before each propagation step (it may raise to abandon the search)."""
        def cost(sel, y, x):
            d = (target[sel] - self.patches(y, x)).pow_(2).mul_(weight[sel])
            return d.sum(dim=(1, 2))

        def consider(y, x, ok):
            n_ok = int(ok.sum())
            if n_ok == 0:
                return
            if n_ok > 0.6 * ok.numel():  # mostly valid: one pass over all (no gathers of the selection)
                c = cost(slice(None), y.clamp(0, self.H - 1), x.clamp(0, self.W - 1)).masked_fill_(~ok, float("inf"))
            else:
                c = torch.full_like(self.best, float("inf"))
                c[ok] = cost(ok, y[ok], x[ok])
            better = c < self.best
            self.y = torch.where(better, y, self.y)
            self.x = torch.where(better, x, self.x)
            self.best = torch.where(better, c, self.best)

        M = self.ty.numel()
        self.best = cost(slice(None), self.y, self.x)
        top = min(4, int(math.log2(max(self.H, self.W) / stride))) if max(self.H, self.W) > stride else 0
        for it in range(iters):
            for k in (range(top, -1, -1) if it == 0 else range(min(top, 3), -1, -1)):
                if check is not None:
                    check()
                s = stride * 2 ** k
                for ddy, ddx in ((s, 0), (-s, 0), (0, s), (0, -s)):
                    ny, nx = self.ty + ddy, self.tx + ddx
                    inside = (ny >= 0) & (ny < self.H) & (nx >= 0) & (nx < self.W)
                    nid = torch.where(inside, self.grid[ny.clamp(0, self.H - 1), nx.clamp(0, self.W - 1)],
                                      torch.full_like(ny, -1))
                    has = nid >= 0
                    cy = torch.where(has, self.y[nid.clamp(min=0)] - ddy, self.y)
                    cx = torch.where(has, self.x[nid.clamp(min=0)] - ddx, self.x)
                    consider(cy, cx, has & self.valid(cy, cx))
            radius = max(self.H, self.W)
            while radius >= 1:
                cy = self.y + torch.randint(-radius, radius + 1, (M,), generator=self.gen)
                cx = self.x + torch.randint(-radius, radius + 1, (M,), generator=self.gen)
                consider(cy, cx, self.valid(cy, cx))
                radius //= 2


@torch.no_grad()
def guided_patch_detail(image: torch.Tensor, hole: torch.Tensor, fill: torch.Tensor, sigma: float = 1.25,
                        guide_sigma: float = 3.0, patch: int = 9, patch_stride: int = 2, stride: int = 2,
                        iters: int = 1, em_passes: int = 1, coherence: float = 1.0, luma: bool = True,
                        seed: int = 0, check: Callable[[], None] | None = None,
                        sources: torch.Tensor | None = None, blend_from: int = 4) -> torch.Tensor:
    """High band for the hole, copied from the photo along a network-guided PatchMatch NNF.

    Args:
        image: float ``(3, H, W)`` in ``[-1, 1]``: the photo crop (its hole pixels are never read).
        hole: bool ``(H, W)``, True = hole.
        fill: float ``(3, H, W)`` in ``[-1, 1]``: the network's fill (only its hole pixels are read).
        sigma: Gaussian sigma (pixels) splitting the low band (kept from the network) from the high band
            (copied from the photo).
        guide_sigma: Gaussian sigma (pixels) of the guide the network's fill is matched on.
        patch: patch side in pixels (odd); ``patch_stride``: compare every n-th pixel of it.
        stride: match every n-th target only, each copying an ``n x n`` block (``stride - 1 <= patch // 2``).
        iters: PatchMatch iterations per EM pass; ``em_passes``: passes (after the first, the synthesised
            high band joins the hole's distance, weighted by ``coherence``).
        luma: match and copy the high band of the luma only (grain is luminance; copied chroma detail shows
            as confetti), returning one channel; otherwise all three.
        seed: seed of the random initialisation and search (same inputs and seed, same detail).
        check: called every few milliseconds of work; an exception it raises (the engine's ``Cancelled``)
            abandons the synthesis, so a newer request does not wait for it.
        sources: optional bool ``(H, W)``: source patches are centred only where this is True (for example
            the photo's pixels of the class painted into the hole), on top of the distance from the hole.
        blend_from: from this ``stride`` on, neighbouring blocks' copies are blended (:func:`_copy_blocks`), so
            their seams do not draw a grid (0: never). Below it the seams hide in the grain, and verbatim
            copies keep a little more of it (30 held-out 256 px fills at stride 1-2, blended: 0.01-0.04 dB
            lower hole PSNR, higher VGG distance).

    Returns:
        float ``(1, H, W)`` (``luma``) or ``(3, H, W)``: the copied high band inside the hole, zero outside;
        all zero when the hole is empty or no source patch qualifies (a crop with too little context).

    Raises:
        ValueError: ``patch`` is even or smaller than 3, or ``stride`` is too large for it.
    """
    if patch < 3 or patch % 2 == 0:
        raise ValueError(f"patch must be an odd number >= 3, got {patch}")
    r = patch // 2
    if not 1 <= stride <= r + 1:
        raise ValueError(f"stride must be 1..{r + 1} for a {patch} px patch, got {stride}")
    _, H, W = image.shape
    hole = hole.to(torch.bool)
    comp = torch.where(hole[None], fill, image)
    guide = gaussian_blur(comp, guide_sigma)
    if luma:
        comp = (comp * _LUMA.to(comp).view(3, 1, 1)).sum(0, keepdim=True)
    high = comp - gaussian_blur(comp, sigma)
    ch = high.shape[0]
    detail = torch.zeros_like(high)
    margin = r + int(math.ceil(3 * max(sigma, guide_sigma)))
    src_ok = ~dilate(hole, margin)
    if sources is not None:
        src_ok &= sources.to(torch.bool)
    src_ok[:r], src_ok[H - r:], src_ok[:, :r], src_ok[:, W - r:] = False, False, False, False
    if not hole.any() or not src_ok.any():
        return detail
    lattice = torch.zeros_like(hole)
    lattice[::stride, ::stride] = True
    targets = dilate(hole, r) & lattice
    gen = torch.Generator().manual_seed(int(seed))
    known = (~hole).float()[None]
    field = _Field(torch.cat([guide, high * known]), src_ok, targets, r, patch_stride, gen)
    t_all = field.patches(field.ty, field.tx)  # (M, offsets, 3 + ch): guide, high band of the known pixels
    flat = (field.ty + r) * field.Wp + (field.tx + r)
    known_p = F.pad(known[None], (r, r, r, r), mode="replicate")[0].reshape(-1)
    w_known = known_p[flat[:, None] + field.offs[None, :]][..., None]  # (M, offsets, 1)
    pixels = hole.reshape(-1).nonzero().squeeze(1)  # flat indices of the hole pixels
    for em in range(max(1, em_passes)):
        w_high = w_known if em == 0 else w_known + coherence * (1.0 - w_known)
        target = t_all
        if em:
            cur = F.pad((high * known + detail)[None], (r, r, r, r), mode="replicate")[0].reshape(ch, -1).T
            target = torch.cat([target[..., :3], cur[flat[:, None] + field.offs[None, :]]], -1)
        weight = torch.cat([torch.ones_like(w_high).expand(-1, -1, 3), w_high.expand(-1, -1, ch)], -1)
        field.search(target, weight, iters, stride, check)
        detail = _copy_blocks(high, field, pixels, W, stride, blend=0 < blend_from <= stride)
    return detail


def _copy_blocks(high: torch.Tensor, field: "_Field", pixels: torch.Tensor, width: int, stride: int,
                 blend: bool = False, chunk: int = 1 << 20) -> torch.Tensor:
    """``(C, H, W)`` zeros but at the hole pixels ``pixels`` (flat indices, int64), which get ``high`` copied
    along the NNF (``field.y``/``field.x``). Works on ``chunk`` pixels at a time, so the index arrays of a
    multi-megapixel hole never exist at once.

    ``blend`` False: a pixel takes the source pixel at its offset from the lattice target whose
    ``stride x stride`` block holds it (hard seams every ``stride`` px). ``blend`` True (and ``stride`` > 1):
    it takes the copies of the (up to) four lattice targets around it, each at its own offset, with bilinear
    weights ``w``, divided by ``sqrt(sum w_i W_i)`` (``W_i``: the total weight of the copies reading the same
    source pixel as copy ``i``): uncorrelated copies keep the grain's contrast (variance-preserving blending,
    Heitz and Neyret, "High-Performance By-Example Noise using a Histogram-Preserving Blending Operator",
    HPG 2018) and coherent ones, which read the same pixel, are copied exactly; no seam shows between blocks.
    """
    detail = torch.zeros_like(high)
    H = high.shape[1]
    for part in pixels.split(chunk // 4 if blend else chunk):  # blending holds four copies' indices per pixel
        hy, hx = part // width, part % width
        by, bx = hy - hy % stride, hx - hx % stride  # the lattice target whose block holds the pixel
        if not blend or stride == 1:
            rows = field.grid[by, bx]
            detail[:, hy, hx] = high[:, field.y[rows] + (hy - by), field.x[rows] + (hx - bx)]
            continue
        fy, fx = (hy - by).to(high.dtype) / stride, (hx - bx).to(high.dtype) / stride
        corners = []  # (weight, source flat index) of the four lattice targets around each pixel
        for ty, tx, w in ((by, bx, (1 - fy) * (1 - fx)), (by + stride, bx, fy * (1 - fx)),
                          (by, bx + stride, (1 - fy) * fx), (by + stride, bx + stride, fy * fx)):
            inside = (ty < H) & (tx < width)
            rows = torch.where(inside, field.grid[ty.clamp(max=H - 1), tx.clamp(max=width - 1)], -1)
            rows_c = rows.clamp(min=0)
            sy, sx = field.y[rows_c] + (hy - ty), field.x[rows_c] + (hx - tx)
            ok = (rows >= 0) & (sy >= 0) & (sy < H) & (sx >= 0) & (sx < width)
            corners.append((torch.where(ok, w, 0.0), (sy.clamp(0, H - 1) * width + sx.clamp(0, width - 1))))
        total = sum(w for w, _ in corners).clamp_min(1e-6)
        corners = [(w / total, src) for w, src in corners]  # weights summing to 1 where any copy exists
        flat_high = high.reshape(high.shape[0], -1)
        acc = torch.zeros((high.shape[0], part.numel()), dtype=high.dtype)
        energy = torch.zeros(part.numel(), dtype=high.dtype)
        for w, src in corners:
            acc += w * flat_high[:, src]
            energy += w * sum(wj * (src == sj) for wj, sj in corners)  # w_i W_i
        detail[:, hy, hx] = acc / energy.clamp_min(1e-6).sqrt()
    return detail


def block_stride(pixels: int, targets: int, minimum: int = 1, maximum: int | None = None) -> int:
    """The ``stride`` for :func:`guided_patch_detail` that matches at most about ``targets`` patches for a
    hole of ``pixels`` pixels (larger holes copy larger blocks, bounding time and memory):
    ``ceil(sqrt(pixels / targets))``, clamped to ``minimum .. maximum``."""
    stride = max(minimum, int(math.ceil(math.sqrt(pixels / max(1, targets)))))
    return stride if maximum is None else min(maximum, stride)


def _grad_energy(x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of horizontally and vertically adjacent pixel pairs both in ``region``."""
    dx = (x[:, :, 1:] - x[:, :, :-1]).pow(2).sum(0)[region[:, 1:] & region[:, :-1]]
    dy = (x[:, 1:, :] - x[:, :-1, :]).pow(2).sum(0)[region[1:, :] & region[:-1, :]]
    n = dx.numel() + dy.numel()
    return (dx.sum() + dy.sum()) / max(n, 1)


def ring_gain(image: torch.Tensor, hole: torch.Tensor, low: torch.Tensor, detail: torch.Tensor, width: int = 12,
              limit: float = 2.5) -> float:
    """Scale ``g`` giving ``low + g * detail`` inside the hole the gradient energy of the photo in the
    known ring of ``width`` pixels around the hole (the detail's and the low band's energies add, their
    cross term averages out): ``g = sqrt(max(0, E_ring - E_low) / E_detail)``, at most ``limit``; 1.0 when
    the ring or the detail is empty. Images float ``(3, H, W)``, ``hole`` bool ``(H, W)``; ``detail`` may also
    be ``(1, H, W)``, the same in every channel (grey grain), which counts for its ``3`` channels."""
    ring = dilate(hole, width) & ~hole
    if not ring.any() or not hole.any():
        return 1.0
    e_detail = _grad_energy(detail, hole) * (image.shape[0] / detail.shape[0])
    if e_detail <= 1e-12:
        return 1.0
    e_missing = (_grad_energy(image, ring) - _grad_energy(low, hole)).clamp_min(0.0)
    return float((e_missing / e_detail).sqrt().clamp(0.0, limit))


@torch.no_grad()
def texture_fill(image: torch.Tensor, hole: torch.Tensor, fill: torch.Tensor, strength: float = 1.0,
                 sigma: float = 1.25, luma: bool = True, ramp: float = 3.0, clip: float = 6.0,
                 **options) -> torch.Tensor:
    """The network's ``fill`` with its high band replaced by the photo's own (see the module docstring).

    Args:
        image, hole, fill: as for :func:`guided_patch_detail`.
        strength: multiplies the ring-matched detail (0 returns ``fill``'s low band inside the hole).
        sigma: band split, pixels.
        luma: copy the luma of the detail only (grey grain), see :func:`guided_patch_detail`.
        ramp: the detail fades in over this many pixels from the hole's edge, where the network's fill is
            most accurate (0: off).
        clip: copied values beyond about ``clip`` times the typical grain of the ring around the hole
            (:func:`typical_detail`) are softly limited (``tanh``), so a copied edge or highlight does not
            show as specks (0: off).
        options: passed to :func:`guided_patch_detail`.

    Returns:
        float ``(3, H, W)`` in ``[-1, 1]``: ``image`` outside the hole (unchanged), the textured fill inside.
    """
    hole = hole.to(torch.bool)
    comp = torch.where(hole[None], fill, image)
    low = gaussian_blur(comp, sigma)
    lim = clip * typical_detail(comp, hole, sigma) + 1e-6 if clip > 0 else 0.0
    del comp  # full-size planes are released as soon as they are done with: large holes of 12 MP photos
    # grey grain stays one plane (broadcast over the channels at the end)
    detail = guided_patch_detail(image, hole, fill, sigma=sigma, luma=luma, **options)
    if ramp > 0:  # the fill next to the hole's edge is known best: copied detail fades in over ramp px
        dist = torch.from_numpy(edge_distance(hole.cpu().numpy())).to(detail)
        detail.mul_((dist / ramp).clamp_(max=1.0)[None])
        del dist
    detail.mul_(strength * ring_gain(image, hole, low, detail))
    if clip > 0:  # no copied value far beyond the ring's typical detail: a copied edge does not speckle
        detail = detail.div_(lim).tanh_().mul_(lim)
    return torch.where(hole[None], low.add_(detail).clamp_(-1.0, 1.0), image)


def typical_detail(image: torch.Tensor, hole: torch.Tensor, sigma: float, width: int = 12) -> float:
    """Robust standard deviation (median absolute value / 0.6745) of the luma high band (``sigma`` split)
    in the known ring ``3 sigma`` to ``width`` px from the hole: the grain of the photo around the hole,
    unmoved by a few strong edges. ``image`` float ``(3, H, W)``; 0.0 when the ring is empty."""
    ring = dilate(hole, width) & ~dilate(hole, int(math.ceil(3 * sigma)))
    if not ring.any():
        return 0.0
    y = (image * _LUMA.to(image).view(3, 1, 1)).sum(0, keepdim=True)
    high = (y - gaussian_blur(y, sigma))[0][ring]
    return float(high.abs().median()) / 0.6745


__all__ = ["block_stride", "dilate", "edge_distance", "gaussian_blur", "guided_patch_detail", "ring_gain", "texture_fill"]
