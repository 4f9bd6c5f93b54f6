"""Frozen request snapshots handed from the document to the worker thread.

A request copies what the engine needs out of the document at one revision and makes the arrays
read-only, so later edits in the GUI thread can never reach a running engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


def frozen_copy(array: np.ndarray) -> np.ndarray:
    """Return a C-contiguous, read-only copy of ``array`` (any shape and dtype)."""
    out = np.array(array, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Request:
    """Base of every request.

    Attributes:
        revision: document revision this snapshot was taken at (monotonic per document).
        task: engine task name, e.g. ``"inpaint"``; the worker routes on it.
        model: model name from the registry (a model card's ``name``).
        seed: random seed for stochastic engines.
    """

    revision: int
    task: str
    model: str
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class InpaintRequest(Request):
    """Fill the holes of a photo.

    Fields declared here (``task``, ``image``, ``mask``) are keyword-only, so the base class's
    positional ``model`` may follow the defaulted ``task``.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only.
        mask: ``uint8 (H, W)``, read-only; values > 127 are holes.
    """

    task: str = "inpaint"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    mask: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, mask: np.ndarray, model: str, seed: int = 0) -> "InpaintRequest":
        """Build a request from live document arrays (copied and frozen)."""
        if image.shape[:2] != mask.shape[:2]:
            raise ValueError(f"mask {mask.shape[:2]} and image {image.shape[:2]} differ in size")
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image), mask=frozen_copy(mask))


@dataclass(frozen=True, kw_only=True)
class SegmentRequest(Request):
    """Label a photo with the classes of a segmentation model; the engine returns ``uint8 (H, W)`` class ids.

    Fields declared here (``task``, ``image``) are keyword-only, as in :class:`InpaintRequest`.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only.
    """

    task: str = "segment"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, model: str, seed: int = 0) -> "SegmentRequest":
        """Build a request from the live document photo (copied and frozen)."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an RGB (H, W, 3) photo, got shape {image.shape}")
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image))


@dataclass(frozen=True, kw_only=True)
class SynthesisRequest(Request):
    """Paint a picture from a label map with a semantic-synthesis (SPADE) model.

    Fields declared here are keyword-only, as in :class:`InpaintRequest`. Two modes:

    * blank canvas (``photo`` None): the whole picture is generated at the label map's size;
    * photo edit (``photo`` given): only ``region`` (the pixels whose labels the user changed) plus a
      thin feathered band around it is regenerated; every other pixel is exactly the photo's.
      ``region`` None with a photo means the whole picture.

    Attributes:
        labels: ``uint8 (H, W)`` class ids of the model's label set, read-only.
        style: RGB ``uint8 (h, w, 3)`` reference image (any size) for the style encoder, or None. With
            None the style comes from the photo in photo-edit mode, else from ``seed`` (``z ~ N(0, I)``);
            models without an encoder ignore it.
        photo: RGB ``uint8 (H, W, 3)`` or None, read-only.
        region: ``bool (H, W)`` or None, read-only (:meth:`snapshot` turns a ``uint8`` mask into bool with
            the document's convention: values > 127 are in the region).
    """

    task: str = "synthesize"
    labels: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    style: Optional[np.ndarray] = field(default=None, repr=False)
    photo: Optional[np.ndarray] = field(default=None, repr=False)
    region: Optional[np.ndarray] = field(default=None, repr=False)

    @classmethod
    def snapshot(cls, revision: int, labels: np.ndarray, model: str, seed: int = 0, style: Optional[np.ndarray] = None,
                 photo: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None) -> "SynthesisRequest":
        """Build a request from live document arrays (copied and frozen).

        Raises:
            ValueError: ``labels`` not ``uint8 (H, W)``; ``style``/``photo`` not RGB ``uint8``; ``photo`` or
                ``region`` of another size than ``labels``; ``region`` without ``photo``.
        """
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.dtype != np.uint8:
            raise ValueError(f"labels must be a uint8 (H, W) label map, got {labels.dtype} {labels.shape}")
        for name, rgb in (("style", style), ("photo", photo)):
            if rgb is not None and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
                raise ValueError(f"{name} must be an RGB uint8 (H, W, 3) image, got {rgb.dtype} {rgb.shape}")
        if photo is not None and photo.shape[:2] != labels.shape:
            raise ValueError(f"photo {photo.shape[:2]} and labels {labels.shape} differ in size")
        if region is not None:
            if photo is None:
                raise ValueError("a region needs a photo (it marks the photo pixels to regenerate)")
            if region.shape != labels.shape:
                raise ValueError(f"region {region.shape} and labels {labels.shape} differ in size")
            region = region if region.dtype == np.bool_ else np.asarray(region) > 127
        return cls(revision=revision, model=model, seed=seed, labels=frozen_copy(labels),
                   style=None if style is None else frozen_copy(style),
                   photo=None if photo is None else frozen_copy(photo),
                   region=None if region is None else frozen_copy(region))


@dataclass(frozen=True)
class HintSnapshot:
    """A frozen copy of one colour hint (:class:`ganpaint.document.vectors.ColorHint`).

    Attributes:
        points: ``((x, y), ...)`` image pixels: one point (a disc) or a stroke's polyline.
        rgb: ``(r, g, b)`` ints 0..255.
        radius: disc radius / stroke half-width in image pixels (>= 0).
    """

    points: tuple[tuple[float, float], ...]
    rgb: tuple[int, int, int]
    radius: float

    @classmethod
    def of(cls, hint: Any) -> "HintSnapshot":
        """Snapshot a :class:`~ganpaint.document.vectors.ColorHint` (or anything with ``path()``/``x, y``,
        ``rgb`` and ``radius``)."""
        path = hint.path() if hasattr(hint, "path") else ((hint.x, hint.y),)
        return cls(tuple((float(x), float(y)) for x, y in path), tuple(int(c) for c in hint.rgb),  # type: ignore[arg-type]
                   float(hint.radius))


@dataclass(frozen=True, kw_only=True)
class ColorizeRequest(Request):
    """Colour a grayscale photo, recolour a colour photo, or fill line art, guided by colour hints.

    Fields declared here are keyword-only, as in :class:`InpaintRequest`. What the engine does with
    ``image`` depends on the model (its card's ``config.mode``): ``"photo"`` models keep the photo's own
    full-resolution lightness (L of Lab) and predict ab; ``"lineart"`` models fill the regions the drawing's
    lines bound with flat colours and keep the lines.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only: the photo (grayscale or colour) or the drawing.
        hints: local hints, later ones painted over earlier ones.
        recolor: photo models: keep ``image``'s own colours wherever the hints do not reach (recolour one
            object of a colour photo); False colours the whole picture from its lightness.
        palette: global hint: colours ``(r, g, b)`` the picture should use (empty: none).
        reference: global hint: RGB ``uint8 (h, w, 3)`` image whose colour histogram the picture should
            follow, read-only, or None. ``palette`` wins when both are given.
        query: image points ``(x, y)`` where the colour-distribution head's suggestions are wanted; the
            result's ``extras["suggestions"]`` has one entry per point (see the engine).
    """

    task: str = "colorize"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    hints: tuple[HintSnapshot, ...] = ()
    recolor: bool = False
    palette: tuple[tuple[int, int, int], ...] = ()
    reference: Optional[np.ndarray] = field(default=None, repr=False)
    query: tuple[tuple[float, float], ...] = ()

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, model: str, hints: Any = (), *, recolor: bool = False,
                 palette: Any = (), reference: Optional[np.ndarray] = None, query: Any = (),
                 seed: int = 0) -> "ColorizeRequest":
        """Build a request from live document data (arrays copied and frozen, hints snapshotted).

        Args:
            hints: :class:`~ganpaint.document.vectors.ColorHint` objects (or :class:`HintSnapshot`).

        Raises:
            ValueError: ``image``/``reference`` not RGB ``uint8``, a palette colour not three ints 0..255.
        """
        from ganpaint.document.vectors import as_rgb

        for name, rgb in (("image", image), ("reference", reference)):
            if rgb is not None and (not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3
                                    or rgb.dtype != np.uint8):
                raise ValueError(f"{name} must be an RGB uint8 (H, W, 3) image")
        if image is None:
            raise ValueError("image must be an RGB uint8 (H, W, 3) image")
        snaps = tuple(h if isinstance(h, HintSnapshot) else HintSnapshot.of(h) for h in hints)
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image), hints=snaps,
                   recolor=bool(recolor), palette=tuple(as_rgb(c) for c in palette),
                   reference=None if reference is None else frozen_copy(reference),
                   query=tuple((float(x), float(y)) for x, y in query))


@dataclass(frozen=True)
class Result:
    """What an engine returns for a request.

    Attributes:
        revision: the request's revision.
        task: the request's task.
        image: RGB ``uint8 (H, W, 3)`` at the request's image size.
        elapsed_ms: engine time in milliseconds (wall clock, excluding queueing).
        info: free-form details for the status bar (device, model, crop size...).
        extras: engine-specific outputs beside the picture (read-only arrays or plain values), e.g. the
            colour suggestions of a colorization engine or the latent code and candidates of a
            projection engine; empty for most engines (see :class:`~ganpaint.engines.base.EngineOutput`).
    """

    revision: int
    task: str
    image: np.ndarray
    elapsed_ms: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
