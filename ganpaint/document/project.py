"""``.ganpaint`` project files, plus result/mask export and mask import.

Format (version 1): a zip archive holding

- ``document.json``: ``{"format": "ganpaint-project", "version": 1, "width", "height", "layers":
  [names of the raster layers present], "result_current": bool, "hints": [...], "strokes": [...],
  "settings": {...}}`` (UTF-8, deflated);
- ``photo.png`` (RGB), ``mask.png`` (L), ``labels.png`` (L) and, when the document has a result,
  ``result.png`` (RGB); PNG is lossless, so layers round-trip bit-exactly. PNGs are stored (not
  deflated again).

Loading never extracts anything: members are read into memory, by whitelisted name only, through
:class:`~ganpaint.document.ziparchive.BoundedZipReader` (at most :data:`MAX_MEMBERS` members, unsafe
member names refuse the whole file, unknown names are ignored, sizes and compression ratios are
bounded: see that module), after these checks (each failure is a
:class:`~ganpaint.errors.ProjectError` with one sentence):

- declared ``width * height`` at most ``imageio.MAX_PIXELS``;
- ``document.json`` at most :data:`MAX_JSON_BYTES` uncompressed; a layer PNG at most
  :func:`~ganpaint.document.ziparchive.max_layer_bytes` of the declared size (about
  ``3 * MAX_PIXELS`` bytes for the largest RGB document);
- each layer PNG must be a PNG of the declared width and height, in the expected colour mode.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from ganpaint.errors import ProjectError

from .atomic import atomic_writer
from .imageio import MAX_PIXELS, load_mask, save_image
from .model import ColorHint, Document, RasterPatch, SketchStroke
from .ziparchive import (
    MAX_COMPRESSION_RATIO,
    RATIO_CHECK_BYTES,
    BoundedZipReader,
    decode_png,
    max_layer_bytes,
    member_info,
    opening_archive,
)
from .ziparchive import write_png as _write_png

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_COMPRESSION_RATIO",
    "MAX_JSON_BYTES",
    "MAX_MEMBERS",
    "RATIO_CHECK_BYTES",
    "export_mask",
    "export_result",
    "import_mask",
    "load_project",
    "max_layer_bytes",
    "save_project",
    "write_project",
]

FORMAT_NAME = "ganpaint-project"
FORMAT_VERSION = 1
META_MEMBER = "document.json"
LAYER_MEMBERS = {"photo": "photo.png", "mask": "mask.png", "labels": "labels.png", "result": "result.png"}
"""Raster layer name -> zip member name."""
LAYER_MODES = {"photo": "RGB", "mask": "L", "labels": "L", "result": "RGB"}
"""Raster layer name -> PIL mode of its PNG."""
REQUIRED_LAYERS = ("photo", "mask", "labels")

MAX_MEMBERS = 64
"""Most zip members accepted in a project file."""
MAX_JSON_BYTES = 64 * 2**20
"""Largest accepted uncompressed ``document.json``, in bytes (64 MiB)."""


# --------------------------------------------------------------------------- saving


def _meta_bytes(doc: Document, name: str) -> bytes:
    """``document.json`` content for ``doc``; ProjectError if ``doc.settings`` is not JSON-able."""
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "width": doc.width,
        "height": doc.height,
        "layers": [layer for layer in LAYER_MEMBERS if getattr(doc, layer) is not None],
        "result_current": doc.result is not None and doc.result_revision == doc.revision,
        "hints": [hint.to_json() for hint in doc.hints],
        "strokes": [stroke.to_json() for stroke in doc.strokes],
        "settings": doc.settings,
    }
    try:
        return json.dumps(meta, indent=1, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"cannot save '{name}': the document settings cannot be stored ({exc}).") from exc


def write_project(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write ``doc`` to ``path`` as a ``.ganpaint`` file, atomically, without touching ``doc``.

    Used by :func:`save_project` and by autosave (which must not change ``doc.path`` or ``doc.dirty``).
    The current pixels are written even while a raster edit is open.

    Raises:
        ProjectError: the file cannot be written (the previous file, if any, is then left intact) or
            ``doc.settings`` is not JSON-able.
    """
    name = os.path.basename(os.fspath(path))
    meta = _meta_bytes(doc, name)
    try:
        with atomic_writer(path) as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(member_info(META_MEMBER, zipfile.ZIP_DEFLATED), meta)
            for layer, member in LAYER_MEMBERS.items():
                array = getattr(doc, layer)
                if array is not None:
                    _write_png(archive, member, array)
    except OSError as exc:
        raise ProjectError(f"cannot save '{name}': {exc.strerror or exc}.") from exc


def save_project(doc: Document, path: str | os.PathLike[str]) -> None:
    """Save ``doc`` to ``path`` atomically, then set ``doc.path`` and clear ``doc.dirty``.

    Raises:
        ProjectError: see :func:`write_project`; ``doc`` is then unchanged.
    """
    write_project(doc, path)
    doc.path = os.fspath(path)
    doc.mark_saved()


# --------------------------------------------------------------------------- loading


def _reader(archive: zipfile.ZipFile, name: str) -> BoundedZipReader:
    """Checked access to the project's whitelisted members (``document.json`` and the layer PNGs)."""
    return BoundedZipReader(archive, name, MAX_MEMBERS, known={META_MEMBER, *LAYER_MEMBERS.values()})


def _checked_meta(reader: BoundedZipReader) -> dict[str, Any]:
    """Parse and validate ``document.json``; ProjectError with one sentence on any problem."""
    try:
        meta = json.loads(reader.read(META_MEMBER, MAX_JSON_BYTES))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise reader.fail(f"'{META_MEMBER}' is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise reader.fail("it is not a GANPaint project")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise reader.fail(f"'{META_MEMBER}' has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise reader.fail(f"it was saved by a newer GANPaint Studio (format version {version})")
    width, height = meta.get("width"), meta.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (width, height)):
        raise reader.fail(f"'{META_MEMBER}' has an invalid image size {width!r}x{height!r}")
    if width * height > MAX_PIXELS:
        raise reader.fail(f"it declares a {width}x{height} image, more than the {MAX_PIXELS:,} pixels allowed")
    for key, kind in (("layers", list), ("hints", list), ("strokes", list), ("settings", dict)):
        if not isinstance(meta.get(key), kind):
            raise reader.fail(f"'{META_MEMBER}' has no valid '{key}' entry")
    return meta


def _read_layer(reader: BoundedZipReader, layer: str, width: int, height: int) -> np.ndarray:
    """Decode one layer PNG from memory into ``uint8 (H, W)`` or ``uint8 (H, W, 3)``."""
    member, mode = LAYER_MEMBERS[layer], LAYER_MODES[layer]
    data = reader.read(member, max_layer_bytes(width, height, len(mode)))
    return decode_png(reader, member, data, MAX_PIXELS, mode=mode, size=(width, height))


def _vector_items(reader: BoundedZipReader, meta: dict[str, Any], key: str, kind: type) -> list[Any]:
    """``meta[key]`` parsed with ``kind.from_json``; ProjectError for a malformed item."""
    try:
        return [kind.from_json(item) for item in meta[key]]
    except ValueError as exc:
        raise reader.fail(f"'{META_MEMBER}' has an invalid entry in '{key}' ({exc})") from exc


def _build_document(reader: BoundedZipReader) -> Document:
    """Read every member and assemble the Document (no history, revision 0, not dirty)."""
    meta = _checked_meta(reader)
    width, height = meta["width"], meta["height"]
    present = [layer for layer in LAYER_MEMBERS if layer in REQUIRED_LAYERS or layer in meta["layers"]]
    arrays = {layer: _read_layer(reader, layer, width, height) for layer in present}
    hints = _vector_items(reader, meta, "hints", ColorHint)
    strokes = _vector_items(reader, meta, "strokes", SketchStroke)
    doc = Document(arrays["photo"])
    doc.mask, doc.labels = arrays["mask"], arrays["labels"]
    doc.hints, doc.strokes, doc.settings = hints, strokes, meta["settings"]
    if "result" in arrays:
        doc.set_result(arrays["result"], revision=doc.revision if meta.get("result_current") else -1)
    return doc


def load_project(path: str | os.PathLike[str]) -> Document:
    """Read a ``.ganpaint`` file (in memory only; nothing is extracted or written).

    Returns:
        A Document with ``path`` set to ``path``, revision 0, empty history, not dirty. If a result
        was saved, ``result_revision`` is 0 when it matched the saved state, else -1.

    Raises:
        ProjectError: missing/unreadable file, not a zip, unsafe member names, too many members,
            absurd declared sizes, bombs, missing members, bad JSON, or layers of the wrong size or
            mode (see the module docstring).
    """
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    with opening_archive(name, "a GANPaint project"):
        with zipfile.ZipFile(path) as archive:
            doc = _build_document(_reader(archive, name))
    doc.path = os.fspath(path)
    return doc


# --------------------------------------------------------------------------- export / import


def export_result(doc: Document, path: str | os.PathLike[str], quality: int = 95) -> None:
    """Save ``doc.result`` (or ``doc.photo`` when there is no result) as an image file, atomically.

    Raises GanpaintError for an unknown extension or a write failure (see ``imageio.save_image``).
    """
    save_image(path, doc.result if doc.result is not None else doc.photo, quality=quality)


def export_mask(doc: Document, path: str | os.PathLike[str]) -> None:
    """Save ``doc.mask`` (uint8 (H, W), 0 keep / 255 hole) as a grayscale image file, atomically.

    Use a lossless format (.png) to keep the mask exact. Raises GanpaintError like ``save_image``.
    """
    save_image(path, doc.mask)


def import_mask(doc: Document, path: str | os.PathLike[str], description: str = "Import mask") -> RasterPatch | None:
    """Replace ``doc.mask`` with the mask file at ``path`` as one undo step.

    The file is thresholded (> 127 is a hole). Returns the recorded patch, or None if nothing changed.

    Raises:
        ImageLoadError: unreadable file, or its size differs from the document's.
    """
    return doc.set_layer("mask", load_mask(path, doc.shape), description)
