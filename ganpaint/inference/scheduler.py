"""Latest-wins scheduling of inference requests: pure state, no threads, explicit clock.

One request may be *in flight* (running) and one *pending* (waiting). A new submit replaces the
pending request (which is then dropped without running) and sets the in-flight request's
:class:`~ganpaint.inference.cancel.CancelToken`. A result is delivered only if no request was
submitted after its own, so the canvas never flashes an outdated result.

Times are seconds on any monotonic clock; callers pass ``now`` (the worker passes
``time.monotonic()``, tests pass a fake clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ganpaint.inference.cancel import CancelToken
from ganpaint.inference.requests import Request


@dataclass
class _Slot:
    request: Request
    ready_at: float
    token: CancelToken


class LatestWinsScheduler:
    """The one-in-flight, one-pending slot logic of the inference worker.

    Args:
        debounce_s: seconds a debounced request waits after its submit before it may start (>= 0).

    Not thread-safe by itself: the worker guards it with its condition's lock.
    """

    def __init__(self, debounce_s: float = 0.15) -> None:
        if debounce_s < 0:
            raise ValueError(f"debounce_s must be >= 0, got {debounce_s}")
        self.debounce_s = float(debounce_s)
        self._pending: Optional[_Slot] = None
        self._in_flight: Optional[_Slot] = None
        self._in_flight_stale = False

    @property
    def pending(self) -> Optional[Request]:
        """The request waiting to start, or ``None``."""
        return self._pending.request if self._pending else None

    @property
    def in_flight(self) -> Optional[Request]:
        """The request taken by :meth:`next_ready` and not yet :meth:`finish`-ed, or ``None``."""
        return self._in_flight.request if self._in_flight else None

    @property
    def in_flight_token(self) -> Optional[CancelToken]:
        """The cancel token of the in-flight request, or ``None``."""
        return self._in_flight.token if self._in_flight else None

    def submit(self, request: Request, debounce: bool, now: float) -> Optional[Request]:
        """Make ``request`` the pending one.

        Args:
            request: the new request.
            debounce: if true it may start only at ``now + debounce_s`` (a stroke is in progress);
                if false it may start as soon as nothing is in flight.
            now: current time in seconds.

        Returns:
            The previously pending request, which is dropped without running, or ``None``.
        """
        replaced = self._pending.request if self._pending else None
        ready_at = now + self.debounce_s if debounce else now
        self._pending = _Slot(request, ready_at, CancelToken())
        if self._in_flight is not None:
            self._in_flight_stale = True
            self._in_flight.token.cancel()
        return replaced

    def next_ready(self, now: float) -> Optional[Request]:
        """Take the pending request into flight if nothing is in flight and its wait is over.

        Returns:
            The request now in flight (its token is :attr:`in_flight_token`), or ``None``.
        """
        if self._in_flight is not None or self._pending is None or now < self._pending.ready_at:
            return None
        self._in_flight, self._pending = self._pending, None
        self._in_flight_stale = False
        return self._in_flight.request

    def time_until_ready(self, now: float) -> Optional[float]:
        """Seconds (>= 0) until :meth:`next_ready` would return the pending request.

        Returns ``None`` when time alone will not make anything ready (no pending request, or one in
        flight: wait for :meth:`finish` or :meth:`submit` instead).
        """
        if self._in_flight is not None or self._pending is None:
            return None
        return max(0.0, self._pending.ready_at - now)

    def finish(self, request: Request) -> bool:
        """End the in-flight ``request``.

        Returns:
            ``True`` if its result should be delivered; ``False`` if it is stale (a request was
            submitted after it, or :meth:`cancel` was called while it ran).

        Raises:
            ValueError: ``request`` is not the in-flight request.
        """
        if self._in_flight is None or self._in_flight.request is not request:
            raise ValueError("finish() called for a request that is not in flight")
        deliver = not self._in_flight_stale
        self._in_flight = None
        self._in_flight_stale = False
        return deliver

    def cancel(self) -> Optional[Request]:
        """Cancel the in-flight request (its token is set, its result will not be delivered) and
        clear the pending one, which is returned (or ``None``)."""
        dropped = self._pending.request if self._pending else None
        self._pending = None
        if self._in_flight is not None:
            self._in_flight_stale = True
            self._in_flight.token.cancel()
        return dropped
