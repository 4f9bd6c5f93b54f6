"""The background inference worker: a dispatcher thread plus an engine thread that owns the engines.

The GUI thread submits frozen request snapshots; the worker runs them one at a time with
latest-wins semantics (see :class:`~ganpaint.inference.scheduler.LatestWinsScheduler`) and reports
through a callback (the GUI re-posts events to its own thread). Qt-free.

Threads (why two): Python cannot kill a thread, so an engine stuck in a loop would otherwise take the
worker with it. The *dispatcher* thread (``ganpaint-inference``) schedules requests, never runs engine
code and emits every event; the *engine thread* (``ganpaint-engine-N``) loads the engines and runs one
job at a time (a request, a preload, a device move), posting its progress to the dispatcher. The
dispatcher waits for each job at most ``watchdog_s`` seconds (default :data:`DEFAULT_WATCHDOG_S`). A job
still running then is *abandoned*: its cancel token is set, its events and result are never delivered,
the request ends in ``Failed`` (or ``Dropped`` if it was already superseded, plus a warning ``Notice``),
and a fresh engine thread, with freshly loaded engines, serves the next request. The abandoned daemon
thread keeps whatever memory it holds until it ends by itself; after :data:`MAX_STUCK_THREADS` of them
are still running, requests fail at once with a sentence asking to restart the studio. :meth:`stop`
waits for a running job only ``stop_grace_s`` seconds, so closing never waits on a stuck engine.
"""

from __future__ import annotations

import logging
import queue
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

DEFAULT_WATCHDOG_S = 60.0
"""Seconds a request (or a model load) may run before the worker abandons it (see the module docstring)."""
STOP_GRACE_S = 0.5
"""Seconds :meth:`InferenceWorker.stop` lets a cancelled engine run finish before abandoning it."""
MAX_STUCK_THREADS = 3
"""Abandoned engine threads still running after which new requests fail at once."""

Post = Callable[[InferenceEvent], None]


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


class _Job:
    """One unit of engine work (``fn(engine_thread, post)``) and the events it posts for the dispatcher.

    ``post`` drops events once the job is abandoned; ``done``, ``value`` and ``error`` are set under the
    worker's condition when ``fn`` returns or raises.
    """

    def __init__(self, fn: Callable[["_EngineThread", Post], object], cond: threading.Condition) -> None:
        self.fn = fn
        self._cond = cond
        self.events: list[InferenceEvent] = []
        self.done = False
        self.abandoned = False
        self.value: object = None
        self.error: Optional[BaseException] = None

    def post(self, event: InferenceEvent) -> None:
        with self._cond:
            if not self.abandoned:
                self.events.append(event)
                self._cond.notify_all()

    def run(self, runner: "_EngineThread") -> None:
        value: object = None
        error: Optional[BaseException] = None
        try:
            value = self.fn(runner, self.post)
        except BaseException as exc:  # noqa: BLE001 - handed to the dispatcher, which reports it
            error = exc
        with self._cond:
            self.value, self.error, self.done = value, error, True
            self._cond.notify_all()


class _EngineThread:
    """A daemon thread that runs :class:`_Job` s one at a time and owns the engines loaded on it."""

    def __init__(self, name: str, threads: Optional[int] = None) -> None:
        self.engines: dict[str, "Engine"] = {}  # touched only by this thread
        self._jobs: "queue.SimpleQueue[Optional[_Job]]" = queue.SimpleQueue()
        self._threads = threads  # torch CPU threads for this thread (OpenMP's count is per thread), None: default
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def run(self, job: _Job) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        """End the thread once its current job (if any) returns."""
        self._jobs.put(None)

    def _loop(self) -> None:
        if self._threads is not None:
            torch.set_num_threads(self._threads)
        try:
            while (job := self._jobs.get()) is not None:
                job.run(self)
        finally:
            self.engines.clear()


class InferenceWorker:
    """Runs requests on background threads with latest-wins scheduling and a watchdog.

    Args:
        registry: where model cards and engine classes come from (``registry.create_engine``).
        device: device preference for :func:`~ganpaint.inference.device.select_device`.
        on_event: called with every :mod:`~ganpaint.inference.events` event, on the dispatcher thread
            (``ganpaint-inference``); exceptions it raises are logged and ignored.
        debounce_s: seconds a ``debounce=True`` submit waits before it may start.
        clock: monotonic clock in seconds for the debounce (tests may inject one; waits use real time).
        threads: torch's CPU intra-op threads, set process-wide and on every engine thread (None: the
            policy of :func:`~ganpaint.inference.device.interactive_threads`, every core with a passive
            OpenMP wait, else one fewer; 0: leave torch's setting alone); :meth:`set_threads` changes it.
        watchdog_s: seconds (> 0) a request, preload or device move may run before it is abandoned
            and the engines are restarted on a fresh thread (see the module docstring).
        stop_grace_s: seconds (>= 0) :meth:`stop` lets a running engine honour its cancel token.

    Raises:
        EngineError: ``device`` names a device this machine lacks.
        ValueError: ``watchdog_s <= 0`` or ``stop_grace_s < 0``.

    Guarantees: at most one request runs at a time (an abandoned one no longer counts); each submitted
    request ends in exactly one ``Finished``, ``Failed`` or ``Dropped`` event (``Started`` precedes the
    first two); a result is delivered only if nothing was submitted after its request.
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
        watchdog_s: float = DEFAULT_WATCHDOG_S,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        if not watchdog_s > 0:
            raise ValueError(f"watchdog_s must be > 0, got {watchdog_s}")
        if not stop_grace_s >= 0:
            raise ValueError(f"stop_grace_s must be >= 0, got {stop_grace_s}")
        self._registry = registry
        self._on_event = on_event
        self._clock = clock
        self._watchdog_s = float(watchdog_s)
        self._stop_grace_s = float(stop_grace_s)
        # the CPU thread policy of ganpaint.inference.device, so a busy machine costs little
        initial_threads = None if threads == 0 else apply_interactive_threads(threads)
        self._device = select_device(device)
        self._device_label = device_label(self._device)
        self._cond = threading.Condition()
        self._sched = LatestWinsScheduler(debounce_s)
        self._commands: deque[tuple[str, object]] = deque()
        self._outbox: list[InferenceEvent] = []
        self._stopping = False
        self._in_flight_cancelled = False
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[_EngineThread] = None  # touched only on the dispatcher thread
        self._runners_started = 0
        self._threads: Optional[int] = initial_threads  # set_threads(); applied on every engine thread
        self._abandoned: list[threading.Thread] = []

    # ------------------------------------------------------------------ public API (any thread)

    def start(self) -> None:
        """Start the dispatcher thread (daemon). A second call while running does nothing.

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
        """Cancel the running request, drop the pending one and join the dispatcher thread.

        A running engine gets ``stop_grace_s`` seconds to honour its cancel token; one that does not is
        abandoned (its daemon thread is left behind), so this returns promptly even for a stuck engine.

        Args:
            timeout: seconds to wait for the dispatcher thread (``None``: forever).

        Returns:
            ``True`` if the dispatcher thread has ended (or never started).
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
        emitted from the dispatcher thread once the running request, if any, has ended); the running
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

    def set_threads(self, threads: int) -> None:
        """Use ``threads`` CPU threads for inference (``torch.set_num_threads``, run on the engine thread
        between requests, and on every engine thread started later); a ``DeviceChanged`` event then
        carries the new status-bar label.

        Raises:
            ValueError: ``threads`` < 1.
        """
        if int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self._command("threads", int(threads))

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
        """Whether the dispatcher thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def watchdog_s(self) -> float:
        """Seconds a job may run before it is abandoned."""
        return self._watchdog_s

    def __enter__(self) -> "InferenceWorker":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------- dispatcher thread

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
            runner, self._runner = self._runner, None
            if runner is not None:
                runner.close()
                runner.thread.join(self._stop_grace_s)  # idle (its last job ended): exits at once

    def _stuck_message(self) -> Optional[str]:
        """A sentence when too many abandoned engine threads are still running, else None."""
        self._abandoned = [thread for thread in self._abandoned if thread.is_alive()]
        if len(self._abandoned) < MAX_STUCK_THREADS:
            return None
        return (f"{len(self._abandoned)} engine runs are stuck and still using the processor; "
                f"save your work and restart GANPaint Studio")

    def _run_job(self, fn: Callable[[_EngineThread, Post], object],
                 token: Optional[CancelToken] = None) -> Optional[_Job]:
        """Run ``fn`` on the engine thread and relay its events until it ends.

        Returns:
            The finished job, or ``None`` when it was abandoned: it ran past ``watchdog_s``, or past
            ``stop_grace_s`` after :meth:`stop` (``token`` is then cancelled and a fresh engine thread
            will serve the next job). Progress events are not relayed once ``token`` is cancelled.
        """
        if self._runner is None:
            self._runners_started += 1
            self._runner = _EngineThread(f"ganpaint-engine-{self._runners_started}", self._threads)
        runner = self._runner
        job = _Job(fn, self._cond)
        runner.run(job)
        deadline = time.monotonic() + self._watchdog_s
        stop_deadline: Optional[float] = None
        while True:
            expired = False
            with self._cond:
                while not (job.done or job.events):
                    now = time.monotonic()
                    if self._stopping and stop_deadline is None:
                        stop_deadline = now + self._stop_grace_s
                    limit = deadline if stop_deadline is None else min(deadline, stop_deadline)
                    if now >= limit:
                        expired = True
                        job.abandoned = True
                        break
                    self._cond.wait(limit - now)
                events, job.events = job.events, []
                done = job.done
            for event in events:
                if isinstance(event, Progress) and token is not None and token.cancelled:
                    continue
                self._emit(event)
            if done:
                return job
            if expired:
                if token is not None:
                    token.cancel()
                log.error("engine job abandoned after %.1f s on %s", time.monotonic() - deadline + self._watchdog_s,
                          runner.thread.name)
                runner.close()
                self._abandoned.append(runner.thread)
                self._runner = None
                return None

    def _timeout_message(self, what: str) -> str:
        return (f"the {what} did not finish within {self._watchdog_s:g} s and was abandoned; "
                f"the engines were restarted")

    def _do_command(self, kind: str, arg: object) -> None:
        if kind == "device":
            assert isinstance(arg, torch.device)
            if arg == self._device:
                return

            def work(runner: _EngineThread, post: Post) -> None:
                self._move_engines(runner, arg, post)
        elif kind == "threads":
            self._threads = int(arg)

            def work(runner: _EngineThread, post: Post) -> None:
                torch.set_num_threads(int(arg))
                self._device_label = device_label(self._device)
                post(DeviceChanged(self._device_label))
        else:
            assert kind == "preload" and isinstance(arg, str)

            def work(runner: _EngineThread, post: Post) -> None:
                self._with_oom_fallback(runner, post, lambda: self._engine_for(runner, arg))

        stuck = self._stuck_message()
        if stuck is not None:
            if kind == "device":  # the next engine thread will load on it
                self._device, self._device_label = arg, device_label(arg)
                self._emit(DeviceChanged(self._device_label))
            self._emit(Notice(stuck, "error"))
            return
        job = self._run_job(work)
        if job is None:
            if not self._stopping:
                what = {"preload": f"loading of model '{arg}'", "threads": "change of CPU threads"}.get(kind, "device switch")
                self._emit(Notice(self._timeout_message(what), "error"))
            return
        exc = job.error
        if exc is None:
            return
        if kind == "preload":
            message = failure_message("", exc) if isinstance(exc, GanpaintError) else (
                f"could not load model '{arg}': {type(exc).__name__}: {exc}"
            )
        else:
            message = f"could not switch device: {exc}"
        log.error("worker command %s(%r) failed", kind, arg, exc_info=exc)
        self._emit(Notice(message, "error"))

    def _serve(self, request: Request, token: CancelToken) -> None:
        rev = request.revision
        outcome: InferenceEvent
        timed_out: Optional[str] = None
        loading = self._runner is None or request.model not in self._runner.engines
        self._emit(Started(rev, request.task, request.model, loading=loading))

        def attempt(runner: _EngineThread, post: Post) -> tuple[np.ndarray, dict, float, Optional[float]]:
            def progress(fraction: float, partial: Optional[np.ndarray] = None) -> None:
                if token.cancelled:
                    return
                preview = frozen_copy(partial) if partial is not None else None
                post(Progress(rev, min(1.0, max(0.0, float(fraction))), preview))

            def once() -> tuple[np.ndarray, dict, float, Optional[float], Optional[str]]:
                t_load = time.perf_counter()
                loaded = request.model not in runner.engines
                engine = self._engine_for(runner, request.model)
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
                return self._check_output(output, request), extras, elapsed_ms, load_ms, engine.last_generator

            return self._with_oom_fallback(runner, post, once)

        stuck = self._stuck_message()
        job = self._run_job(attempt, token) if stuck is None else None
        if stuck is not None:
            outcome = Failed(rev, stuck)
        elif job is None:
            if self._stopping:
                outcome = Dropped(rev, "stopped")
            else:
                timed_out = self._timeout_message(f"{request.task or 'inference'} engine run")
                outcome = Failed(rev, timed_out)
        elif job.error is None:
            image, extras, elapsed_ms, load_ms, generator = job.value  # type: ignore[misc]
            info: dict[str, object] = {"device": self._device_label, "model": request.model,
                                       "generator": generator or request.model}
            if load_ms is not None:
                info["load_ms"] = load_ms
            outcome = Finished(Result(rev, request.task, image, elapsed_ms, info, extras))
        elif isinstance(job.error, Cancelled):
            outcome = Dropped(rev, "cancelled")
        else:
            exc = job.error
            if not isinstance(exc, GanpaintError):
                log.error("engine failed on revision %s", rev, exc_info=exc)
            outcome = Failed(rev, failure_message(request.task, exc))
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
            if timed_out is not None:  # nobody waits for this result, but the user should know
                self._emit(Notice(timed_out, "warning"))
            outcome = Dropped(rev, reason)
        self._emit(outcome)

    # ---------------------------------------------------------------------------- engine thread

    def _with_oom_fallback(self, runner: _EngineThread, post: Post, fn: Callable[[], T]) -> T:
        """Run ``fn``; on an out-of-memory error move to the CPU and run it once more."""
        try:
            return fn()
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            log.warning("out of memory on %s; falling back to the CPU", self._device, exc_info=True)
        self._fall_back_to_cpu(runner, post)
        return fn()

    def _fall_back_to_cpu(self, runner: _EngineThread, post: Post) -> None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            log.debug("empty_cache failed", exc_info=True)
        self._move_engines(runner, torch.device("cpu"), post, announce=False)
        post(Notice(OOM_NOTICE, "warning"))
        post(DeviceChanged(self._device_label))

    def _move_engines(self, runner: _EngineThread, device: torch.device, post: Post, announce: bool = True) -> None:
        """Make ``device`` current and reload every engine of ``runner`` on it (engines that fail to
        reload are dropped and recreated lazily by the next request)."""
        self._device = device
        self._device_label = device_label(device)
        for name, engine in list(runner.engines.items()):
            try:
                engine.load(device, use_half(device, engine.supports_half))
            except Exception:
                log.warning("could not move model %s to %s; dropping it", name, device, exc_info=True)
                del runner.engines[name]
        if announce:
            post(DeviceChanged(self._device_label))

    def _engine_for(self, runner: _EngineThread, model: str) -> "Engine":
        engine = runner.engines.get(model)
        if engine is None:
            engine = self._registry.create_engine(model)
            engine.load(self._device, use_half(self._device, engine.supports_half))
            runner.engines[model] = engine
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
