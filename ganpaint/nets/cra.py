"""Contextual residual aggregation (CRA): full-resolution detail for a hole filled at a lower resolution.

Follows Yi, Tang, Azizi, Jang, Xu, "Contextual Residual Aggregation for Ultra High-Resolution Image
Inpainting", CVPR 2020 (HiFill): a network fills the hole on a downscaled copy of the photo; the photo's
own high-frequency *residual* (the full-resolution image minus the upsampled low-resolution one) is
then copied from the context into the hole, weighted by attention scores computed between hole patches
and context patches of the low-resolution fill. HiFill takes the attention scores from a learned
attention layer; here the sources are chosen by distances between ``3 x 3`` patches of the
(network-filled) low-resolution image on a coarse grid, i.e. the network's fill guides which real
texture goes where, as in the "network-guided patch synthesis" of content-aware fill.

Aggregation (per query cell of the attention grid, cell side ``B`` full-resolution pixels):

1. the ``k`` best context cells are found by squared distance of their ``3 x 3`` low-resolution patch
   descriptors, plus a proximity term (nearby texture is more likely right) and an energy term: the
   context's residual energy per cell is interpolated into the hole (a membrane, as for the pixels), and
   a candidate whose own energy is far from the expected one is penalised (no lattice edges copied into
   flat sky);
2. one of the ``k`` candidates is drawn per cell (seeded), so neighbouring cells do not repeat one
   source (no periodic pattern); its ``2B x 2B`` residual window is scaled down if it holds more energy
   than expected;
3. windows are overlap-added with a separable triangular window at stride ``B`` and normalised by the
   root of the summed squared window weights (variance-preserving blending), so block seams and faded
   overlaps do not show.

Context cells qualify as sources only when their whole window lies in the crop at least two
low-resolution cells away from the hole (so the bicubic upsampling under their residual never saw the
fill). All tensors are float NCHW with ``N = 1``; images in ``[-1, 1]``; masks 1 = hole.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def upsample(low: torch.Tensor, factor: int, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic ``x factor`` upsampling of ``(1, C, h, w)`` cropped to ``size`` (H, W) (top-left aligned)."""
    if factor == 1:
        return low[..., : size[0], : size[1]]
    up = F.interpolate(low, scale_factor=float(factor), mode="bicubic", align_corners=False)
    return up[..., : size[0], : size[1]]


def _triangle(n: int, device, dtype) -> torch.Tensor:
    """Triangular window of length ``n`` (even) whose copies at stride ``n / 2`` sum to 1."""
    t = (torch.arange(n, device=device, dtype=dtype) + 0.5) / n
    return 1.0 - (2.0 * t - 1.0).abs()


@torch.no_grad()
def contextual_residual_aggregation(image: torch.Tensor, hole: torch.Tensor, coarse: torch.Tensor, factor: int,
                                    grid: int = 64, k: int = 6, proximity: float = 40.0, energy_weight: float = 0.5,
                                    seed: int = 0, chunk: int = 256, max_floats: float = 8e6) -> torch.Tensor:
    """Full-resolution residual detail for the hole (zero outside it).

    Args:
        image: ``(1, 3, H, W)`` float in ``[-1, 1]``: the full-resolution crop (hole pixels ignored).
        hole: ``(1, 1, H, W)`` float, 1 = hole.
        coarse: ``(1, 3, h, w)`` float in ``[-1, 1]``: the low-resolution crop with the hole filled, where
            ``h = ceil(H / factor)``, ``w = ceil(W / factor)`` and known cells are box averages of ``image``.
        factor: integer downscaling factor between ``image`` and ``coarse`` (>= 2 to add anything).
        grid: longest side of the attention grid in cells (cost: ``(cells in the hole) x (context cells)``).
        k: candidates per hole cell; one of them, drawn with ``seed``, gives the cell's texture (so
            neighbouring cells do not repeat the same source).
        proximity: weight of the squared distance between cells (in units of the grid's longest side)
            added to the patch distance, so nearby texture wins among similar patches.
        energy_weight: weight of the squared log-ratio between a candidate's residual energy and the
            energy expected at the hole cell (the context's residual energy interpolated into the hole).
        seed: seed of the candidate draw (the same inputs and seed give the same detail).
        chunk: query cells processed at once, at most; fewer when their windows would exceed
            ``max_floats`` floats (bounds memory: 8e6 floats = 32 MB).

    Returns:
        ``(1, 3, H, W)`` float residual to add to the bicubic upsampling of ``coarse`` inside the hole; zeros
        when no context cell qualifies or ``factor < 2``.
    """
    from ganpaint.nets.ffc import pull_push_fill

    _, c, H, W = image.shape
    out = image.new_zeros(image.shape)
    if factor < 2:
        return out
    h, w = coarse.shape[-2:]
    # full-resolution residual of the photo: its own detail above the low-resolution band
    padded = F.pad(image, (0, w * factor - W, 0, h * factor - H), mode="replicate")
    residual = padded - F.interpolate(coarse, scale_factor=float(factor), mode="bicubic", align_corners=False)

    cell = max(1, math.ceil(max(h, w) / grid))  # attention cell, in low-resolution pixels
    block = cell * factor  # ... in full-resolution pixels
    gh, gw = math.ceil(h / cell), math.ceil(w / cell)
    low_hole = F.max_pool2d(F.pad(hole, (0, w * factor - W, 0, h * factor - H)), factor)  # (1, 1, h, w)
    near = F.max_pool2d(low_hole, 5, 1, 2)  # within 2 low-res cells of the hole: residual unreliable
    pad_c = (0, gw * cell - w, 0, gh * cell - h)
    g_img = F.avg_pool2d(F.pad(coarse, pad_c, mode="replicate"), cell)  # (1, 3, gh, gw)
    g_hole = F.max_pool2d(F.pad(low_hole, pad_c), cell)[0, 0] > 0
    g_near = F.max_pool2d(F.pad(near, pad_c, value=1.0), cell)
    # a source's 2B window spans its 3x3 grid neighbourhood: all of it must be clean and inside the crop
    g_bad = F.max_pool2d(F.pad(g_near, (1, 1, 1, 1), value=1.0), 3, 1)[0, 0] > 0
    query = g_hole.flatten().nonzero().flatten()
    source = (~g_bad).flatten().nonzero().flatten()
    if query.numel() == 0 or source.numel() == 0:
        return out
    # residual energy per cell, known on clean cells, interpolated (membrane) into the hole and near it
    res_e = F.pad(residual.pow(2).mean(dim=1, keepdim=True), (0, gw * block - w * factor, 0, gh * block - h * factor))
    g_energy = F.avg_pool2d(res_e, block)
    g_energy = pull_push_fill(g_energy, g_near.clamp(0, 1))[0, 0].flatten().clamp_min(1e-8)
    log_e = g_energy.log()

    desc = F.unfold(F.pad(g_img, (1, 1, 1, 1), mode="replicate"), 3)[0].T  # (gh * gw, 27)
    src_desc = desc[source]
    gy, gx = torch.meshgrid(torch.arange(gh, device=image.device), torch.arange(gw, device=image.device), indexing="ij")
    pos = torch.stack([gy.flatten(), gx.flatten()], dim=1).to(image.dtype) / max(gh, gw)
    src_pos = pos[source]
    kk = min(k, source.numel())
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    pick = torch.randint(0, kk, (query.numel(),), generator=generator).to(image.device)

    # residual windows: 2B x 2B centred on grid cells, read from the residual padded by B/2 (+ B for the grid edge)
    half = block // 2
    res_p = F.pad(residual, (half, block + half, half, block + half))
    win = _triangle(2 * block, image.device, image.dtype)
    win2d = win[:, None] * win[None, :]
    acc = image.new_zeros((c, gh * block + 2 * block, gw * block + 2 * block))
    weight2 = image.new_zeros(acc.shape[1:])
    offs = torch.arange(2 * block, device=image.device)
    chunk = max(1, min(chunk, int(max_floats // (c * 4 * block * block))))
    for start in range(0, query.numel(), chunk):
        q = query[start:start + chunk]
        d = torch.cdist(desc[q], src_desc).pow_(2)  # (nq, ns)
        if proximity > 0:  # nearby texture is more likely the right texture
            d += proximity * torch.cdist(pos[q], src_pos).pow_(2)
        if energy_weight > 0:  # as much detail as the context around the hole has
            d += energy_weight * (log_e[q][:, None] - log_e[source][None, :]).pow_(2)
        idx = d.topk(kk, dim=1, largest=False).indices  # (nq, kk)
        src = source[idx.gather(1, pick[start:start + chunk, None])[:, 0]]  # (nq,)
        gain = (g_energy[q] / g_energy[src]).sqrt().clamp_(max=1.0)  # never more detail than expected
        sy, sx = (src // gw) * block, (src % gw) * block
        patches = res_p[0][:, (sy[:, None] + offs)[:, :, None], (sx[:, None] + offs)[:, None, :]]  # (c, nq, 2B, 2B)
        patches = patches * (gain[None, :, None, None] * win2d)
        qy, qx = (q // gw) * block, (q % gw) * block
        ty = (qy[:, None] + offs)[:, :, None].expand(-1, -1, 2 * block)
        tx = (qx[:, None] + offs)[:, None, :].expand(-1, 2 * block, -1)
        for ch in range(c):
            acc[ch].index_put_((ty, tx), patches[ch], accumulate=True)
        weight2.index_put_((ty, tx), (win2d * win2d).expand(q.numel(), -1, -1).contiguous(), accumulate=True)
    detail = acc / weight2.clamp_min(1e-6).sqrt()  # variance-preserving blend of the overlapping windows
    out[0] = detail[:, half:half + H, half:half + W] * hole[0]
    return out


__all__ = ["contextual_residual_aggregation", "upsample"]
