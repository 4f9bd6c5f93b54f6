"""Photo-edit half of ``ganpaint eval spade``: label edits painted into held-out photos, read back by the
segmenter and compared with real photos on VGG16 features.

Protocol (deterministic for a given ``seed``):

* **edits**: for each held-out photo and each of ``per_photo`` target classes (cycling through
  :func:`target_classes`: water, tree, grass, mountain, sky and building for the landscape label set), a
  whole region of another class is picked (:func:`ganpaint.training.semantic_edits.pick_region`: a
  connected region covering 3-40 % of the photo, a larger one cut by a random box) and relabelled with the
  target class; the edit's region is exactly those pixels, as the studio sends when a user paints a class
  over a region. This places classes anywhere (sky over a road at the bottom of a photo, where a segmenter
  that has learnt where skies are reads road). ``regions="transplant"`` (``eval spade --edit-regions
  transplant``) instead takes the shape and place of a real region of the target class from another
  held-out photo (resized to this photo, cut by a box when larger than 40 %) and relabels the pixels of
  this photo under it that are not that class already (at least 3 % of the photo): each class is painted
  where photos show it;
* **painters**: ``flat`` (the region filled with the class's mean training-photo colour, no feathering: the
  "flat blue-grey block" baseline), ``spade_paste`` (the SPADE engine's previous photo-edit path: synthesis
  in the photo's style, colour-matched, pasted), ``sesame`` (the semantic photo editor, when one is given);
* **read-back**: the label set's segmenter labels each edited photo; an edit is *read back* when the
  segmenter's most frequent class over the region is the target class (also reported: the share of
  region pixels it labels with the target class). The judge's own ceiling, ``real_regions``: the same test
  on the real regions of those classes (3-40 % of a photo) in the unedited photos;
* **KID-VGG of the edited areas**: square crops around each region (its bounding box grown to 1.5x its
  longer side, clipped to the photo), embedded with :func:`ganpaint.training.perceptual.vgg_embeddings`
  (ImageNet VGG16, spatial mean of relu5_3, 512-d, crops resized to ``size`` px), against a reference of
  one random square crop (40-80 % of the short side) of every *training* photo. The unedited held-out
  photos, cropped at the same boxes, give the real photos' own distance; each painter's ratio to it is
  the target quantity (at most 2.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

#: Classes painted into photos for the landscape label set (the issue's list), by name.
LANDSCAPE_TARGETS = ("water", "tree", "grass", "mountain", "sky", "building")
#: Region sizes that are relabelled (share of the photo).
EDIT_COVER = (0.03, 0.4)


def norm_name(name: str) -> str:
    return str(name).strip().lower().replace("_", " ")


def target_classes(labels: Sequence[dict], void: Optional[int]) -> list[int]:
    """Ids painted into photos: the :data:`LANDSCAPE_TARGETS` present in ``labels`` (``{"id", "name"}``
    dicts), or, for other label sets, every class but the don't-care one."""
    by_name = {norm_name(e["name"]): int(e["id"]) for e in labels}
    found = [by_name[n] for n in LANDSCAPE_TARGETS if n in by_name]
    if len(found) == len(LANDSCAPE_TARGETS):
        return found
    return [int(e["id"]) for e in labels if int(e["id"]) != void]


@dataclass(frozen=True)
class PhotoEdit:
    """One evaluation edit: photo ``index``, ``target`` class id, ``region`` ``bool (H, W)``, ``labels``
    ``uint8 (H, W)`` (the photo's labels with the region relabelled) and the square crop ``box``
    ``(x0, y0, x1, y1)`` around the region."""

    index: int
    target: int
    region: np.ndarray
    labels: np.ndarray
    box: tuple[int, int, int, int]


def crop_box(region: np.ndarray, grow: float = 1.5, minimum: int = 48) -> tuple[int, int, int, int]:
    """Square box centred on ``region``'s bounding box, side ``max(minimum, grow * longer side)``, shifted and
    clipped to stay inside the picture."""
    h, w = region.shape
    ys, xs = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
    cy, cx = (ys[0] + ys[-1] + 1) / 2, (xs[0] + xs[-1] + 1) / 2
    side = int(min(max(minimum, grow * max(ys[-1] + 1 - ys[0], xs[-1] + 1 - xs[0])), h, w))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    return x0, y0, x0 + side, y0 + side


#: How edit regions are chosen (module docstring).
EDIT_REGIONS = ("own", "transplant")


def plan_edits(labels: np.ndarray, index: int, targets: Sequence[int], per_photo: int, void: Optional[int],
               seed: int = 0, regions: str = "own", donors: Sequence[np.ndarray] = ()) -> list[PhotoEdit]:
    """The edits of one photo (module docstring): targets ``targets[(index + k) % len]`` for ``k < per_photo``.

    ``regions``: ``"own"`` (a region of this photo is relabelled) or ``"transplant"`` (a region of the
    target class in one of ``donors``, the other photos' label maps, is painted at its place; see
    :func:`ganpaint.training.semantic_edits.transplant_region`).

    Raises:
        ValueError: an unknown ``regions``.
    """
    from ganpaint.training.semantic_edits import pick_region, transplant_region

    if regions not in EDIT_REGIONS:
        raise ValueError(f"regions must be one of {', '.join(EDIT_REGIONS)}, got '{regions}'")
    edits = []
    for k in range(per_photo):
        target = int(targets[(index + k) % len(targets)])
        rng = np.random.default_rng([seed, index, k, target])
        skip = (target,) + (() if void is None else (void,))
        if regions == "transplant":
            region = transplant_region(labels, index, target, donors, rng, void, cover=EDIT_COVER)
        else:
            found = pick_region(labels, rng, skip=skip, cover=EDIT_COVER)
            region = None if found is None else found[1]
        if region is None:
            continue
        new = labels.copy()
        new[region] = target
        edits.append(PhotoEdit(index, target, region, new, crop_box(region)))
    return edits


def reference_crops(photos: Sequence[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """One random square crop (40-80 % of the short side) of every photo."""
    rng = np.random.default_rng([seed, 77])
    out = []
    for p in photos:
        h, w = p.shape[:2]
        side = int(min(h, w) * rng.uniform(0.4, 0.8))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        out.append(p[y0:y0 + side, x0:x0 + side])
    return out


def readback(pred: np.ndarray, region: np.ndarray, target: int) -> tuple[bool, float]:
    """``(most frequent predicted class over the region is target, share of region pixels predicted target)``."""
    counts = np.bincount(pred[region].ravel(), minlength=256)
    return bool(int(counts.argmax()) == target), float(counts[target] / max(counts.sum(), 1))


def standardized_kid(features: np.ndarray, reference: np.ndarray) -> float:
    """:func:`ganpaint.training.fid.kernel_inception_distance` after standardising both embedding sets with the
    reference's per-dimension mean and standard deviation (floored at 0.1x its mean, so a near-constant
    channel cannot dominate). Raw VGG activations are large, positive and strongly correlated: on them the
    cubic kernel measures little but noise (two halves of one photo set came out as far apart as
    flat-colour fills); standardised, every channel counts alike and real photos, generated pictures and
    flat fills separate clearly."""
    from ganpaint.training.fid import kernel_inception_distance

    mu, sd = reference.mean(axis=0), reference.std(axis=0)
    sd = np.maximum(sd, 0.1 * float(sd.mean()) or 1.0)
    return kernel_inception_distance((features - mu) / sd, (reference - mu) / sd)


def kid_table(features: dict[str, np.ndarray], reference: np.ndarray) -> dict:
    """``{"kid_vgg": {set: KID}, "kid_ratio_to_real": {set: KID / KID(real)}}`` (:func:`standardized_kid`) of
    every embedding set against ``reference``; ``features`` must hold ``"real"``."""
    kid = {k: standardized_kid(v, reference) for k, v in features.items()}
    return {"kid_vgg": {k: round(v, 4) for k, v in kid.items()},
            "kid_ratio_to_real": {k: (round(v / kid["real"], 2) if kid["real"] > 0 else None)
                                  for k, v in kid.items() if k != "real"}}


class _Tally:
    """Read-back outcomes of one judge: per painter and target class, plus the real regions' ceiling."""

    def __init__(self, painters: Sequence[str], targets: Sequence[int]) -> None:
        self.real: dict[int, list[bool]] = {t: [] for t in targets}
        self.per_class = {p: {t: [] for t in targets} for p in painters}
        self.shares: dict[str, list[float]] = {p: [] for p in painters}

    def add(self, painter: str, target: int, ok: bool, share: float) -> None:
        self.per_class[painter][target].append(ok)
        self.shares[painter].append(share)

    def summary(self, names: dict[int, str]) -> dict:
        """``{"real_regions" | painter: {"rate", "per_class", "cases"[, "mean_target_share"]}}``."""
        out = {}
        for name, table in [("real_regions", self.real), *self.per_class.items()]:
            rates = {names[t]: (round(float(np.mean(v)), 4) if v else None) for t, v in table.items()}
            allv = [ok for v in table.values() for ok in v]
            out[name] = {"rate": round(float(np.mean(allv)), 4) if allv else None, "per_class": rates,
                         "cases": len(allv)}
        for name, shares in self.shares.items():
            out[name]["mean_target_share"] = round(float(np.mean(shares)), 4) if shares else None
        return out


#: ``painter(photo uint8 (H, W, 3), edit) -> uint8 (H, W, 3)``.
Painter = Callable[[np.ndarray, PhotoEdit], np.ndarray]


def evaluate_edits(photos: Sequence[np.ndarray], labels: Sequence[np.ndarray], painters: dict[str, Painter],
                   segment: Callable[[np.ndarray], np.ndarray], names: dict[int, str], targets: Sequence[int],
                   void: Optional[int], per_photo: int = 2, seed: int = 0, embed=None, reference=None,
                   keep: int = 0, log=None, embed_real=None,
                   judges: Optional[dict[str, Callable[[np.ndarray], np.ndarray]]] = None,
                   regions: str = "own") -> tuple[dict, list]:
    """Run the protocol of the module docstring.

    Args:
        photos, labels: held-out photos ``uint8 (H, W, 3)`` and their raw label maps ``uint8 (H, W)``.
        painters: name -> :data:`Painter`.
        segment: photo -> ``uint8 (H, W)`` class ids (the judge).
        names: class id -> name, for the per-class table.
        targets, void, per_photo, seed, regions: see :func:`plan_edits` (the donors of ``"transplant"`` are
            ``labels``).
        embed: ``embed(list of uint8 images) -> float64 (N, D)`` (VGG embeddings), or None to skip KID.
        reference: ``float64 (M, D)`` embeddings of the reference crops (with ``embed``).
        embed_real: embeds the unedited photos' crops instead of ``embed`` (e.g. from a cache: they depend
            only on the photos and the edits, not on the painters).
        keep: return the first ``keep`` edits with every painter's picture (for a grid).
        log: ``log(message)`` progress callback.
        judges: more judges, name -> segment function with the same class ids (e.g. the VGG16-feature
            judge of :mod:`ganpaint.training.vgg_judge`); each gets the same read-back tables under
            ``metrics["readback_judges"][name]``.

    Returns:
        ``(metrics, kept)``: metrics as described in the module docstring; ``kept`` a list of
        ``(edit, photo, {painter: picture})``.
    """
    from ganpaint.training.semantic_edits import regions as class_regions

    judges_all = {"segmenter": segment, **(judges or {})}
    tallies = {j: _Tally(painters, targets) for j in judges_all}
    crops = {p: [] for p in ["real", *painters]}
    seconds = {p: 0.0 for p in painters}
    kept = []
    cases = 0
    import time

    for i, (photo, lab) in enumerate(zip(photos, labels)):
        preds = {j: fn(photo) for j, fn in judges_all.items()}
        for t, region in class_regions(lab, skip=[c for c in np.unique(lab) if int(c) not in targets], cover=EDIT_COVER):
            for j, tally in tallies.items():
                tally.real[t].append(readback(preds[j], region, t)[0])
        for edit in plan_edits(lab, i, targets, per_photo, void, seed, regions, labels):
            cases += 1
            x0, y0, x1, y1 = edit.box
            crops["real"].append(photo[y0:y1, x0:x1])
            pictures = {}
            for name, paint in painters.items():
                t0 = time.perf_counter()
                pic = paint(photo, edit)
                seconds[name] += time.perf_counter() - t0
                for j, fn in judges_all.items():
                    tallies[j].add(name, edit.target, *readback(fn(pic), edit.region, edit.target))
                crops[name].append(pic[y0:y1, x0:x1])
                pictures[name] = pic
            if len(kept) < keep:
                kept.append((edit, photo, pictures))
        if log is not None and (i + 1) % 20 == 0:
            log(f"  photo edits: {i + 1}/{len(photos)} photos, {cases} edits")

    result: dict = {"cases": cases, "targets": [names[t] for t in targets], "per_photo": per_photo, "regions": regions,
                    "readback": tallies["segmenter"].summary(names),
                    "seconds_per_edit": {p: round(seconds[p] / max(cases, 1), 4) for p in painters}}
    if judges:
        result["readback_judges"] = {j: tallies[j].summary(names) for j in judges}
    if embed is not None and reference is not None and cases >= 2:
        result.update(kid_table({k: (embed_real or embed)(v) if k == "real" else embed(v) for k, v in crops.items()},
                                reference))
    return result, kept


__all__ = ["EDIT_COVER", "EDIT_REGIONS", "LANDSCAPE_TARGETS", "PhotoEdit", "crop_box", "evaluate_edits", "kid_table",
           "plan_edits", "readback", "reference_crops", "standardized_kid", "target_classes"]
