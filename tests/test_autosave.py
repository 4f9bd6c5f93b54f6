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


def _foreign_session(folder: Path, session: str, pid: int, original: str | None = "/pics/cat.ganpaint"):
    """Files as another instance with process id ``pid`` would have left them."""
    other = Autosave(folder)
    other.session = session
    other.write(_doc(original))
    (folder / f"{session}.lock").write_text(json.dumps({"pid": pid}))
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
    assert names == sorted(f"{saver.session}{s}" for s in (".ganpaint", ".json", ".lock"))
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
    _foreign_session(folder, "running", os.getpid())  # a live process holds that lock
    _foreign_session(folder, "dead", _dead_pid(), original=None)
    entries = Autosave().pending()
    assert [e.session for e in entries] == ["dead"]
    assert entries[0].original_path is None


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
