"""`.ganpaint` project files: round trip, atomic save, hostile archives; export/import."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganpaint.document import project
from ganpaint.document.imageio import load_gray, load_rgb
from ganpaint.document.model import ColorHint, Document, SketchStroke
from ganpaint.document.project import (
    export_mask,
    export_result,
    import_mask,
    load_project,
    save_project,
)
from ganpaint.errors import ImageLoadError, ProjectError


def _rich_document():
    rng = np.random.default_rng(5)
    doc = Document(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    doc.set_layer("mask", (rng.integers(0, 2, doc.shape) * 255).astype(np.uint8), "Mask")
    doc.set_layer("labels", rng.integers(0, 182, doc.shape, dtype=np.uint8), "Labels")
    doc.set_hints([ColorHint(1.25, 2.5, (1, 2, 3), 3.0), ColorHint(30, 20, (250, 0, 9), 0.5)], "Hints")
    doc.set_strokes([SketchStroke([(0, 0), (5.5, 6.25)], (9, 8, 7), 2.5)], "Sketch")
    doc.settings = {"engine": "inpaint", "model": "lama-places", "seed": 1234, "nested": {"steps": [1, 2]}}
    doc.set_result(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return doc


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _members(width=4, height=4, **meta_changes):
    """Member name -> bytes of a small valid project, with document.json fields overridden."""
    meta = {
        "format": "ganpaint-project",
        "version": 1,
        "width": width,
        "height": height,
        "layers": ["photo", "mask", "labels"],
        "result_current": False,
        "hints": [],
        "strokes": [],
        "settings": {},
    }
    meta.update(meta_changes)
    return {
        "document.json": json.dumps(meta).encode(),
        "photo.png": _png(np.full((height, width, 3), 77, np.uint8)),
        "mask.png": _png(np.zeros((height, width), np.uint8)),
        "labels.png": _png(np.zeros((height, width), np.uint8)),
    }


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def no_extraction(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_project must not extract members")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


def test_round_trip_bit_exact(tmp_path, no_extraction):
    doc = _rich_document()
    assert doc.dirty
    path = tmp_path / "p.ganpaint"
    save_project(doc, path)
    assert doc.path == str(path) and not doc.dirty
    assert _listing(tmp_path) == ["p.ganpaint"]

    loaded = load_project(path)
    for layer in ("photo", "mask", "labels", "result"):
        original, restored = getattr(doc, layer), getattr(loaded, layer)
        assert restored.dtype == np.uint8 and restored.shape == original.shape
        np.testing.assert_array_equal(restored, original)
    assert loaded.hints == doc.hints and loaded.strokes == doc.strokes
    assert loaded.settings == doc.settings
    assert loaded.path == str(path) and not loaded.dirty and loaded.revision == 0
    assert not loaded.can_undo
    assert loaded.result_revision == loaded.revision  # the result matched the saved state


def test_round_trip_without_result_and_stale_result(tmp_path):
    doc = Document.blank(3, 2, (1, 2, 3))
    save_project(doc, tmp_path / "a.ganpaint")
    with zipfile.ZipFile(tmp_path / "a.ganpaint") as archive:
        assert sorted(archive.namelist()) == ["document.json", "labels.png", "mask.png", "photo.png"]
    assert load_project(tmp_path / "a.ganpaint").result is None

    doc.set_result(np.zeros((2, 3, 3), np.uint8))
    doc.set_layer("mask", np.full((2, 3), 255, np.uint8), "Fill")  # result is now stale
    save_project(doc, tmp_path / "b.ganpaint")
    loaded = load_project(tmp_path / "b.ganpaint")
    assert loaded.result is not None and loaded.result_revision != loaded.revision


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    doc = _rich_document()
    path = tmp_path / "p.ganpaint"
    save_project(doc, path)
    previous = path.read_bytes()
    doc.set_layer("mask", np.zeros(doc.shape, np.uint8), "Clear")
    real_write_png = project._write_png
    calls = []

    def failing_write_png(archive, member, array):
        calls.append(member)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write_png(archive, member, array)

    monkeypatch.setattr(project, "_write_png", failing_write_png)
    with pytest.raises(ProjectError, match=r"cannot save 'p\.ganpaint': No space left on device"):
        save_project(doc, tmp_path / "p.ganpaint")
    assert len(calls) == 2  # it failed mid-write
    assert path.read_bytes() == previous
    assert _listing(tmp_path) == ["p.ganpaint"]  # no temp file left behind
    assert doc.dirty  # not marked saved

    monkeypatch.setattr(project, "_write_png", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_project(doc, path)
    assert path.read_bytes() == previous and _listing(tmp_path) == ["p.ganpaint"]


@pytest.mark.parametrize("evil", ["../evil.png", "/abs.png", "sub/../../evil.png", "a\\..\\b.png", "C:/x.png"])
def test_zip_slip_refused_and_nothing_written(tmp_path, evil, no_extraction):
    folder = tmp_path / "work"
    folder.mkdir()
    members = _members()
    members[evil] = members["photo.png"]
    path = _write_zip(folder / "evil.ganpaint", members)
    before = _listing(tmp_path)
    with pytest.raises(ProjectError, match="unsafe member name"):
        load_project(path)
    assert _listing(tmp_path) == before
    assert not (tmp_path / "evil.png").exists()


def test_unknown_harmless_member_ignored(tmp_path):
    members = _members()
    members["thumbnail.png"] = b"whatever"
    members["extras/"] = b""
    doc = load_project(_write_zip(tmp_path / "ok.ganpaint", members))
    assert doc.shape == (4, 4) and (doc.photo == 77).all()


def test_oversize_declared_dimensions_refused(tmp_path):
    members = _members()
    members["document.json"] = json.dumps(
        {**json.loads(members["document.json"]), "width": 20000, "height": 20000}
    ).encode()
    with pytest.raises(ProjectError, match="20000x20000"):
        load_project(_write_zip(tmp_path / "big.ganpaint", members))


def test_member_size_too_large_refused(tmp_path):
    members = _members()
    members["photo.png"] += b"\0" * (3 * 2**20)  # trailing junk: far above what a 4x4 PNG needs
    with pytest.raises(ProjectError, match=r"'photo\.png' is .* bytes, more than"):
        load_project(_write_zip(tmp_path / "fat.ganpaint", members))


def test_compression_bomb_refused(tmp_path):
    members = _members()
    members["document.json"] += b" " * (8 * 2**20)  # still valid JSON, deflates > 1000:1
    path = _write_zip(tmp_path / "bomb.ganpaint", members, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(ProjectError, match="zip bomb"):
        load_project(path)


def test_too_many_members_refused(tmp_path):
    members = _members()
    members.update({f"junk{i}.txt": b"x" for i in range(project.MAX_MEMBERS)})
    with pytest.raises(ProjectError, match="members"):
        load_project(_write_zip(tmp_path / "many.ganpaint", members))


def test_bad_zip_and_missing_file(tmp_path):
    (tmp_path / "junk.ganpaint").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ProjectError, match=r"^cannot open 'junk\.ganpaint': it is not a GANPaint project"):
        load_project(tmp_path / "junk.ganpaint")
    (tmp_path / "empty.ganpaint").write_bytes(b"")
    with pytest.raises(ProjectError):
        load_project(tmp_path / "empty.ganpaint")
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "missing.ganpaint")


def test_damaged_member_crc(tmp_path):
    path = _write_zip(tmp_path / "crc.ganpaint", _members())
    data = bytearray(path.read_bytes())
    position = data.find(b"IDAT")  # corrupt the first stored PNG's pixel data
    data[position + 6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectError):
        load_project(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.pop("labels.png"), r"'labels\.png' is missing"),
        (lambda m: m.update({"document.json": b"{not json"}), "not valid JSON"),
        (lambda m: m.update({"document.json": b'{"format": "other"}'}), "not a GANPaint project"),
        (lambda m: m.update({"mask.png": _png(np.zeros((4, 5), np.uint8))}), "is 5x4 but the document is 4x4"),
        (lambda m: m.update({"photo.png": _png(np.zeros((4, 4), np.uint8))}), "colour mode L, not RGB"),
        (lambda m: m.update({"photo.png": b"not a png"}), "not a valid PNG"),
        (lambda m: m.update(_members(version=3)), "newer"),
        (lambda m: m.update(_members(hints=[{"x": 1}])), "invalid entry in 'hints'"),
        (lambda m: m.update(_members(settings=[])), "'settings'"),
        (lambda m: m.update(_members(layers=["photo", "mask", "labels", "result"])), r"'result\.png' is missing"),
    ],
)
def test_invalid_projects_refused(tmp_path, change, message):
    members = _members()
    change(members)
    with pytest.raises(ProjectError, match=message):
        load_project(_write_zip(tmp_path / "bad.ganpaint", members))


def test_unjsonable_settings_refused_before_writing(tmp_path):
    doc = Document.blank(2, 2)
    doc.settings = {"device": object()}
    with pytest.raises(ProjectError, match="settings"):
        save_project(doc, tmp_path / "x.ganpaint")
    assert _listing(tmp_path) == [] and doc.path is None


def test_export_result_and_mask(tmp_path):
    doc = _rich_document()
    export_result(doc, tmp_path / "r.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "r.png"), doc.result)
    doc.set_result(None)
    export_result(doc, tmp_path / "p.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "p.png"), doc.photo)
    export_mask(doc, tmp_path / "m.png")
    np.testing.assert_array_equal(load_gray(tmp_path / "m.png"), doc.mask)


def test_import_mask_undoable_and_size_checked(tmp_path):
    doc = Document.blank(6, 4)
    mask = np.zeros((4, 6), np.uint8)
    mask[1:3, 2:5] = 200  # > 127: hole
    Image.fromarray(mask).save(tmp_path / "m.png")
    patch = import_mask(doc, tmp_path / "m.png")
    assert patch.rect == (2, 1, 5, 3)
    np.testing.assert_array_equal(doc.mask, np.where(mask > 127, 255, 0))
    assert doc.undo_text == "Import mask"
    doc.undo()
    assert not doc.mask.any()
    Image.new("L", (5, 4)).save(tmp_path / "small.png")
    with pytest.raises(ImageLoadError, match=r"mask 'small\.png' is 5x4 but the image is 6x4"):
        import_mask(doc, tmp_path / "small.png")


def test_save_is_deterministic(tmp_path):
    doc = _rich_document()
    save_project(doc, tmp_path / "a.ganpaint")
    save_project(doc, tmp_path / "b.ganpaint")
    assert (tmp_path / "a.ganpaint").read_bytes() == (tmp_path / "b.ganpaint").read_bytes()
