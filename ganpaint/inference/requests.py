"""Frozen request snapshots handed from the document to the worker thread.

A request copies what the engine needs out of the document at one revision and makes the arrays
read-only, so later edits in the GUI thread can never reach a running engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Result:
    """What an engine returns for a request.

    Attributes:
        revision: the request's revision.
        task: the request's task.
        image: RGB ``uint8 (H, W, 3)`` at the request's image size.
        elapsed_ms: engine time in milliseconds (wall clock, excluding queueing).
        info: free-form details for the status bar (device, model, crop size...).
    """

    revision: int
    task: str
    image: np.ndarray
    elapsed_ms: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
