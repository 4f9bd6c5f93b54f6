"""The document: image layers, vector layers, settings, revision counter, dirty flag and undo history.

Layers (see docs/ARCHITECTURE.md for conventions; ``H``/``W`` are the photo's height/width in pixels):

==========  ==========================  =====================================================
name        value                       meaning
==========  ==========================  =====================================================
photo       ``uint8 (H, W, 3)``         the RGB picture being edited
mask        ``uint8 (H, W)``            0 = keep, 255 = hole (> 127 is a hole)
labels      ``uint8 (H, W)``            semantic class ids
result      ``uint8 (H, W, 3)`` / None  last inference output (not undoable, no revision bump)
hints       ``list[ColorHint]``         colour hints (colorization)
strokes     ``list[SketchStroke]``      sketch strokes
edits       ``list[EditLayer]``         applied results above the photo, bottom to top
==========  ==========================  =====================================================

``photo`` stays the original picture (only the paint brush and the photo fill change it); *Apply*
adds an edit layer (:mod:`ganpaint.document.layers`) instead of overwriting it. :meth:`Document.composite`
is the photo with the visible edit layers blended over it: what the canvas shows and the engines read.

Every undoable change bumps :attr:`Document.revision`, makes :attr:`Document.dirty` follow the history
(undoing back to the saved state makes it clean again) and calls the listeners with the changed layer
names and the changed rectangle ``(x0, y0, x1, y1)`` (half-open image pixels) or ``None`` for "anywhere".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganpaint.errors import ImageLoadError

from .history import GroupPatch, History, LayerPatch, Patch, RasterPatch, VectorPatch
from .imageio import MAX_PIXELS
from .layers import EditLayer, bake, check_stack, composite_region, merge_pair
from .vectors import ColorHint, SketchStroke, as_rgb

__all__ = [
    "ColorHint",
    "Document",
    "EditLayer",
    "EDITABLE_LAYERS",
    "Listener",
    "RASTER_LAYERS",
    "Rect",
    "SketchStroke",
    "VECTOR_LAYERS",
]

RASTER_LAYERS = ("photo", "mask", "labels", "result")
"""Names of the raster layers (``result`` is set by inference only, never edited)."""
EDITABLE_LAYERS = ("photo", "mask", "labels")
"""Raster layers that :meth:`Document.begin_edit` and :meth:`Document.set_layer` accept."""
VECTOR_LAYERS = ("hints", "strokes")
"""Names of the vector layers."""
STACK_LAYER = "edits"
"""Name of the edit-layer stack in listener notifications and patches."""
PICTURE_LAYERS = frozenset({"photo", STACK_LAYER})
"""Changes of these layers change :meth:`Document.composite`."""

Rect = tuple[int, int, int, int]
"""``(x0, y0, x1, y1)`` in image pixels, half-open."""
Listener = Callable[[set[str], "Rect | None"], None]
"""``callback(layer_names, rect)``: called after every change; ``rect`` None means the whole layer."""



_VECTOR_TYPES = {"hints": ColorHint, "strokes": SketchStroke}


# --------------------------------------------------------------------------- raster helpers


def changed_rect(before: np.ndarray, after: np.ndarray) -> Rect | None:
    """Bounding box of the pixels that differ between two same-shape arrays.

    Args:
        before, after: ``(H, W)`` or ``(H, W, C)`` arrays of the same shape and dtype.

    Returns:
        ``(x0, y0, x1, y1)`` half-open, or None if the arrays are equal.
    """
    diff = before != after
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _raster_patch(layer: str, before: np.ndarray, after: np.ndarray, description: str) -> RasterPatch | None:
    """A patch holding copies of the changed box of two full layer arrays, or None if they are equal."""
    rect = changed_rect(before, after)
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    return RasterPatch(layer, rect, before[y0:y1, x0:x1].copy(), after[y0:y1, x0:x1].copy(), description)


@dataclass
class _OpenEdit:
    """State of a raster edit between begin_edit and end_edit."""

    layer: str
    description: str
    snapshot: np.ndarray


# --------------------------------------------------------------------------- document


class Document:
    """An editable GANPaint document (see the module docstring for the layers).

    Args:
        photo: ``uint8 (H, W, 3)`` RGB picture, values 0..255; the document keeps its own copy.
        history_cap_bytes: memory cap of the undo history in bytes (default 512 MiB).

    Attributes:
        photo, mask, labels, result, hints, strokes: the layers.
        settings: JSON-able dict (model names, seeds, engine settings); saved with the project.
        revision: int, starts at 0, bumped by every change of a layer other than ``result``.
        result_revision: the revision ``result`` was computed for, or None.
        dirty: True when there are changes not saved yet.
        history: the :class:`~ganpaint.document.history.History` of undoable steps.
        path: the project file this document was loaded from / saved to, or None.
        notices: sentences for the notice bar about how the document was loaded (e.g. settings of a
            project file that were ignored); empty for a new document.

    Raises:
        ValueError: ``photo`` is not ``uint8 (H, W, 3)`` with H, W >= 1.
        ImageLoadError: ``photo`` has more than ``imageio.MAX_PIXELS`` pixels.
    """

    def __init__(self, photo: np.ndarray, *, history_cap_bytes: int = 512 * 2**20) -> None:
        photo = np.asarray(photo)
        if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3 or 0 in photo.shape:
            raise ValueError(f"photo must be uint8 (H, W, 3), got {photo.dtype} {photo.shape}")
        _check_canvas_size(photo.shape[1], photo.shape[0])
        height, width = photo.shape[:2]
        self.photo: np.ndarray = np.array(photo, dtype=np.uint8, order="C", copy=True)
        self.mask: np.ndarray = np.zeros((height, width), np.uint8)
        self.labels: np.ndarray = np.zeros((height, width), np.uint8)
        self.result: np.ndarray | None = None
        self.result_revision: int | None = None
        self.hints: list[ColorHint] = []
        self.strokes: list[SketchStroke] = []
        self.edits: list[EditLayer] = []
        self._composite: np.ndarray | None = None  # cache of composite(); stale inside _stale
        self._stale: Rect | None = None
        self.settings: dict[str, Any] = {}
        self.revision = 0
        self.history = History(history_cap_bytes)
        self._saved_token: int | None = self.history.state_token
        self.path: str | None = None
        self.notices: list[str] = []
        self._listeners: list[Listener] = []
        self._edit: _OpenEdit | None = None
        self._group: list[Patch] | None = None

    @classmethod
    def blank(
        cls, width: int, height: int, rgb: tuple[int, int, int] = (255, 255, 255), **kwargs: Any
    ) -> Document:
        """A new document whose photo is ``width`` x ``height`` pixels filled with ``rgb`` (0..255).

        Keyword arguments go to the constructor. Raises ValueError for a size < 1 or a bad colour,
        ImageLoadError above ``MAX_PIXELS``.
        """
        if width < 1 or height < 1:
            raise ValueError(f"canvas size must be at least 1x1, not {width}x{height}")
        _check_canvas_size(width, height)
        photo = np.empty((height, width, 3), np.uint8)
        photo[...] = np.array(as_rgb(rgb), np.uint8)
        return cls(photo, **kwargs)

    # ------------------------------------------------------------------ geometry

    @property
    def width(self) -> int:
        """Photo width in pixels."""
        return int(self.photo.shape[1])

    @property
    def height(self) -> int:
        """Photo height in pixels."""
        return int(self.photo.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return (self.height, self.width)

    # ------------------------------------------------------------------ listeners

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(layer_names: set[str], rect: Rect | None)`` after every change."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback``; no error if it was not registered."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, layers: set[str], rect: Rect | None) -> None:
        if self._composite is not None and layers & PICTURE_LAYERS:
            self._stale = (0, 0, self.width, self.height) if rect is None else _union(self._stale, rect)
        for callback in list(self._listeners):
            callback(set(layers), rect)

    def _changed(self, layers: set[str], rect: Rect | None) -> None:
        """An undoable change happened: bump the revision, mark dirty, tell the listeners."""
        self.revision += 1
        self._notify(layers, rect)

    def mark_changed(self, layers: Iterable[str] | None = None, rect: Rect | None = None) -> None:
        """Bump :attr:`revision` and notify listeners without recording history (live stroke preview).

        Args:
            layers: changed layer names; default: the layer being edited, else every layer.
            rect: changed region ``(x0, y0, x1, y1)`` half-open, or None for the whole layer.
        """
        if layers is None:
            layers = {self._edit.layer} if self._edit else set(RASTER_LAYERS + VECTOR_LAYERS) | {STACK_LAYER}
        self.revision += 1
        self._notify(set(layers), rect)

    def mark_saved(self) -> None:
        """Clear :attr:`dirty` (called after the document was written to :attr:`path`)."""
        self._saved_token = self.history.state_token

    @property
    def dirty(self) -> bool:
        """True when the layers differ from the last saved (or loaded) state: undoing back to that
        state makes it False again. Setting True marks the document unsaved whatever its history."""
        return bool(self._group) or self._saved_token != self.history.state_token

    @dirty.setter
    def dirty(self, value: bool) -> None:
        if value:
            self._saved_token = None
        else:
            self.mark_saved()

    # ------------------------------------------------------------------ raster edits

    def _expected_shape(self, layer: str) -> tuple[int, ...]:
        if layer in ("photo", "result"):
            return (self.height, self.width, 3)
        if layer in ("mask", "labels"):
            return (self.height, self.width)
        raise ValueError(f"unknown raster layer {layer!r}; expected one of {RASTER_LAYERS}")

    def _validated(self, layer: str, array: np.ndarray) -> np.ndarray:
        """``array`` checked against ``layer``'s shape and dtype.

        Raises ImageLoadError if its width/height differ from the document's, ValueError for a wrong
        dtype or channel count.
        """
        expected = self._expected_shape(layer)
        array = np.asarray(array)
        if array.ndim >= 2 and array.shape[:2] != expected[:2]:
            raise ImageLoadError(
                f"the {layer} is {array.shape[1]}x{array.shape[0]} but the image is "
                f"{self.width}x{self.height}."
            )
        if array.dtype != np.uint8 or array.shape != expected:
            raise ValueError(f"{layer} must be uint8 {expected}, got {array.dtype} {array.shape}")
        return array

    def _require_no_edit(self, action: str) -> None:
        if self._edit is not None:
            raise RuntimeError(f"cannot {action} while the edit {self._edit.description!r} is open")

    @property
    def in_edit(self) -> bool:
        """True between :meth:`begin_edit` and :meth:`end_edit` / :meth:`cancel_edit`."""
        return self._edit is not None

    def begin_edit(self, layer: str, description: str) -> None:
        """Start an undoable raster edit of ``layer`` (``photo``, ``mask`` or ``labels``).

        Keeps a copy of the layer; the layer array may then be modified in place (call
        :meth:`mark_changed` for live previews) until :meth:`end_edit` or :meth:`cancel_edit`.

        Raises:
            ValueError: ``layer`` is not an editable raster layer.
            RuntimeError: an edit is already open.
        """
        if layer not in EDITABLE_LAYERS:
            raise ValueError(f"cannot edit layer {layer!r}; expected one of {EDITABLE_LAYERS}")
        self._require_no_edit("begin an edit")
        self._edit = _OpenEdit(layer, description, getattr(self, layer).copy())

    def _close_edit(self) -> tuple[_OpenEdit, np.ndarray]:
        """Close the open edit; return it with the layer's current array (RuntimeError if none open)."""
        edit = self._edit
        if edit is None:
            raise RuntimeError("no edit is open")
        self._edit = None
        current = getattr(self, edit.layer)
        if current.shape != edit.snapshot.shape or current.dtype != edit.snapshot.dtype:
            setattr(self, edit.layer, edit.snapshot)
            raise RuntimeError(f"the {edit.layer} array was replaced during the edit; it was restored")
        return edit, current

    def end_edit(self) -> RasterPatch | None:
        """Finish the open edit and record it as one undo step.

        Returns:
            The :class:`RasterPatch` holding only the bounding box of the changed pixels (before and
            after), or None if no pixel changed (then nothing is recorded and nothing is bumped).

        Raises:
            RuntimeError: no edit is open, or the layer array was replaced by one of another shape.
        """
        edit, current = self._close_edit()
        patch = _raster_patch(edit.layer, edit.snapshot, current, edit.description)
        if patch is not None:
            self._record(patch)
        return patch

    def cancel_edit(self) -> None:
        """Abandon the open edit, restoring the layer's pixels; bumps the revision if pixels changed.

        Raises:
            RuntimeError: no edit is open.
        """
        edit, current = self._close_edit()
        rect = changed_rect(edit.snapshot, current)
        if rect is not None:
            x0, y0, x1, y1 = rect
            current[y0:y1, x0:x1] = edit.snapshot[y0:y1, x0:x1]
            self.revision += 1
            self._notify({edit.layer}, rect)

    def set_layer(self, layer: str, array: np.ndarray, description: str) -> RasterPatch | None:
        """Replace the pixels of ``layer`` (``photo``, ``mask`` or ``labels``) as one undo step.

        Args:
            layer: layer name.
            array: ``uint8 (H, W, 3)`` for photo, ``uint8 (H, W)`` for mask/labels, same H, W as the
                document. It is copied into the existing layer array.
            description: undo step name.

        Returns:
            The recorded patch (changed bounding box only), or None if nothing changed.

        Raises:
            ImageLoadError: ``array``'s width/height differ from the document's.
            ValueError: unknown layer, ``result``, wrong dtype or channel count.
            RuntimeError: a raster edit is open.
        """
        if layer not in EDITABLE_LAYERS:
            raise ValueError(f"cannot set layer {layer!r}; expected one of {EDITABLE_LAYERS}")
        self._require_no_edit("set a layer")
        array = self._validated(layer, array)
        current = getattr(self, layer)
        patch = _raster_patch(layer, current, array, description)
        if patch is not None:
            patch.apply_after(current)
            self._record(patch)
        return patch

    # ------------------------------------------------------------------ vector edits

    def _set_vector(self, layer: str, items: Iterable[Any], description: str) -> VectorPatch | None:
        self._require_no_edit(f"set the {layer}")
        items = list(items)
        kind = _VECTOR_TYPES[layer]
        if not all(isinstance(item, kind) for item in items):
            raise TypeError(f"{layer} must be a list of {kind.__name__}")
        current = getattr(self, layer)
        if items == current:
            return None
        patch = VectorPatch(layer, current, items, description)
        setattr(self, layer, patch.apply_after(current))
        self._record(patch)
        return patch

    def set_hints(self, hints: Iterable[ColorHint], description: str) -> VectorPatch | None:
        """Replace :attr:`hints` (the document stores its own copies) as one undo step.

        Returns the recorded patch, or None if the list is unchanged. Raises TypeError for items that
        are not ColorHint, RuntimeError while a raster edit is open.
        """
        return self._set_vector("hints", hints, description)

    def set_strokes(self, strokes: Iterable[SketchStroke], description: str) -> VectorPatch | None:
        """Replace :attr:`strokes` (the document stores its own copies) as one undo step.

        Returns the recorded patch, or None if the list is unchanged. Raises TypeError for items that
        are not SketchStroke, RuntimeError while a raster edit is open.
        """
        return self._set_vector("strokes", strokes, description)

    # ------------------------------------------------------------------ edit layers

    def composite(self) -> np.ndarray:
        """The picture shown and read by the engines: :attr:`photo` with the visible :attr:`edits`
        blended over it (see :func:`~ganpaint.document.layers.composite_region`).

        Returns:
            RGB ``uint8 (H, W, 3)``: :attr:`photo` itself when there are no edit layers, else a cached
            array recomputed only where the photo or the layers changed. Read it, never write it.
        """
        if not self.edits:
            self._composite, self._stale = None, None
            return self.photo
        if self._composite is None or self._composite.shape != self.photo.shape:
            self._composite = composite_region(self.photo, self.edits, (0, 0, self.width, self.height))
        elif self._stale is not None:
            x0, y0, x1, y1 = self._stale
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.width), min(y1, self.height)
            if x0 < x1 and y0 < y1:
                self._composite[y0:y1, x0:x1] = composite_region(self.photo, self.edits, (x0, y0, x1, y1))
        self._stale = None
        return self._composite

    def covering_layer(self, x: int, y: int) -> EditLayer | None:
        """The topmost visible edit layer that hides image pixel ``(x, y)`` of the photo, or None."""
        return next((layer for layer in reversed(self.edits) if layer.covers(int(x), int(y))), None)

    def set_edits(self, layers: Iterable[EditLayer], description: str) -> LayerPatch | None:
        """Replace the edit-layer stack (bottom to top) as one undo step.

        Returns the recorded patch, or None if the stack is unchanged. Raises (see
        :func:`~ganpaint.document.layers.check_stack`) TypeError for items that are not EditLayer,
        ValueError for a layer outside the image, GanpaintError above ``MAX_EDIT_LAYERS`` layers or
        ``MAX_LAYER_AREA`` pixels; RuntimeError while a raster edit is open.
        """
        self._require_no_edit("change the layers")
        layers = list(layers)
        check_stack(layers, self.width, self.height)
        if len(layers) == len(self.edits) and all(a is b for a, b in zip(layers, self.edits)):
            return None
        patch = LayerPatch(tuple(self.edits), tuple(layers), description)
        self.edits = list(layers)
        self._record(patch)
        return patch

    def add_edit_layer(self, layer: EditLayer, description: str) -> LayerPatch | None:
        """Put ``layer`` on top of the stack (one undo step); see :meth:`set_edits` for errors."""
        return self.set_edits([*self.edits, layer], description)

    def update_edit_layer(self, index: int, description: str, **changes: Any) -> LayerPatch | None:
        """Change attributes (``visible``, ``opacity``, ``name``) of layer ``index`` (0 = bottom) as one
        undo step; None when nothing changes. Raises IndexError, ValueError for a bad value."""
        layer = self.edits[index]
        if all(getattr(layer, key) == value for key, value in changes.items()):
            return None
        stack = list(self.edits)
        stack[index] = layer.with_changes(**changes)
        return self.set_edits(stack, description)

    def move_edit_layer(self, index: int, to: int, description: str) -> LayerPatch | None:
        """Move layer ``index`` to position ``to`` (0 = bottom, clamped) as one undo step. Raises IndexError."""
        stack = list(self.edits)
        layer = stack.pop(index)
        stack.insert(min(max(to, 0), len(stack)), layer)
        return self.set_edits(stack, description)

    def remove_edit_layer(self, index: int, description: str) -> LayerPatch | None:
        """Delete layer ``index`` as one undo step. Raises IndexError."""
        stack = list(self.edits)
        stack.pop(index)
        return self.set_edits(stack, description)

    def merge_edit_layer_down(self, index: int, description: str) -> None:
        """Merge layer ``index`` into the one below it, or into the photo for the bottom layer, as one
        undo step (see :func:`~ganpaint.document.layers.merge_pair`). Raises IndexError."""
        stack = list(self.edits)
        layer = stack[index]
        with self.group(description):
            if index == 0:
                self.set_layer("photo", bake(self.photo, layer), description)
                stack.pop(0)
            else:
                stack[index - 1:index + 1] = [merge_pair(stack[index - 1], layer)]
            self.set_edits(stack, description)

    # ------------------------------------------------------------------ result

    def set_result(self, array: np.ndarray | None, revision: int | None = None) -> None:
        """Store an inference result (a copy) without history, revision bump or dirty flag change.

        Args:
            array: ``uint8 (H, W, 3)`` RGB result, or None to clear it.
            revision: the document revision the result was computed for (default: the current one);
                stored in :attr:`result_revision` (None when ``array`` is None).

        Listeners are called with ``{"result"}`` and rect None.

        Raises:
            ImageLoadError: wrong width/height.  ValueError: wrong dtype or channel count.
        """
        if array is None:
            self.result, self.result_revision = None, None
        else:
            self.result = np.array(self._validated("result", array), order="C", copy=True)
            self.result_revision = self.revision if revision is None else int(revision)
        self._notify({"result"}, None)

    # ------------------------------------------------------------------ history

    def _record(self, patch: Patch) -> None:
        if self._group is not None:
            self._group.append(patch)
        else:
            self.history.push(patch)
        self._changed({patch.layer}, patch.rect)

    @contextmanager
    def group(self, description: str) -> Iterator[None]:
        """Record every change made inside the ``with`` block as one undo step named ``description``.

        Raises RuntimeError when a group or a raster edit is already open.
        """
        self._require_no_edit("group changes")
        if self._group is not None:
            raise RuntimeError("change groups do not nest")
        self._group = []
        try:
            yield
        finally:
            parts, self._group = self._group, None
            if len(parts) == 1:
                self.history.push(parts[0])
            elif parts:
                self.history.push(GroupPatch(tuple(parts), description))

    @property
    def edit_snapshot(self) -> np.ndarray | None:
        """The open raster edit's layer as it was at :meth:`begin_edit` (read it, never write it)."""
        return None if self._edit is None else self._edit.snapshot

    def _apply(self, patch: Patch | None, undo: bool) -> bool:
        if patch is None:
            return False
        if isinstance(patch, GroupPatch):
            parts = reversed(patch.parts) if undo else patch.parts
            layers = set()
            for part in parts:
                setattr(self, part.layer, part.apply_before(getattr(self, part.layer)) if undo else part.apply_after(getattr(self, part.layer)))
                layers.add(part.layer)
            self._changed(layers, None)
            return True
        current = getattr(self, patch.layer)
        new = patch.apply_before(current) if undo else patch.apply_after(current)
        setattr(self, patch.layer, new)
        self._changed({patch.layer}, patch.rect)
        return True

    def undo(self) -> bool:
        """Revert the newest step; bumps revision, notifies (dirty follows the saved mark). False if nothing to undo.

        Raises RuntimeError while a raster edit is open.
        """
        self._require_no_edit("undo")
        return self._apply(self.history.undo(), undo=True)

    def redo(self) -> bool:
        """Re-apply the last undone step; bumps revision, notifies (dirty follows the saved mark). False if none.

        Raises RuntimeError while a raster edit is open.
        """
        self._require_no_edit("redo")
        return self._apply(self.history.redo(), undo=False)

    @property
    def can_undo(self) -> bool:
        """True if :meth:`undo` would do something."""
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        """True if :meth:`redo` would do something."""
        return self.history.can_redo

    @property
    def undo_text(self) -> str | None:
        """Description of the step :meth:`undo` would revert, or None."""
        patch = self.history.next_undo
        return patch.description if patch else None

    @property
    def redo_text(self) -> str | None:
        """Description of the step :meth:`redo` would re-apply, or None."""
        patch = self.history.next_redo
        return patch.description if patch else None


def _union(a: Rect | None, b: Rect) -> Rect:
    """Smallest rectangle holding ``a`` (or nothing when None) and ``b``."""
    if a is None:
        return tuple(b)
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _check_canvas_size(width: int, height: int) -> None:
    """Raise ImageLoadError if a ``width`` x ``height`` canvas exceeds ``MAX_PIXELS``."""
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"a {width}x{height} image has more than the {MAX_PIXELS:,} pixels allowed."
        )
