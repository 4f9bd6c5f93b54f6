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
