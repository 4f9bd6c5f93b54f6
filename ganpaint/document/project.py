"""``.ganpaint`` project files, plus result/mask export and mask import.

Format (version 2; version 1 files, without edit layers, still open): a zip archive holding

- ``document.json``: ``{"format": "ganpaint-project", "version": 2, "width", "height", "layers":
  [names of the raster layers present], "result_current": bool, "hints": [...], "strokes": [...],
  "settings": {...}, "edits": [...]}`` (UTF-8, deflated);
- ``photo.png`` (RGB, the original photo), ``mask.png`` (L), ``labels.png`` (L) and, when the document
  has a result, ``result.png`` (RGB);
- the edit-layer stack: ``edits/<i>/pixels.png``, ``alpha.png`` and ``in-<input>.png`` per layer, described
  by the ``"edits"`` entry (:mod:`ganpaint.document.layer_io`).

PNG is lossless, so layers round-trip bit-exactly. PNGs are stored (not deflated again).

Loading never extracts anything: members are read into memory, by whitelisted name only, through
:class:`~ganpaint.document.ziparchive.BoundedZipReader`, after these checks (each failure is a
:class:`~ganpaint.errors.ProjectError` with one sentence):

- at most :data:`MAX_MEMBERS` members; a member name that is absolute, has a drive letter, a backslash
  or ``..`` is treated as malicious and the whole file is refused; other unknown names are ignored;
- declared ``width * height`` at most ``imageio.MAX_PIXELS``;
- uncompressed sizes (``ZipInfo.file_size``): ``document.json`` at most :data:`MAX_JSON_BYTES`; a layer
  PNG at most :func:`~ganpaint.document.ziparchive.max_layer_bytes` of the declared size (about
  ``3 * MAX_PIXELS`` bytes for the largest RGB document);
- a member above :data:`RATIO_CHECK_BYTES` whose uncompressed/compressed ratio exceeds
  :data:`MAX_COMPRESSION_RATIO` is refused as a zip bomb;
- members are decompressed in chunks of :data:`READ_CHUNK_BYTES`, and reading stops with a refusal as
  soon as a member yields more than its declared size (a lying header) or the file more than
  :data:`MAX_TOTAL_BYTES` in all, so memory stays bounded whatever the member claims;
- each layer PNG must be a PNG of the declared width and height, in the expected colour mode;
- ``document.json`` may nest at most :data:`MAX_JSON_DEPTH` levels; every field is checked for type and
  range: ``layers`` names, ``result_current`` a bool, at most :data:`MAX_VECTOR_ITEMS` hints and strokes
  whose coordinates lie within :func:`coordinate_limit` of the canvas, radii and widths at most
  :func:`size_limit`. Any of these is a ProjectError;
- ``settings`` entries named in :data:`SETTINGS_RULES` (``seed``, model names...) that break their rule
  are dropped, each with a sentence in ``Document.notices`` (the layers are never lost for a bad
  setting); other entries are kept as they are (forward compatibility).
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Callable

import numpy as np

from ganpaint.errors import ProjectError
from ganpaint.jsonlimits import loads_limited

from . import layer_io
from .atomic import atomic_writer
from .imageio import MAX_PIXELS, load_mask, save_image
from .model import ColorHint, Document, RasterPatch, SketchStroke
from .ziparchive import (
    MAX_COMPRESSION_RATIO,
    RATIO_CHECK_BYTES,
    READ_CHUNK_BYTES,
    BoundedZipReader,
    check_regular_file,
    decode_png,
    max_layer_bytes,
    member_info,
    opening_archive,
)
from .ziparchive import short as _short
from .ziparchive import write_png as _write_png

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_COMPRESSION_RATIO",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MEMBERS",
    "MAX_TOTAL_BYTES",
    "MAX_VECTOR_ITEMS",
    "RATIO_CHECK_BYTES",
    "SEED_MAX",
    "SETTINGS_RULES",
    "export_mask",
    "export_result",
    "import_mask",
    "load_project",
    "max_layer_bytes",
    "save_project",
    "write_project",
]

FORMAT_NAME = "ganpaint-project"
FORMAT_VERSION = 2
"""1: photo, mask, labels, result, hints, strokes; 2: plus the edit-layer stack (:mod:`.layer_io`)."""
META_MEMBER = "document.json"
LAYER_MEMBERS = {"photo": "photo.png", "mask": "mask.png", "labels": "labels.png", "result": "result.png"}
"""Raster layer name -> zip member name."""
LAYER_MODES = {"photo": "RGB", "mask": "L", "labels": "L", "result": "RGB"}
"""Raster layer name -> PIL mode of its PNG."""
REQUIRED_LAYERS = ("photo", "mask", "labels")

MAX_MEMBERS = 512
"""Most zip members accepted in a project file (the layers, up to 64 with 6 members each, and a few more)."""
MAX_JSON_BYTES = 64 * 2**20
"""Largest accepted uncompressed ``document.json``, in bytes (64 MiB)."""
MAX_TOTAL_BYTES = int(8.5 * MAX_PIXELS) + MAX_JSON_BYTES
"""Most uncompressed bytes read from one project file (every layer of the largest document, plus JSON)."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of lists and objects accepted in ``document.json``."""
MAX_VECTOR_ITEMS = 100_000
"""Most hints, most strokes, and most points of one stroke, accepted in a project."""
SEED_MAX = 2**31 - 2
"""Largest seed the studio's seed field holds; a project's ``settings["seed"]`` lies in 0..SEED_MAX."""


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
        "edits": layer_io.layers_meta(doc.edits),
    }
    try:
        return json.dumps(meta, indent=1, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"cannot save '{name}': the document settings cannot be stored ({exc}).") from exc


def write_project(doc: Document, path: str | os.PathLike[str], *, permissions: int | None = None) -> None:
    """Write ``doc`` to ``path`` as a ``.ganpaint`` file, atomically, without touching ``doc``.

    Used by :func:`save_project` and by autosave (which must not change ``doc.path`` or ``doc.dirty``).
    The current pixels are written even while a raster edit is open. ``permissions``: mode bits of a new
    file (see :func:`~ganpaint.document.atomic.atomic_writer`; an existing file keeps its mode).

    Raises:
        ProjectError: the file cannot be written (the previous file, if any, is then left intact) or
            ``doc.settings`` is not JSON-able.
        ReadOnlyFileError: ``path`` is a read-only file (see :func:`~ganpaint.document.atomic.overwriting_read_only`).
    """
    name = os.path.basename(os.fspath(path))
    meta = _meta_bytes(doc, name)
    try:
        with atomic_writer(path, permissions=permissions) as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(member_info(META_MEMBER, zipfile.ZIP_DEFLATED), meta)
            for layer, member in LAYER_MEMBERS.items():
                array = getattr(doc, layer)
                if array is not None:
                    _write_png(archive, member, array)
            layer_io.write_layers(doc.edits, lambda member, array: _write_png(archive, member, array))
    except OSError as exc:
        raise ProjectError(f"cannot save '{name}': {exc.strerror or exc}.") from exc


def save_project(doc: Document, path: str | os.PathLike[str]) -> None:
    """Save ``doc`` to ``path`` atomically, then set ``doc.path`` and clear ``doc.dirty``.

    Raises:
        ProjectError, ReadOnlyFileError: see :func:`write_project`; ``doc`` is then unchanged.
    """
    write_project(doc, path)
    doc.path = os.fspath(path)
    doc.mark_saved()


# --------------------------------------------------------------------------- loading


_KNOWN_MEMBERS = frozenset({META_MEMBER, *LAYER_MEMBERS.values()})


def _reader(archive: zipfile.ZipFile, name: str) -> BoundedZipReader:
    """Checked access to the project's members: ``document.json``, the layer PNGs, the edit layers."""
    return BoundedZipReader(archive, name, MAX_MEMBERS, MAX_TOTAL_BYTES,
                            known=lambda raw: raw in _KNOWN_MEMBERS or layer_io.is_layer_member(raw))


def _checked_meta(reader: BoundedZipReader) -> dict[str, Any]:
    """Parse and validate ``document.json``; ProjectError with one sentence on any problem."""
    data = reader.read(META_MEMBER, MAX_JSON_BYTES)
    try:
        meta = loads_limited(data, MAX_JSON_DEPTH)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        if "nests deeper" in str(exc):
            raise reader.fail(f"'{META_MEMBER}' {exc}") from exc
        raise reader.fail(f"'{META_MEMBER}' is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise reader.fail("it is not a GANPaint project")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise reader.fail(f"'{META_MEMBER}' has an invalid format version {_short(repr(version), 20)}")
    if version > FORMAT_VERSION:
        raise reader.fail(f"it was saved by a newer GANPaint Studio (format version {_short(version, 20)})")
    width, height = meta.get("width"), meta.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (width, height)):
        raise reader.fail(f"'{META_MEMBER}' has an invalid image size {_short(repr(width), 20)}x{_short(repr(height), 20)}")
    if width * height > MAX_PIXELS:
        raise reader.fail(f"it declares a {_short(width, 20)}x{_short(height, 20)} image, more than the "
                          f"{MAX_PIXELS:,} pixels allowed")
    for key, kind in (("layers", list), ("hints", list), ("strokes", list), ("settings", dict)):
        if not isinstance(meta.get(key), kind):
            raise reader.fail(f"'{META_MEMBER}' has no valid '{key}' entry")
    if not all(isinstance(layer, str) and layer in LAYER_MEMBERS for layer in meta["layers"]):
        raise reader.fail(f"'{META_MEMBER}' lists an unknown layer in 'layers'")
    if not isinstance(meta.get("result_current", False), bool):
        raise reader.fail(f"'{META_MEMBER}' has an invalid 'result_current' entry (it must be true or false)")
    for key in ("hints", "strokes"):
        if len(meta[key]) > MAX_VECTOR_ITEMS:
            raise reader.fail(f"'{META_MEMBER}' has more than the {MAX_VECTOR_ITEMS:,} '{key}' allowed")
    return meta


def _read_layer(reader: BoundedZipReader, layer: str, width: int, height: int) -> np.ndarray:
    """Decode one layer PNG from memory into ``uint8 (H, W)`` or ``uint8 (H, W, 3)``."""
    return _read_png(reader, LAYER_MEMBERS[layer], LAYER_MODES[layer], width, height)


def _read_png(reader: BoundedZipReader, member: str, mode: str, width: int, height: int) -> np.ndarray:
    """Decode PNG ``member`` from memory, checking its size (``width`` x ``height``) and PIL ``mode``."""
    data = reader.read(member, max_layer_bytes(width, height, len(mode)))
    return decode_png(reader, member, data, MAX_PIXELS, mode=mode, size=(width, height))


def coordinate_limit(width: int, height: int) -> float:
    """Largest ``|x|`` or ``|y|`` (pixels) accepted for a hint or stroke point of a ``width`` x ``height``
    project: strokes may run past the canvas edge, but not absurdly far."""
    return 8.0 * max(width, height) + 1000.0


def size_limit(width: int, height: int) -> float:
    """Largest hint radius or stroke width (pixels) accepted for a ``width`` x ``height`` project."""
    return 2.0 * max(width, height) + 1000.0


def _check_geometry(item: Any, width: int, height: int) -> None:
    """ValueError if a parsed ColorHint / SketchStroke lies absurdly far off the canvas or is absurdly big."""
    reach, biggest = coordinate_limit(width, height), size_limit(width, height)
    if isinstance(item, ColorHint):
        points, size = [(item.x, item.y)], item.radius
    else:
        if len(item.points) > MAX_VECTOR_ITEMS:
            raise ValueError(f"a stroke has more than {MAX_VECTOR_ITEMS:,} points")
        points, size = item.points, item.width
    if any(abs(x) > reach or abs(y) > reach for x, y in points):
        raise ValueError(f"a point lies more than {reach:g} pixels off the canvas")
    if size > biggest:
        raise ValueError(f"a size of {size:g} pixels is more than the {biggest:g} allowed")


def _vector_items(reader: BoundedZipReader, meta: dict[str, Any], key: str, kind: type) -> list[Any]:
    """``meta[key]`` parsed with ``kind.from_json`` and checked against the canvas size; ProjectError
    for a malformed item."""
    try:
        items = [kind.from_json(item) for item in meta[key]]
        for item in items:
            _check_geometry(item, meta["width"], meta["height"])
    except (ValueError, TypeError, OverflowError) as exc:
        raise reader.fail(f"'{META_MEMBER}' has an invalid entry in '{key}' ({_short(exc)})") from exc
    return items


def _is_int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 255 and v.isprintable()


SETTINGS_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (_is_int_in(0, SEED_MAX), f"an integer from 0 to {SEED_MAX}"),
    "inpaint_model": (_is_name, "a model name"),
    "synthesize_model": (_is_name, "a model name"),
    "source_name": (_is_name, "a file name"),
    "canvas": (lambda v: v == "blank", '"blank"'),
    "labels_source": (lambda v: v in ("user", "segmenter"), '"user" or "segmenter"'),
    "mode": (_is_name, "a studio mode name"),
    "layer_count": (_is_int_in(0, 10**9), "an integer from 0 to 1000000000"),
}
"""Known ``settings`` keys -> (check, what the value must be). Code that reads a new setting registers
it here, so a project file can never hand it a value of the wrong type or range."""


def _checked_settings(settings: dict[str, Any], name: str) -> tuple[dict[str, Any], list[str]]:
    """``settings`` without the entries that break :data:`SETTINGS_RULES`, and one sentence per dropped entry."""
    kept: dict[str, Any] = {}
    notices: list[str] = []
    for key, value in settings.items():
        rule = SETTINGS_RULES.get(key)
        if rule is None and isinstance(key, str) and key.endswith("_model"):  # one per task: inpaint_model...
            rule = (_is_name, "a model name")
        if rule is not None and not rule[0](value):
            notices.append(f"Ignored the setting '{_short(key, 40)}' of '{name}': it must be {rule[1]}, "
                           f"not {_short(json.dumps(value), 40)}.")
            continue
        kept[key] = value
    return kept, notices


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
    doc.settings, doc.notices = _checked_settings(meta["settings"], reader.name)
    doc.hints, doc.strokes = hints, strokes
    doc.edits = layer_io.read_layers(meta, width, height, lambda member, mode, w, h: _read_png(reader, member, mode, w, h),
                                     reader.fail)
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
        check_regular_file(path, name)
        with zipfile.ZipFile(path) as archive:
            doc = _build_document(_reader(archive, name))
    doc.path = os.fspath(path)
    return doc


# --------------------------------------------------------------------------- export / import


def export_result(doc: Document, path: str | os.PathLike[str], quality: int = 95) -> None:
    """Save ``doc.result`` (or the composite of the photo and its edit layers when there is no result)
    as an image file, atomically.

    Raises GanpaintError for an unknown extension or a write failure (see ``imageio.save_image``).
    """
    save_image(path, doc.result if doc.result is not None else doc.composite(), quality=quality)


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
