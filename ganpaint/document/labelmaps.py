"""Reading and writing label maps (numpy + Pillow only; no Qt, no torch).

A label map is ``uint8 (H, W)`` of class ids of a :class:`~ganpaint.labelsets.LabelSet`. Files come in
two kinds, and :func:`load_label_map` decides which one it holds from the PNG's mode:

**Class-id maps** - each pixel value *is* the class id:

* mode ``L`` (8-bit gray, what :func:`save_label_map` writes with ``mode="ids"``), ``LA`` (alpha ignored),
  ``I``/``I;16`` (integer; values above 255 are simply ids that are not in the label set) and ``1``
  (bilevel: ids 0 and 1);
* mode ``P`` (palette) when the palette *index* is the id, the convention of PASCAL VOC and CMP
  facades files: see the palette rule below.

**Colour maps** - each pixel's colour is a class colour of the label set (what :func:`save_label_map`
writes with ``mode="color"``): modes ``RGB``, ``RGBA`` (alpha ignored), ``CMYK``... are converted to RGB
and every colour is mapped to the id of the class with exactly that colour. An RGB file is always a
colour map, even when it looks gray (an id map an editor saved as RGB is refused, with a hint to save
it as a grayscale PNG).

**Palette (``P``) rule**, in this order: (1) if every colour the image uses is a class colour, it is a
colour map; (2) else, if every palette index it uses is a class id, the indices are the ids;
(3) else it is read as a colour map (so its unknown colours are reported, or snapped).

**Refusals**: colours that are no class colour, or ids that are no class id, raise
:class:`~ganpaint.errors.ImageLoadError` listing the offenders (the 8 most frequent, with their pixel
counts). ``snap=True`` maps every unknown *colour* to the nearest class colour (Euclidean distance in
RGB; ties go to the lower id) - useful for JPEG-damaged or anti-aliased colour maps. Unknown *ids* are
refused even with ``snap``: there is no meaningful "nearest" class id.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
from PIL import Image

from ganpaint.errors import GanpaintError, ImageLoadError
from ganpaint.labelsets import LabelSet

from .imageio import _file_name, load_with, save_image

__all__ = ["MAX_LISTED", "labels_from_colors", "load_label_map", "save_label_map"]

MAX_LISTED = 8
"""Most offending colours or ids named in a refusal message."""

_ID_MODES = ("L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "1")


def _pack(rgb: np.ndarray) -> np.ndarray:
    """``uint8 (..., 3)`` -> ``uint32 (...)`` as ``r << 16 | g << 8 | b``."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _hex(packed: int) -> str:
    return f"#{int(packed):06x}"


def _offenders(values: np.ndarray, counts: np.ndarray, fmt) -> str:
    order = np.lexsort((values, -counts))  # most frequent first, then by value
    shown = [f"{fmt(values[i])} ({int(counts[i]):,} px)" for i in order[:MAX_LISTED]]
    more = len(values) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _raw(image: Image.Image) -> tuple[str, np.ndarray, Optional[np.ndarray]]:
    """Decode into ``(kind, array, palette)``: ``("ids", uint8/int64 (H, W), None)``, ``("rgb", uint8 (H, W, 3),
    None)`` or ``("P", uint8 (H, W) indices, uint8 (256, 3) palette)``."""
    mode = image.mode
    if mode == "P":
        indices = np.array(image, dtype=np.uint8)
        pal = image.getpalette() or []
        palette = np.zeros((256, 3), np.uint8)
        entries = np.array(pal[: 256 * 3], dtype=np.uint8).reshape(-1, 3)
        palette[: len(entries)] = entries
        return "P", indices, palette
    if mode == "1":
        return "ids", np.array(image, dtype=bool).astype(np.uint8), None
    if mode in _ID_MODES:
        if mode == "LA":
            image = image.getchannel(0)
        values = np.array(image)
        return "ids", values if values.dtype == np.uint8 else values.astype(np.int64), None
    if mode == "F":
        return "float", np.zeros(image.size[::-1], np.uint8), None
    if mode in ("RGBA", "RGBa", "La", "PA"):
        image = image.convert("RGBA")
        return "rgb", np.array(image, dtype=np.uint8)[..., :3], None
    return "rgb", np.array(image.convert("RGB"), dtype=np.uint8), None


def _class_palette(labelset: LabelSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sorted packed colours, their ids, colours uint8 (K, 3) in id order)``; for a colour used by
    several classes the lowest id wins."""
    labels = sorted(labelset.labels, key=lambda lab: lab.id)
    colors = np.array([lab.color for lab in labels], np.uint8).reshape(-1, 3)
    ids = np.array([lab.id for lab in labels], np.int64)
    packed = _pack(colors)
    keys, first = np.unique(packed, return_index=True)
    return keys, ids[first], colors


def _ids_map(values: np.ndarray, labelset: LabelSet, name: str, how: str) -> np.ndarray:
    """Check that every value of an integer array is a class id; returns it as ``uint8``."""
    valid = np.zeros(256, bool)
    for lab in labelset.labels:
        valid[lab.id] = True
    if values.dtype == np.uint8:
        counts = np.bincount(values.ravel(), minlength=256)
        bad_values = np.flatnonzero((counts > 0) & ~valid)
        bad, bad_counts = bad_values, counts[bad_values]
    else:
        inside = (values >= 0) & (values <= 255)
        ok = inside.copy()
        ok[inside] = valid[values[inside]]
        bad, bad_counts = np.unique(values[~ok], return_counts=True)
    if bad.size:
        known = ", ".join(str(lab.id) for lab in sorted(labelset.labels, key=lambda lab: lab.id))
        raise ImageLoadError(
            f"label map '{name}' ({how}) has class ids not in the {labelset.name} label set: "
            f"{_offenders(bad, bad_counts, lambda v: str(int(v)))}; valid ids are {known}."
        )
    return values if values.dtype == np.uint8 else values.astype(np.uint8)


_CHUNK_PIXELS = 1 << 22
"""Colour maps are matched this many pixels at a time (bounds the temporaries of big maps)."""


def _color_map(rgb: np.ndarray, labelset: LabelSet, name: str, snap: bool) -> np.ndarray:
    """Map each colour of ``uint8 (H, W, 3)`` to its class id; unknown colours are refused or snapped."""
    keys, key_ids, colors = _class_palette(labelset)
    height, width = rgb.shape[:2]
    out = np.empty((height, width), np.uint8)
    unknown: dict[int, int] = {}  # packed colour -> pixel count
    rows = max(1, _CHUNK_PIXELS // max(1, width))
    for r0 in range(0, height, rows):
        packed = _pack(rgb[r0:r0 + rows])
        pos = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
        found = keys[pos] == packed
        out[r0:r0 + rows] = key_ids[pos]
        if not found.all():
            for value, count in zip(*np.unique(packed[~found], return_counts=True)):
                unknown[int(value)] = unknown.get(int(value), 0) + int(count)
    if not unknown:
        return out
    bad = np.array(sorted(unknown), np.int64)
    if not snap:
        counts = np.array([unknown[int(v)] for v in bad], np.int64)
        gray = bool(np.all(((bad >> 16) & 255) == (bad & 255)) and np.all(((bad >> 8) & 255) == (bad & 255)))
        hint = (" (if it is a map of class ids saved as RGB, save it as a grayscale PNG instead)"
                if gray and (rgb[..., 0] == rgb[..., 2]).all() and (rgb[..., 1] == rgb[..., 2]).all() else "")
        raise ImageLoadError(
            f"label map '{name}' has colours not in the {labelset.name} palette: "
            f"{_offenders(bad, counts, _hex)}; snap them to the nearest class colour (--snap) or repaint "
            f"them{hint}."
        )
    bad_rgb = np.stack([(bad >> 16) & 255, (bad >> 8) & 255, bad & 255], axis=1)
    ids = np.array(sorted(lab.id for lab in labelset.labels), np.int64)
    d2 = ((bad_rgb[:, None, :] - colors[None, :, :].astype(np.int64)) ** 2).sum(axis=2)
    nearest = ids[np.argmin(d2, axis=1)]  # argmin: the first (lowest id) on ties
    for r0 in range(0, height, rows):
        packed = _pack(rgb[r0:r0 + rows]).astype(np.int64)
        pos = np.clip(np.searchsorted(bad, packed), 0, len(bad) - 1)
        hit = bad[pos] == packed
        band = out[r0:r0 + rows]
        band[hit] = nearest[pos[hit]]
    return out


def labels_from_colors(rgb: np.ndarray, labelset: LabelSet, name: str, snap: bool = False) -> np.ndarray:
    """Class ids of a colour map already in memory (e.g. an OpenRaster layer), by the colour-map rule above.

    Args:
        rgb: ``uint8 (H, W, 3)`` pixels, each a class colour of ``labelset``.
        labelset: the classes (ids and colours).
        name: what to call the map in messages (a file or layer name).
        snap: map unknown colours to the nearest class colour instead of refusing them.

    Returns:
        ``uint8 (H, W)`` class ids.

    Raises:
        ImageLoadError: colours not in the palette (listed with pixel counts), unless ``snap``.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3) colours, got {rgb.dtype} {rgb.shape}")
    return _color_map(rgb, labelset, name, snap)


def load_label_map(path: str | os.PathLike[str], labelset: LabelSet, shape: Optional[tuple[int, int]] = None,
                   snap: bool = False) -> np.ndarray:
    """Read a label map file (class-id map or colour map; see the module docstring for how it decides).

    Args:
        path: PNG (or any image format Pillow reads; lossless formats only make sense).
        labelset: the classes allowed (ids and colours).
        shape: ``(H, W)`` the map must have (the photo's), or ``None``.
        snap: map unknown colours to the nearest class colour instead of refusing them.

    Returns:
        ``uint8 (H, W)`` whose values are ids of ``labelset`` (after EXIF rotation).

    Raises:
        ImageLoadError: unreadable/damaged/oversized file (as :func:`~ganpaint.document.imageio.load_rgb`);
            a size other than ``shape`` ("label map 'x.png' is 640x480 but the image is 800x600.");
            colours not in the palette or ids not in the label set (listed with pixel counts); a
            floating-point image.
    """
    name = _file_name(path)
    kind, array, palette = load_with(path, _raw)
    if kind == "float":
        raise ImageLoadError(f"label map '{name}' holds floating-point values; class ids must be integers.")
    height, width = array.shape[:2]
    if shape is not None and (height, width) != tuple(shape):
        raise ImageLoadError(f"label map '{name}' is {width}x{height} but the image is {shape[1]}x{shape[0]}.")
    if kind == "ids":
        return _ids_map(array, labelset, name, "read as class ids")
    if kind == "P":
        assert palette is not None
        used = np.flatnonzero(np.bincount(array.ravel(), minlength=256))
        keys = _class_palette(labelset)[0]
        used_colors = _pack(palette[used])
        if np.isin(used_colors, keys).all():
            return _color_map(palette[array], labelset, name, snap)
        ids = {lab.id for lab in labelset.labels}
        if all(int(i) in ids for i in used):
            return array.copy()
        return _color_map(palette[array], labelset, name, snap)
    return _color_map(array, labelset, name, snap)


def save_label_map(path: str | os.PathLike[str], labels: np.ndarray, labelset: LabelSet, mode: str = "ids") -> None:
    """Write a label map atomically as PNG.

    Args:
        path: destination, must end in ``.png`` (lossless: a JPEG would corrupt ids and colours).
        labels: ``uint8 (H, W)`` class ids, all in ``labelset``.
        labelset: the classes (colours for ``mode="color"``).
        mode: ``"ids"`` - an 8-bit gray (``L``) PNG whose values are the ids; ``"color"`` - an RGB PNG of
            the class colours. Both read back with :func:`load_label_map` to the same array.

    Raises:
        GanpaintError: not a ``.png`` path, ids not in ``labelset``, or the file cannot be written (the
            old file is then kept).
        ValueError: ``labels`` is not ``uint8 (H, W)`` or ``mode`` is unknown (programming errors).
    """
    labels = np.asarray(labels)
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"expected a uint8 (H, W) label map, got {labels.dtype} {labels.shape}")
    if mode not in ("ids", "color"):
        raise ValueError(f"mode must be 'ids' or 'color', got {mode!r}")
    name = _file_name(path)
    if os.path.splitext(os.fspath(path))[1].lower() != ".png":
        raise GanpaintError(f"cannot save label map '{name}': label maps are saved as .png (a lossless format).")
    valid = np.zeros(256, bool)
    for lab in labelset.labels:
        valid[lab.id] = True
    counts = np.bincount(labels.ravel(), minlength=256)
    bad = np.flatnonzero((counts > 0) & ~valid)
    if bad.size:
        raise GanpaintError(
            f"cannot save label map '{name}': it has class ids not in the {labelset.name} label set: "
            f"{_offenders(bad, counts[bad], lambda v: str(int(v)))}."
        )
    if mode == "ids":
        save_image(path, np.ascontiguousarray(labels))
    else:
        save_image(path, labelset.colorize(labels))
