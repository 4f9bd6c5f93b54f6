"""Edit layers: non-destructive apply, compositing, every layer operation undoable, project round trip."""

import json
import zipfile

import numpy as np
import pytest

from ganpaint.document.layers import EditLayer, composite_region, layer_from_result, merge_pair
from ganpaint.document.model import Document
from ganpaint.document.project import load_project, save_project
from ganpaint.errors import GanpaintError, ProjectError


def _doc():
    rng = np.random.default_rng(3)
    return Document(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))


def _fill(doc, rect, colour, **meta):
    """Add the layer that paints ``rect`` of the current composite in ``colour``; returns it."""
    x0, y0, x1, y1 = rect
    result = doc.composite().copy()
    result[y0:y1, x0:x1] = colour
    mask = np.zeros(doc.shape, np.uint8)
    mask[y0:y1, x0:x1] = 255
    layer = layer_from_result(doc.composite(), result, mask > 0, name=f"Fill {len(doc.edits) + 1}", mode="inpaint",
                              model="fake-inpaint", seed=7, inputs={"mask": mask}, **meta)
    doc.add_edit_layer(layer, "Apply fill")
    return layer, result


def test_layer_reproduces_the_result_exactly_and_keeps_the_photo():
    doc = _doc()
    photo = doc.photo.copy()
    layer, result = _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    assert np.array_equal(doc.composite(), result)
    assert np.array_equal(doc.photo, photo)
    # only the box (the changed pixels plus the feather) is stored, with the mask inside it
    assert layer.box == (6, 6, 34, 24)
    assert layer.inputs["mask"].shape == layer.alpha.shape
    assert layer.alpha[4:-4, 4:-4].min() == 255 and layer.alpha[0, 0] == 0
    # the feather fades the edge over another base, never a hard cut
    assert 0 < layer.alpha[2, 10] < 255


def test_second_layer_builds_on_the_composite_and_every_operation_is_undoable():
    doc = _doc()
    photo = doc.photo.copy()
    first, after_first = _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    second, after_second = _fill(doc, (20, 15, 40, 30), (0, 255, 0))
    assert np.array_equal(doc.composite(), after_second)
    steps = [
        (lambda: doc.update_edit_layer(1, "Hide", visible=False), after_first),
        (lambda: doc.update_edit_layer(0, "Opacity", opacity=0.0), photo),
        (lambda: doc.update_edit_layer(0, "Opacity", opacity=1.0), after_first),
        (lambda: doc.update_edit_layer(1, "Show", visible=True), after_second),
        (lambda: doc.move_edit_layer(1, 0, "Move down"), None),
        (lambda: doc.remove_edit_layer(0, "Delete"), after_first),
    ]
    states = [doc.composite().copy()]
    for action, expected in steps:
        action()
        if expected is not None:
            assert np.array_equal(doc.composite(), expected)
        states.append(doc.composite().copy())
    # moving the green layer below the magenta one shows magenta where they overlap
    assert tuple(states[5][17, 25]) == (255, 0, 255)
    for state in reversed(states[:-1]):
        assert doc.undo()
        assert np.array_equal(doc.composite(), state)
    for state in states[1:]:
        assert doc.redo()
        assert np.array_equal(doc.composite(), state)
    assert np.array_equal(doc.photo, photo)


def test_merge_down_keeps_the_picture_and_into_the_photo_bakes_it():
    doc = _doc()
    _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    doc.update_edit_layer(0, "Opacity", opacity=0.5)
    _fill(doc, (20, 15, 40, 30), (0, 255, 0))
    before = doc.composite().copy()
    doc.merge_edit_layer_down(1, "Merge")
    assert len(doc.edits) == 1 and doc.edits[0].mode == "merged" and not doc.edits[0].rerunnable
    assert np.abs(doc.composite().astype(int) - before).max() <= 1  # straight colours: one level of rounding
    photo = doc.photo.copy()
    doc.merge_edit_layer_down(0, "Merge into photo")
    assert not doc.edits and np.abs(doc.photo.astype(int) - before).max() <= 1
    assert doc.undo_text == "Merge into photo"
    doc.undo()
    assert np.array_equal(doc.photo, photo) and len(doc.edits) == 1
    doc.undo()
    assert len(doc.edits) == 2 and np.array_equal(doc.composite(), before)


def test_composite_follows_photo_edits_under_the_layers():
    doc = _doc()
    _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    doc.composite()  # cache it
    doc.begin_edit("photo", "Brush")
    doc.photo[40:50, 40:50] = 9  # outside the layer: visible
    doc.photo[12:14, 12:14] = 9  # under the layer: hidden
    doc.mark_changed({"photo"}, (12, 12, 50, 50))
    assert (doc.composite()[40:50, 40:50] == 9).all()
    assert tuple(doc.composite()[12, 12]) == (255, 0, 255)
    doc.end_edit()
    assert doc.covering_layer(12, 12) is doc.edits[0] and doc.covering_layer(45, 45) is None


def test_stack_limits_are_user_errors():
    doc = Document.blank(4, 4)
    layer = EditLayer(name="L", box=(0, 0, 4, 4), pixels=np.zeros((4, 4, 3), np.uint8), alpha=np.full((4, 4), 255, np.uint8))
    with pytest.raises(GanpaintError, match="merge some down"):
        doc.set_edits([layer] * 65, "Too many")
    with pytest.raises(ValueError, match="outside"):
        doc.set_edits([EditLayer(name="L", box=(2, 2, 6, 6), pixels=layer.pixels, alpha=layer.alpha)], "Out")
    with pytest.raises(ValueError, match="does not fit"):
        EditLayer(name="L", box=(0, 0, 4, 4), pixels=layer.pixels, alpha=layer.alpha, inputs={"mask": np.zeros((5, 5), np.uint8)})


def test_merge_pair_matches_sequential_blending():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)

    def random_layer(box):
        h, w = box[3] - box[1], box[2] - box[0]
        return EditLayer(name="x", box=box, pixels=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                         alpha=rng.integers(0, 256, (h, w), dtype=np.uint8), opacity=0.7)

    bottom, top = random_layer((0, 0, 12, 15)), random_layer((5, 3, 20, 20))
    sequential = composite_region(base, [bottom, top], (0, 0, 20, 20))
    merged = composite_region(base, [merge_pair(bottom, top)], (0, 0, 20, 20))
    assert np.abs(sequential.astype(int) - merged).max() <= 2


def test_history_counts_only_the_new_layers_bytes():
    doc = _doc()
    layer, _ = _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    assert doc.history.next_undo.nbytes == layer.nbytes
    doc.update_edit_layer(0, "Hide", visible=False)
    assert doc.history.next_undo.nbytes == 0  # the hidden copy shares the layer's arrays


def test_project_round_trip_keeps_the_stack_and_the_original(tmp_path):
    doc = _doc()
    photo = doc.photo.copy()
    _fill(doc, (10, 10, 30, 20), (255, 0, 255), settings={"style": "coffee.png"})
    _fill(doc, (20, 15, 40, 30), (0, 255, 0))
    doc.update_edit_layer(0, "Opacity", opacity=0.25)
    doc.update_edit_layer(1, "Hide", visible=False)
    path = tmp_path / "layers.ganpaint"
    save_project(doc, path)
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("document.json"))
        assert meta["version"] == 2 and len(meta["edits"]) == 2
        assert "edits/1/in-mask.png" in archive.namelist()
    loaded = load_project(path)
    assert np.array_equal(loaded.photo, photo)
    assert np.array_equal(loaded.composite(), doc.composite())
    for a, b in zip(doc.edits, loaded.edits):
        assert (a.name, a.box, a.visible, a.opacity, a.mode, a.model, a.seed, a.settings) == \
               (b.name, b.box, b.visible, b.opacity, b.mode, b.model, b.seed, b.settings)
        assert np.array_equal(a.pixels, b.pixels) and np.array_equal(a.alpha, b.alpha)
        assert np.array_equal(a.inputs["mask"], b.inputs["mask"])
    assert not loaded.can_undo and not loaded.dirty


def _tamper(path, out, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["document.json"])
    change(meta, members)
    members["document.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


@pytest.mark.parametrize("change, message", [
    (lambda m, z: m["edits"][0].update(box=[0, 0, 999, 10]), "invalid box"),
    (lambda m, z: m["edits"][0].update(opacity=2), "invalid opacity"),
    (lambda m, z: m["edits"][0].update(visible="yes"), "'visible'"),
    (lambda m, z: m["edits"][0].update(inputs=["../x"]), "'inputs'"),
    (lambda m, z: m["edits"][0].update(seed=-1), "invalid seed"),
    (lambda m, z: m.update(edits={"a": 1}), "'edits'"),
    (lambda m, z: m.update(edits=m["edits"] * 65), "more than the 64"),
    (lambda m, z: z.pop("edits/0/alpha.png"), "alpha.png' is missing"),
    (lambda m, z: m["edits"][0].update(box=[0, 0, 5, 5]), "is .* but the document is 5x5"),
])
def test_hostile_layer_entries_are_refused(tmp_path, change, message):
    doc = _doc()
    _fill(doc, (10, 10, 30, 20), (255, 0, 255))
    save_project(doc, tmp_path / "ok.ganpaint")
    bad = _tamper(tmp_path / "ok.ganpaint", tmp_path / "bad.ganpaint", change)
    with pytest.raises(ProjectError, match=message):
        load_project(bad)


def test_version_1_project_opens_without_layers(tmp_path):
    doc = _doc()
    save_project(doc, tmp_path / "new.ganpaint")

    def as_version_1(meta, members):
        meta["version"] = 1
        del meta["edits"]

    old = load_project(_tamper(tmp_path / "new.ganpaint", tmp_path / "old.ganpaint", as_version_1))
    assert old.edits == [] and np.array_equal(old.composite(), doc.photo)
