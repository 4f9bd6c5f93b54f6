"""Label edits of labelled photos, for training and evaluating semantic photo editing (SESAME).

A label edit is ``(hole, new_labels, relabelled)``: ``hole`` ``bool (H, W)`` are the pixels the generator
paints (the edited pixels grown by a band, as the synthesis engine does), ``new_labels`` ``uint8 (H, W)``
the label map the generator is asked for, and ``relabelled`` whether ``new_labels`` differs from the photo's
own labels inside the hole (then the photo is not the answer there, and only the adversarial loss applies).

Kinds (:func:`random_edit`):

* ``region``: a whole region (a connected component of one class, cut by a random box when it covers
  most of the crop) is cut out and repainted with its own class (reconstruction);
* ``box``, ``strokes``: a rectangle or free-form brush strokes cut out, labels kept (reconstruction);
* ``relabel``: a whole region gets another class (e.g. a field becomes water);
* ``paint``: a rectangle, thick strokes or a blob painted with one class over whatever was there, the
  studio's "paint water over a rectangle in a field";
* ``transplant`` (:func:`transplant_edit`, drawn by the trainer with ``--transplant``): a class painted
  where another label map shows it, so it lands where photos have it (water low, sky high).

Pure numpy / scipy; every choice comes from the caller's ``np.random.Generator``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ganpaint.training.masks import box_mask, free_form_brush_mask, thick_stroke_mask

#: Default mixture: kind -> probability.
EDIT_MIX = {"region": 0.25, "box": 0.1, "strokes": 0.1, "relabel": 0.3, "paint": 0.25}
#: Smallest and largest share of the crop a region hole may cover.
REGION_COVER = (0.02, 0.6)


def grow(mask: np.ndarray, band: int) -> np.ndarray:
    """``bool (H, W)`` grown by ``band`` pixels (chessboard distance)."""
    from scipy.ndimage import maximum_filter

    if band <= 0:
        return mask.astype(bool)
    return maximum_filter(mask.astype(bool), size=2 * band + 1, mode="constant", cval=False)


def regions(labels: np.ndarray, skip: Sequence[int] = (), cover: tuple[float, float] = (0.0, 1.0)
            ) -> list[tuple[int, np.ndarray]]:
    """Connected regions (8-connectivity) of every class in ``labels`` but ``skip``, as ``(class id, bool mask)``,
    keeping those covering a share of the picture within ``cover``."""
    from scipy.ndimage import label as connected

    out = []
    total = labels.size
    for c in np.unique(labels):
        if int(c) in skip:
            continue
        comps, n = connected(labels == c, structure=np.ones((3, 3), bool))
        if n == 0:
            continue
        sizes = np.bincount(comps.ravel(), minlength=n + 1)
        for k in range(1, n + 1):
            if cover[0] <= sizes[k] / total <= cover[1]:
                out.append((int(c), comps == k))
    return out


def pick_region(labels: np.ndarray, rng: np.random.Generator, skip: Sequence[int] = (),
                cover: tuple[float, float] = REGION_COVER) -> Optional[tuple[int, np.ndarray]]:
    """A random whole region of ``labels`` whose class is not in ``skip``: ``(class id, bool mask)``.

    Regions covering at least ``cover[0]`` of the picture are candidates; one larger than ``cover[1]`` is cut
    by a random box covering 25-50 % of the picture (a part of the sky, not all of it). None when no region
    qualifies (or the cut leaves less than ``cover[0]``).
    """
    h, w = labels.shape
    found = regions(labels, skip=skip, cover=(cover[0], 1.0))
    if not found:
        return None
    c, mask = found[int(rng.integers(len(found)))]
    if mask.mean() > cover[1]:
        mask = mask & (box_mask(rng, h, w, 0.25, 0.5) > 127)
        if mask.mean() < cover[0]:
            return None
    return c, mask


def _other_class(rng: np.random.Generator, classes: Sequence[int], not_this: int) -> int:
    choices = [c for c in classes if c != not_this]
    return int(choices[int(rng.integers(len(choices)))]) if choices else int(not_this)


def random_edit(labels: np.ndarray, rng: np.random.Generator, classes: Sequence[int], void: Optional[int] = None,
                band: tuple[int, int] = (1, 6), mix: Optional[dict[str, float]] = None
                ) -> tuple[np.ndarray, np.ndarray, bool, str]:
    """One random label edit of a ``uint8 (H, W)`` label map: ``(hole, new_labels, relabelled, kind)``.

    Args:
        labels: the photo's label map (raw ids; the don't-care id is an ordinary id here).
        rng: random generator.
        classes: ids a region may be relabelled or painted with (the don't-care id excluded).
        void: the don't-care id (never chosen as a region), or None.
        band: the hole is the edited pixels grown by ``U{band}`` pixels.
        mix: kind -> probability (default :data:`EDIT_MIX`).
    """
    h, w = labels.shape
    mix = mix or EDIT_MIX
    kinds = list(mix)
    kind = kinds[int(rng.choice(len(kinds), p=np.asarray([mix[k] for k in kinds]) / sum(mix.values())))]
    new = labels.copy()
    grown = int(rng.integers(band[0], band[1] + 1))
    if kind in ("region", "relabel"):
        found = pick_region(labels, rng, skip=() if void is None else (void,))
        if found is None:
            kind = "box" if kind == "region" else "paint"
        else:
            c, core = found
            if kind == "relabel":
                new[core] = _other_class(rng, classes, c)
            return grow(core, grown), new, kind == "relabel" and bool((new != labels).any()), kind
    if kind == "box":
        return box_mask(rng, h, w, 0.05, 0.35) > 127, new, False, kind
    if kind == "strokes":
        return free_form_brush_mask(rng, h, w) > 127, new, False, kind
    # paint: a box, thick strokes or a blob of one class
    u = rng.random()
    if u < 0.4:
        core = box_mask(rng, h, w, 0.04, 0.3) > 127
    elif u < 0.7:
        core = thick_stroke_mask(rng, h, w) > 127
    else:
        core = blob_mask(rng, h, w)
    c = int(classes[int(rng.integers(len(classes)))])
    new[core] = c
    return grow(core, grown), new, bool((new != labels).any()), "paint"


def transplant_region(labels: np.ndarray, index: int, target: int, donors: Sequence[np.ndarray],
                      rng: np.random.Generator, void: Optional[int] = None, tries: int = 20,
                      cover: tuple[float, float] = (0.03, 0.4)) -> Optional[np.ndarray]:
    """Where to paint ``target`` into the photo of ``labels`` (``uint8 (H, W)``) so that it sits where photos
    show that class: a connected region of ``target`` covering at least ``cover[0]`` of a donor label map
    (``donors``, index ``index`` skipped, e.g. the photo's own; -1 skips none; tried in random order, at
    most ``tries``), resized (nearest) to this photo, cut by a random box when it covers more than
    ``cover[1]``, minus the pixels already ``target`` or ``void``. Returns that ``bool (H, W)`` region when it
    covers at least ``cover[0]`` of the photo, else None."""
    from PIL import Image

    h, w = labels.shape
    order = [j for j in rng.permutation(len(donors)) if j != index][:tries]
    for j in order:
        donor = donors[j]
        others = [int(c) for c in np.unique(donor) if int(c) != target]
        found = [m for _, m in regions(donor, skip=others, cover=(cover[0], 1.0))]
        if not found:
            continue
        mask = found[int(rng.integers(len(found)))]
        if mask.shape != (h, w):
            mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)) > 127
        if mask.mean() > cover[1]:
            mask = mask & (box_mask(rng, h, w, 0.25, 0.5) > 127)
        region = mask & (labels != target)
        if void is not None:
            region &= labels != void
        if region.mean() >= cover[0]:
            return region
    return None


def transplant_edit(labels: np.ndarray, donors: Sequence[np.ndarray], rng: np.random.Generator,
                    classes: Sequence[int], void: Optional[int] = None, band: tuple[int, int] = (1, 6)
                    ) -> Optional[tuple[np.ndarray, np.ndarray, bool, str]]:
    """A ``transplant`` edit of ``labels`` (``uint8 (H, W)``): a random class of ``classes`` painted where one of
    ``donors`` (other label maps, e.g. the batch's other crops) shows it
    (:func:`transplant_region`), grown by ``U{band}`` pixels. Returns
    ``(hole, new_labels, True, "transplant")`` like :func:`random_edit`, or None when no donor has a large
    enough region of the class."""
    target = int(classes[int(rng.integers(len(classes)))])
    region = transplant_region(labels, -1, target, donors, rng, void)
    if region is None:
        return None
    new = labels.copy()
    new[region] = target
    return grow(region, int(rng.integers(band[0], band[1] + 1))), new, True, "transplant"


def blob_mask(rng: np.random.Generator, h: int, w: int, cover: tuple[float, float] = (0.04, 0.3)) -> np.ndarray:
    """A smooth random blob (thresholded low-pass noise around a random centre), ``bool (h, w)``."""
    from scipy.ndimage import gaussian_filter

    target = rng.uniform(*cover)
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.sqrt(target * h * w / np.pi)
    noise = gaussian_filter(rng.normal(0, 1, (h, w)), sigma=max(h, w) / 12)
    field = 1.0 - np.hypot((yy - cy) / r, (xx - cx) / r) + noise / (noise.std() + 1e-6) * 0.35
    threshold = np.quantile(field, 1.0 - target)
    return field > threshold


__all__ = ["EDIT_MIX", "REGION_COVER", "blob_mask", "grow", "pick_region", "random_edit", "regions", "transplant_edit",
           "transplant_region"]
