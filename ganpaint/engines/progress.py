"""Progress from inside a network run: forward hooks on its stages report real fractions and check the
cancel token, so a long single forward pass (a whole SPADE canvas, the official 96 M-parameter model)
moves the status bar and stops when the user cancels.

Each stage's share of the run is estimated as its parameter count times the relative number of pixels
it works on (a FLOP estimate good enough for a progress bar; exact timing would need a profile).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import torch.nn as nn

    from ganpaint.engines.base import ProgressCallback
    from ganpaint.inference.cancel import CancelToken


def stage_weights(stages: Sequence[tuple["nn.Module", float]]) -> list[float]:
    """Relative cost of each ``(module, pixel scale)``: parameters (at least 1) x the scale of the
    feature map it works on (1 for the largest)."""
    return [max(1, sum(p.numel() for p in module.parameters())) * float(scale) for module, scale in stages]


@contextmanager
def stage_progress(stages: Sequence[tuple["nn.Module", float]], progress: "ProgressCallback", start: float = 0.0,
                   end: float = 1.0, cancel: "Optional[CancelToken]" = None) -> Iterator[None]:
    """While the ``with`` block runs the network, report ``progress(fraction, None)`` after each stage.

    Args:
        stages: ``(module, pixel scale)`` in the order the forward pass runs them (see :func:`stage_weights`).
        progress: the engine's progress callback.
        start, end: the fractions of the whole request this run spans (e.g. one crop of several).
        cancel: checked after each stage; a cancelled token raises ``Cancelled`` out of the forward pass.

    The hooks are removed when the block exits, also on an exception.
    """
    weights = stage_weights(stages)
    total = sum(weights) or 1.0
    done = [0.0]
    handles = []

    def hook_for(weight: float):
        def hook(module, inputs, output) -> None:
            done[0] += weight
            progress(start + (end - start) * min(done[0] / total, 1.0), None)
            if cancel is not None:
                cancel.raise_if_cancelled()
        return hook

    try:
        for (module, _), weight in zip(stages, weights):
            handles.append(module.register_forward_hook(hook_for(weight)))
        yield
    finally:
        for handle in handles:
            handle.remove()
