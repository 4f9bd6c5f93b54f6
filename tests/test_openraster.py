"""OpenRaster (.ora) export and import: round trip, the spec's file-layout and stack rules, hostile files."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganpaint.document import openraster as ora
from ganpaint.document.layers import layer_from_result
from ganpaint.document.model import ColorHint, Document
from ganpaint.errors import ImageLoadError, ProjectError
from ganpaint.labelsets import LabelSet, default_labelset


@pytest.fixture
def labelset():
    return default_labelset()


def rich_document(labelset):
    rng = np.random.default_rng(13)
    doc = Document(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    mask = np.zeros(doc.shape, np.uint8)
    mask[4:20, 6:30] = 255
    mask[4, 6:30] = 90  # a feathered edge
    doc.set_layer("mask", mask, "Mask")
    ids = np.array([label.id for label in labelset.labels], np.uint8)
    doc.set_layer("labels", rng.choice(ids, doc.shape).astype(np.uint8), "Labels")
    doc.set_hints([ColorHint(10.0, 12.0, (250, 20, 30), 4.0), ColorHint(40.5, 3.0, (0, 0, 255), 0.0)], "Hints")
    doc.set_result(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    return doc


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(path, out, change):
    """Copy the .ora at ``path`` to ``out`` with ``change(dict of members)`` applied (order kept)."""
    content = members(path)
    change(content)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in content.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return out


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_export_writes_the_five_layers_and_follows_the_spec(tmp_path, labelset):
    doc = rich_document(labelset)
    path = tmp_path / "doc.ora"
    ora.export_document(doc, path, labelset)
    assert ora.validate(path) == []
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"image/openraster"
        # a file browser finds the mimetype at a fixed offset, uncompressed (like ODF / EPUB)
    assert path.read_bytes()[30:38] == b"mimetype" and path.read_bytes()[38:54] == b"image/openraster"
    stack = ora.read_stack(path)
    assert (stack.width, stack.height) == (50, 30)
    assert [layer.name for layer in stack.layers] == ["hints", "labels", "mask", "result", "photo"]
    assert [layer.visible for layer in stack.layers] == [False, False, False, True, True]

    _, (hints, labels, mask, result, photo) = ora.read_layers(path)
    assert (photo[..., :3] == doc.photo).all() and (photo[..., 3] == 255).all()
    assert (result[..., :3] == doc.result).all()
    assert (mask[..., 3] == doc.mask).all()
    assert (labels[..., :3] == labelset.colorize(doc.labels)).all()
    assert tuple(hints[12, 10]) == (250, 20, 30, 255)  # centre of the first disc
    assert hints[12, 10 + 3, 3] == 255 and hints[12, 10 + 6, 3] == 0  # radius 4 px
    assert hints[3, 40, 3] == 255  # a zero-radius hint still shows as a small disc
    assert hints[25, 2, 3] == 0  # transparent elsewhere

    content = members(path)
    merged = np.array(Image.open(io.BytesIO(content["mergedimage.png"])))
    assert merged.shape == (30, 50, 4) and (merged[..., :3] == doc.result).all()  # visible top layer
    thumbnail = Image.open(io.BytesIO(content["Thumbnails/thumbnail.png"]))
    assert thumbnail.size == (50, 30)  # never scaled up


def test_round_trip_restores_photo_mask_and_labels(tmp_path, labelset):
    doc = rich_document(labelset)
    path = tmp_path / "doc.ora"
    ora.export_document(doc, path, labelset)
    loaded = ora.load_document(path, labelset)
    assert (loaded.photo == doc.photo).all()
    assert (loaded.mask == doc.mask).all()  # soft edge values too
    assert (loaded.labels == doc.labels).all()
    assert loaded.settings["labels_source"] == "user" and loaded.settings["source_name"] == "doc.ora"
    assert loaded.path is None and not loaded.dirty and not loaded.can_undo


def test_edit_layers_are_exported_in_their_boxes_and_blended_back_into_the_photo(tmp_path, labelset):
    rng = np.random.default_rng(3)
    doc = Document(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    for name, box, opacity in (("Fill 1", (10, 5, 30, 25), 1.0), ("Fill 2", (20, 15, 50, 35), 0.6)):
        x0, y0, x1, y1 = box
        result = doc.composite().copy()
        result[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
        layer = layer_from_result(doc.composite(), result, None, name=name, mode="inpaint")
        doc.add_edit_layer(layer.with_changes(opacity=opacity), name)
    hidden = layer_from_result(doc.composite(), np.zeros_like(doc.photo), None, name="Hidden", mode="inpaint")
    doc.add_edit_layer(hidden.with_changes(visible=False), "Hidden")
    path = tmp_path / "edits.ora"
    ora.export_document(doc, path, labelset)
    assert ora.validate(path) == []
    stack = ora.read_stack(path)
    edits = [layer for layer in stack.layers if layer.name.startswith("edit: ")]
    assert [layer.name for layer in edits] == ["edit: Hidden", "edit: Fill 2", "edit: Fill 1"]  # top first
    assert [layer.visible for layer in edits] == [False, True, True]
    assert (edits[1].x, edits[1].y, edits[1].opacity) == (doc.edits[1].box[0], doc.edits[1].box[1], 0.6)
    assert stack.layers[-1].name == "photo"
    assert ora.guess_roles(stack) == ({"labels": 1, "mask": 2, "photo": len(stack.layers) - 1}, True)
    merged = np.array(Image.open(io.BytesIO(members(path)["mergedimage.png"])))
    assert np.array_equal(merged[..., :3], doc.composite())  # the picture the studio shows
    _, (photo_layer,) = ora.read_layers(path, [len(stack.layers) - 1])
    assert np.array_equal(photo_layer[..., :3], doc.photo)  # the original, untouched
    loaded = ora.load_document(path, labelset)
    assert np.array_equal(loaded.photo, doc.composite()) and loaded.edits == []


def test_big_thumbnail_is_scaled_to_256(tmp_path, labelset):
    doc = Document(np.full((300, 700, 3), 40, np.uint8))
    path = tmp_path / "big.ora"
    ora.export_document(doc, path, labelset)
    thumbnail = Image.open(io.BytesIO(members(path)["Thumbnails/thumbnail.png"]))
    assert thumbnail.size == (256, 110) and ora.validate(path) == []


def test_composite_honours_offsets_opacity_visibility_and_alpha():
    red = np.zeros((2, 2, 4), np.uint8)
    red[...] = (255, 0, 0, 255)
    half_blue = np.zeros((4, 4, 4), np.uint8)
    half_blue[...] = (0, 0, 255, 255)
    hidden = np.full((4, 4, 4), 255, np.uint8)
    layers = [ora.OraLayer("hidden", hidden, visible=False), ora.OraLayer("red", red, x=1, y=1, opacity=0.5),
              ora.OraLayer("blue", half_blue)]
    out = ora.composite(4, 4, layers, band_pixels=4)  # one row per band
    assert tuple(out[0, 0]) == (0, 0, 255, 255)
    assert tuple(out[1, 1]) == (128, 0, 128, 255)
    assert tuple(out[3, 3]) == (0, 0, 255, 255)
    alone = ora.composite(4, 4, [ora.OraLayer("red", red, x=3, y=-1, opacity=0.5)])
    assert tuple(alone[0, 3]) == (255, 0, 0, 128) and alone[1, 3, 3] == 0 and alone[0, 0, 3] == 0


def test_validator_catches_each_broken_rule(tmp_path, labelset):
    good = tmp_path / "good.ora"
    ora.export_document(Document(np.zeros((8, 8, 3), np.uint8)), good, labelset)

    def broken(change):
        return ora.validate(rewrite(good, tmp_path / "bad.ora", change))

    def reorder(content):
        mimetype = content.pop("mimetype")
        content["mimetype"] = mimetype

    assert any("first member" in p for p in broken(reorder))
    assert any("exactly 'image/openraster'" in p for p in broken(lambda c: c.update(mimetype=b"image/openraster\n")))
    stack = members(good)["stack.xml"].decode()
    assert any("version" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace('version="0.0.5" ', "").encode()})))
    assert any("w=" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace('w="8"', 'w="-8"').encode()})))
    assert any("opacity" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace('opacity="1.000"', 'opacity="1.5"', 1).encode()})))
    assert any("visibility" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace('"hidden"', '"none"', 1).encode()})))
    assert any("composite-op" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace("svg:src-over", "krita:bogus", 1).encode()})))
    assert any("not in the file" in p for p in broken(lambda c: c.pop("data/layer000.png")))
    assert any("one <stack>" in p for p in broken(lambda c: c.update({"stack.xml": stack.replace("</image>", "<stack/></image>").encode()})))
    assert any("thumbnail" in p for p in broken(lambda c: c.pop("Thumbnails/thumbnail.png")))
    assert any("larger than 256" in p for p in broken(lambda c: c.update({"Thumbnails/thumbnail.png": png_bytes(np.zeros((300, 10, 4), np.uint8))})))
    assert any("not RGBA" in p for p in broken(lambda c: c.update({"mergedimage.png": png_bytes(np.zeros((8, 8, 3), np.uint8))})))
    assert any("canvas" in p for p in broken(lambda c: c.update({"mergedimage.png": png_bytes(np.zeros((9, 8, 4), np.uint8))})))
    assert any("not referenced" in p for p in broken(lambda c: c.update({"data/stray.png": png_bytes(np.zeros((1, 1, 4), np.uint8))})))
    with zipfile.ZipFile(tmp_path / "deflated.ora", "w") as archive:  # mimetype first but compressed
        for name, data in members(good).items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    assert any("compressed" in p for p in ora.validate(tmp_path / "deflated.ora"))


def krita_like_file(path, layers, width=6, height=4, root=""):
    """An .ora as other programs write it: nested stacks with offsets, layers smaller than the canvas
    (``root="/"``: member names with a leading slash, as pyora writes them)."""
    entries = "".join(
        f'<layer name="{name}" src="{root}data/{index}.png" x="{x}" y="{y}" opacity="1" visibility="visible"/>'
        for index, (name, _, x, y) in enumerate(layers)
    )
    stack = (f'<?xml version="1.0" encoding="UTF-8"?><image version="0.0.1" w="{width}" h="{height}">'
             f'<stack name="root"><stack x="1" y="0" name="group">{entries}</stack></stack></image>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", b"image/openraster", compress_type=zipfile.ZIP_STORED)
        archive.writestr("stack.xml", stack)
        for index, (_, array, _, _) in enumerate(layers):
            archive.writestr(f"{root}data/{index}.png", png_bytes(array))
    return path


def test_reads_other_programs_files_with_offsets_groups_and_named_layers(tmp_path, labelset):
    sky = next(label for label in labelset.labels if label.name == "sky")
    tree = next(label for label in labelset.labels if label.name == "tree")
    photo = np.zeros((4, 5, 4), np.uint8)
    photo[...] = (10, 20, 30, 255)
    labels = np.zeros((2, 2, 4), np.uint8)
    labels[...] = (*tree.color, 255)
    bw_mask = np.zeros((4, 5, 3), np.uint8)
    bw_mask[1:3, 1:3] = 255  # an opaque black-and-white mask: white is the hole
    path = krita_like_file(tmp_path / "k.ora", [("Label Map", labels, 2, 1), ("Holes", bw_mask, 0, 0), ("Photo", photo, 0, 0)])
    stack = ora.read_stack(path)
    assert [(layer.name, layer.x, layer.y) for layer in stack.layers] == [("Label Map", 3, 1), ("Holes", 1, 0), ("Photo", 1, 0)]
    roles, certain = ora.guess_roles(stack)
    assert roles == {"labels": 0, "mask": 1, "photo": 2} and certain
    doc = ora.load_document(path, labelset)
    assert doc.shape == (4, 6)
    assert tuple(doc.photo[0, 0]) == (255, 255, 255)  # outside the shifted photo layer: white
    assert tuple(doc.photo[0, 1]) == (10, 20, 30)
    assert doc.mask[1, 2] == 255 and doc.mask[0, 2] == 0 and doc.mask[1, 1] == 0
    assert doc.labels[1, 3] == tree.id and doc.labels[2, 4] == tree.id
    assert doc.labels[0, 0] == min(label.id for label in labelset.labels) == sky.id  # transparent: lowest id


def test_member_names_with_a_leading_slash_are_read_but_not_valid(tmp_path, labelset):
    photo = np.full((4, 6, 4), 200, np.uint8)
    photo[..., 3] = 255
    path = krita_like_file(tmp_path / "rooted.ora", [("photo", photo, -1, 0)], root="/")
    assert (ora.load_document(path, labelset).photo == 200).all()
    assert any("unsafe member name" in problem for problem in ora.validate(path))
    twice = krita_like_file(tmp_path / "twice.ora", [("photo", photo, -1, 0)], root="//")
    with pytest.raises(ProjectError, match="unsafe member name"):
        ora.load_document(twice, labelset)


def test_roles_are_guessed_or_left_to_the_user(tmp_path):
    def stack(*names):
        return ora.OraStack(4, 4, tuple(ora.OraLayerInfo(name, f"data/{i}.png", 0, 0, 1.0, True) for i, name in enumerate(names)))

    assert ora.guess_roles(stack("Background")) == ({"photo": 0}, True)  # a flat picture
    assert ora.guess_roles(stack("mask", "photo", "labels")) == ({"mask": 0, "photo": 1, "labels": 2}, True)
    assert ora.guess_roles(stack("result", "hints", "PHOTO", "Mask", "label_map")) == ({"photo": 2, "mask": 3, "labels": 4}, True)
    assert ora.guess_roles(stack("Layer 2", "Layer 1")) == ({"photo": 1}, False)  # which one is the photo?
    assert ora.guess_roles(stack("Layer 2", "photo")) == ({"photo": 1}, False)  # is Layer 2 a mask?
    assert ora.guess_roles(stack("extra", "photo", "mask", "labels"))[1]  # everything found: extras ignored
    assert ora.guess_roles(stack()) == ({}, False)


def test_chosen_roles_override_names(tmp_path, labelset):
    a = np.full((4, 6, 4), 255, np.uint8)
    b = np.zeros((4, 6, 4), np.uint8)
    b[..., 3] = 255
    path = krita_like_file(tmp_path / "two.ora", [("Layer 2", a, -1, 0), ("Layer 1", b, -1, 0)])
    doc = ora.load_document(path, labelset, roles={"photo": 0, "mask": 1})
    assert (doc.photo == 255).all() and (doc.mask == 0).all()
    with pytest.raises(ProjectError, match="no layer was chosen as the photo"):
        ora.load_document(path, labelset, roles={"mask": 1})
    with pytest.raises(ValueError, match="unknown layer roles"):
        ora.load_document(path, labelset, roles={"photo": 0, "sky": 1})


def test_unknown_label_colours_are_refused_or_snapped(tmp_path, labelset):
    colours = np.zeros((4, 5, 4), np.uint8)
    sky = labelset.by_id(0)
    colours[...] = (*sky.color, 255)
    colours[0, 0, :3] = np.clip(np.array(sky.color) + 3, 0, 255)  # JPEG-ish damage
    path = krita_like_file(tmp_path / "l.ora", [("labels", colours, -1, 0), ("photo", colours, -1, 0)])
    with pytest.raises(ImageLoadError, match="colours not in the landscape palette"):
        ora.load_document(path, labelset)
    assert (ora.load_document(path, labelset, snap=True).labels[:, :5] == sky.id).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("mimetype"), "no 'mimetype'"),
        (lambda c: c.update(mimetype=b"application/zip"), "not image/openraster"),
        (lambda c: c.pop("stack.xml"), "'stack.xml' is missing"),
        (lambda c: c.update({"stack.xml": b"<image w='8' h='8'><stack>"}), "not valid XML"),
        (lambda c: c.update({"stack.xml": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><image w="8" h="8"><stack/></image>'}), "DTD"),
        (lambda c: c.update({"stack.xml": b'<image w="100000" h="100000"><stack/></image>'}), "pixels allowed"),
        (lambda c: c.update({"stack.xml": b'<image w="8" h="8"><stack/><stack/></image>'}), "one root <stack>"),
        (lambda c: c.update({"stack.xml": b'<image w="8" h="8"><stack><layer src="data/x.png" x="1e30"/></stack></image>'}), "invalid x"),
        (lambda c: c.update({"../evil.png": b"x"}), "unsafe member name"),
        (lambda c: c.update({"stack.xml": b'<image w="8" h="8"><stack>' + b'<layer src="a.png"/>' * (ora.MAX_LAYERS + 1) + b"</stack></image>"}), "layers allowed"),
    ],
)
def test_hostile_or_broken_files_are_refused_with_one_sentence(tmp_path, labelset, change, message):
    good = tmp_path / "good.ora"
    ora.export_document(Document(np.zeros((8, 8, 3), np.uint8)), good, labelset)
    bad = rewrite(good, tmp_path / "bad.ora", change)
    with pytest.raises(ProjectError, match=message):
        ora.load_document(bad, labelset)


def test_oversized_layer_png_is_refused_from_its_header(tmp_path, labelset, monkeypatch):
    monkeypatch.setattr(ora, "layer_pixel_cap", lambda width, height: 100)
    path = krita_like_file(tmp_path / "big.ora", [("photo", np.zeros((20, 20, 4), np.uint8), 0, 0)])
    with pytest.raises(ProjectError, match="more than the 100 pixels allowed"):
        ora.load_document(path, labelset)


def test_not_a_zip_and_missing_file(tmp_path, labelset):
    (tmp_path / "x.ora").write_bytes(b"not a zip")
    with pytest.raises(ProjectError, match="not an OpenRaster file or it is damaged"):
        ora.read_stack(tmp_path / "x.ora")
    with pytest.raises(ProjectError, match="does not exist"):
        ora.load_document(tmp_path / "missing.ora", labelset)


def test_write_refuses_bad_layers_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.ora"
    ora.write_ora(path, 2, 2, [ora.OraLayer("x", np.zeros((2, 2, 4), np.uint8))])
    before = path.read_bytes()
    with pytest.raises(ValueError, match="uint8"):
        ora.write_ora(path, 2, 2, [ora.OraLayer("rgb", np.zeros((2, 2, 3), np.uint8))])
    with pytest.raises(ValueError, match="opacity"):
        ora.write_ora(path, 2, 2, [ora.OraLayer("x", np.zeros((2, 2, 4), np.uint8), opacity=2.0)])
    assert path.read_bytes() == before


def test_label_ids_outside_the_set_export_magenta(tmp_path):
    tiny = LabelSet("tiny", default_labelset().labels[:2])
    doc = Document(np.zeros((2, 2, 3), np.uint8))
    doc.labels[0, 0] = 7
    _, (labels,) = ora.read_layers(_export(doc, tmp_path / "m.ora", tiny), [1])
    assert tuple(labels[0, 0]) == (255, 0, 255, 255)


def _export(doc, path, labelset):
    ora.export_document(doc, path, labelset)
    return path
