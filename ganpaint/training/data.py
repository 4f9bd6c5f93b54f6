"""Image-folder datasets for training and evaluation (Pillow + numpy; no torchvision).

A dataset directory either follows the shared layout::

    DIR/splits.json   {"train": [ids], "val": [ids], ...}
    DIR/images/<id>.jpg | <id>.png | ...

or is a plain folder of images (no ``splits.json``): then *every* image found in ``DIR/images`` (or
``DIR`` itself when it has no ``images/`` subfolder) belongs to whatever split is asked for, so a plain
folder must not be used for both training and evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps

from ganpaint.errors import DatasetError
from ganpaint.jsonlimits import loads_limited

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _image_dir(root: Path) -> Path:
    return root / "images" if (root / "images").is_dir() else root


def list_split(root: str | os.PathLike, split: str) -> list[Path]:
    """Image paths of ``split`` in dataset ``root`` (sorted by id; see the module docstring).

    Raises:
        DatasetError: ``root`` is not a folder, its ``splits.json`` is unreadable or lacks ``split``, or
            ids of the split have no image (one sentence naming the folder).
    """
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetError(f"dataset folder '{root}' {what}.")
    img_dir = _image_dir(root)
    by_stem: dict[str, Path] = {}
    try:
        for p in sorted(img_dir.iterdir()):
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                by_stem.setdefault(p.stem, p)
    except OSError as exc:
        raise DatasetError(f"cannot list dataset folder '{img_dir}': {exc.strerror or exc}.") from exc
    splits_file = root / "splits.json"
    if not splits_file.is_file():
        return [by_stem[k] for k in sorted(by_stem)]
    try:
        splits = loads_limited(splits_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"'{splits_file}' is not a readable JSON file of splits.") from exc
    if not isinstance(splits, dict) or not isinstance(splits.get(split), list):
        have = sorted(map(str, splits)) if isinstance(splits, dict) else []
        raise DatasetError(f"'{splits_file}' has no list of ids for the split {split!r} (it has {have}).")
    missing = [i for i in splits[split] if str(i) not in by_stem]
    if missing:
        raise DatasetError(f"{len(missing)} ids of split {split!r} have no image in '{img_dir}', e.g. {str(missing[0])[:40]!r}.")
    return [by_stem[str(i)] for i in splits[split]]


def load_rgb_pil(path: str | os.PathLike) -> Image.Image:
    """Open an image as RGB with EXIF orientation applied (alpha dropped over white)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        return im.convert("RGB")


def center_crop_resize(img: Image.Image, size: int) -> np.ndarray:
    """Deterministic ``uint8 (size, size, 3)``: resize the short side to ``size`` (bicubic), centre crop."""
    w, h = img.size
    s = size / min(w, h)
    nw, nh = max(size, int(round(w * s))), max(size, int(round(h * s)))
    img = img.resize((nw, nh), Image.BICUBIC)
    x0, y0 = (nw - size) // 2, (nh - size) // 2
    return np.asarray(img.crop((x0, y0, x0 + size, y0 + size)), dtype=np.uint8)


def random_crop(img: Image.Image, size: int, rng: np.random.Generator, scale_range: tuple[float, float] = (0.5, 1.0),
                flip: bool = True) -> np.ndarray:
    """Training augmentation -> ``uint8 (size, size, 3)``.

    A square crop whose side is a fraction ``f ~ U(scale_range)`` of the image's short side (``f = 1``:
    the whole short side, the most zoomed-out view) is taken at a random position, resized to ``size``
    (i.e. a random rescale + random crop) and flipped horizontally with probability 0.5.
    """
    w, h = img.size
    short = min(w, h)
    f = rng.uniform(*scale_range)
    side = max(8, int(round(short * f)))
    side = min(side, short)
    x0 = int(rng.integers(0, w - side + 1))
    y0 = int(rng.integers(0, h - side + 1))
    crop = img.resize((size, size), Image.BICUBIC if side < size else Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side),
                      reducing_gap=None if side < 2 * size else 2.0)
    arr = np.asarray(crop, dtype=np.uint8)
    if flip and rng.random() < 0.5:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


class ImageFolderDataset:
    """Images of one split of one or more dataset folders, as ``uint8 (size, size, 3)`` arrays.

    Args:
        dirs: dataset folders (shared layout with ``splits.json``, or plain image folders: all images).
        split: ``"train"`` (random rescale + crop + flip, drawn from ``rng`` per item) or ``"val"``
            (deterministic: short side resized to ``size``, centre crop).
        size: output side in pixels.
        scale_range: fraction of the short side a training crop covers.
        limit: keep at most this many images *per folder* (the first ones, in split order).
        cache: keep decoded (small) images in memory; the shared datasets are ~256 px, so all of them
            together fit in a few hundred MB.

    ``len(ds)`` is the number of images; ``ds.get(i, rng)`` returns the array for image ``i``; for
    ``"train"`` a ``np.random.Generator`` is required. ``ds.paths`` lists the files.
    """

    def __init__(self, dirs: str | os.PathLike | Sequence[str | os.PathLike], split: str = "train", size: int = 256,
                 scale_range: tuple[float, float] = (0.5, 1.0), limit: int | None = None, cache: bool = True) -> None:
        if isinstance(dirs, (str, os.PathLike)):
            dirs = [dirs]
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        self.split = split
        self.size = int(size)
        self.scale_range = scale_range
        self.paths: list[Path] = []
        self.sources: list[str] = []
        for d in dirs:
            found = list_split(d, split)
            if limit is not None:
                found = found[:limit]
            self.paths.extend(found)
            self.sources.extend([Path(d).name] * len(found))
        if not self.paths:
            raise DatasetError(f"no images found for split {split!r} in {', '.join(repr(str(d)) for d in dirs)}.")
        self._cache: dict[int, Image.Image] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, i: int) -> Image.Image:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = load_rgb_pil(self.paths[i])
        if self._cache is not None:
            img.load()
            self._cache[i] = img
        return img

    def get(self, i: int, rng: np.random.Generator | None = None) -> np.ndarray:
        img = self.image(i)
        if self.split == "train":
            if rng is None:
                raise ValueError("training items need a np.random.Generator")
            return random_crop(img, self.size, rng, self.scale_range)
        return center_crop_resize(img, self.size)

    def __getitem__(self, i: int) -> np.ndarray:
        if self.split == "train":
            raise TypeError("use get(i, rng) for the training split")
        return self.get(i)

    def batch(self, indices: Iterable[int], rng: np.random.Generator | None = None) -> np.ndarray:
        """``uint8 (B, size, size, 3)`` for ``indices``."""
        return np.stack([self.get(int(i), rng) for i in indices])
