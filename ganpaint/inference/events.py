"""Events the :class:`~ganpaint.inference.worker.InferenceWorker` delivers through its callback.

All events are frozen dataclasses, emitted from the worker thread (the GUI re-posts them to its own
thread). Every request that is taken or submitted ends in exactly one of ``Finished``, ``Failed`` or
``Dropped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Union

import numpy as np

from ganpaint.inference.requests import Result

NoticeLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Started:
    """The engine began serving request ``revision`` (task and model name as in the request);
    ``loading`` is True when the model's weights are read first (seconds for a large model)."""

    revision: int
    task: str
    model: str
    loading: bool = False


@dataclass(frozen=True)
class Progress:
    """Intermediate progress of the running request.

    Attributes:
        revision: the request's revision.
        fraction: completion in ``[0, 1]``.
        partial: optional preview, RGB ``uint8 (H, W, 3)``, read-only copy; or ``None``.
    """

    revision: int
    fraction: float
    partial: Optional[np.ndarray] = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Finished:
    """A request's result, delivered only if no newer request was submitted meanwhile.

    ``result.elapsed_ms`` is the engine's run time measured by the worker; ``result.info`` holds at
    least ``"device"`` (a :func:`~ganpaint.inference.device.device_label`) and ``"model"``.
    """

    result: Result

    @property
    def revision(self) -> int:
        """The finished request's revision."""
        return self.result.revision


@dataclass(frozen=True)
class Failed:
    """The engine (or loading its model) failed; ``message`` is one sentence for the notice bar."""

    revision: int
    message: str


@dataclass(frozen=True)
class Dropped:
    """A request ended without a result.

    ``reason`` is ``"superseded"`` (replaced while pending, never ran), ``"stale"`` (ran, but a newer
    request was submitted meanwhile), ``"cancelled"`` (the engine honoured its cancel token) or
    ``"stopped"`` (the worker stopped).
    """

    revision: int
    reason: str


@dataclass(frozen=True)
class Notice:
    """A message for the notice bar not tied to one request (OOM fallback, preload failure...)."""

    message: str
    level: NoticeLevel = "info"


@dataclass(frozen=True)
class DeviceChanged:
    """The worker's compute device changed (or was first chosen); ``label`` is for the status bar."""

    label: str


InferenceEvent = Union[Started, Progress, Finished, Failed, Dropped, Notice, DeviceChanged]
