"""``ganpaint desktop-install``: menu entry, icon and MIME type in a temporary XDG data folder."""

import configparser
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from ganpaint import desktop
from ganpaint.cli import main


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    home = tmp_path / "xdg data"  # a space: the paths must survive quoting
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def read_entry(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_writes_entry_icon_and_mime_type_then_uninstall_removes_them(xdg, capsys):
    assert main(["desktop-install", "--no-refresh"]) == 0
    files = desktop.DesktopFiles(xdg)
    for path in files.all():
        assert path.is_file(), path
    entry = read_entry(files.entry)
    assert entry["Type"] == "Application" and entry["Icon"] == "ganpaint"
    assert entry["Exec"].endswith(" %f")
    assert entry["Exec"].startswith(desktop.exec_quote(desktop.launcher_command()[0]))
    assert "application/x-ganpaint" in entry["MimeType"].split(";")
    assert "image/openraster" in entry["MimeType"].split(";")
    mime = ET.parse(files.mime).getroot()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    kind = mime.find("m:mime-type", ns)
    assert kind.get("type") == desktop.MIME_TYPE
    assert kind.find("m:glob", ns).get("pattern") == "*.ganpaint"
    assert files.icon.read_bytes().startswith(b"<svg")
    assert "wrote" in capsys.readouterr().out

    assert main(["desktop-install", "--uninstall", "--no-refresh"]) == 0
    assert not any(path.exists() for path in files.all())
    assert main(["desktop-install", "--uninstall", "--no-refresh"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_default_data_home_follows_xdg_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop.data_home() == tmp_path
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # must be ignored (XDG Base Directory spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert desktop.data_home() == tmp_path / "home" / ".local" / "share"


def test_mime_database_learns_the_ganpaint_glob(tmp_path):
    files, problems = desktop.install(tmp_path, command=["/opt/GANPaint Studio/GANPaintStudio"])
    assert problems == []
    globs = tmp_path / "mime" / "globs2"
    assert globs.is_file() == bool(shutil.which("update-mime-database"))
    if globs.is_file():
        assert "application/x-ganpaint:*.ganpaint" in globs.read_text()
    removed, problems = desktop.uninstall(tmp_path)
    assert set(removed) == set(files.all()) and problems == []
    if globs.is_file():
        assert "x-ganpaint" not in globs.read_text()


@pytest.mark.parametrize(
    ("argument", "quoted"),
    [
        ("/usr/bin/ganpaint", "/usr/bin/ganpaint"),
        ("/opt/GANPaint Studio/run", '"/opt/GANPaint Studio/run"'),
        ("/a/$HOME/b", '"/a/\\\\$HOME/b"'),
        ("/a\\b", '"/a\\\\\\\\b"'),
        ("/100%/x", "/100%%/x"),
        ('/a"b', '"/a\\\\"b"'),
    ],
)
def test_exec_arguments_are_quoted_as_the_desktop_entry_spec_says(argument, quoted):
    assert desktop.exec_quote(argument) == quoted


def test_exec_runs_this_interpreter_when_no_script_is_found(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert desktop.launcher_command() == [str(tmp_path / "python"), "-m", "ganpaint"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert desktop.launcher_command() == [str((tmp_path / "python").resolve())]


def test_entry_passes_desktop_file_validate_when_available(tmp_path):
    files, _ = desktop.install(tmp_path, refresh=False)
    validator = shutil.which("desktop-file-validate")
    if validator:
        done = subprocess.run([validator, str(files.entry)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    text = files.entry.read_text(encoding="utf-8")
    assert text.startswith("[Desktop Entry]\n") and text.count("Exec=") == 1
