"""Zip archives of layered pictures (``.ganpaint`` projects, OpenRaster ``.ora`` files): safe reading in
memory and deterministic writing. numpy + Pillow only.

Reading never extracts anything: a :class:`BoundedZipReader` indexes the members after these checks,
and hands out their bytes one at a time after the size checks (each failure is a
:class:`~ganpaint.errors.ProjectError` ``cannot open '<file>': <reason>.``):

- at most ``max_members`` members; a member name that is absolute, has a drive letter, a backslash,
  a NUL or ``..`` is treated as malicious and the whole file is refused (no zip-slip, even for a
  caller that would later write members out);
- a member is read only up to a caller-given uncompressed size (``ZipInfo.file_size``); encrypted
  members and compression methods other than stored and deflated are refused;
- a member above :data:`RATIO_CHECK_BYTES` whose uncompressed/compressed ratio exceeds
  :data:`MAX_COMPRESSION_RATIO` is refused as a zip bomb;
- members are decompressed in chunks of :data:`READ_CHUNK_BYTES`, and reading stops with a refusal as
  soon as a member yields more than its declared size (a lying header) or the file more than a
  caller-given total, so memory stays bounded whatever the member claims.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganpaint.errors import ProjectError

from .imageio import require_regular_file

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "PNG_COMPRESS_LEVEL",
    "RATIO_CHECK_BYTES",
    "READ_CHUNK_BYTES",
    "BoundedZipReader",
    "check_regular_file",
    "decode_png",
    "max_layer_bytes",
    "member_info",
    "opening_archive",
    "short",
    "write_png",
]

MAX_COMPRESSION_RATIO = 100
"""Largest accepted uncompressed/compressed size ratio of a member above ``RATIO_CHECK_BYTES``."""
RATIO_CHECK_BYTES = 2**20
"""Members whose uncompressed size is at most this (1 MiB) are not ratio-checked."""
READ_CHUNK_BYTES = 2**20
"""Members are decompressed this many bytes (1 MiB) at a time."""
PNG_COMPRESS_LEVEL = 3
"""zlib level used for layer PNGs (1 fast .. 9 small)."""

_UNSAFE_NAME = re.compile(r"^[\\/]|^[A-Za-z]:|\\|\.\.")


def short(value: Any, limit: int = 60) -> str:
    """``str(value)`` cut to ``limit`` characters (error messages quote untrusted values)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def max_layer_bytes(width: int, height: int, channels: int) -> int:
    """Largest accepted uncompressed size, in bytes, of a layer PNG of ``width`` x ``height`` pixels.

    That is the raw pixel bytes (``channels`` per pixel plus one filter byte per row), 1 % for zlib and
    chunk framing, and 1 MiB for headers and metadata chunks.
    """
    raw = (width * channels + 1) * height
    return raw + raw // 100 + 2**20


# --------------------------------------------------------------------------- writing


def member_info(member: str, compress_type: int) -> zipfile.ZipInfo:
    """A ZipInfo with a fixed timestamp, so that equal documents give byte-identical files."""
    info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compress_type
    return info


def write_png(archive: zipfile.ZipFile, member: str, array: np.ndarray) -> None:
    """Stream ``array`` (uint8 (H, W), (H, W, 3) or (H, W, 4)) into ``archive`` as a stored PNG member."""
    with archive.open(member_info(member, zipfile.ZIP_STORED), "w") as handle:
        Image.fromarray(np.ascontiguousarray(array)).save(handle, format="PNG", compress_level=PNG_COMPRESS_LEVEL)


# --------------------------------------------------------------------------- reading


class BoundedZipReader:
    """Checked, in-memory access to the members of an open archive.

    Args:
        archive: the open zip file.
        name: the file's name, for messages.
        max_members: most members accepted in the whole archive.
        max_total_bytes: most uncompressed bytes read from the archive in all.
        known: which member names to index (others are ignored), or None to index every member.
        rooted: also accept names with one leading ``/`` (some writers put them in OpenRaster files),
            indexed without it; safe because nothing is ever extracted.

    Raises:
        ProjectError: too many members, an unsafe member name, or a known name present twice.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str, max_members: int, max_total_bytes: int,
                 known: Callable[[str], bool] | None = None, rooted: bool = False) -> None:
        self.archive = archive
        self.name = name
        self.max_total_bytes = max_total_bytes
        self.total = 0  # uncompressed bytes read so far
        self.members = self._index(max_members, known, rooted)

    def fail(self, reason: str) -> ProjectError:
        """A ProjectError ``cannot open '<file>': <reason>.``"""
        return ProjectError(f"cannot open '{self.name}': {reason}.")

    def _index(self, max_members: int, known: Callable[[str], bool] | None, rooted: bool) -> dict[str, zipfile.ZipInfo]:
        """Member name -> ZipInfo, after the count, name and duplicate checks."""
        infos = self.archive.infolist()
        if len(infos) > max_members:
            raise self.fail(f"it has {len(infos)} members, more than the {max_members} allowed")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            # orig_filename is the raw name; zipfile already rewrote backslashes in filename on Windows.
            raw = getattr(info, "orig_filename", info.filename)
            if rooted and raw.startswith("/"):
                raw = raw[1:]
            if _UNSAFE_NAME.search(raw) or "\x00" in raw:
                raise self.fail(f"it contains an unsafe member name {short(repr(raw), 60)} and may be malicious")
            if known is not None and not known(raw):
                continue
            if raw in members:
                raise self.fail(f"it contains '{short(raw)}' more than once")
            members[raw] = info
        return members

    def read(self, member: str, limit: int) -> bytes:
        """The uncompressed bytes of ``member``, refusing encryption, sizes above ``limit``, bombs, and
        members that inflate past their declared size or past the archive's total (read in
        :data:`READ_CHUNK_BYTES` chunks, so a lying header never costs more than that)."""
        info = self.members.get(member)
        if info is None:
            raise self.fail(f"'{short(member)}' is missing")
        if info.flag_bits & 0x1:
            raise self.fail(f"'{short(member)}' is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2/LZMA members would decompress each chunk without an output bound
            raise self.fail(f"'{short(member)}' uses an unsupported compression method")
        if info.file_size > limit:
            raise self.fail(f"'{short(member)}' is {info.file_size:,} bytes, more than the {limit:,} allowed")
        if info.file_size > RATIO_CHECK_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise self.fail(f"'{short(member)}' is compressed suspiciously well (a zip bomb?)")
        if self.total + info.file_size > self.max_total_bytes:
            raise self.fail(f"its members hold more than the {self.max_total_bytes:,} bytes allowed")
        chunks: list[bytes] = []
        size = 0
        with self.archive.open(info) as handle:
            while True:
                chunk = handle.read(READ_CHUNK_BYTES)
                if not chunk:
                    break
                size += len(chunk)
                if size > info.file_size:
                    raise self.fail(f"'{short(member)}' holds more data than its zip header declares (damaged or malicious)")
                chunks.append(chunk)
        self.total += size
        return b"".join(chunks)


def decode_png(reader: BoundedZipReader, member: str, data: bytes, max_pixels: int, mode: str | None = None,
               size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode the PNG ``data`` of ``member`` in memory into a uint8 array.

    Args:
        reader: for the error messages.
        max_pixels: refuse a PNG whose header declares more pixels (checked before decoding).
        mode: the PIL mode the PNG must have (``"RGB"``, ``"L"``...), or None to convert it to RGBA.
        size: the ``(width, height)`` it must have, or None.

    Returns:
        ``uint8 (H, W)`` for ``L``, ``(H, W, 3)`` for ``RGB``, ``(H, W, 4)`` when converted to RGBA.

    Raises:
        ProjectError: not a PNG, damaged, too large, or of another size or mode.
    """
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if size is not None and (width, height) != tuple(size):
                raise reader.fail(f"layer '{short(member)}' is {width}x{height} but the document is {size[0]}x{size[1]}")
            if width * height > max_pixels:
                raise reader.fail(f"layer '{short(member)}' is {width}x{height}, more than the {max_pixels:,} pixels allowed")
            if mode is not None and image.mode != mode:
                raise reader.fail(f"layer '{short(member)}' has colour mode {image.mode}, not {mode}")
            image.load()
            return np.array(image if mode is not None else image.convert("RGBA"))
    except ProjectError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise reader.fail(f"layer '{short(member)}' is not a valid PNG image") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise reader.fail(f"layer '{short(member)}' is damaged") from exc


def check_regular_file(path: str | os.PathLike[str], name: str) -> None:
    """Refuse what is not a regular file before opening it (a FIFO would block the open forever).

    Raises:
        IsADirectoryError: a folder (``opening_archive`` turns it into a sentence).
        FileNotFoundError: nothing there.
        ProjectError: a pipe, a device or a socket.
    """
    require_regular_file(path, lambda: ProjectError(
        f"cannot open '{name}': it is not a regular file (a pipe or a device?)."))


@contextmanager
def opening_archive(name: str, kind: str) -> Iterator[None]:
    """Map file-system and zip failures while loading ``name`` to ProjectError sentences.

    ``kind`` names what the file should be, e.g. ``"a GANPaint project"``.
    """
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
        raise ProjectError(f"cannot open '{name}': it is not {kind} or it is damaged.") from exc
    except MemoryError as exc:
        raise ProjectError(f"cannot open '{name}': not enough memory.") from exc
    except (OSError, EOFError, zlib.error, NotImplementedError, ValueError) as exc:
        raise ProjectError(f"cannot open '{name}': the file is damaged or uses an unsupported zip feature.") from exc
