"""Document edits, undo/redo, history cap, listeners."""

import numpy as np
import pytest

from ganpaint.document.history import History, RasterPatch, VectorPatch
from ganpaint.document.model import ColorHint, Document, SketchStroke, changed_rect
from ganpaint.errors import GanpaintError, ImageLoadError


def _photo(h=40, w=60, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def doc():
    return Document(_photo())


def test_new_document_layers(doc):
    assert doc.shape == (40, 60) and (doc.width, doc.height) == (60, 40)
    assert doc.mask.shape == (40, 60) and doc.mask.dtype == np.uint8 and not doc.mask.any()
    assert doc.labels.shape == (40, 60) and not doc.labels.any()
    assert doc.result is None and doc.hints == [] and doc.strokes == []
    assert doc.revision == 0 and not doc.dirty and doc.path is None
    assert not doc.can_undo and not doc.can_redo and doc.undo_text is None


def test_constructor_copies_photo_and_validates():
    photo = _photo()
    doc = Document(photo)
    photo[:] = 0
    assert doc.photo.any()
    with pytest.raises(ValueError):
        Document(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        Document(np.zeros((4, 4, 3), np.float32))


def test_blank():
    doc = Document.blank(5, 3, (10, 20, 30))
    assert doc.photo.shape == (3, 5, 3)
    assert (doc.photo == np.array([10, 20, 30], np.uint8)).all()
    with pytest.raises(ImageLoadError):
        Document.blank(20000, 20000)


def test_edit_patch_holds_only_changed_bbox(doc):
    before = doc.photo.copy()
    doc.begin_edit("photo", "Brush")
    assert doc.in_edit
    doc.photo[10:15, 20:30] = 7
    doc.photo[12, 25] = 255 - doc.photo[12, 25]
    patch = doc.end_edit()
    assert not doc.in_edit
    assert isinstance(patch, RasterPatch)
    assert patch.rect == (20, 10, 30, 15)
    assert patch.before.shape == (5, 10, 3) and patch.after.shape == (5, 10, 3)
    np.testing.assert_array_equal(patch.before, before[10:15, 20:30])
    assert patch.nbytes == 2 * 5 * 10 * 3
    assert doc.revision == 1 and doc.dirty
    assert doc.undo_text == "Brush"


def test_single_pixel_edit_on_mask(doc):
    doc.begin_edit("mask", "Mask brush")
    doc.mask[39, 59] = 255
    patch = doc.end_edit()
    assert patch.rect == (59, 39, 60, 40)
    assert patch.before.shape == (1, 1)


def test_noop_edit_records_nothing(doc):
    doc.begin_edit("labels", "Label brush")
    doc.labels[3, 3] = 0  # same value
    assert doc.end_edit() is None
    assert doc.revision == 0 and not doc.dirty and not doc.can_undo


def test_undo_redo_bit_exact(doc):
    original = doc.photo.copy()
    doc.begin_edit("photo", "A")
    doc.photo[0:20, 0:20] = 1
    doc.end_edit()
    after_a = doc.photo.copy()
    doc.begin_edit("photo", "B")
    doc.photo[10:30, 10:50] = 2
    doc.end_edit()
    after_b = doc.photo.copy()
    assert doc.undo() and np.array_equal(doc.photo, after_a)
    assert doc.redo_text == "B" and doc.undo_text == "A"
    assert doc.undo() and np.array_equal(doc.photo, original)
    assert not doc.undo() and not doc.can_undo
    assert doc.redo() and np.array_equal(doc.photo, after_a)
    assert doc.redo() and np.array_equal(doc.photo, after_b)
    assert not doc.redo()
    assert doc.revision == 6


def test_undo_and_redo_bump_revision_and_set_dirty(doc):
    doc.set_layer("labels", np.full(doc.shape, 3, np.uint8), "Fill labels")
    doc.mark_saved()
    assert not doc.dirty
    revision = doc.revision
    doc.undo()
    assert doc.revision == revision + 1 and doc.dirty
    assert not doc.labels.any()


def test_undo_back_to_the_saved_state_is_clean(doc):
    doc.set_layer("labels", np.full(doc.shape, 3, np.uint8), "Fill labels")
    doc.mark_saved()
    doc.set_layer("labels", np.full(doc.shape, 4, np.uint8), "Fill labels")
    assert doc.dirty
    doc.undo()
    assert not doc.dirty  # back where it was saved
    doc.undo()
    assert doc.dirty
    doc.redo()
    assert not doc.dirty
    doc.set_layer("mask", np.ones(doc.shape, np.uint8), "Mask")  # a new branch: the old redo is gone
    doc.undo()
    assert not doc.dirty
    doc.dirty = True  # e.g. a recovered autosave
    assert doc.dirty


def test_saved_state_dropped_by_the_history_cap_stays_dirty():
    doc = Document(np.zeros((8, 8, 3), np.uint8), history_cap_bytes=100)
    doc.mark_saved()
    for value in (1, 2, 3):
        doc.set_layer("labels", np.full(doc.shape, value, np.uint8), "Fill labels")
    while doc.undo():
        pass
    assert doc.labels.any() and doc.dirty  # the saved (all-zero) state can no longer be reached


def test_new_edit_clears_redo(doc):
    doc.set_layer("mask", np.full(doc.shape, 255, np.uint8), "Fill")
    doc.undo()
    assert doc.can_redo
    doc.begin_edit("mask", "Brush")
    doc.mask[0, 0] = 255
    doc.end_edit()
    assert not doc.can_redo and doc.redo_text is None


def test_cancel_edit_restores(doc):
    original = doc.photo.copy()
    seen = []
    doc.add_listener(lambda layers, rect: seen.append((layers, rect)))
    doc.begin_edit("photo", "Brush")
    doc.photo[5:8, 6:9] = 0
    doc.mark_changed(rect=(6, 5, 9, 8))
    doc.cancel_edit()
    assert not doc.in_edit
    np.testing.assert_array_equal(doc.photo, original)
    assert not doc.can_undo and not doc.dirty
    assert doc.revision == 2  # the preview bump and the restore bump
    assert seen == [({"photo"}, (6, 5, 9, 8)), ({"photo"}, (6, 5, 9, 8))]


def test_edit_protocol_misuse(doc):
    with pytest.raises(RuntimeError):
        doc.end_edit()
    with pytest.raises(ValueError):
        doc.begin_edit("result", "x")
    doc.begin_edit("mask", "x")
    with pytest.raises(RuntimeError):
        doc.begin_edit("mask", "y")
    with pytest.raises(RuntimeError):
        doc.undo()
    doc.mask = np.zeros((2, 2), np.uint8)  # replaced instead of edited in place
    with pytest.raises(RuntimeError):
        doc.end_edit()
    assert doc.mask.shape == doc.shape and not doc.in_edit


def test_set_layer_undoable_and_validated(doc):
    new_mask = np.zeros(doc.shape, np.uint8)
    new_mask[5:10, 7:9] = 255
    patch = doc.set_layer("mask", new_mask, "Import mask")
    assert patch.rect == (7, 5, 9, 10) and patch.before.shape == (5, 2)
    np.testing.assert_array_equal(doc.mask, new_mask)
    new_mask[:] = 0  # the document keeps its own pixels
    assert doc.mask.any()
    assert doc.set_layer("mask", doc.mask.copy(), "Same") is None
    with pytest.raises(ImageLoadError, match="30x20 but the image is 60x40"):
        doc.set_layer("mask", np.zeros((20, 30), np.uint8), "Wrong")
    with pytest.raises(GanpaintError):
        doc.set_layer("photo", np.zeros((40, 61, 3), np.uint8), "Wrong")
    with pytest.raises(ValueError):
        doc.set_layer("mask", np.zeros((40, 60), np.float32), "Wrong dtype")
    doc.undo()
    assert not doc.mask.any()


def test_history_cap_drops_oldest():
    small = Document(_photo(), history_cap_bytes=2 * 10 * 10 * 3 * 2)  # room for two 10x10 patches
    for i in range(4):
        small.begin_edit("photo", f"step {i}")
        small.photo[0:10, 10 * i : 10 * i + 10] = i
        small.end_edit()
    assert small.history.undo_count == 2
    assert small.history.total_bytes <= small.history.cap_bytes
    assert small.undo_text == "step 3"
    assert small.undo() and small.undo() and not small.undo()
    assert small.redo_text == "step 2"


def test_history_always_keeps_newest():
    history = History(cap_bytes=10)
    patch = RasterPatch("mask", (0, 0, 4, 4), np.zeros((4, 4), np.uint8), np.ones((4, 4), np.uint8), "big")
    history.push(patch)
    assert history.can_undo and history.total_bytes == 32
    history.push(patch)
    assert history.undo_count == 1
    assert history.undo() is patch and history.redo() is patch
    history.clear()
    assert not history.can_undo and history.total_bytes == 0


def test_vector_undo_redo(doc):
    hint = ColorHint(1.5, 2.5, (255, 0, 0), 4.0)
    stroke = SketchStroke([(0, 0), (10.5, 3)], (0, 0, 255), 2)
    hints = [hint]
    patch = doc.set_hints(hints, "Add hint")
    assert isinstance(patch, VectorPatch) and patch.before == [] and patch.after == [hint]
    hints.append(ColorHint(0, 0, (0, 0, 0), 1))  # caller's list is not the document's
    hint.x = 99.0  # nor are its objects
    assert doc.hints == [ColorHint(1.5, 2.5, (255, 0, 0), 4.0)]
    doc.set_strokes([stroke], "Sketch")
    assert doc.set_strokes([stroke], "Same") is None
    assert doc.revision == 2
    assert doc.undo() and doc.strokes == []
    assert doc.undo() and doc.hints == []
    assert doc.redo() and doc.hints[0].x == 1.5
    assert doc.redo() and doc.strokes == [stroke]
    with pytest.raises(TypeError):
        doc.set_hints([stroke], "wrong type")


def test_listeners_receive_rects(doc):
    seen = []
    doc.add_listener(lambda layers, rect: seen.append((layers, rect)))
    doc.begin_edit("labels", "Labels")
    doc.labels[2:4, 3:6] = 9
    doc.end_edit()
    doc.undo()
    doc.redo()
    doc.set_hints([ColorHint(0, 0, (1, 2, 3), 1)], "Hint")
    doc.set_result(np.zeros((40, 60, 3), np.uint8))
    assert seen == [
        ({"labels"}, (3, 2, 6, 4)),
        ({"labels"}, (3, 2, 6, 4)),
        ({"labels"}, (3, 2, 6, 4)),
        ({"hints"}, None),
        ({"result"}, None),
    ]


def test_mark_changed_bumps_revision_only(doc):
    doc.begin_edit("mask", "Brush")
    doc.mask[1, 1] = 255
    doc.mark_changed(rect=(1, 1, 2, 2))
    doc.mark_changed(rect=(1, 1, 2, 2))
    assert doc.revision == 2 and not doc.dirty and not doc.can_undo
    doc.end_edit()
    assert doc.revision == 3 and doc.dirty and doc.can_undo


def test_set_result_no_history_no_revision(doc):
    doc.begin_edit("photo", "x")
    doc.photo[0, 0] = 255 - doc.photo[0, 0]
    doc.end_edit()
    result = np.full((40, 60, 3), 9, np.uint8)
    doc.mark_saved()
    doc.set_result(result, revision=0)
    assert doc.revision == 1 and doc.result_revision == 0 and not doc.dirty
    assert doc.history.undo_count == 1
    result[:] = 0
    assert (doc.result == 9).all()
    doc.set_result(np.zeros((40, 60, 3), np.uint8))
    assert doc.result_revision == 1
    with pytest.raises(ImageLoadError):
        doc.set_result(np.zeros((10, 60, 3), np.uint8))
    doc.set_result(None)
    assert doc.result is None and doc.result_revision is None


def test_changed_rect():
    a = np.zeros((5, 7), np.uint8)
    b = a.copy()
    assert changed_rect(a, b) is None
    b[1, 2] = 1
    b[3, 5] = 1
    assert changed_rect(a, b) == (2, 1, 6, 4)


def test_vector_items_json_round_trip_and_validation():
    hint = ColorHint(1, 2, (3, 4, 5), 6)
    stroke = SketchStroke([(1, 2), (3, 4)], (5, 6, 7), 1.5)
    assert ColorHint.from_json(hint.to_json()) == hint
    assert SketchStroke.from_json(stroke.to_json()) == stroke
    for bad in ({"x": 1, "y": 2, "rgb": [0, 0, 256], "radius": 1}, {"x": 1}, [], {"x": float("nan"), "y": 0, "rgb": [0, 0, 0], "radius": 1}):
        with pytest.raises(ValueError):
            ColorHint.from_json(bad)
    with pytest.raises(ValueError):
        SketchStroke.from_json({"points": [[1, 2, 3]], "rgb": [0, 0, 0], "width": 1})
    with pytest.raises(ValueError):
        SketchStroke([(0, 0)], (0, 0, 0), 0)
    colour = SketchStroke([(1, 2)], (5, 6, 7), 3, kind="color")
    assert SketchStroke.from_json(colour.to_json()) == colour
    assert SketchStroke.from_json({"points": [], "rgb": [0, 0, 0], "width": 1}).kind == "sketch"
    with pytest.raises(ValueError):
        SketchStroke.from_json({"points": [], "rgb": [0, 0, 0], "width": 1, "kind": "warp"})


def test_group_is_one_undo_step_across_layers():
    import numpy as np

    from ganpaint.document.model import Document

    doc = Document(np.zeros((20, 30, 3), np.uint8))
    holes = np.zeros((20, 30), np.uint8)
    holes[5:10, 5:10] = 255
    doc.set_layer("mask", holes, "Mask")
    filled = np.full((20, 30, 3), 7, np.uint8)
    with doc.group("Apply fill"):
        doc.set_layer("photo", filled, "Apply fill")
        doc.set_layer("mask", np.zeros((20, 30), np.uint8), "Apply fill")
    assert doc.undo_text == "Apply fill"
    assert doc.undo()
    assert doc.photo.max() == 0 and doc.mask[7, 7] == 255
    assert doc.redo()
    assert (doc.photo == 7).all() and not doc.mask.any()
    assert doc.undo() and doc.undo()
    assert not doc.mask.any()
