"""Issue #8 points 2 and 7: every field of a project file is validated; members are read in bounded chunks."""

import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from ganpaint.document import project
from ganpaint.document.project import load_project, save_project
from ganpaint.errors import ProjectError
from tests.test_project_io import _members, _write_zip


def _load(tmp_path, **meta):
    """Load a small valid project whose document.json fields are overridden by ``meta``."""
    members = _members()
    members["document.json"] = json.dumps({**json.loads(members["document.json"]), **meta}).encode()
    return load_project(_write_zip(tmp_path / "p.ganpaint", members))


@pytest.mark.parametrize("meta, message", [
    ({"hints": [{"x": 10**400, "y": 1, "rgb": [1, 2, 3], "radius": 2}]}, "invalid entry in 'hints'"),
    ({"strokes": [{"points": [[1, 10**400]], "rgb": [1, 2, 3], "width": 2}]}, "invalid entry in 'strokes'"),
    ({"strokes": [{"points": [[1, 2]], "rgb": [1, 2, 3], "width": 10**400}]}, "invalid entry in 'strokes'"),
    ({"hints": [{"x": 1, "y": 2, "rgb": [1, 2, 3], "radius": 1e300}]}, "invalid entry in 'hints'"),
    ({"hints": [{"x": 1e12, "y": 2, "rgb": [1, 2, 3], "radius": 1}]}, "off the canvas"),
    ({"strokes": [{"points": [[1, 2]], "rgb": [1, 2, 300], "width": 1}]}, "invalid entry in 'strokes'"),
    ({"strokes": [{"points": "abc", "rgb": [1, 2, 3], "width": 1}]}, "invalid entry in 'strokes'"),
    ({"strokes": [{"points": [[1, 2, 3]], "rgb": [1, 2, 3], "width": 1}]}, "invalid entry in 'strokes'"),
    ({"hints": [None]}, "invalid entry in 'hints'"),
    ({"width": 10**400}, "more than the"),
    ({"width": 4.0}, "invalid image size"),
    ({"version": True}, "invalid format version"),
    ({"layers": [{"a": 1}]}, "unknown layer"),
    ({"layers": ["photo", "thumbnail"]}, "unknown layer"),
    ({"result_current": "yes"}, "result_current"),
    ({"hints": [{"x": 1, "y": 1, "rgb": [1, 2, 3], "radius": 1}] * 11}, "more than the 10 'hints'"),
    ({"strokes": [{"points": [[1, 1]] * 11, "rgb": [1, 2, 3], "width": 1}]}, "more than 10 points"),
])
def test_invalid_fields_are_one_sentence_project_errors(tmp_path, monkeypatch, meta, message):
    monkeypatch.setattr(project, "MAX_VECTOR_ITEMS", 10)
    with pytest.raises(ProjectError, match=message) as info:
        _load(tmp_path, **meta)
    assert str(info.value).startswith("cannot open 'p.ganpaint': ") and "\n" not in str(info.value)
    assert len(str(info.value)) < 300


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_document_json_is_refused_not_a_recursion_error(tmp_path):
    members = _members()
    text = members["document.json"].decode()[:-1] + ', "extra": ' + '{"x": ' * 5000 + "1" + "}" * 5000 + "}"
    members["document.json"] = text.encode()
    with pytest.raises(ProjectError):  # deeper than json itself parses
        load_project(_write_zip(tmp_path / "deep.ganpaint", members))
    with pytest.raises(ProjectError, match="nests deeper"):  # parses, but deeper than the format allows
        _load(tmp_path, settings={"a": _nested(project.MAX_JSON_DEPTH + 1)})


@pytest.mark.parametrize("settings, dropped", [
    ({"seed": "abc"}, "seed"),
    ({"seed": 10**400}, "seed"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**31}, "seed"),
    ({"seed": True}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"inpaint_model": 5}, "inpaint_model"),
    ({"synthesize_model": ""}, "synthesize_model"),
    ({"canvas": ["blank"]}, "canvas"),
    ({"labels_source": "elsewhere"}, "labels_source"),
    ({"source_name": "a\nb"}, "source_name"),
])
def test_invalid_settings_are_ignored_with_a_notice(tmp_path, settings, dropped):
    doc = _load(tmp_path, settings={**settings, "seed" if dropped != "seed" else "other": 7, "future": {"k": [1]}})
    assert dropped not in doc.settings
    assert doc.settings.get("future") == {"k": [1]}  # unknown settings are kept
    [notice] = doc.notices
    assert f"setting '{dropped}'" in notice and "p.ganpaint" in notice and "\n" not in notice
    assert (doc.photo == 77).all()  # the layers are never lost for a bad setting


def test_valid_settings_load_without_notices(tmp_path):
    settings = {"seed": project.SEED_MAX, "inpaint_model": "inpaint-gated-v1", "canvas": "blank",
                "labels_source": "user", "source_name": "chelsea.png"}
    doc = _load(tmp_path, settings=settings)
    assert doc.settings == settings and doc.notices == []


def _lying_zip(path, member_data: bytes, declared: int, compression=zipfile.ZIP_DEFLATED):
    """A valid small project whose ``document.json`` really holds ``member_data`` but whose zip
    headers (local and central) declare ``declared`` bytes."""
    members = _members()
    members["document.json"] = member_data
    _write_zip(path, members, compression)
    data = bytearray(path.read_bytes())
    name = b"document.json"
    local = data.find(b"PK\x03\x04")
    while data[local + 30: local + 30 + len(name)] != name:
        local = data.find(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", data, local + 22, declared)
    central = data.find(b"PK\x01\x02")
    while data[central + 46: central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def test_lying_zip_header_costs_bounded_memory(tmp_path):
    """Issue #8.7: a document.json that claims 100 bytes but inflates to 64 MiB."""
    meta = json.loads(_members()["document.json"])
    payload = json.dumps(meta).encode()[:-1] + b" " * (64 * 2**20) + b"}"
    path = _lying_zip(tmp_path / "liar.ganpaint", payload, 100)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ProjectError):
            load_project(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_other_compression_methods_refused(tmp_path):
    path = _write_zip(tmp_path / "bz.ganpaint", _members(), zipfile.ZIP_BZIP2)
    with pytest.raises(ProjectError, match="unsupported compression method"):
        load_project(path)


def test_global_cap_on_uncompressed_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(project, "MAX_TOTAL_BYTES", 200)
    with pytest.raises(ProjectError, match="more than the 200 bytes allowed"):
        _load(tmp_path)


def test_saved_then_loaded_project_has_no_notices(tmp_path):
    from ganpaint.document.model import Document

    doc = Document.blank(6, 5)
    doc.settings = {"seed": 42, "inpaint_model": "x"}
    save_project(doc, tmp_path / "ok.ganpaint")
    loaded = load_project(tmp_path / "ok.ganpaint")
    assert loaded.settings == doc.settings and loaded.notices == []
    assert np.array_equal(loaded.photo, doc.photo)
