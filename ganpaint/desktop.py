"""Desktop integration on Linux and other freedesktop.org systems (no Qt): menu entry, icon, MIME type.

:func:`install` writes into the user's XDG data folder (``$XDG_DATA_HOME``, default ``~/.local/share``):

* ``applications/ganpaint.desktop``: the menu entry (Desktop Entry Specification 1.5), whose ``Exec``
  runs this very installation (:func:`launcher_command`) and which opens photos, ``.ganpaint`` projects
  and OpenRaster files;
* ``icons/hicolor/scalable/apps/ganpaint.svg``: the icon (Icon Theme Specification);
* ``mime/packages/ganpaint.xml``: the ``application/x-ganpaint`` MIME type of ``*.ganpaint`` files
  (shared-mime-info), then ``update-mime-database`` and ``update-desktop-database`` when they exist.

:func:`uninstall` removes those three files (and refreshes the same databases). Nothing outside the
data folder is touched and nothing needs root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ganpaint.errors import GanpaintError
from ganpaint.paths import APP_ICON, RESOURCES

DESKTOP_TEMPLATE = RESOURCES / "desktop" / "ganpaint.desktop"
MIME_PACKAGE = RESOURCES / "desktop" / "ganpaint-mime.xml"
APP_ID = "ganpaint"
"""Desktop file id, icon name and MIME package name."""
MIME_TYPE = "application/x-ganpaint"

# Desktop Entry Specification, "The Exec key": arguments holding one of these must be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


@dataclass(frozen=True)
class DesktopFiles:
    """Where the three files of the desktop integration go under one XDG data folder."""

    data_home: Path

    @property
    def entry(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    @property
    def icon(self) -> Path:
        return self.data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"

    @property
    def mime(self) -> Path:
        return self.data_home / "mime" / "packages" / f"{APP_ID}.xml"

    def all(self) -> tuple[Path, Path, Path]:
        return (self.entry, self.icon, self.mime)


def data_home() -> Path:
    """``$XDG_DATA_HOME`` when it is set to an absolute path (XDG Base Directory spec), else ``~/.local/share``."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The command that starts this installation of the studio, as argv (absolute paths).

    A PyInstaller bundle: its executable. An installed package: the ``ganpaint`` script beside the
    running interpreter (a venv's ``bin/``), else the one on ``PATH``, else ``python -m ganpaint``.
    """
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    beside = Path(sys.executable).parent / APP_ID
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())]
    found = shutil.which(APP_ID)
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "ganpaint"]


def exec_quote(argument: str) -> str:
    """One argument of a desktop entry's ``Exec`` value, quoted and escaped as the spec says.

    Reserved characters make the argument double-quoted (with ``"``, `````, ``$`` and ``\\`` backslash-
    escaped inside); then the string-value escape doubles every backslash and ``%`` becomes ``%%``.
    Raises GanpaintError for a line break, which an ``Exec`` value cannot hold.
    """
    if "\n" in argument or "\r" in argument:
        raise GanpaintError(f"cannot write a menu entry for a path with a line break: {argument!r}.")
    if argument and not (_RESERVED & set(argument)):
        quoted = argument
    else:
        quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in argument) + '"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_entry(command: list[str]) -> str:
    """The text of ``ganpaint.desktop`` whose ``Exec`` runs ``command`` with the file to open (``%f``)."""
    exec_line = "Exec=" + " ".join(exec_quote(arg) for arg in command) + " %f"
    lines = [exec_line if line.startswith("Exec=") else line
             for line in DESKTOP_TEMPLATE.read_text(encoding="utf-8").splitlines()]
    return "\n".join(lines) + "\n"


def _refresh(home: Path) -> list[str]:
    """Run the MIME and desktop database tools that exist; returns one line per tool that failed."""
    problems = []
    for tool, folder in (("update-mime-database", home / "mime"), ("update-desktop-database", home / "applications")):
        executable = shutil.which(tool)
        if executable is None or not folder.is_dir():
            continue
        try:
            done = subprocess.run([executable, str(folder)], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            problems.append(f"{tool} failed: {error}")
            continue
        if done.returncode != 0:
            problems.append(f"{tool} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return problems


def install(home: Path | None = None, command: list[str] | None = None, refresh: bool = True) -> tuple[DesktopFiles, list[str]]:
    """Install the menu entry, icon and MIME type into ``home`` (default :func:`data_home`).

    Args:
        home: the XDG data folder.
        command: what ``Exec`` runs (default :func:`launcher_command`).
        refresh: run ``update-mime-database`` / ``update-desktop-database`` afterwards.

    Returns:
        The files written, and one line per database tool that failed (the files are in place anyway).

    Raises:
        GanpaintError: a file cannot be written.
    """
    files = DesktopFiles(Path(home) if home is not None else data_home())
    contents = {
        files.entry: desktop_entry(command or launcher_command()).encode("utf-8"),
        files.icon: APP_ICON.read_bytes(),
        files.mime: MIME_PACKAGE.read_bytes(),
    }
    try:
        for path, data in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)
    except OSError as error:
        raise GanpaintError(f"cannot install the desktop entry into '{files.data_home}': {error.strerror or error}.") from error
    return files, (_refresh(files.data_home) if refresh else [])


def uninstall(home: Path | None = None, refresh: bool = True) -> tuple[list[Path], list[str]]:
    """Remove what :func:`install` wrote from ``home`` (default :func:`data_home`).

    Returns:
        The files removed (those present), and one line per database tool that failed.

    Raises:
        GanpaintError: a file exists but cannot be removed.
    """
    files = DesktopFiles(Path(home) if home is not None else data_home())
    removed = []
    try:
        for path in files.all():
            if path.exists():
                path.unlink()
                removed.append(path)
    except OSError as error:
        raise GanpaintError(f"cannot remove the desktop entry from '{files.data_home}': {error.strerror or error}.") from error
    return removed, (_refresh(files.data_home) if refresh and removed else [])
