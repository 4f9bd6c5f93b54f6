"""Autosave: write, recovery listing, locks of running instances, clean exit."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from ganpaint.document import autosave as autosave_module
from ganpaint.document.autosave import Autosave, autosave_dir, pid_alive
from ganpaint.document.model import Document


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPAINT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _doc(path=None):
    doc = Document.blank(5, 4, (10, 20, 30))
    doc.set_layer("mask", np.full((4, 5), 255, np.uint8), "Fill")
    doc.path = path
    return doc


def _foreign_session(folder: Path, session: str, pid: int | None = None, original: str | None = "/pics/cat.ganpaint"):
    """Files as another instance would have left them: it crashed (``pid`` None: its lock was released
    by the operating system), or an older version wrote ``{"pid": pid}`` into the lock file."""
    other = Autosave(folder)
    other.session = session
    other.write(_doc(original))
    other.abandon()  # the process is gone: the OS dropped its lock, the files stay
    if pid is not None:
        (folder / f"{session}.lock").write_text(json.dumps({"pid": pid}))
    return other


def _running_session(folder: Path, session: str, original: str | None = "/pics/dog.ganpaint"):
    """Another running instance (it holds its session lock as long as the returned object lives)."""
    other = Autosave(folder)
    other.session = session
    other.write(_doc(original))
    return other


def test_autosave_dir_from_env(data_dir):
    folder = autosave_dir()
    assert folder == data_dir / "autosave" and folder.is_dir()


def test_autosave_dir_defaults_to_platformdirs(monkeypatch, tmp_path):
    monkeypatch.delenv("GANPAINT_DATA_DIR", raising=False)
    calls = []

    def fake_user_data_dir(appname, appauthor):
        calls.append((appname, appauthor))
        return str(tmp_path / "platform")

    monkeypatch.setattr(autosave_module.platformdirs, "user_data_dir", fake_user_data_dir)
    assert autosave_dir() == tmp_path / "platform" / "autosave"
    assert calls == [("ganpaint", "GANPaint")]


def test_construction_touches_no_disk(data_dir):
    Autosave()
    assert not data_dir.exists()


def test_write_keeps_document_state_and_close_clean_removes(data_dir):
    saver = Autosave()
    doc = _doc("/pics/original.ganpaint")
    path = saver.write(doc)
    assert path.parent == data_dir / "autosave" and path.suffix == ".ganpaint"
    assert doc.path == "/pics/original.ganpaint" and doc.dirty  # autosave is not a save
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == sorted(f"{saver.session}{s}" for s in (".ganpaint", ".json", ".lock", ".png"))
    assert saver.pending() == []  # its own autosave is never offered
    saver.write(doc)  # overwrite in place
    saver.close_clean()
    assert list(path.parent.iterdir()) == []
    saver.close_clean()  # idempotent


def test_crashed_session_offered_recovered_and_discarded(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "crashed", _dead_pid())
    saver = Autosave()
    [entry] = saver.pending()
    assert entry.session == "crashed" and entry.path == folder / "crashed.ganpaint"
    assert entry.original_path == "/pics/cat.ganpaint"
    assert isinstance(entry.saved_at, datetime) and entry.saved_at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - entry.saved_at).total_seconds()) < 600

    doc = saver.recover(entry)
    assert doc.path == "/pics/cat.ganpaint" and doc.dirty
    assert (doc.mask == 255).all() and (doc.photo == (10, 20, 30)).all()

    saver.discard(entry)
    assert saver.pending() == []
    assert list(folder.iterdir()) == []


def test_running_instance_not_offered(data_dir):
    folder = autosave_dir()
    running = _running_session(folder, "running")  # holds its lock
    _foreign_session(folder, "legacy-running", os.getpid())  # an older version's lock naming a live pid
    _foreign_session(folder, "dead", _dead_pid(), original=None)
    entries = Autosave().pending()
    assert [e.session for e in entries] == ["dead"]
    assert entries[0].original_path is None
    running.close_clean()


def test_missing_lock_and_corrupt_sidecar_still_offered(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "odd", _dead_pid())
    (folder / "odd.lock").unlink()
    (folder / "odd.json").write_text("{broken")
    [entry] = Autosave().pending()
    assert entry.original_path is None and entry.saved_at.tzinfo is not None


def test_pending_sorted_newest_first(data_dir):
    folder = autosave_dir()
    for session, stamp in (("old", "2020-01-01T00:00:00+00:00"), ("new", "2024-01-01T00:00:00+00:00")):
        _foreign_session(folder, session, _dead_pid())
        sidecar = json.loads((folder / f"{session}.json").read_text())
        sidecar["saved_at"] = stamp
        (folder / f"{session}.json").write_text(json.dumps(sidecar))
    assert [e.session for e in Autosave().pending()] == ["new", "old"]


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0) and not pid_alive(-1)


# ------------------------------------------------------------------ issue #8.4 / #9.5: recovery loses nothing

import signal  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402

from ganpaint.errors import ProjectError  # noqa: E402


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_accepted_recovery_keeps_the_autosave_until_saved_or_discarded(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "crashed")
    before = _files(folder)
    saver = Autosave()
    [entry] = saver.pending()
    doc = saver.recover(entry)
    assert _files(folder) == before  # nothing deleted before anything is saved
    assert saver.session == "crashed"  # it carries on in the recovered session
    doc.set_layer("mask", np.zeros(doc.shape, np.uint8), "Clear")
    saver.write(doc)
    assert _files(folder) == before
    saver.abandon()  # a second crash within the autosave interval
    [again] = Autosave().pending()
    assert again.session == "crashed"
    assert not Autosave().recover(again).mask.any()  # with the latest autosave


def test_recovered_session_goes_when_the_user_saves(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "crashed")
    saver = Autosave()
    saver.recover(saver.pending()[0])
    saver.close_clean()  # what the window does after a save
    assert _files(folder) == []


def test_recovery_after_own_autosave_adopts_and_cleans_both(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "crashed")
    saver = Autosave()
    saver.write(_doc())
    [entry] = saver.pending()
    saver.recover(entry)
    assert set(saver.owned_sessions) == {saver.session, "crashed"}
    assert Autosave().pending() == []  # held by this instance now
    saver.close_clean()
    assert _files(folder) == []


def test_declining_keeps_every_entry_and_discard_is_per_entry(data_dir):
    folder = autosave_dir()
    for session in ("one", "two", "three"):
        _foreign_session(folder, session)
    saver = Autosave()
    entries = saver.pending()
    assert len(entries) == 3
    assert len(Autosave().pending()) == 3  # asking again (declining) deletes nothing
    target = next(e for e in entries if e.session == "two")
    assert saver.discard(target) is True
    assert sorted(e.session for e in saver.pending()) == ["one", "three"]
    assert not [name for name in _files(folder) if name.startswith("two.")]


def test_entries_carry_name_size_and_thumbnail(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "named", original="/pics/cat.ganpaint")
    doc = Document.blank(300, 200, (200, 10, 10))
    doc.settings["source_name"] = "holiday.jpg"
    other = Autosave(folder)
    other.session = "photo"
    other.write(doc)
    other.abandon()
    entries = {e.session: e for e in Autosave().pending()}
    assert entries["named"].name == "cat.ganpaint" and entries["named"].size == (5, 4)
    photo = entries["photo"]
    assert photo.name == "holiday.jpg" and photo.size == (300, 200) and photo.original_path is None
    from PIL import Image

    with Image.open(photo.thumbnail) as thumb:
        assert max(thumb.size) == 160 and thumb.getpixel((5, 5)) == (200, 10, 10)


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_autosave_files_are_private(data_dir):
    (data_dir / "autosave").mkdir(parents=True)
    os.chmod(data_dir / "autosave", 0o755)  # left by an older version
    saver = Autosave()
    saver.write(_doc())
    assert stat.S_IMODE(os.stat(saver.directory).st_mode) == 0o700
    for path in saver.directory.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
    saver.close_clean()


def test_prune_removes_only_entries_older_than_seven_days(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "old")
    _foreign_session(folder, "recent")
    running = _running_session(folder, "old-but-running")
    eight_days_ago = time.time() - 8 * 24 * 3600
    for session in ("old", "old-but-running"):
        os.utime(folder / f"{session}.ganpaint", (eight_days_ago, eight_days_ago))
    (folder / "debris.json").write_text("{}")  # a sidecar whose project is gone
    pruned = Autosave().prune()
    assert [e.session for e in pruned] == ["old"]
    assert sorted({name.split(".")[0] for name in _files(folder)}) == ["old-but-running", "recent"]
    running.close_clean()


def test_a_running_instance_files_are_never_touched(data_dir):
    folder = autosave_dir()
    running = _running_session(folder, "alive")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = Autosave()
    assert other.pending() == []
    entry = running._entry(running.path)
    assert other.discard(entry) is False
    with pytest.raises(ProjectError, match="another running GANPaint Studio"):
        other.recover(entry)
    other.prune(now=time.time() + 365 * 24 * 3600)
    other.write(_doc())
    other.close_clean()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    running.close_clean()


def test_only_one_instance_recovers_an_entry(data_dir):
    folder = autosave_dir()
    _foreign_session(folder, "crashed")
    first, second = Autosave(), Autosave()
    [entry] = second.pending()
    first.recover(first.pending()[0])
    with pytest.raises(ProjectError, match="another running"):
        second.recover(entry)
    assert second.discard(entry) is False
    assert (folder / "crashed.ganpaint").exists()


_CHILD = """
import sys
import numpy as np
from ganpaint.document.autosave import Autosave
from ganpaint.document.model import Document
saver = Autosave(sys.argv[1])
saver.session = "child"
saver.write(Document.blank(6, 5))
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_other_process_is_kept_apart_until_it_is_killed(data_dir):
    folder = autosave_dir()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        mine = Autosave()
        assert mine.pending() == [] and mine.prune(now=time.time() + 10**8) == []
        assert (folder / "child.ganpaint").exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    [entry] = Autosave().pending()  # the OS released the dead process's lock
    assert entry.session == "child" and entry.size == (6, 5)
