"""Class exemplars for semantic photo edits: the photo's own pixels of a painted class lend the edit their
colour and, for stochastic textures (foliage, grass), their texture.

The semantic inpainting network (:mod:`ganpaint.nets.sesame`) paints the relabelled region from the photo
around it, but at small compute its textures are generic and its colours drift. When the photo already
shows the painted class near the edit (trees painted next to trees, sky next to sky), those pixels, the
*exemplars* (the photo's pixels of that class outside the edit and its paste band), say how that class looks
in this photo's light. For every class ``c`` painted into the region that has enough exemplars:

1. **colour**: the region's pixels of class ``c`` are moved in CIE Lab to the exemplars' mean, their spread
   scaled towards the exemplars' (Reinhard et al., "Color Transfer between Images", 2001, restricted to one
   class: ``(x - mean_painted) * clip(sd_exemplar / sd_painted, ratio_min, ratio_max) + mean_exemplar`` per
   channel); by default the spread is only ever reduced (``ratio_max`` 1), since enlarging it blows the
   network's smooth shading and streaks up into blotches;
2. **texture** (classes in ``texture_classes``): the band above a Gaussian of ``sigma`` px is replaced by the
   exemplars' own, copied verbatim (all three channels) along a PatchMatch field matched on the recoloured
   fill blurred at ``sigma`` (:func:`ganpaint.nets.patchmatch.guided_patch_detail` with ``sources`` = the
   exemplars), fading in over ``ramp`` px from the class region's edge. Structured classes (buildings) keep
   the network's band, which holds their geometry.

The colour applies fully on the class's part of the region and fades out over about 4 px beyond it (twice a
Gaussian of 2 px, at most 1); nothing leaves the grown region (the edit plus its paste band): every other
pixel stays the photo's, bit-exact.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

__all__ = ["exemplar_finish"]


def _lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _rgb(lab: np.ndarray) -> np.ndarray:
    import cv2

    return np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255.0, 0.0, 255.0)


def _blur_mask(mask: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    k = 2 * int(np.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(mask.astype(np.float32), (k, k), sigma)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    if radius <= 0:
        return mask.copy()
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0


def exemplar_finish(photo: np.ndarray, painted: np.ndarray, labels: np.ndarray, region: np.ndarray,
                    grown: np.ndarray, texture_classes: Iterable[int] = (), classes: Iterable[int] | None = None,
                    sigma: float = 4.0, patch: int = 9,
                    ramp: float = 3.0, ratio_min: float = 0.5, ratio_max: float = 1.0, min_pixels: int = 200, min_share: float = 0.05,
                    max_targets: int = 16_000, clip: float = 2.5, seed: int = 0, check: Callable[[], None] | None = None) -> np.ndarray:
    """The network's photo edit with each painted class's colour (and texture) taken from the photo's own
    pixels of that class (module docstring).

    Args:
        photo: ``uint8 (H, W, 3)`` RGB, the photo before the edit (its pixels outside ``grown`` are the
            exemplars' source).
        painted: ``uint8 (H, W, 3)``: the network's edit, equal to ``photo`` outside ``grown``.
        labels: ``uint8 (H, W)``: the new label map (class ids); outside the region it labels the photo.
        region: ``bool (H, W)``: the relabelled pixels.
        grown: ``bool (H, W)``: ``region`` plus its paste band, the only pixels that may change.
        texture_classes: class ids whose texture is copied from their exemplars (stochastic textures).
        classes: class ids the stage works on at all (None: every painted class); the others keep the
            network's pixels.
        sigma: band split in pixels for the copied texture (the network keeps the band below it).
        patch: PatchMatch patch side in pixels (odd); exemplars lie wholly inside their class.
        max_targets: about the most patches matched per class: larger regions copy larger blocks (the
            PatchMatch stride grows, at most ``patch // 2 + 1``), bounding time and memory.
        ramp: the copied texture fades in over this many pixels from the class region's edge.
        ratio_min, ratio_max: bounds of the factor the painted spread is scaled by in Lab. A ``ratio_max`` of
            2 read back 1-2 points better on the landscape val edits but painted blotches where the photo's
            exemplars are grainier than the network's smooth fill.
        min_pixels, min_share: a class needs at least ``max(min_pixels, min_share * its painted pixels)``
            exemplar pixels, else its painted pixels stay the network's.
        clip: copied values beyond about ``clip`` times the exemplars' typical texture (robust standard
            deviation of their band above ``sigma``, per channel) are softly limited (``tanh``), so sky seen
            through leaves does not come out as white specks over a darker painted tree (0: off).
        seed: PatchMatch seed (same inputs, same result).
        check: called during the texture synthesis; an exception it raises abandons the work.

    Returns:
        ``uint8 (H, W, 3)``: ``painted`` with the classes that have exemplars recoloured (and textured) inside
        ``grown``; ``photo``'s pixels, bit-exact, outside it.

    Raises:
        ValueError: mismatched shapes or an even ``patch``.
    """
    import torch

    from ganpaint.nets.patchmatch import block_stride, edge_distance, gaussian_blur, guided_patch_detail

    h, w = labels.shape
    if photo.shape != (h, w, 3) or painted.shape != (h, w, 3) or region.shape != (h, w) or grown.shape != (h, w):
        raise ValueError("photo, painted, labels, region and grown must have the same height and width")
    if patch < 3 or patch % 2 == 0:
        raise ValueError(f"patch must be an odd number >= 3, got {patch}")
    texture_classes = {int(c) for c in texture_classes}
    wanted = None if classes is None else {int(c) for c in classes}
    chosen = []  # (class, its painted pixels, its exemplars) of the classes with enough exemplars
    for c in np.unique(labels[region]):
        if wanted is not None and int(c) not in wanted:
            continue
        target = region & (labels == c)
        exemplars = (labels == c) & ~grown
        if int(exemplars.sum()) >= max(min_pixels, min_share * int(target.sum())):
            chosen.append((int(c), target, exemplars))
    out = painted.copy()
    out[~grown] = photo[~grown]
    if not chosen:  # nothing to do: no Lab conversion of the whole box
        return out
    lab_photo, lab_painted = _lab(photo), _lab(painted)
    result = lab_painted.copy()
    touched = np.zeros((h, w), bool)  # pixels a class's colour or texture reached
    textured: list[tuple[np.ndarray, np.ndarray]] = []
    for c, target, exemplars in chosen:
        mu_e, sd_e = lab_photo[exemplars].mean(0), lab_photo[exemplars].std(0)
        mu_p, sd_p = lab_painted[target].mean(0), lab_painted[target].std(0)
        ratio = np.clip(sd_e / np.maximum(sd_p, 1e-3), ratio_min, ratio_max)
        recoloured = (lab_painted - mu_p) * ratio + mu_e
        weight = (np.minimum(1.0, 2.0 * _blur_mask(target, 2.0)) * grown)[..., None]  # 1 on the class, fading outside
        result += (recoloured - result) * weight
        touched |= weight[..., 0] > 0
        if c in texture_classes:
            sources = _erode(exemplars, patch // 2)
            if sources.sum() >= min_pixels:
                textured.append((target, sources))
    new = _rgb(result)
    if textured:
        x = torch.from_numpy(new).permute(2, 0, 1).div(127.5).sub(1.0)
        for target, sources in textured:
            hole = torch.from_numpy(target)
            stride = block_stride(int(target.sum()), max_targets, minimum=2, maximum=patch // 2 + 1)
            detail = guided_patch_detail(x, hole, x, sigma=sigma, guide_sigma=sigma, patch=patch, luma=False,
                                         stride=stride, seed=seed, check=check, sources=torch.from_numpy(sources))
            if clip > 0:
                high = (x - gaussian_blur(x, sigma))[:, torch.from_numpy(sources)]
                limit = (clip * high.abs().median(dim=1).values / 0.6745 + 1e-6)[:, None, None]
                detail = limit * torch.tanh(detail / limit)
            if ramp > 0:
                dist = torch.from_numpy(edge_distance(target)).to(detail)
                detail = detail * (dist / ramp).clamp(max=1.0)[None]
            x = torch.where(hole[None], (gaussian_blur(x, sigma) + detail).clamp(-1.0, 1.0), x)
        new = x.add(1.0).mul(127.5).permute(1, 2, 0).numpy()
    changed = touched & grown  # elsewhere the network's pixels stay exact (no Lab round trip)
    out[changed] = np.clip(np.rint(new[changed]), 0, 255).astype(np.uint8)
    return out
