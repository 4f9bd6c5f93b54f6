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
