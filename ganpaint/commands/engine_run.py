"""Running one request through an engine outside the studio (the ``inpaint``, ``synthesize`` and
``segment`` commands): no worker thread, no cancellation, wall-clock timing."""

from __future__ import annotations

import time


def load_engine(registry, card, device):
    """``card``'s engine loaded on ``device`` (a ``torch.device``), in fp16 where the device and engine allow.

    Raises ModelError for missing or corrupt weights.
    """
    from ganpaint.inference.device import use_half

    engine = registry.create_engine(card.name)
    engine.load(device, use_half(device, engine.supports_half))
    return engine


def run_timed(engine, request):
    """``(output, seconds)``: the engine's output array for ``request`` and its wall-clock run time."""
    from ganpaint.inference.cancel import CancelToken

    start = time.perf_counter()
    output = engine.run(request, CancelToken(), lambda fraction, partial: None)
    return output, time.perf_counter() - start
