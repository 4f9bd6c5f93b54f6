"""Autosave and crash recovery.

Each running instance is a *session* with a random id. Its files in the autosave folder (mode 0700) are,
each written atomically with mode 0600:

- ``<id>.ganpaint``: the latest autosaved project;
- ``<id>.json``: sidecar ``{"session", "pid", "original_path", "name", "width", "height", "saved_at"}``
  so that recovery can name the picture the user was working on;
- ``<id>.png``: a thumbnail (longest side :data:`THUMBNAIL_SIZE` pixels) of the picture;
- ``<id>.lock``: held with an OS advisory lock (``flock``) for as long as a process uses the session's
  files. The operating system releases it when that process ends, however it ends.

Two running instances never touch each other's files: a session whose lock is held is never listed,
recovered, discarded or pruned by another instance, and an instance takes a session's lock before it
recovers, discards or prunes it (a non-blocking lock: exactly one instance can). Lock files written by
older versions hold only ``{"pid": N}`` without the lock; those count as held while process ``N`` lives.

Lifetime of the files (nothing the user made is deleted behind their back):

- :meth:`Autosave.close_clean` (called after a save, and on closing once the user chose Save or Discard)
  removes this session's files, and those of the session it recovered;
- recovering an entry (:meth:`Autosave.recover`) keeps its files: the recovering instance takes the
  entry's lock and carries on autosaving into that session, so a second crash still leaves them;
- entries the user did not choose stay until discarded explicitly (:meth:`Autosave.discard`) or until
  they are older than :data:`RETENTION` (:meth:`Autosave.prune`, run before recovery is offered).
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image

from ganpaint.errors import ProjectError
from ganpaint.jsonlimits import loads_limited

from .atomic import atomic_write_bytes
from .model import Document
from .project import load_project, write_project

try:  # POSIX advisory locks
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "APP_AUTHOR",
    "APP_NAME",
    "DATA_DIR_ENV",
    "RETENTION",
    "THUMBNAIL_SIZE",
    "Autosave",
    "RecoveryEntry",
    "SessionLock",
    "autosave_dir",
    "pid_alive",
]

APP_NAME = "ganpaint"
APP_AUTHOR = "GANPaint"
DATA_DIR_ENV = "GANPAINT_DATA_DIR"
"""Environment variable that, when set, replaces the platformdirs user data folder (used by tests)."""
RETENTION = timedelta(days=7)
"""Autosaves of crashed sessions older than this are pruned (their files' modification time counts)."""
THUMBNAIL_SIZE = 160
"""Longest side, in pixels, of the thumbnail written next to each autosave."""

_PROJECT_SUFFIX = ".ganpaint"
_SIDECAR_SUFFIX = ".json"
_THUMBNAIL_SUFFIX = ".png"
_LOCK_SUFFIX = ".lock"
_SUFFIXES = (_PROJECT_SUFFIX, _SIDECAR_SUFFIX, _THUMBNAIL_SUFFIX, _LOCK_SUFFIX)
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


def _make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) and make it 0700 if this user owns it. Raises OSError."""
    folder.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    if os.name == "posix":
        info = folder.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != _PRIVATE_DIR:
            os.chmod(folder, _PRIVATE_DIR)


def autosave_dir() -> Path:
    """The autosave folder, created (mode 0700) if needed.

    ``$GANPAINT_DATA_DIR/autosave`` when that variable is set, else
    ``platformdirs.user_data_dir("ganpaint", "GANPaint")/autosave``.

    Raises:
        OSError: the folder cannot be created.
    """
    base = os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)
    folder = Path(base) / "autosave"
    _make_private_dir(folder)
    return folder


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    """Windows: ``os.kill(pid, 0)`` would terminate the process, so ask the kernel instead."""
    import ctypes

    kernel32 = ctypes.windll.kernel32
    process_query_limited_information, still_active, error_access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() == error_access_denied
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def pid_alive(pid: int) -> bool:
    """True if a process with id ``pid`` (> 0) exists; False for pid <= 0 or an unknown pid."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def _try_lock(fd: int) -> bool:
    """A non-blocking exclusive advisory lock on ``fd``; True if taken."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows: lock the first byte
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


class SessionLock:
    """The advisory lock of one session's files, held through an open file descriptor.

    Released by :meth:`release`, when the object is garbage-collected, or by the operating system when
    the process ends (a crash included).
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, path: Path) -> SessionLock | None:
        """Lock ``path`` (created 0600 if missing) without waiting; None if another owner holds it.

        The lock is only returned if ``path`` still names the locked file afterwards (a session being
        deleted by its owner is not taken).
        """
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags, _PRIVATE_FILE)
        except OSError:
            return None
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            current = os.stat(path)
            same = os.path.samestat(os.fstat(fd), current)
        except OSError:
            same = False
        if not same:
            os.close(fd)
            return None
        return cls(path, fd)

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def read_owner(self) -> dict:
        """The JSON object in the lock file (``{}`` if empty or unreadable)."""
        if self._fd is None:
            return {}
        try:
            data = os.pread(self._fd, 4096, 0) if hasattr(os, "pread") else b""
            value = loads_limited(data) if data else {}
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def write_owner(self) -> None:
        """Record this process as the owner: ``{"pid": <pid>, "locking": "flock"}``."""
        if self._fd is None:
            raise RuntimeError("the session lock was released")
        data = json.dumps({"pid": os.getpid(), "locking": "flock"}).encode()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, data)

    def legacy_owner_alive(self) -> bool:
        """Whether the file names, the old way (a pid without ``"locking"``), a process that still runs."""
        owner = self.read_owner()
        pid = owner.get("pid")
        return "locking" not in owner and isinstance(pid, int) and not isinstance(pid, bool) and pid_alive(pid)

    def release(self) -> None:
        """Give the lock up (idempotent). The lock file stays."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)  # closing the descriptor drops the flock
            except OSError:
                pass

    def __del__(self) -> None:
        self.release()


@dataclass(frozen=True)
class RecoveryEntry:
    """An autosave left over by a session that did not end cleanly.

    Attributes:
        session: the session id.
        path: the autosaved ``.ganpaint`` file.
        original_path: the project file the user was editing, or None if it was never saved.
        saved_at: when the autosave was written (timezone-aware, UTC).
        name: what to call the picture: the project's or source photo's file name, else "Untitled".
        thumbnail: the thumbnail PNG (longest side :data:`THUMBNAIL_SIZE` px), or None if missing.
        size: ``(width, height)`` of the picture in pixels, or None if unknown.
    """

    session: str
    path: Path
    original_path: str | None
    saved_at: datetime
    name: str = "Untitled"
    thumbnail: Path | None = None
    size: tuple[int, int] | None = None


def _read_json(path: Path) -> dict:
    """``path`` parsed as a JSON object, or ``{}`` if it is missing, unreadable, too big or not an object."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(1 << 20)
        value = loads_limited(data)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _display_name(doc: Document) -> str:
    if doc.path:
        return os.path.basename(doc.path)
    source = doc.settings.get("source_name")
    return source if isinstance(source, str) and source else "Untitled"


def _thumbnail_png(doc: Document) -> bytes:
    """PNG bytes of the picture (the current result, else the photo), longest side THUMBNAIL_SIZE px."""
    current = doc.result is not None and doc.result_revision == doc.revision
    picture = Image.fromarray(np.ascontiguousarray(doc.result if current else doc.photo))
    picture.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


class Autosave:
    """Autosave for one session (one running instance).

    Args:
        directory: the autosave folder; default :func:`autosave_dir` (created on first write).

    Attributes:
        directory: Path of the autosave folder.
        session: this session's id (hex string); it becomes a recovered session's id when
            :meth:`recover` takes that session over.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self.session = uuid.uuid4().hex
        self._lock: SessionLock | None = None
        self._adopted: dict[str, SessionLock] = {}  # sessions recovered while this one had files of its own

    @property
    def directory(self) -> Path:
        """The autosave folder (resolved lazily so that constructing an Autosave touches no disk)."""
        if self._directory is None:
            self._directory = autosave_dir()
        return self._directory

    def _file(self, session: str, suffix: str) -> Path:
        return self.directory / f"{session}{suffix}"

    @property
    def path(self) -> Path:
        """This session's autosave project file."""
        return self._file(self.session, _PROJECT_SUFFIX)

    @property
    def owned_sessions(self) -> list[str]:
        """Ids of the sessions whose files this instance holds (its own, once written, and recovered ones)."""
        return ([self.session] if self._lock is not None else []) + list(self._adopted)

    def write(self, doc: Document) -> Path:
        """Autosave ``doc`` (atomically, private files) without changing ``doc.path`` or ``doc.dirty``.

        Returns:
            The path of this session's autosave file.

        Raises:
            ProjectError: the project cannot be written.  OSError: the folder, lock, thumbnail or
                sidecar cannot be written.
        """
        _make_private_dir(self.directory)
        if self._lock is None:
            lock = SessionLock.take(self._file(self.session, _LOCK_SUFFIX))
            if lock is None:
                raise OSError(f"the autosave lock of session {self.session} is held by another process")
            lock.write_owner()
            self._lock = lock
        write_project(doc, self.path, permissions=_PRIVATE_FILE)
        atomic_write_bytes(self._file(self.session, _THUMBNAIL_SUFFIX), _thumbnail_png(doc), permissions=_PRIVATE_FILE)
        sidecar = {
            "session": self.session,
            "pid": os.getpid(),
            "original_path": doc.path,
            "name": _display_name(doc),
            "width": doc.width,
            "height": doc.height,
            "saved_at": datetime.now(timezone.utc).isoformat(),
        }
        atomic_write_bytes(self._file(self.session, _SIDECAR_SUFFIX), json.dumps(sidecar).encode("utf-8"),
                           permissions=_PRIVATE_FILE)
        return self.path

    # ----------------------------------------------------------------------------- other sessions

    def _claim(self, session: str) -> SessionLock | None:
        """Take ``session``'s lock if no running process owns it (else None)."""
        lock = SessionLock.take(self._file(session, _LOCK_SUFFIX))
        if lock is not None and lock.legacy_owner_alive():
            lock.release()
            return None
        return lock

    def _entry(self, project: Path) -> RecoveryEntry:
        """The recovery entry describing an autosave file (from its sidecar; OSError if it vanished)."""
        session = project.name[: -len(_PROJECT_SUFFIX)]
        sidecar = _read_json(self._file(session, _SIDECAR_SUFFIX))
        original = sidecar.get("original_path")
        original = original if isinstance(original, str) else None
        try:
            saved_at = datetime.fromisoformat(sidecar["saved_at"])
            if saved_at.tzinfo is None:
                raise ValueError("naive time")
        except (KeyError, TypeError, ValueError):
            saved_at = datetime.fromtimestamp(project.stat().st_mtime, timezone.utc)
        name = sidecar.get("name")
        if not (isinstance(name, str) and name.isprintable() and 0 < len(name) <= 255):
            name = os.path.basename(original) if original else "Untitled"
        width, height = sidecar.get("width"), sidecar.get("height")
        size = (width, height) if all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                      for v in (width, height)) else None
        thumbnail = self._file(session, _THUMBNAIL_SUFFIX)
        return RecoveryEntry(session, project, original, saved_at, name,
                             thumbnail if thumbnail.is_file() else None, size)

    def pending(self) -> list[RecoveryEntry]:
        """Autosaves of sessions that did not end cleanly and that no running instance owns, newest first.

        This instance's own sessions and those of running instances are not listed. Returns ``[]`` if the
        folder does not exist or cannot be listed.
        """
        try:
            projects = [p for p in self.directory.glob(f"*{_PROJECT_SUFFIX}") if p.is_file()]
        except OSError:
            return []
        owned = set(self.owned_sessions) | {self.session}
        entries = []
        for project in projects:
            session = project.name[: -len(_PROJECT_SUFFIX)]
            if session in owned:
                continue
            lock = self._claim(session)
            if lock is None:  # a running instance owns it
                continue
            try:
                entries.append(self._entry(project))
            except OSError:  # discarded meanwhile: clear what is left of it (we hold its lock)
                if not project.exists():
                    _remove_session_files(self.directory, session)
            finally:
                lock.release()
        return sorted(entries, key=lambda e: e.saved_at, reverse=True)

    def recover(self, entry: RecoveryEntry) -> Document:
        """Load an entry's document, with ``path`` set to ``entry.original_path`` and ``dirty`` True.

        The entry's files are kept: this instance takes the entry's lock and, if it has not autosaved
        anything yet, carries on autosaving into that session (so a second crash still leaves the work);
        the files go when the user saves or discards (:meth:`close_clean`).

        Raises:
            ProjectError: another running instance holds the entry, or its autosave cannot be read.
        """
        lock = self._adopted.get(entry.session) or self._claim(entry.session)
        if lock is None:
            raise ProjectError(f"cannot recover '{entry.name}': another running GANPaint Studio is using it.")
        try:
            doc = load_project(entry.path)
        except BaseException:
            if entry.session not in self._adopted:
                lock.release()
            raise
        doc.path = entry.original_path
        doc.dirty = True
        if entry.session in self._adopted:
            pass
        elif self._lock is None and not self.path.exists():  # nothing of our own yet: continue that session
            self.session, self._lock = entry.session, lock
            lock.write_owner()
        else:
            lock.write_owner()
            self._adopted[entry.session] = lock
        return doc

    def discard(self, entry: RecoveryEntry) -> bool:
        """Delete an entry's autosave, sidecar, thumbnail and lock files (missing files are fine).

        Returns:
            False (and deletes nothing) when another running instance holds the entry.
        """
        if entry.session == self.session and self._lock is not None:  # the session this one took over
            lock, self._lock = self._lock, None
        else:
            lock = self._adopted.pop(entry.session, None) or self._claim(entry.session)
        if lock is None:
            return False
        try:
            _remove_session_files(self.directory, entry.session)
        finally:
            lock.release()
        return True

    def prune(self, max_age: timedelta = RETENTION, now: float | None = None) -> list[RecoveryEntry]:
        """Discard the pending entries whose autosave file is older than ``max_age``.

        Returns:
            The entries deleted.
        """
        now = time.time() if now is None else now
        self._clear_debris()
        pruned = []
        for entry in self.pending():
            try:
                age = now - entry.path.stat().st_mtime
            except OSError:
                continue
            if age > max_age.total_seconds() and self.discard(entry):
                pruned.append(entry)
        return pruned

    def _clear_debris(self) -> None:
        """Delete the sidecars, thumbnails and lock files of sessions whose project file is gone (a
        discard or clean exit interrupted half-way), unless a running instance holds them."""
        try:
            files = list(self.directory.iterdir())
        except OSError:
            return
        sessions = {f.name[: -len(suffix)] for f in files for suffix in _SUFFIXES[1:] if f.name.endswith(suffix)}
        owned = set(self.owned_sessions) | {self.session}
        for session in sessions - owned:
            if self._file(session, _PROJECT_SUFFIX).exists():
                continue
            lock = self._claim(session)
            if lock is not None:
                try:
                    if not self._file(session, _PROJECT_SUFFIX).exists():
                        _remove_session_files(self.directory, session)
                finally:
                    lock.release()

    # ----------------------------------------------------------------------------- ending

    def close_clean(self) -> None:
        """After a save, or on exit once the user chose Save or Discard: delete this session's files and
        those of sessions it recovered, and give their locks up. Idempotent."""
        if self._lock is not None or self._directory is not None:
            _remove_session_files(self.directory, self.session)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        for session, lock in list(self._adopted.items()):
            _remove_session_files(self.directory, session)
            lock.release()
        self._adopted.clear()

    def abandon(self) -> None:
        """Give every lock up and keep every file, as a crash would (tests and the kill-9 soak use it)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        for lock in self._adopted.values():
            lock.release()
        self._adopted.clear()


def _remove_session_files(folder: Path, session: str) -> None:
    """Delete a session's ``.ganpaint``, ``.json``, ``.png`` and ``.lock`` files (the lock file last)."""
    for suffix in _SUFFIXES:
        try:
            (folder / f"{session}{suffix}").unlink(missing_ok=True)
        except OSError:
            pass
