"""Atomic file writes: a file is either left as it was or replaced by the complete new content.

The new content goes to a temporary file in the destination's folder (same file system, so the final
rename is atomic), is flushed and fsync-ed, then moved over the destination with :func:`os.replace`.
If anything fails, the temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["atomic_writer", "atomic_write_bytes"]

_ALLOWED_MODES = ("wb", "w")


def _create_temp(path: str) -> tuple[int, str]:
    """Create a new, empty temporary file next to ``path``; return ``(fd, temp_path)``.

    The file is created with mode 0o666 filtered by the process umask (like an ordinary new file), so
    the final file gets the usual permissions. Raises ``OSError`` if the folder is not writable.
    """
    folder, name = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:  # pragma: no cover - 48 random bits colliding
            continue


def _remove_quietly(path: str) -> None:
    """Delete ``path`` if it exists; never raises for a missing file."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without an exception.

    Args:
        path: destination file; its folder must exist.
        mode: ``"wb"`` (binary, yields a binary file object) or ``"w"`` (text, UTF-8, ``"\\n"`` newlines).

    Yields:
        A writable file object for the temporary file.

    On success the data is flushed, fsync-ed and moved over ``path`` with :func:`os.replace`. On any
    exception (including ``KeyboardInterrupt``) the temporary file is deleted, ``path`` keeps its old
    content and the exception propagates.

    Raises:
        ValueError: ``mode`` is not ``"wb"`` or ``"w"``.
        OSError: the temporary file cannot be created, written or renamed.
    """
    if mode not in _ALLOWED_MODES:
        raise ValueError(f"atomic_writer mode must be one of {_ALLOWED_MODES}, not {mode!r}")
    target = os.fspath(path)
    fd, temp = _create_temp(target)
    try:
        text_options = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
        with os.fdopen(fd, mode, **text_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        _remove_quietly(temp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` atomically with ``data`` (bytes-like).

    Raises:
        OSError: the file cannot be written; ``path`` is then left as it was.
    """
    with atomic_writer(path, "wb") as handle:
        handle.write(data)
