"""Cooperative cancellation of long engine work."""

import threading


class Cancelled(Exception):
    """Raised inside an engine when its request was cancelled; the worker drops the request quietly."""


class CancelToken:
    """A flag the worker sets when a newer request supersedes the running one.

    Engines call :meth:`raise_if_cancelled` between steps (network stages, projection iterations).
    Thread-safe: set from the scheduler's thread, read from the worker thread.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled()
