"""Autosave and crash recovery.

Each running instance is a *session* with a random id. Its autosave folder entries are:

- ``<id>.ganpaint``: the latest autosaved project (written atomically);
- ``<id>.json``: sidecar ``{"session", "pid", "original_path", "saved_at"}`` so recovery can name the
  file the user was working on;
- ``<id>.lock``: ``{"pid": <process id>}`` while the session runs.

:meth:`Autosave.close_clean` removes all three on a clean exit, so whatever remains belongs to a
session that crashed, or to another instance that is still running. :meth:`Autosave.pending` offers
only the former: an entry whose lock names a live process is skipped. (A crashed session whose pid was
reused by an unrelated process is offered once that process ends.)
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import platformdirs

from .atomic import atomic_write_bytes
from .model import Document
from .project import load_project, write_project

__all__ = ["APP_AUTHOR", "APP_NAME", "DATA_DIR_ENV", "Autosave", "RecoveryEntry", "autosave_dir", "pid_alive"]

APP_NAME = "ganpaint"
APP_AUTHOR = "GANPaint"
DATA_DIR_ENV = "GANPAINT_DATA_DIR"
"""Environment variable that, when set, replaces the platformdirs user data folder (used by tests)."""

_PROJECT_SUFFIX = ".ganpaint"
_SIDECAR_SUFFIX = ".json"
_LOCK_SUFFIX = ".lock"


def autosave_dir() -> Path:
    """The autosave folder, created if needed.

    ``$GANPAINT_DATA_DIR/autosave`` when that variable is set, else
    ``platformdirs.user_data_dir("ganpaint", "GANPaint")/autosave``.

    Raises:
        OSError: the folder cannot be created.
    """
    base = os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)
    folder = Path(base) / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
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


@dataclass(frozen=True)
class RecoveryEntry:
    """An autosave left over by a session that did not end cleanly.

    Attributes:
        session: the session id.
        path: the autosaved ``.ganpaint`` file.
        original_path: the project file the user was editing, or None if it was never saved.
        saved_at: when the autosave was written (timezone-aware, UTC).
    """

    session: str
    path: Path
    original_path: str | None
    saved_at: datetime


def _read_json(path: Path) -> dict:
    """``path`` parsed as a JSON object, or ``{}`` if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


class Autosave:
    """Autosave for one session (one running instance).

    Args:
        directory: the autosave folder; default :func:`autosave_dir` (created on first write).

    Attributes:
        directory: Path of the autosave folder.
        session: this session's id (hex string).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self.session = uuid.uuid4().hex
        self._locked = False

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

    def write(self, doc: Document) -> Path:
        """Autosave ``doc`` (atomically) without changing ``doc.path`` or ``doc.dirty``.

        Returns:
            The path of this session's autosave file.

        Raises:
            ProjectError: the project cannot be written.  OSError: the folder or sidecar cannot be written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self._locked:
            atomic_write_bytes(self._file(self.session, _LOCK_SUFFIX), json.dumps({"pid": os.getpid()}).encode())
            self._locked = True
        write_project(doc, self.path)
        sidecar = {
            "session": self.session,
            "pid": os.getpid(),
            "original_path": doc.path,
            "saved_at": datetime.now(timezone.utc).isoformat(),
        }
        atomic_write_bytes(self._file(self.session, _SIDECAR_SUFFIX), json.dumps(sidecar).encode("utf-8"))
        return self.path

    def _entry(self, project: Path) -> RecoveryEntry | None:
        """The recovery entry for an autosave file, or None if its session is still running."""
        session = project.name[: -len(_PROJECT_SUFFIX)]
        pid = _read_json(self._file(session, _LOCK_SUFFIX)).get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid_alive(pid):
            return None
        sidecar = _read_json(self._file(session, _SIDECAR_SUFFIX))
        original = sidecar.get("original_path")
        try:
            saved_at = datetime.fromisoformat(sidecar["saved_at"])
        except (KeyError, TypeError, ValueError):
            saved_at = datetime.fromtimestamp(project.stat().st_mtime, timezone.utc)
        return RecoveryEntry(session, project, original if isinstance(original, str) else None, saved_at)

    def pending(self) -> list[RecoveryEntry]:
        """Autosaves of other sessions that did not end cleanly and whose process is gone, newest first.

        This session's own autosave and those of running instances are not listed. Returns ``[]`` if the
        folder does not exist or cannot be listed.
        """
        try:
            projects = [p for p in self.directory.glob(f"*{_PROJECT_SUFFIX}") if p.is_file()]
        except OSError:
            return []
        entries = []
        for project in projects:
            if project.name == self.path.name:
                continue
            try:
                entry = self._entry(project)
            except OSError:  # vanished meanwhile
                continue
            if entry is not None:
                entries.append(entry)
        return sorted(entries, key=lambda e: e.saved_at, reverse=True)

    def recover(self, entry: RecoveryEntry) -> Document:
        """Load an entry's document, with ``path`` set to ``entry.original_path`` and ``dirty`` True.

        The entry's files are kept; call :meth:`discard` once the user has saved or declined.

        Raises:
            ProjectError: the autosave file cannot be read.
        """
        doc = load_project(entry.path)
        doc.path = entry.original_path
        doc.dirty = True
        return doc

    def discard(self, entry: RecoveryEntry) -> None:
        """Delete an entry's autosave, sidecar and lock files (missing files are fine)."""
        _remove_session_files(entry.path)

    def close_clean(self) -> None:
        """On a clean exit: delete this session's autosave, sidecar and lock files. Idempotent."""
        if self._locked or self._directory is not None:
            _remove_session_files(self.path)
        self._locked = False


def _remove_session_files(project: Path) -> None:
    """Delete a session's ``.ganpaint`` file and its ``.json`` sidecar and ``.lock`` next to it."""
    for suffix in (_PROJECT_SUFFIX, _SIDECAR_SUFFIX, _LOCK_SUFFIX):
        project.with_suffix(suffix).unlink(missing_ok=True)
