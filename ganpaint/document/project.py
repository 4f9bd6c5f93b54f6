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

Loading never extracts anything: members are read into memory, by whitelisted name only, after these
checks (each failure is a :class:`~ganpaint.errors.ProjectError` with one sentence):

- at most :data:`MAX_MEMBERS` members; a member name that is absolute, has a drive letter, a backslash
  or ``..`` is treated as malicious and the whole file is refused; other unknown names are ignored;
- declared ``width * height`` at most ``imageio.MAX_PIXELS``;
- uncompressed sizes (``ZipInfo.file_size``, which the zip reader also enforces while decompressing):
  ``document.json`` at most :data:`MAX_JSON_BYTES`; a layer PNG at most :func:`max_layer_bytes` of the
  declared size (about ``3 * MAX_PIXELS`` bytes for the largest RGB document);
- a member above :data:`RATIO_CHECK_BYTES` whose uncompressed/compressed ratio exceeds
  :data:`MAX_COMPRESSION_RATIO` is refused as a zip bomb;
- each layer PNG must be a PNG of the declared width and height, in the expected colour mode.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganpaint.errors import ProjectError

from .atomic import atomic_writer
from . import layer_io
from .imageio import MAX_PIXELS, load_mask, save_image
from .model import ColorHint, Document, RasterPatch, SketchStroke

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
MAX_COMPRESSION_RATIO = 100
"""Largest accepted uncompressed/compressed size ratio of a member above ``RATIO_CHECK_BYTES``."""
RATIO_CHECK_BYTES = 2**20
"""Members whose uncompressed size is at most this (1 MiB) are not ratio-checked."""
PNG_COMPRESS_LEVEL = 3
"""zlib level used for layer PNGs (1 fast .. 9 small)."""

_UNSAFE_NAME = re.compile(r"^[\\/]|^[A-Za-z]:|\\|\.\.")


def max_layer_bytes(width: int, height: int, channels: int) -> int:
    """Largest accepted uncompressed size, in bytes, of a layer PNG of ``width`` x ``height`` pixels.

    That is the raw pixel bytes (``channels`` per pixel plus one filter byte per row), 1 % for zlib and
    chunk framing, and 1 MiB for headers and metadata chunks.
    """
    raw = (width * channels + 1) * height
    return raw + raw // 100 + 2**20


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


def _member_info(member: str, compress_type: int) -> zipfile.ZipInfo:
    """A ZipInfo with a fixed timestamp, so that equal documents give byte-identical files."""
    info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compress_type
    return info


def _write_png(archive: zipfile.ZipFile, member: str, array: np.ndarray) -> None:
    """Stream ``array`` (uint8 (H, W) or (H, W, 3)) into ``archive`` as a stored PNG member."""
    with archive.open(_member_info(member, zipfile.ZIP_STORED), "w") as handle:
        Image.fromarray(np.ascontiguousarray(array)).save(
            handle, format="PNG", compress_level=PNG_COMPRESS_LEVEL
        )


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
            archive.writestr(_member_info(META_MEMBER, zipfile.ZIP_DEFLATED), meta)
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
        ProjectError: see :func:`write_project`; ``doc`` is then unchanged.
    """
    write_project(doc, path)
    doc.path = os.fspath(path)
    doc.mark_saved()


# --------------------------------------------------------------------------- loading


class _Reader:
    """Checked, in-memory access to the whitelisted members of an open project archive."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.name = name
        self.members = self._index()

    def fail(self, reason: str) -> ProjectError:
        """A ProjectError ``cannot open '<file>': <reason>.``"""
        return ProjectError(f"cannot open '{self.name}': {reason}.")

    def _index(self) -> dict[str, zipfile.ZipInfo]:
        """Whitelisted member name -> ZipInfo, after the count, name and duplicate checks."""
        infos = self.archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self.fail(f"it has {len(infos)} members, more than the {MAX_MEMBERS} allowed")
        known = {META_MEMBER, *LAYER_MEMBERS.values()}
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            # orig_filename is the raw name; zipfile already rewrote backslashes in filename on Windows.
            raw = getattr(info, "orig_filename", info.filename)
            if _UNSAFE_NAME.search(raw) or "\x00" in raw:
                raise self.fail(f"it contains an unsafe member name {raw!r} and may be malicious")
            if raw not in known and not layer_io.is_layer_member(raw):
                continue
            if raw in members:
                raise self.fail(f"it contains '{raw}' more than once")
            members[raw] = info
        return members

    def read(self, member: str, limit: int) -> bytes:
        """The uncompressed bytes of ``member``, refusing encryption, sizes above ``limit`` and bombs."""
        info = self.members.get(member)
        if info is None:
            raise self.fail(f"'{member}' is missing")
        if info.flag_bits & 0x1:
            raise self.fail(f"'{member}' is encrypted")
        if info.file_size > limit:
            raise self.fail(f"'{member}' is {info.file_size:,} bytes, more than the {limit:,} allowed")
        if info.file_size > RATIO_CHECK_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise self.fail(f"'{member}' is compressed suspiciously well (a zip bomb?)")
        return self.archive.read(info)


def _checked_meta(reader: _Reader) -> dict[str, Any]:
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


def _read_layer(reader: _Reader, layer: str, width: int, height: int) -> np.ndarray:
    """Decode one layer PNG from memory into ``uint8 (H, W)`` or ``uint8 (H, W, 3)``."""
    return _read_png(reader, LAYER_MEMBERS[layer], LAYER_MODES[layer], width, height)


def _read_png(reader: _Reader, member: str, mode: str, width: int, height: int) -> np.ndarray:
    """Decode PNG ``member`` from memory, checking its size (``width`` x ``height``) and PIL ``mode``."""
    data = reader.read(member, max_layer_bytes(width, height, len(mode)))
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != (width, height):
                raise reader.fail(
                    f"layer '{member}' is {image.size[0]}x{image.size[1]} but the document is {width}x{height}"
                )
            if image.mode != mode:
                raise reader.fail(f"layer '{member}' has colour mode {image.mode}, not {mode}")
            image.load()
            return np.array(image)
    except ProjectError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise reader.fail(f"layer '{member}' is not a valid PNG image") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise reader.fail(f"layer '{member}' is damaged") from exc


def _vector_items(reader: _Reader, meta: dict[str, Any], key: str, kind: type) -> list[Any]:
    """``meta[key]`` parsed with ``kind.from_json``; ProjectError for a malformed item."""
    try:
        return [kind.from_json(item) for item in meta[key]]
    except ValueError as exc:
        raise reader.fail(f"'{META_MEMBER}' has an invalid entry in '{key}' ({exc})") from exc


def _build_document(reader: _Reader) -> Document:
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
    doc.edits = layer_io.read_layers(meta, width, height, lambda member, mode, w, h: _read_png(reader, member, mode, w, h),
                                     reader.fail)
    if "result" in arrays:
        doc.set_result(arrays["result"], revision=doc.revision if meta.get("result_current") else -1)
    return doc


@contextmanager
def _opening(name: str) -> Iterator[None]:
    """Map file-system and zip failures while loading ``name`` to ProjectError sentences."""
    try:
        yield
    except ProjectError:
        raise
    except FileNotFoundError as exc:
        raise ProjectError(f"cannot open '{name}': the file does not exist.") from exc
    except IsADirectoryError as exc:
        raise ProjectError(f"cannot open '{name}': it is a folder, not a file.") from exc
    except PermissionError as exc:
        raise ProjectError(f"cannot open '{name}': permission denied.") from exc
    except zipfile.BadZipFile as exc:
        raise ProjectError(f"cannot open '{name}': it is not a GANPaint project or it is damaged.") from exc
    except MemoryError as exc:
        raise ProjectError(f"cannot open '{name}': not enough memory.") from exc
    except (OSError, EOFError, zlib.error, NotImplementedError, ValueError) as exc:
        raise ProjectError(f"cannot open '{name}': the file is damaged or uses an unsupported zip feature.") from exc


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
    with _opening(name):
        with zipfile.ZipFile(path) as archive:
            doc = _build_document(_Reader(archive, name))
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
