"""Atomic file writes: a file is either left as it was or replaced by the complete new content.

The new content goes to a temporary file ``.NAME.<12 hex digits>.tmp`` in the destination's folder (same
file system, so the final rename is atomic), is flushed and fsync-ed, then moved over the destination with
:func:`os.replace`. If anything fails, the temporary file is removed and the destination is untouched.

Side effects are those of an ordinary save:

- saving through a symbolic link writes the link's target (the link stays a link);
- re-saving an existing file keeps its permission bits; a new file gets ``permissions`` if given, else
  ``0o666`` filtered by the process umask;
- an existing file without write permission is not replaced: :class:`~ganpaint.errors.ReadOnlyFileError`
  is raised, unless the write happens inside :func:`overwriting_read_only` (the GUI asks first, the CLI
  needs ``--force``); the file then keeps its read-only mode;
- temporary files left by a save that was killed (``kill -9``, power loss) are cleaned up: the next save
  of the same file removes its own leftovers, and any save into the folder removes other leftovers older
  than :data:`STALE_TEMP_AGE_S`. On POSIX a writer holds an advisory lock (``flock``) on its temporary
  file, so a save still in progress in another process is never disturbed.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from ganpaint.errors import ReadOnlyFileError

try:  # POSIX advisory locks; Windows falls back to the age rule alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["STALE_TEMP_AGE_S", "atomic_write_bytes", "atomic_writer", "clean_stale_temps", "overwriting_read_only",
           "resolve_target"]

_ALLOWED_MODES = ("wb", "w")
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{12}\.tmp$")
STALE_TEMP_AGE_S = 24 * 3600.0
"""Leftover temporary files of *other* file names are removed once older than this (seconds)."""

_allow_read_only: contextvars.ContextVar[bool] = contextvars.ContextVar("ganpaint_allow_read_only", default=False)


@contextmanager
def overwriting_read_only() -> Iterator[None]:
    """Inside this block (this thread / context only), atomic writes replace read-only files too."""
    token = _allow_read_only.set(True)
    try:
        yield
    finally:
        _allow_read_only.reset(token)


def resolve_target(path: str | os.PathLike[str]) -> str:
    """The file a save to ``path`` writes: ``path`` itself, or the final target of a symbolic link
    (a dangling link's target is created)."""
    target = os.fspath(path)
    if os.path.islink(target):
        return os.path.realpath(target)
    return target


def _locked(fd: int) -> bool:
    """Take a non-blocking exclusive flock on ``fd``; True if taken (always True without fcntl)."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _create_temp(path: str) -> tuple[int, str]:
    """Create a new, empty temporary file next to ``path``, flock-ed; return ``(fd, temp_path)``.

    The file is created with mode 0o666 filtered by the process umask (like an ordinary new file).
    Raises ``OSError`` if the folder is not writable.
    """
    folder, name = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits colliding
            continue
        _locked(fd)  # a fresh file: nobody else can hold it
        return fd, temp


def _remove_quietly(path: str) -> None:
    """Delete ``path`` if it exists; never raises for a missing file."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def clean_stale_temps(path: str | os.PathLike[str], *, now: float | None = None) -> list[str]:
    """Remove the temporary files that killed saves left in ``path``'s folder.

    Leftovers of ``path`` itself are removed whatever their age; leftovers of other names once older
    than :data:`STALE_TEMP_AGE_S`. A temporary file whose writer still runs (it holds the file's flock)
    is never removed. Errors (permissions, races) are ignored: cleaning is best effort.

    Returns:
        The paths removed.
    """
    folder, own = os.path.split(os.path.abspath(os.fspath(path)))
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for entry in names:
        match = _TEMP_NAME.match(entry)
        if match is None:
            continue
        temp = os.path.join(folder, entry)
        try:
            info = os.lstat(temp)
            if not stat.S_ISREG(info.st_mode):
                continue
            if match.group("name") != own and now - info.st_mtime < STALE_TEMP_AGE_S:
                continue
            fd = os.open(temp, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            if _locked(fd):  # its writer is gone
                os.unlink(temp)
                removed.append(temp)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _check_replaceable(target: str) -> os.stat_result | None:
    """The destination's stat (None if it does not exist); ReadOnlyFileError if it is read-only and the
    caller is not inside :func:`overwriting_read_only`."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError:
        return None  # let the write itself report the problem
    read_only = not os.access(target, os.W_OK) or not info.st_mode & 0o222  # mode bits too: root may write anything
    if stat.S_ISREG(info.st_mode) and read_only and not _allow_read_only.get():
        raise ReadOnlyFileError(f"'{os.path.basename(target)}' is read-only; it was not overwritten.")
    return info


@contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "wb", *, permissions: int | None = None) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without an exception.

    Args:
        path: destination file (a symbolic link is followed: its target is written); its folder must exist.
        mode: ``"wb"`` (binary, yields a binary file object) or ``"w"`` (text, UTF-8, ``"\\n"`` newlines).
        permissions: mode bits of a *new* file (e.g. ``0o600``); default ``0o666`` minus the umask. An
            existing file keeps its own mode bits.

    Yields:
        A writable file object for the temporary file.

    On success the data is flushed, fsync-ed and moved over the destination with :func:`os.replace`. On
    any exception (including ``KeyboardInterrupt``) the temporary file is deleted, the destination keeps
    its old content and the exception propagates. Before writing, leftovers of killed saves are removed
    (:func:`clean_stale_temps`).

    Raises:
        ValueError: ``mode`` is not ``"wb"`` or ``"w"``.
        ReadOnlyFileError: the destination exists without write permission (see the module docstring).
        OSError: the temporary file cannot be created, written or renamed.
    """
    if mode not in _ALLOWED_MODES:
        raise ValueError(f"atomic_writer mode must be one of {_ALLOWED_MODES}, not {mode!r}")
    target = resolve_target(path)
    existing = _check_replaceable(target)
    clean_stale_temps(target)
    fd, temp = _create_temp(target)
    try:
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.chmod(temp, stat.S_IMODE(existing.st_mode))
        elif permissions is not None:
            os.chmod(temp, permissions)
        text_options = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
        with os.fdopen(fd, mode, **text_options) as handle:
            fd = -1  # owned by handle now
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temp, target)  # still holding the temp file's lock
    except BaseException:
        if fd >= 0:
            os.close(fd)
        _remove_quietly(temp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, permissions: int | None = None) -> None:
    """Replace ``path`` atomically with ``data`` (bytes-like); see :func:`atomic_writer`.

    Raises:
        ReadOnlyFileError: ``path`` is read-only (outside :func:`overwriting_read_only`).
        OSError: the file cannot be written; ``path`` is then left as it was.
    """
    with atomic_writer(path, "wb", permissions=permissions) as handle:
        handle.write(data)
