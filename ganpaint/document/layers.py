"""Edit layers: the applied results of the engines, stacked non-destructively above the original photo.

An :class:`EditLayer` holds the pixels an *Apply* produced, only inside their bounding box, with the
alpha (the mask that made them, feathered) that blends them over whatever lies below, plus everything
needed to compute them again: the mode, model and seed, and the mode's inputs (mask, label map...).
Layers are immutable values: an edit of a layer (visibility, opacity, merge...) makes a new one that
shares the pixel arrays, so undo steps (:class:`~ganpaint.document.history.LayerPatch`) keep whole
stacks cheaply.

The picture the user sees and the engines read, the *composite*, is the photo with every visible layer
blended over it bottom to top (:func:`composite_region`), rounded to ``uint8`` after each layer so that
a layer built by :func:`layer_from_result` over a composite reproduces the engine's result exactly.

Numpy (and scipy's distance transform) only; no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np
from scipy import ndimage

from ganpaint.errors import GanpaintError

from .imageio import MAX_PIXELS

__all__ = [
    "EDGE_FEATHER",
    "EditLayer",
    "MAX_EDIT_LAYERS",
    "MAX_LAYER_AREA",
    "bake",
    "check_stack",
    "composite_region",
    "layer_from_result",
    "merge_pair",
]

Rect = tuple[int, int, int, int]

EDGE_FEATHER = 4
"""Pixels over which a layer's alpha falls from 1 to 0 outside the pixels its result changed."""
MAX_EDIT_LAYERS = 64
"""Most edit layers one document holds (merge some down to add more); also checked on loading."""
MAX_LAYER_AREA = 4 * MAX_PIXELS
"""Most pixels (the sum of the layers' box areas) one stack holds; also checked on loading."""


def _frozen(array: np.ndarray, dtype=np.uint8) -> np.ndarray:
    out = np.array(array, dtype=dtype, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class EditLayer:
    """One applied engine result.

    Attributes:
        name: the name shown in the Layers panel ("Fill 1").
        box: ``(x0, y0, x1, y1)`` half-open image pixels the layer covers (inside the document).
        pixels: RGB ``uint8 (y1 - y0, x1 - x0, 3)``, read-only.
        alpha: ``uint8 (y1 - y0, x1 - x0)`` coverage 0..255 (255 = the layer's pixel replaces what is
            below), read-only; the mask that made the pixels, feathered by :data:`EDGE_FEATHER` pixels.
        visible: hidden layers are left out of the composite.
        opacity: multiplies ``alpha``, in [0, 1].
        mode: name of the studio mode that made it (``"inpaint"``, ``"synthesize"``; ``"merged"`` for a
            merge of two layers, which cannot be re-run).
        model: the model name, or None.
        seed: the seed of the request (int >= 0).
        inputs: the mode's request inputs inside ``box``, ``uint8 (y1 - y0, x1 - x0)`` read-only arrays
            (``"mask"``, ``"labels"``, ``"reading"``...), so the layer can be re-run (:meth:`rerunnable`).
        settings: JSON-able extras of the mode (e.g. the style reference's name).
    """

    name: str
    box: Rect
    pixels: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    visible: bool = True
    opacity: float = 1.0
    mode: str = ""
    model: Optional[str] = None
    seed: int = 0
    inputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = (int(v) for v in self.box)
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"layer box {self.box} is empty")
        h, w = y1 - y0, x1 - x0
        if self.pixels.shape != (h, w, 3) or self.alpha.shape != (h, w):
            raise ValueError(f"layer arrays {self.pixels.shape}/{self.alpha.shape} do not fit box {self.box}")
        if self.pixels.dtype != np.uint8 or self.alpha.dtype != np.uint8:
            raise ValueError("layer pixels and alpha must be uint8")
        for key, value in self.inputs.items():
            if value.shape != (h, w) or value.dtype != np.uint8:
                raise ValueError(f"layer input '{key}' {value.dtype} {value.shape} does not fit box {self.box}")
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise ValueError(f"layer opacity {self.opacity} is outside [0, 1]")
        object.__setattr__(self, "box", (x0, y0, x1, y1))
        object.__setattr__(self, "opacity", float(self.opacity))
        for name in ("pixels", "alpha"):
            array = getattr(self, name)
            if array.flags.writeable:
                object.__setattr__(self, name, _frozen(array))
        object.__setattr__(self, "inputs", {k: v if not v.flags.writeable else _frozen(v) for k, v in self.inputs.items()})

    def with_changes(self, **changes: Any) -> "EditLayer":
        """A copy with some attributes changed (the arrays are shared, not copied)."""
        return replace(self, **changes)

    @property
    def rerunnable(self) -> bool:
        """Whether the layer remembers the inputs of the request that made it (merged layers do not)."""
        return self.mode not in ("", "merged") and bool(self.inputs)

    @property
    def nbytes(self) -> int:
        """Memory held by the layer's arrays, in bytes."""
        return int(self.pixels.nbytes + self.alpha.nbytes + sum(v.nbytes for v in self.inputs.values()))

    def covers(self, x: int, y: int) -> bool:
        """Whether the visible layer hides (alpha > 0) image pixel ``(x, y)``."""
        x0, y0, x1, y1 = self.box
        return self.visible and self.opacity > 0 and x0 <= x < x1 and y0 <= y < y1 and self.alpha[y - y0, x - x0] > 0


def check_stack(layers: list[EditLayer], width: int, height: int) -> None:
    """Check a stack for a ``width`` x ``height`` document.

    Raises:
        TypeError: an item is not an EditLayer.
        ValueError: a layer's box lies outside the image.
        GanpaintError: more than :data:`MAX_EDIT_LAYERS` layers or :data:`MAX_LAYER_AREA` pixels (the
            sentence asks to merge layers down).
    """
    if not all(isinstance(layer, EditLayer) for layer in layers):
        raise TypeError("edit layers must be EditLayer objects")
    for layer in layers:
        x0, y0, x1, y1 = layer.box
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise ValueError(f"layer '{layer.name}' box {layer.box} lies outside the {width}x{height} image")
    if len(layers) > MAX_EDIT_LAYERS:
        raise GanpaintError(f"A picture holds at most {MAX_EDIT_LAYERS} edit layers: merge some down first.")
    area = sum((layer.box[2] - layer.box[0]) * (layer.box[3] - layer.box[1]) for layer in layers)
    if area > MAX_LAYER_AREA:
        raise GanpaintError(f"The edit layers would hold {area:,} pixels, more than the {MAX_LAYER_AREA:,} "
                            "allowed: merge some down first.")


# --------------------------------------------------------------------------- compositing


def _intersect(a: Rect, b: Rect) -> Optional[Rect]:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _blend(below: np.ndarray, pixels: np.ndarray, alpha: np.ndarray, opacity: float) -> np.ndarray:
    """``below`` (uint8 (h, w, 3)) with ``pixels`` blended over it at ``alpha`` (uint8) x ``opacity``, rounded."""
    a = alpha.astype(np.float32)[..., None] * np.float32(opacity / 255.0)
    out = below.astype(np.float32)
    out += (pixels.astype(np.float32) - out) * a
    return np.rint(out).astype(np.uint8)


def composite_region(photo: np.ndarray, layers: list[EditLayer], rect: Rect) -> np.ndarray:
    """The photo with every visible layer blended over it, inside ``rect``.

    Args:
        photo: RGB ``uint8 (H, W, 3)``.
        layers: bottom to top.
        rect: ``(x0, y0, x1, y1)`` inside the photo.

    Returns:
        A new RGB ``uint8 (y1 - y0, x1 - x0, 3)``; each layer is rounded to uint8 after blending.
    """
    x0, y0, x1, y1 = rect
    out = np.array(photo[y0:y1, x0:x1], copy=True)
    for layer in layers:
        if not layer.visible or layer.opacity <= 0:
            continue
        part = _intersect(rect, layer.box)
        if part is None:
            continue
        px0, py0, px1, py1 = part
        lx0, ly0 = layer.box[0], layer.box[1]
        src = (slice(py0 - ly0, py1 - ly0), slice(px0 - lx0, px1 - lx0))
        dst = (slice(py0 - y0, py1 - y0), slice(px0 - x0, px1 - x0))
        out[dst] = _blend(out[dst], layer.pixels[src], layer.alpha[src], layer.opacity)
    return out


# --------------------------------------------------------------------------- building layers


def _bbox(mask: np.ndarray) -> Optional[Rect]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def layer_from_result(base: np.ndarray, result: np.ndarray, region: Optional[np.ndarray], *, name: str,
                      feather: int = EDGE_FEATHER, **meta: Any) -> Optional[EditLayer]:
    """The edit layer that turns ``base`` into ``result``.

    Its alpha is 255 wherever ``result`` differs from ``base`` or ``region`` is set (the pixels the
    request was about), falling linearly to 0 over ``feather`` pixels around them. Outside the changed
    pixels the layer's pixels equal ``base``, so ``composite_region(base, [layer])`` is exactly
    ``result``, while over another base (a lower layer hidden later) the edge fades softly.

    Args:
        base: RGB ``uint8 (H, W, 3)``, the composite the engine read.
        result: RGB ``uint8 (H, W, 3)``, the engine's picture.
        region: ``bool (H, W)`` (or uint8, > 0 counts) pixels the request covered, or None.
        name: the layer's name.
        feather: alpha fall-off width in pixels (>= 0).
        meta: further :class:`EditLayer` attributes (``mode``, ``model``, ``seed``, ``settings``); ``inputs``
            may be full-size ``uint8 (H, W)`` arrays: they are cropped to the layer's box.

    Returns:
        The layer, or None when ``result`` equals ``base`` and ``region`` is empty.

    Raises:
        ValueError: shapes differ or are not RGB.
    """
    if base.shape != result.shape or base.ndim != 3 or base.shape[2] != 3:
        raise ValueError(f"base {base.shape} and result {result.shape} must be the same RGB size")
    core = (base != result).any(axis=2)
    if region is not None:
        core |= np.asarray(region) > 0
    box = _bbox(core)
    if box is None:
        return None
    height, width = core.shape
    pad = max(int(feather), 0)
    x0, y0 = max(box[0] - pad, 0), max(box[1] - pad, 0)
    x1, y1 = min(box[2] + pad, width), min(box[3] + pad, height)
    crop = core[y0:y1, x0:x1]
    if pad > 0:
        distance = ndimage.distance_transform_edt(~crop)  # 0 on changed pixels, 1 next to them...
        alpha = np.clip(1.0 - distance / (pad + 1.0), 0.0, 1.0)
        alpha = np.rint(alpha * 255.0).astype(np.uint8)
    else:
        alpha = crop.astype(np.uint8) * 255
    inputs = {key: np.asarray(value)[y0:y1, x0:x1] for key, value in meta.pop("inputs", {}).items()}
    return EditLayer(name=name, box=(x0, y0, x1, y1), pixels=result[y0:y1, x0:x1], alpha=alpha, inputs=inputs, **meta)


def _coverage(layer: EditLayer, rect: Rect) -> np.ndarray:
    """float32 (h, w) effective alpha (alpha x opacity, 0 when hidden) of ``layer`` inside ``rect``."""
    x0, y0, x1, y1 = rect
    out = np.zeros((y1 - y0, x1 - x0), np.float32)
    part = _intersect(rect, layer.box) if layer.visible else None
    if part is not None:
        lx0, ly0 = layer.box[0], layer.box[1]
        out[part[1] - y0:part[3] - y0, part[0] - x0:part[2] - x0] = (
            layer.alpha[part[1] - ly0:part[3] - ly0, part[0] - lx0:part[2] - lx0].astype(np.float32) * (layer.opacity / 255.0))
    return out


def _colour(layer: EditLayer, rect: Rect) -> np.ndarray:
    """float32 (h, w, 3) pixels of ``layer`` inside ``rect`` (0 outside its box)."""
    x0, y0, x1, y1 = rect
    out = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    part = _intersect(rect, layer.box)
    if part is not None:
        lx0, ly0 = layer.box[0], layer.box[1]
        out[part[1] - y0:part[3] - y0, part[0] - x0:part[2] - x0] = layer.pixels[part[1] - ly0:part[3] - ly0, part[0] - lx0:part[2] - lx0]
    return out


def merge_pair(bottom: EditLayer, top: EditLayer) -> EditLayer:
    """One layer that looks like ``top`` over ``bottom`` (as they are shown: hidden ones count as empty).

    The merged layer covers the union of the boxes, has opacity 1, is visible, keeps ``bottom``'s name
    and mode ``"merged"`` (it cannot be re-run). Colours are stored straight (not premultiplied), so a
    merge can differ from the two layers by one level of rounding.
    """
    box = (min(bottom.box[0], top.box[0]), min(bottom.box[1], top.box[1]),
           max(bottom.box[2], top.box[2]), max(bottom.box[3], top.box[3]))
    a_b, a_t = _coverage(bottom, box), _coverage(top, box)
    alpha = a_t + a_b * (1.0 - a_t)
    weight_b, weight_t = (a_b * (1.0 - a_t))[..., None], a_t[..., None]
    colour = _colour(bottom, box) * weight_b + _colour(top, box) * weight_t
    colour = np.divide(colour, alpha[..., None], out=np.zeros_like(colour), where=alpha[..., None] > 0)
    return EditLayer(name=bottom.name, box=box, pixels=np.clip(np.rint(colour), 0, 255).astype(np.uint8),
                     alpha=np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8), mode="merged",
                     model=None, seed=0, inputs={}, settings={})


def bake(photo: np.ndarray, layer: EditLayer) -> np.ndarray:
    """A copy of ``photo`` (RGB ``uint8 (H, W, 3)``) with ``layer`` blended in (merge down into the photo)."""
    out = np.array(photo, copy=True)
    x0, y0, x1, y1 = layer.box
    out[y0:y1, x0:x1] = composite_region(photo, [layer], layer.box)  # a hidden layer changes nothing
    return out
