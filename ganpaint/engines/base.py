"""The engine base class every task (inpainting, semantic synthesis, ...) implements.

Life cycle, all on the worker thread: ``engine = EngineClass(card)``, ``engine.load(device, half)``,
then ``engine.run(request, cancel, progress)`` any number of times. ``load`` may be called again with
another device (the worker moves engines to the CPU after a CUDA out-of-memory error).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Optional

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.engines.registry import ModelCard, ModelRegistry
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import Request

#: ``progress(fraction in [0, 1], partial RGB uint8 (H, W, 3) or None)``.
ProgressCallback = Callable[[float, Optional[np.ndarray]], None]


@dataclass(frozen=True)
class EngineOutput:
    """What :meth:`Engine.run` may return instead of a bare array, when it has more to say.

    Attributes:
        image: the picture (RGB ``uint8 (H, W, 3)``) or label map (``uint8 (H, W)``) at the request's size.
        extras: engine-specific outputs (numpy arrays are frozen by the worker, other values passed as
            they are), delivered as :attr:`ganpaint.inference.requests.Result.extras`.
    """

    image: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)


class Engine(ABC):
    """One model ready to serve requests of one task.

    Class attributes:
        task: the request task this engine serves (``"inpaint"``...).
        architectures: model-card ``architecture`` values this class can load.
        supports_half: whether fp16 on a GPU loses nothing visible for this engine.
        config_limits: ``{config key: (min, max)}`` for the numeric model-card ``config`` entries the
            engine reads (a dotted key names an entry of a nested object; list entries are checked
            element by element). The registry refuses a card breaking them before anything is built
            (:func:`~ganpaint.engines.registry.check_config_limits`), so an absurd card cannot make an
            engine allocate gigabytes.
    """

    task: ClassVar[str] = ""
    architectures: ClassVar[tuple[str, ...]] = ()
    supports_half: ClassVar[bool] = False
    config_limits: ClassVar[Mapping[str, tuple[float, float]]] = {}

    def __init__(self, card: "ModelCard") -> None:
        self.card = card
        self.device: "torch.device | None" = None
        self.half = False
        #: the :class:`~ganpaint.engines.registry.ModelRegistry` that created this engine (set by
        #: ``create_engine``; None for an engine built directly), where it finds companion models
        self.registry: "ModelRegistry | None" = None
        #: name of the model that painted the latest request, set by engines that may hand requests on to a
        #: companion model (a SPADE engine's photo edits go to its SESAME editor); None means this card's own
        #: network. The worker reports it as ``Result.info["generator"]`` and the status bar shows it.
        self.last_generator: "str | None" = None

    @abstractmethod
    def load(self, device: "torch.device", half: bool = False) -> None:
        """Build the network, load verified weights and move it to ``device``.

        Raises:
            ModelError: weights missing, corrupt or failing their sha256 check.
        """

    @abstractmethod
    def run(self, request: "Request", cancel: "CancelToken", progress: ProgressCallback) -> "np.ndarray | EngineOutput":
        """Serve one request and return RGB ``uint8 (H, W, 3)`` at the request's image size
        (segmentation engines return a label map of class ids, ``uint8 (H, W)``), or an
        :class:`EngineOutput` carrying that picture plus extras.

        Raises:
            Cancelled: ``cancel`` was set while running (the worker drops the request).
            EngineError: the request cannot be served.
        """
