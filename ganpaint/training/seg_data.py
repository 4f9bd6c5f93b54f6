"""Segmentation datasets: photos with per-pixel class-id label maps (Pillow + numpy; no torchvision).

Layout of a dataset folder (the shared ``datasets/`` convention)::

    DIR/images/<id>.jpg | .png ...      photos
    DIR/labels/<id>.png                 single-channel uint8 class ids, same size as the photo
    DIR/classes.json                    {"<id>": {"name": str, "color": [r, g, b]}, ...}
    DIR/splits.json                     {"train": [ids], "val": [ids], ...}

Split membership comes from :func:`ganpaint.training.data.list_split`, so a trainer never reads
validation images for training. The don't-care class is found by name (:data:`VOID_NAMES`, e.g.
``unknown`` in stanford_background, ``void`` in camvid; cmp_facades has none: its ``background`` is a
real class) and mapped to :data:`IGNORE` (255) in the targets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageOps

from ganpaint.errors import DatasetError
from ganpaint.jsonlimits import loads_limited
from ganpaint.lab import LUMA_WEIGHTS
from ganpaint.training.data import list_split, load_rgb_pil

#: Target value of pixels that do not count in the loss or the metrics.
IGNORE = 255
#: Class names treated as "don't care" when no ignore index is given.
VOID_NAMES = ("unknown", "void", "unlabelled", "unlabeled", "ignore", "none")


def read_classes(root: str | os.PathLike) -> list[dict]:
    """``DIR/classes.json`` as a list of ``{"id": int, "name": str, "color": [r, g, b]}`` sorted by id.

    Accepts the shared mapping form ``{"<id>": {"name", "color"}}`` and the label-set form
    ``{"labels": [{"id", "name", "color"}]}``.
    """
    path = Path(root) / "classes.json"
    if not Path(root).is_dir():
        raise DatasetError(f"dataset folder '{root}' {'is not a folder' if Path(root).exists() else 'does not exist'}.")
    try:
        data = loads_limited(path.read_bytes())
        if isinstance(data, dict) and "labels" in data:
            entries = [{"id": int(e["id"]), "name": str(e["name"]), "color": [int(c) for c in e["color"]]}
                       for e in data["labels"]]
        else:
            entries = [{"id": int(k), "name": str(v["name"]), "color": [int(c) for c in v["color"]]}
                       for k, v in data.items()]
    except FileNotFoundError as exc:
        raise DatasetError(f"dataset folder '{root}' has no classes.json.") from exc
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DatasetError(f"'{path}' is not a valid list of classes.") from exc
    if not entries:
        raise DatasetError(f"'{path}' lists no classes.")
    return sorted(entries, key=lambda e: e["id"])


def find_void_id(classes: Sequence[dict]) -> Optional[int]:
    """Id of the first class whose name is in :data:`VOID_NAMES` (case-insensitive), else ``None``."""
    for e in classes:
        if e["name"].strip().lower().replace(" ", "_") in VOID_NAMES:
            return int(e["id"])
    return None


def label_lut(class_ids: Sequence[int], ignore_id: Optional[int]) -> np.ndarray:
    """``uint8 (256,)`` map from stored label values to targets: a class id maps to itself, the ignore
    id and any value that is not a class id map to :data:`IGNORE`."""
    lut = np.full(256, IGNORE, np.uint8)
    for cid in class_ids:
        if cid != ignore_id:
            lut[int(cid)] = int(cid)
    return lut


def load_label_pil(path: str | os.PathLike) -> Image.Image:
    """A single-channel label PNG as a Pillow ``L`` image (EXIF orientation applied; a palette image
    keeps its indices)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode not in ("L", "P"):
            raise ValueError(f"label map {path} is mode {im.mode}, expected a single-channel PNG of class ids")
        im.load()
        return im if im.mode == "L" else Image.fromarray(np.asarray(im))


def color_jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 0.2) -> np.ndarray:
    """Mild photometric augmentation of ``uint8 (H, W, 3)``: brightness, contrast and saturation each
    scaled by a factor in ``[1 - strength, 1 + strength]``, in random order."""
    x = img.astype(np.float32)
    for op in rng.permutation(3):
        f = float(rng.uniform(1 - strength, 1 + strength))
        if op == 0:
            x *= f
        elif op == 1:
            mean = x.mean()
            x = (x - mean) * f + mean
        else:
            gray = x @ np.array(LUMA_WEIGHTS, np.float32)
            x = (x - gray[..., None]) * f + gray[..., None]
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


class SegmentationDataset:
    """Photo/label pairs of one split of one dataset folder.

    Args:
        root: dataset folder (layout in the module docstring).
        split: ``"train"``, ``"val"``, ``"test"`` or any other split name of ``splits.json``.
        size: side of the square training crops.
        scale_range: a training crop's side is a fraction ``f ~ U(scale_range)`` of the photo's short side
            (random rescale + random crop), resized to ``size`` (photo: bilinear; labels: nearest).
        ignore_id: stored label value that means "don't care" (``None``: the class named unknown/void, if
            any; ``-1``: none).
        jitter: colour-jitter strength of training crops (0: off).
        cache: keep decoded photos and labels in memory (the shared sets are small).

    ``get(i, rng)`` returns a training crop ``(uint8 (size, size, 3), uint8 (size, size))`` with targets
    in class ids / :data:`IGNORE`; ``pair(i)`` returns the full-size photo and targets (validation).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", size: int = 160,
                 scale_range: tuple[float, float] = (0.5, 1.0), ignore_id: Optional[int] = None,
                 jitter: float = 0.2, cache: bool = True, limit: Optional[int] = None) -> None:
        self.root = Path(root)
        self.split = split
        self.size = int(size)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.jitter = float(jitter)
        self.classes = read_classes(self.root)
        if ignore_id is None:
            ignore_id = find_void_id(self.classes)
        self.ignore_id: Optional[int] = None if ignore_id is None or ignore_id < 0 else int(ignore_id)
        self.class_ids = [e["id"] for e in self.classes if e["id"] != self.ignore_id]
        self.num_classes = max(self.class_ids) + 1
        self.lut = label_lut([e["id"] for e in self.classes], self.ignore_id)
        self.paths = list_split(self.root, split)
        if limit is not None:
            self.paths = self.paths[:limit]
        self.label_paths = [self.root / "labels" / f"{p.stem}.png" for p in self.paths]
        missing = [p for p in self.label_paths if not p.is_file()]
        if missing:
            raise DatasetError(f"{len(missing)} photos of split {split!r} have no label map, e.g. '{missing[0]}'.")
        if not self.paths:
            raise DatasetError(f"no images found for split {split!r} in '{self.root}'.")
        self._cache: Optional[dict[int, tuple[Image.Image, Image.Image]]] = {} if cache else None

    @property
    def labels(self) -> list[dict]:
        """The predicted classes (``ignore_id`` excluded) as ``{"id", "name", "color"}`` dicts."""
        return [dict(e) for e in self.classes if e["id"] != self.ignore_id]

    def __len__(self) -> int:
        return len(self.paths)

    def images(self, i: int) -> tuple[Image.Image, Image.Image]:
        """Photo (RGB) and stored label map (``L``) of item ``i`` as Pillow images."""
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = load_rgb_pil(self.paths[i])
        lab = load_label_pil(self.label_paths[i])
        if img.size != lab.size:
            raise ValueError(f"{self.label_paths[i]} is {lab.size} but its photo is {img.size}")
        if self._cache is not None:
            img.load()
            self._cache[i] = (img, lab)
        return img, lab

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Full-size ``uint8 (H, W, 3)`` photo and ``uint8 (H, W)`` targets (ignore -> :data:`IGNORE`)."""
        img, lab = self.images(i)
        return np.asarray(img, dtype=np.uint8), self.lut[np.asarray(lab, dtype=np.uint8)]

    def get(self, i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A random training crop of item ``i`` (rescale + crop + horizontal flip + colour jitter)."""
        img, lab = self.images(i)
        w, h = img.size
        short = min(w, h)
        side = int(round(short * rng.uniform(*self.scale_range)))
        side = max(8, min(side, short))
        x0 = int(rng.integers(0, w - side + 1))
        y0 = int(rng.integers(0, h - side + 1))
        box = (x0, y0, x0 + side, y0 + side)
        s = self.size
        photo = np.asarray(img.resize((s, s), Image.BILINEAR, box=box, reducing_gap=3.0), dtype=np.uint8)
        target = self.lut[np.asarray(lab.resize((s, s), Image.NEAREST, box=box), dtype=np.uint8)]
        if rng.random() < 0.5:
            photo, target = photo[:, ::-1], target[:, ::-1]
        if self.jitter > 0:
            photo = color_jitter(photo, rng, self.jitter)
        return np.ascontiguousarray(photo), np.ascontiguousarray(target)

    def batch(self, indices: Sequence[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``uint8 (B, size, size, 3)`` photos and ``uint8 (B, size, size)`` targets."""
        items = [self.get(int(i), rng) for i in indices]
        return np.stack([a for a, _ in items]), np.stack([b for _, b in items])

    def class_frequencies(self) -> np.ndarray:
        """``float64 (num_classes,)``: share of each class among the non-ignored target pixels."""
        counts = np.zeros(256, np.int64)
        for i in range(len(self)):
            _, lab = self.images(i)
            counts += np.bincount(self.lut[np.asarray(lab, dtype=np.uint8)].ravel(), minlength=256)
        counts = counts[: self.num_classes].astype(np.float64)
        return counts / max(counts.sum(), 1.0)


class CropSampler:
    """Random training crops drawn evenly over the photos of several labelled dataset folders (raw label
    ids kept, no colour jitter): ``draw(n, rng)`` -> ``(photos uint8 (n, S, S, 3), labels uint8 (n, S, S))``.

    ``scale_min``: smallest crop as a fraction of a photo's short side (see :class:`SegmentationDataset`).
    Raises what :class:`SegmentationDataset` raises for a folder without ``split``.
    """

    def __init__(self, folders: Sequence[str | os.PathLike], split: str, size: int, scale_min: float) -> None:
        self.sets = [SegmentationDataset(f, split, size, scale_range=(scale_min, 1.0), ignore_id=-1, jitter=0.0)
                     for f in folders]
        self.index = [(k, i) for k, ds in enumerate(self.sets) for i in range(len(ds))]

    def __len__(self) -> int:
        return len(self.index)

    def crops(self, n: int, rng: np.random.Generator):
        """``n`` random ``(photo, labels)`` crops, one at a time (for per-crop work such as label edits)."""
        for j in rng.integers(0, len(self.index), n):
            k, i = self.index[int(j)]
            yield self.sets[k].get(i, rng)

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """See the class docstring."""
        photos, labels = zip(*self.crops(n, rng))
        return np.stack(photos), np.stack(labels)
