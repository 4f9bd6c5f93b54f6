"""Issue #8.10: property-based fuzzing of the project loader and the image and mask loaders.

The rule: loading gives a Document (an array for images) or our own one-sentence error
(ProjectError / ImageLoadError), and nothing else, ever. The default run uses a moderate number of
examples per property; ``GANPAINT_FUZZ_EXAMPLES=N`` (or ``make soak``) runs N.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ganpaint.document import project
from ganpaint.document.imageio import load_gray, load_mask, load_rgb
from ganpaint.document.model import ColorHint, Document, SketchStroke
from ganpaint.errors import ImageLoadError, ProjectError

EXAMPLES = int(os.environ.get("GANPAINT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ----------------------------------------------------------------------------------------- JSON values

_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**31 - 2, 2**31 - 1, 2**63, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)), max_leaves=12)


def _valid_document() -> Document:
    rng = np.random.default_rng(3)
    doc = Document(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
    doc.set_layer("mask", (rng.integers(0, 2, doc.shape) * 255).astype(np.uint8), "Mask")
    doc.set_layer("labels", rng.integers(0, 8, doc.shape, dtype=np.uint8), "Labels")
    doc.set_hints([ColorHint(1.0, 2.0, (1, 2, 3), 2.0)], "Hints")
    doc.set_strokes([SketchStroke([(0, 0), (3.5, 4.0)], (9, 8, 7), 1.5)], "Sketch")
    doc.settings = {"seed": 7, "inpaint_model": "inpaint-gated-v1", "labels_source": "user", "extra": [1, {"a": 2}]}
    doc.set_result(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
    return doc


def _project_bytes(doc: Document) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(project.META_MEMBER, project._meta_bytes(doc, "x"))
        for layer, member in project.LAYER_MEMBERS.items():
            array = getattr(doc, layer)
            if array is not None:
                png = io.BytesIO()
                Image.fromarray(array).save(png, format="PNG")
                archive.writestr(member, png.getvalue())
    return buffer.getvalue()


VALID = _project_bytes(_valid_document())
VALID_MEMBERS = {info.filename: zipfile.ZipFile(io.BytesIO(VALID)).read(info) for info in zipfile.ZipFile(io.BytesIO(VALID)).infolist()}


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _check_loaded(doc: Document) -> None:
    """What a window may rely on in a loaded document."""
    assert isinstance(doc, Document)
    h, w = doc.shape
    assert doc.photo.shape == (h, w, 3) and doc.mask.shape == (h, w) and doc.labels.shape == (h, w)
    for key, (rule, _) in project.SETTINGS_RULES.items():
        if key in doc.settings:
            assert rule(doc.settings[key]), (key, doc.settings[key])
    json.dumps(doc.settings)  # saving it again works
    assert all(isinstance(hint, ColorHint) for hint in doc.hints)
    assert all(isinstance(stroke, SketchStroke) for stroke in doc.strokes)


def _load_bytes(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.ganpaint"
    path.write_bytes(data)
    try:
        doc = project.load_project(path)
    except ProjectError as error:
        message = str(error)
        assert message.startswith("cannot open 'fuzz.ganpaint': ") and "\n" not in message and len(message) < 400
        return
    _check_loaded(doc)


# ------------------------------------------------------------------------------------------ projects


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, len(VALID))))
def test_project_with_flipped_bytes(tmp_path, edits, cut):
    data = bytearray(VALID)
    for position, value in edits:
        data[position] = value
    _load_bytes(tmp_path, bytes(data[:cut] if cut is not None else data))


def _mutated_meta(data, meta):
    """``meta`` with one value somewhere inside replaced by an arbitrary JSON value (or a key dropped)."""
    meta = json.loads(json.dumps(meta))
    node = meta
    while True:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and data.draw(st.integers(0, 5)) == 0:
            del node[key]
        else:
            node[key] = data.draw(json_values)
        break
    return meta


@FUZZ
@given(data=st.data())
def test_project_with_mutated_document_json(tmp_path, data):
    meta = json.loads(VALID_MEMBERS[project.META_MEMBER])
    for _ in range(data.draw(st.integers(1, 3))):
        meta = _mutated_meta(data, meta)
    members = dict(VALID_MEMBERS)
    members[project.META_MEMBER] = json.dumps(meta).encode()
    _load_bytes(tmp_path, _zip(members))


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@FUZZ
@given(member=st.sampled_from(sorted(VALID_MEMBERS)), data=st.data())
def test_project_with_replaced_or_missing_members(tmp_path, member, data):
    members = dict(VALID_MEMBERS)
    kind = data.draw(st.sampled_from(["drop", "bytes", "png", "duplicate", "stored"]))
    if kind == "drop":
        del members[member]
    elif kind == "bytes":
        members[member] = data.draw(st.binary(max_size=64))
    elif kind == "png":
        shape = data.draw(st.sampled_from([(5, 6), (5, 6, 3), (6, 5), (5, 6, 4), (1, 1)]))
        members[member] = _png(np.zeros(shape, np.uint8))
    elif kind == "duplicate":
        _load_bytes(tmp_path, _dup(members, member))
        return
    _load_bytes(tmp_path, _zip(members, zipfile.ZIP_STORED if kind == "stored" else zipfile.ZIP_DEFLATED))


def _dup(members, member) -> bytes:
    buffer = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.writestr(member, members[member])
    return buffer.getvalue()


@FUZZ
@given(settings_value=st.dictionaries(st.sampled_from(sorted(project.SETTINGS_RULES) + ["other"]), json_values,
                                      max_size=4),
       hints=st.lists(st.tuples(json_values, json_values, json_values, json_values), max_size=3))
def test_document_with_arbitrary_settings_and_hints_round_trips_or_refuses(tmp_path, settings_value, hints):
    """Documents built in memory with hostile settings/hints: saving refuses (ProjectError) or writes a
    file that loads back as a Document obeying every rule."""
    doc = _valid_document()
    doc.settings = settings_value
    try:
        doc.hints = [ColorHint(*values) for values in hints]
    except (ValueError, TypeError):
        doc.hints = []
    try:
        project.save_project(doc, tmp_path / "d.ganpaint")
    except ProjectError:
        return
    _load_bytes(tmp_path, (tmp_path / "d.ganpaint").read_bytes())


# --------------------------------------------------------------------------------------- image loaders


def _image_bytes() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    out = {}
    for name, image, fmt, options in [
        ("rgb.png", Image.fromarray(rgb), "PNG", {}),
        ("gray.png", Image.fromarray(rgb[..., 0]), "PNG", {}),
        ("palette.png", Image.fromarray(rgb).convert("P"), "PNG", {}),
        ("rgba.png", Image.fromarray(np.dstack([rgb, rgb[..., :1]])), "PNG", {}),
        ("wide.png", Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "PNG", {}),
        ("photo.jpg", Image.fromarray(rgb), "JPEG", {"quality": 80}),
        ("photo.webp", Image.fromarray(rgb), "WEBP", {}),
        ("photo.bmp", Image.fromarray(rgb), "BMP", {}),
        ("photo.tif", Image.fromarray(rgb), "TIFF", {}),
        ("photo.gif", Image.fromarray(rgb).convert("P"), "GIF", {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        out[name] = buffer.getvalue()
    return out


IMAGES = _image_bytes()


@FUZZ
@given(name=st.sampled_from(sorted(IMAGES)), data=st.data())
def test_image_and_mask_loaders_with_damaged_files(tmp_path, name, data):
    blob = bytearray(IMAGES[name])
    for _ in range(data.draw(st.integers(1, 6))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path / name
    path.write_bytes(bytes(blob))
    for load in (load_rgb, load_gray, lambda p: load_mask(p, (12, 16))):
        try:
            array = load(path)
        except ImageLoadError as error:
            assert "\n" not in str(error) and name in str(error)
            continue
        assert isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.shape[:2][0] >= 1


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_undamaged_fuzz_inputs_load(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(IMAGES[name])
    assert load_rgb(path).shape == (12, 16, 3)
    assert set(np.unique(load_mask(path, (12, 16)))) <= {0, 255}
