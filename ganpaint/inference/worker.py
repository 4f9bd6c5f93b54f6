"""The background inference worker: one thread that owns the engines and the compute device.

The GUI thread submits frozen request snapshots; the worker runs them one at a time with
latest-wins semantics (see :class:`~ganpaint.inference.scheduler.LatestWinsScheduler`) and reports
through a callback called on the worker thread (the GUI re-posts events to its own thread).
Qt-free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import numpy as np
import torch

from ganpaint.engines.base import EngineOutput
from ganpaint.errors import EngineError, GanpaintError
from ganpaint.inference.cancel import Cancelled, CancelToken
from ganpaint.inference.device import apply_interactive_threads, device_label, select_device, use_half
from ganpaint.inference.events import (
    DeviceChanged,
    Dropped,
    Failed,
    Finished,
    InferenceEvent,
    Notice,
    Progress,
    Started,
)
from ganpaint.inference.requests import Request, Result, frozen_copy
from ganpaint.inference.scheduler import LatestWinsScheduler

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.engines.base import Engine
    from ganpaint.engines.registry import ModelRegistry

log = logging.getLogger(__name__)

EventCallback = Callable[[InferenceEvent], None]
T = TypeVar("T")

OOM_NOTICE = "GPU out of memory: continuing on CPU"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a (CUDA) out-of-memory error: ``torch.cuda.OutOfMemoryError`` or a
    ``RuntimeError`` whose message contains "out of memory"."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def failure_message(task: str, exc: BaseException) -> str:
    """One line for a :class:`Failed` event: a GanpaintError's own sentence, otherwise
    ``"<task> engine failed: <ExceptionType>: <first line of message>"``."""
    if isinstance(exc, GanpaintError):
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    lines = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return f"{task or 'inference'} engine failed: {detail}"


class InferenceWorker:
    """Runs requests on one background thread with latest-wins scheduling.

    Args:
        registry: where model cards and engine classes come from (``registry.create_engine``).
        device: device preference for :func:`~ganpaint.inference.device.select_device`.
        on_event: called with every :mod:`~ganpaint.inference.events` event, on the worker thread;
            exceptions it raises are logged and ignored.
        debounce_s: seconds a ``debounce=True`` submit waits before it may start.
        clock: monotonic clock in seconds (tests may inject one; waits use real time).
        threads: torch's CPU intra-op threads, set process-wide (None: the policy of
            :func:`~ganpaint.inference.device.interactive_threads`, every core with a passive OpenMP wait,
            else one fewer; 0: leave torch's setting alone).

    Raises:
        EngineError: ``device`` names a device this machine lacks.

    Guarantees: at most one request runs at a time; each submitted request ends in exactly one
    ``Finished``, ``Failed`` or ``Dropped`` event (``Started`` precedes the first two); a result is
    delivered only if nothing was submitted after its request.
    """

    def __init__(
        self,
        registry: "ModelRegistry",
        device: str = "auto",
        on_event: Optional[EventCallback] = None,
        debounce_s: float = 0.15,
        *,
        clock: Callable[[], float] = time.monotonic,
        threads: Optional[int] = None,
    ) -> None:
        self._registry = registry
        self._on_event = on_event
        self._clock = clock
        if threads != 0:  # the CPU thread policy of ganpaint.inference.device, so a busy machine costs little
            apply_interactive_threads(threads)
        self._device = select_device(device)
        self._device_label = device_label(self._device)
        self._cond = threading.Condition()
        self._sched = LatestWinsScheduler(debounce_s)
        self._commands: deque[tuple[str, object]] = deque()
        self._outbox: list[InferenceEvent] = []
        self._stopping = False
        self._in_flight_cancelled = False
        self._thread: Optional[threading.Thread] = None
        self._engines: dict[str, "Engine"] = {}  # touched only on the worker thread

    # ------------------------------------------------------------------ public API (any thread)

    def start(self) -> None:
        """Start the worker thread (daemon). A second call while running does nothing.

        Raises:
            RuntimeError: the worker was stopped (workers cannot be restarted).
        """
        with self._cond:
            if self._stopping:
                raise RuntimeError("an InferenceWorker cannot be restarted after stop()")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._main, name="ganpaint-inference", daemon=True)
            self._thread.start()

    def stop(self, timeout: Optional[float] = 5.0) -> bool:
        """Cancel the running request, drop the pending one and join the thread.

        Args:
            timeout: seconds to wait for the thread (``None``: forever). An engine that ignores its
                cancel token can keep the thread alive past this.

        Returns:
            ``True`` if the thread has ended (or never started).
        """
        with self._cond:
            self._stopping = True
            dropped = self._sched.cancel()
            if dropped is not None:
                self._outbox.append(Dropped(dropped.revision, "stopped"))
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        if thread is not threading.current_thread():
            thread.join(timeout)
        return not thread.is_alive()

    def submit(self, request: Request, *, debounce: bool = False) -> None:
        """Queue ``request`` as the pending one (latest wins).

        A pending request it replaces is dropped without running (``Dropped(rev, "superseded")``,
        emitted from the worker thread once the running request, if any, has ended); the running
        request's cancel token is set and its result will not be delivered.

        Args:
            request: a frozen request snapshot.
            debounce: wait ``debounce_s`` after this call before starting (use while a stroke is in
                progress); a newer submit restarts the wait.

        Ignored (logged) after :meth:`stop`.
        """
        with self._cond:
            if self._stopping:
                log.debug("submit after stop ignored (revision %s)", request.revision)
                return
            replaced = self._sched.submit(request, debounce, self._clock())
            if replaced is not None:
                self._outbox.append(Dropped(replaced.revision, "superseded"))
            self._cond.notify_all()

    def cancel(self) -> None:
        """Cancel the running request (its result is dropped) and drop the pending one."""
        with self._cond:
            if self._sched.in_flight is not None:
                self._in_flight_cancelled = True
            dropped = self._sched.cancel()
            if dropped is not None:
                self._outbox.append(Dropped(dropped.revision, "cancelled"))
            self._cond.notify_all()

    def set_device(self, preference: str) -> None:
        """Switch the compute device before the next request (engines are reloaded on it).

        Raises:
            EngineError: the preference names a device this machine lacks (checked immediately).
        """
        device = select_device(preference)
        self._command("device", device)

    def preload(self, model_name: str) -> None:
        """Ask the worker to create and load the engine of ``model_name`` ahead of its first request.

        Failures are reported as ``Notice(..., level="error")``, not raised.
        """
        self._command("preload", model_name)

    @property
    def busy(self) -> bool:
        """Whether a request is running or pending."""
        with self._cond:
            return self._sched.in_flight is not None or self._sched.pending is not None

    @property
    def device_label(self) -> str:
        """Status-bar label of the current device, e.g. ``"CPU (2 threads)"``."""
        return self._device_label

    @property
    def device(self) -> torch.device:
        """The current compute device."""
        return self._device

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "InferenceWorker":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------- worker thread

    def _command(self, kind: str, arg: object) -> None:
        with self._cond:
            if self._stopping:
                return
            self._commands.append((kind, arg))
            self._cond.notify_all()

    def _emit(self, event: InferenceEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("inference event callback raised on %r", event)

    def _main(self) -> None:
        try:
            self._emit(DeviceChanged(self._device_label))
            while True:
                command = request = token = None
                with self._cond:
                    while True:
                        outbox, self._outbox = self._outbox, []
                        if outbox or self._stopping:
                            break
                        if self._commands:
                            command = self._commands.popleft()
                            break
                        request = self._sched.next_ready(self._clock())
                        if request is not None:
                            token = self._sched.in_flight_token
                            self._in_flight_cancelled = False
                            break
                        self._cond.wait(self._sched.time_until_ready(self._clock()))
                    stopping = self._stopping
                for event in outbox:
                    self._emit(event)
                if stopping:
                    return
                if command is not None:
                    self._do_command(*command)
                elif request is not None:
                    assert token is not None
                    self._serve(request, token)
        finally:
            self._engines.clear()

    def _do_command(self, kind: str, arg: object) -> None:
        try:
            if kind == "device":
                assert isinstance(arg, torch.device)
                if arg != self._device:
                    self._move_engines(arg)
            elif kind == "preload":
                assert isinstance(arg, str)
                self._with_oom_fallback(lambda: self._engine_for(arg))
        except Exception as exc:
            if kind == "preload":
                message = failure_message("", exc) if isinstance(exc, GanpaintError) else (
                    f"could not load model '{arg}': {type(exc).__name__}: {exc}"
                )
            else:
                message = f"could not switch device: {exc}"
            log.error("worker command %s(%r) failed", kind, arg, exc_info=True)
            self._emit(Notice(message, "error"))

    def _serve(self, request: Request, token: CancelToken) -> None:
        rev = request.revision
        outcome: InferenceEvent
        self._emit(Started(rev, request.task, request.model))

        def progress(fraction: float, partial: Optional[np.ndarray] = None) -> None:
            if token.cancelled:
                return
            preview = frozen_copy(partial) if partial is not None else None
            self._emit(Progress(rev, min(1.0, max(0.0, float(fraction))), preview))

        def attempt() -> tuple[np.ndarray, dict, float, Optional[float]]:
            t_load = time.perf_counter()
            loaded = request.model not in self._engines
            engine = self._engine_for(request.model)
            load_ms = (time.perf_counter() - t_load) * 1000.0 if loaded else None
            if engine.task and engine.task != request.task:
                raise EngineError(f"model '{request.model}' serves task '{engine.task}', not '{request.task}'")
            t0 = time.perf_counter()
            output = engine.run(request, token, progress)
            elapsed_ms = (time.perf_counter() - t0) * 1000.0
            extras: dict = {}
            if isinstance(output, EngineOutput):
                output, extras = output.image, {k: frozen_copy(v) if isinstance(v, np.ndarray) else v
                                                for k, v in output.extras.items()}
            return self._check_output(output, request), extras, elapsed_ms, load_ms

        try:
            image, extras, elapsed_ms, load_ms = self._with_oom_fallback(attempt)
            info: dict[str, object] = {"device": self._device_label, "model": request.model}
            if load_ms is not None:
                info["load_ms"] = load_ms
            outcome = Finished(Result(rev, request.task, image, elapsed_ms, info, extras))
        except Cancelled:
            outcome = Dropped(rev, "cancelled")
        except Exception as exc:
            if not isinstance(exc, GanpaintError):
                log.error("engine failed on revision %s", rev, exc_info=True)
            outcome = Failed(rev, failure_message(request.task, exc))
        finally:
            with self._cond:
                deliver = self._sched.finish(request)
                if self._stopping:
                    reason = "stopped"
                elif self._in_flight_cancelled:
                    reason = "cancelled"
                else:
                    reason = "stale"
                self._in_flight_cancelled = False
                earlier, self._outbox = self._outbox, []
        for event in earlier:  # e.g. requests superseded while this one ran, in submit order
            self._emit(event)
        if not deliver and not isinstance(outcome, Dropped):
            outcome = Dropped(rev, reason)
        self._emit(outcome)

    def _with_oom_fallback(self, fn: Callable[[], T]) -> T:
        """Run ``fn``; on an out-of-memory error move to the CPU and run it once more."""
        try:
            return fn()
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            log.warning("out of memory on %s; falling back to the CPU", self._device, exc_info=True)
        self._fall_back_to_cpu()
        return fn()

    def _fall_back_to_cpu(self) -> None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            log.debug("empty_cache failed", exc_info=True)
        self._move_engines(torch.device("cpu"), announce=False)
        self._emit(Notice(OOM_NOTICE, "warning"))
        self._emit(DeviceChanged(self._device_label))

    def _move_engines(self, device: torch.device, announce: bool = True) -> None:
        """Make ``device`` current and reload every cached engine on it (engines that fail to
        reload are dropped and recreated lazily by the next request)."""
        self._device = device
        self._device_label = device_label(device)
        for name, engine in list(self._engines.items()):
            try:
                engine.load(device, use_half(device, engine.supports_half))
            except Exception:
                log.warning("could not move model %s to %s; dropping it", name, device, exc_info=True)
                del self._engines[name]
        if announce:
            self._emit(DeviceChanged(self._device_label))

    def _engine_for(self, model: str) -> "Engine":
        engine = self._engines.get(model)
        if engine is None:
            engine = self._registry.create_engine(model)
            engine.load(self._device, use_half(self._device, engine.supports_half))
            self._engines[model] = engine
        return engine

    @staticmethod
    def _check_output(image: object, request: Request) -> np.ndarray:
        rgb_or_label_map = isinstance(image, np.ndarray) and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3))
        if not rgb_or_label_map or image.dtype != np.uint8:
            shape = getattr(image, "shape", None)
            raise EngineError(
                f"{request.task} engine returned {type(image).__name__}"
                f"{f' {tuple(shape)}' if shape is not None else ''} instead of an RGB or label-map uint8 image"
            )
        source = getattr(request, "image", None)
        if isinstance(source, np.ndarray) and source.shape[:2] != image.shape[:2]:
            raise EngineError(
                f"{request.task} engine returned a {image.shape[1]}x{image.shape[0]} image for a "
                f"{source.shape[1]}x{source.shape[0]} request"
            )
        return frozen_copy(image)
