"""Atomic writes: complete replacement or nothing, no temp files left behind."""

import os
import stat

import pytest

from ganpaint.document.atomic import atomic_write_bytes, atomic_writer


def test_write_bytes_creates_and_replaces(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_text_mode(tmp_path):
    with atomic_writer(tmp_path / "t.txt", "w") as handle:
        handle.write("héllo\n")
    assert (tmp_path / "t.txt").read_bytes() == "héllo\n".encode("utf-8")
    with pytest.raises(ValueError):
        with atomic_writer(tmp_path / "t.txt", "a"):
            pass


def test_exception_keeps_old_content_and_removes_temp(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as handle:
            handle.write(b"half of the new")
            assert len(os.listdir(tmp_path)) == 2  # the temp file sits next to the target
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "nope" / "f.bin", b"x")


@pytest.mark.skipif(os.name != "posix", reason="umask semantics")
def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "p.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.bin").stat().st_mode) == 0o644


# ------------------------------------------------------------------ issue #8.6: saves without side effects

import fcntl  # noqa: E402
import time  # noqa: E402

from ganpaint.document import atomic  # noqa: E402
from ganpaint.errors import ReadOnlyFileError  # noqa: E402


def _litter(folder, name, age_s=0.0):
    temp = folder / f".{name}.0123456789ab.tmp"
    temp.write_bytes(b"half a save")
    stamp = time.time() - age_s
    os.utime(temp, (stamp, stamp))
    return temp


def test_killed_save_litter_is_removed_by_the_next_save(tmp_path):
    own = _litter(tmp_path, "p.ganpaint")
    other_recent = _litter(tmp_path, "q.png")
    other_old = _litter(tmp_path, "r.png", age_s=atomic.STALE_TEMP_AGE_S + 60)
    unrelated = tmp_path / ".notes.tmp"
    unrelated.write_text("not ours")
    atomic_write_bytes(tmp_path / "p.ganpaint", b"saved")
    assert not own.exists() and not other_old.exists()
    assert other_recent.exists() and unrelated.exists()
    assert (tmp_path / "p.ganpaint").read_bytes() == b"saved"


def test_litter_of_a_save_in_progress_is_left_alone(tmp_path):
    busy = _litter(tmp_path, "p.ganpaint", age_s=10 * atomic.STALE_TEMP_AGE_S)
    with open(busy, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # another writer holds it
        atomic_write_bytes(tmp_path / "p.ganpaint", b"saved")
        assert busy.exists()
    assert atomic.clean_stale_temps(tmp_path / "p.ganpaint") == [str(busy)]


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_resave_keeps_the_mode_and_new_files_take_permissions(tmp_path):
    target = tmp_path / "p.bin"
    atomic_write_bytes(target, b"one")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"two")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640 and target.read_bytes() == b"two"
    atomic_write_bytes(tmp_path / "private.bin", b"x", permissions=0o600)
    assert stat.S_IMODE(os.stat(tmp_path / "private.bin").st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_saving_through_a_symlink_writes_the_target(tmp_path):
    real = tmp_path / "real" / "p.bin"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["link.bin", "real"] and os.listdir(real.parent) == ["p.bin"]


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_read_only_file_is_not_overwritten_unless_allowed(tmp_path):
    target = tmp_path / "p.bin"
    target.write_bytes(b"keep me")
    os.chmod(target, 0o444)
    with pytest.raises(ReadOnlyFileError, match=r"'p\.bin' is read-only"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"keep me" and os.listdir(tmp_path) == ["p.bin"]
    with atomic.overwriting_read_only():
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o444
    with pytest.raises(ReadOnlyFileError):  # the permission ends with the block
        atomic_write_bytes(target, b"newer")
