"""Undo/redo history: patches and the bounded stacks that hold them.

A patch records one undoable step on one document layer. Patches do not know the document: applying
one takes the layer's current value and returns the value to store, so the document stays in charge of
revision counters, dirty flags and listeners.

- :class:`RasterPatch`: a rectangle of a raster layer (``photo``, ``mask``, ``labels``), before and after.
- :class:`VectorPatch`: a whole vector layer (``hints``, ``strokes``), before and after lists.
- :class:`LayerPatch`: the stack of edit layers (``edits``), before and after (layers are immutable
  values sharing their arrays, so a patch costs only the layers it adds or removes).
- :class:`GroupPatch`: several patches as one step.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

__all__ = ["GroupPatch", "History", "LayerPatch", "Patch", "RasterPatch", "VectorPatch"]

_VECTOR_ITEM_BYTES = 256
"""Rough memory cost of one hint/stroke object, used by :attr:`VectorPatch.nbytes`."""
_VECTOR_POINT_BYTES = 64
"""Rough memory cost of one stroke point tuple."""


@dataclass(frozen=True, eq=False)
class RasterPatch:
    """One raster edit: the pixels of ``rect`` before and after.

    Attributes:
        layer: ``"photo"``, ``"mask"`` or ``"labels"``.
        rect: ``(x0, y0, x1, y1)`` image pixels, half-open, the bounding box of the changed pixels.
        before: pixels of ``rect`` before the edit, shape ``(y1 - y0, x1 - x0)`` or
            ``(y1 - y0, x1 - x0, 3)``, dtype of the layer (uint8).
        after: pixels of ``rect`` after the edit, same shape and dtype as ``before``.
        description: user-visible name of the step ("Brush", "Import mask"...).
    """

    layer: str
    rect: tuple[int, int, int, int]
    before: np.ndarray
    after: np.ndarray
    description: str

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.rect
        expected = (y1 - y0, x1 - x0)
        if self.before.shape != self.after.shape or self.before.shape[:2] != expected:
            raise ValueError(f"patch arrays {self.before.shape}/{self.after.shape} do not fit rect {self.rect}")

    @property
    def nbytes(self) -> int:
        """Memory held by the patch's pixel arrays, in bytes."""
        return int(self.before.nbytes + self.after.nbytes)

    def _write(self, layer: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.rect
        layer[y0:y1, x0:x1] = pixels
        return layer

    def apply_before(self, layer: np.ndarray) -> np.ndarray:
        """Write the ``before`` pixels into ``layer`` (modified in place) and return it (undo)."""
        return self._write(layer, self.before)

    def apply_after(self, layer: np.ndarray) -> np.ndarray:
        """Write the ``after`` pixels into ``layer`` (modified in place) and return it (redo)."""
        return self._write(layer, self.after)


def _vector_cost(items: list[Any]) -> int:
    """Rough memory estimate of a list of hints/strokes, in bytes."""
    points = sum(len(getattr(item, "points", ())) for item in items)
    return len(items) * _VECTOR_ITEM_BYTES + points * _VECTOR_POINT_BYTES


@dataclass(frozen=True, eq=False)
class VectorPatch:
    """One edit of a vector layer: the whole list before and after.

    Attributes:
        layer: ``"hints"`` or ``"strokes"``.
        before: the layer's list before the edit (deep-copied when the patch is made).
        after: the layer's list after the edit (deep-copied when the patch is made).
        description: user-visible name of the step.
    """

    layer: str
    before: list[Any]
    after: list[Any]
    description: str

    def __post_init__(self) -> None:
        # Own copies: later in-place changes to the caller's objects must not rewrite history.
        object.__setattr__(self, "before", copy.deepcopy(list(self.before)))
        object.__setattr__(self, "after", copy.deepcopy(list(self.after)))

    @property
    def rect(self) -> None:
        """Always ``None``: a vector edit may touch the whole canvas."""
        return None

    @property
    def nbytes(self) -> int:
        """Estimated memory held by the two lists, in bytes (not exact; used for the history cap)."""
        return _vector_cost(self.before) + _vector_cost(self.after)

    def apply_before(self, layer: list[Any]) -> list[Any]:
        """Return a fresh deep copy of ``before`` to store as the layer (undo); ``layer`` is unused."""
        return copy.deepcopy(self.before)

    def apply_after(self, layer: list[Any]) -> list[Any]:
        """Return a fresh deep copy of ``after`` to store as the layer (redo); ``layer`` is unused."""
        return copy.deepcopy(self.after)


@dataclass(frozen=True, eq=False)
class LayerPatch:
    """One change of the edit-layer stack (add, delete, reorder, hide, opacity, merge, re-edit).

    Attributes:
        before: the stack (bottom to top) before the change, a tuple of immutable
            :class:`~ganpaint.document.layers.EditLayer`.
        after: the stack after the change.
        description: user-visible name of the step.
    """

    before: tuple
    after: tuple
    description: str

    layer = "edits"

    @property
    def rect(self) -> tuple[int, int, int, int] | None:
        """Union of the boxes of the layers that differ between the two stacks (by identity or order),
        or None when none does."""
        boxes = [layer.box for layer in _changed_layers(self.before, self.after)]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held by layers present in only one of the two stacks."""
        kept = {id(layer.pixels) for layer in self.before} & {id(layer.pixels) for layer in self.after}
        return sum(layer.nbytes for layer in (*self.before, *self.after) if id(layer.pixels) not in kept)

    def apply_before(self, layer: list[Any]) -> list[Any]:
        """The stack before the change, as a new list (undo); ``layer`` is unused."""
        return list(self.before)

    def apply_after(self, layer: list[Any]) -> list[Any]:
        """The stack after the change, as a new list (redo); ``layer`` is unused."""
        return list(self.after)


def _changed_layers(before: tuple, after: tuple) -> list[Any]:
    """Layers of either stack that are not at the same position, as the same object, in the other."""
    changed = [b for i, b in enumerate(before) if i >= len(after) or after[i] is not b]
    changed += [a for i, a in enumerate(after) if i >= len(before) or before[i] is not a]
    return changed


@dataclass(frozen=True, eq=False)
class GroupPatch:
    """Several patches undone and redone as one step (e.g. "Apply fill": photo and mask together).

    Attributes:
        parts: the patches in the order they were made (undo reverts them in reverse order).
        description: user-visible name of the step.
    """

    parts: tuple
    description: str

    @property
    def layer(self) -> str:
        return self.parts[-1].layer

    @property
    def rect(self) -> None:
        return None

    @property
    def nbytes(self) -> int:
        return sum(part.nbytes for part in self.parts)


Patch = Union[RasterPatch, VectorPatch, LayerPatch, GroupPatch]


class History:
    """Undo and redo stacks of patches with a memory cap.

    Args:
        cap_bytes: the most bytes (sum of ``patch.nbytes``) kept on the undo stack; the oldest steps
            are dropped above it, but the newest step is always kept even if it alone exceeds the cap.
    """

    def __init__(self, cap_bytes: int) -> None:
        if cap_bytes < 0:
            raise ValueError("cap_bytes must be >= 0")
        self.cap_bytes = int(cap_bytes)
        self._undo: deque[Patch] = deque()
        self._redo: list[Patch] = []
        self._total = 0
        # State tokens: one per step (the state right after it), plus the state below the oldest step.
        self._undo_tokens: deque[int] = deque()
        self._redo_tokens: list[int] = []
        self._base_token = 0
        self._last_token = 0

    def push(self, patch: Patch) -> None:
        """Record a new step: clears the redo stack, then drops oldest steps while above the cap."""
        self._total -= sum(p.nbytes for p in self._redo)
        self._redo.clear()
        self._redo_tokens.clear()
        self._undo.append(patch)
        self._last_token += 1
        self._undo_tokens.append(self._last_token)
        self._total += patch.nbytes
        while self._total > self.cap_bytes and len(self._undo) > 1:
            self._total -= self._undo.popleft().nbytes
            self._base_token = self._undo_tokens.popleft()

    def undo(self) -> Patch | None:
        """Move the newest step to the redo stack and return it (the caller reverts it); None if empty."""
        if not self._undo:
            return None
        patch = self._undo.pop()
        self._redo.append(patch)
        self._redo_tokens.append(self._undo_tokens.pop())
        return patch

    def redo(self) -> Patch | None:
        """Move the last undone step back to the undo stack and return it (the caller re-applies it)."""
        if not self._redo:
            return None
        patch = self._redo.pop()
        self._undo.append(patch)
        self._undo_tokens.append(self._redo_tokens.pop())
        return patch

    @property
    def state_token(self) -> int:
        """An id of the state the steps lead to: equal before and after any undo/redo round trip that
        ends where it began, different after a new step (used for the document's "saved" mark)."""
        return self._undo_tokens[-1] if self._undo_tokens else self._base_token

    @property
    def next_undo(self) -> Patch | None:
        """The step :meth:`undo` would return, without moving it."""
        return self._undo[-1] if self._undo else None

    @property
    def next_redo(self) -> Patch | None:
        """The step :meth:`redo` would return, without moving it."""
        return self._redo[-1] if self._redo else None

    @property
    def can_undo(self) -> bool:
        """True if there is a step to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """True if there is a step to redo."""
        return bool(self._redo)

    @property
    def undo_count(self) -> int:
        """Number of steps on the undo stack."""
        return len(self._undo)

    @property
    def redo_count(self) -> int:
        """Number of steps on the redo stack."""
        return len(self._redo)

    @property
    def total_bytes(self) -> int:
        """Bytes held by all patches on both stacks (sum of ``patch.nbytes``)."""
        return self._total

    def clear(self) -> None:
        """Forget every step (the current state keeps its :attr:`state_token`)."""
        self._base_token = self.state_token
        self._undo.clear()
        self._redo.clear()
        self._undo_tokens.clear()
        self._redo_tokens.clear()
        self._total = 0
