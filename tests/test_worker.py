"""ganpaint.inference: the pure latest-wins scheduler (fake clock) and the threaded worker (fake
engine that blocks on events the test releases; no sleeps as synchronisation)."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from typing import ClassVar

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganpaint.engines import registry as reg
from ganpaint.engines.base import Engine
from ganpaint.errors import EngineError, ModelError
from ganpaint.inference import worker as worker_module
from ganpaint.inference.cancel import CancelToken
from ganpaint.inference.events import DeviceChanged, Dropped, Failed, Finished, Notice, Progress, Started
from ganpaint.inference.requests import InpaintRequest
from ganpaint.inference.scheduler import LatestWinsScheduler
from ganpaint.inference.worker import OOM_NOTICE, InferenceWorker

TIMEOUT = 10.0  # generous upper bound for every wait; tests never wait this long when green


def req(rev: int, model: str = "fake") -> InpaintRequest:
    return InpaintRequest.snapshot(rev, np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.uint8), model)


# ------------------------------------------------------------------------------ pure scheduler


def test_scheduler_non_debounced_is_ready_at_once_and_one_in_flight():
    s = LatestWinsScheduler(debounce_s=0.15)
    r1, r2, r3 = req(1), req(2), req(3)
    assert s.submit(r1, debounce=False, now=10.0) is None
    assert s.time_until_ready(10.0) == 0.0
    assert s.next_ready(10.0) is r1 and s.in_flight is r1 and s.pending is None
    token = s.in_flight_token
    assert s.submit(r2, debounce=False, now=10.1) is None
    assert token.cancelled  # superseded while running
    assert s.next_ready(10.2) is None and s.time_until_ready(10.2) is None  # r1 still in flight
    assert s.submit(r3, debounce=False, now=10.3) is r2  # r2 replaced, never ran
    assert s.finish(r1) is False  # stale: newer submits arrived
    assert s.next_ready(10.4) is r3 and not s.in_flight_token.cancelled
    assert s.finish(r3) is True
    assert s.in_flight is None and s.pending is None and s.next_ready(99.0) is None


def test_scheduler_debounce_waits_and_newer_submit_restarts_the_timer():
    s = LatestWinsScheduler(debounce_s=0.15)
    r1, r2 = req(1), req(2)
    s.submit(r1, debounce=True, now=100.0)
    assert s.next_ready(100.0) is None
    assert s.time_until_ready(100.1) == pytest.approx(0.05)
    s.submit(r2, debounce=True, now=100.1)  # restarts: ready at 100.25, not 100.15
    assert s.next_ready(100.2) is None
    assert s.time_until_ready(100.2) == pytest.approx(0.05)
    assert s.next_ready(100.25) is r2
    # a non-debounced submit is ready as soon as the slot frees
    s.finish(r2)
    s.submit(r1, debounce=True, now=200.0)
    s.submit(r2, debounce=False, now=200.01)
    assert s.next_ready(200.01) is r2


def test_scheduler_cancel_and_finish_errors():
    s = LatestWinsScheduler(0.0)
    r1, r2 = req(1), req(2)
    s.submit(r1, False, 0.0)
    s.next_ready(0.0)
    s.submit(r2, False, 0.0)
    assert s.cancel() is r2 and s.pending is None and s.in_flight_token.cancelled
    with pytest.raises(ValueError):
        s.finish(r2)
    assert s.finish(r1) is False
    with pytest.raises(ValueError):
        LatestWinsScheduler(-1)


# ------------------------------------------------------------------------------- fake engine


class Control:
    """Shared state between a test and its FakeEngine instances."""

    def __init__(self) -> None:
        self.entered: queue.Queue[int] = queue.Queue()  # revisions whose run() began
        self.gates: defaultdict[int, threading.Event] = defaultdict(threading.Event)
        self.blocking: set[int] = set()  # revisions whose run() waits for release()
        self.honour_cancel: set[int] = set()  # revisions that raise Cancelled when cancelled
        self.late_progress: set[int] = set()  # revisions reporting progress after their gate opens
        self.errors: dict[int, list[BaseException]] = defaultdict(list)  # raised in order, once each
        self.progress: list[tuple[float, np.ndarray | None]] = []
        self.calls: list[tuple[int, str]] = []  # (revision, device type)
        self.tokens: dict[int, CancelToken] = {}
        self.threads: dict[int, threading.Thread] = {}  # the thread each revision ran on
        self.loads: list[tuple[str, bool]] = []
        self.loaded = threading.Event()
        self.lock = threading.Lock()

    def release(self, rev: int) -> None:
        self.gates[rev].set()

    def wait_entered(self, rev: int) -> None:
        got = self.entered.get(timeout=TIMEOUT)
        assert got == rev, f"expected run({rev}) to start, got run({got})"


class FakeEngine(Engine):
    task = "inpaint"
    architectures = ("fake-test",)
    supports_half = True
    ctl: ClassVar[Control]

    def load(self, device, half=False):
        state = reg.load_state_dict(self.card)  # the real verified loading path
        self.fill = int(state["fill"].item())
        self.device, self.half = device, half
        with self.ctl.lock:
            self.ctl.loads.append((device.type, half))
        self.ctl.loaded.set()

    def run(self, request, cancel, progress):
        ctl, rev = self.ctl, request.revision
        with ctl.lock:
            ctl.calls.append((rev, self.device.type))
            ctl.tokens[rev] = cancel
            ctl.threads[rev] = threading.current_thread()
            errors = ctl.errors[rev]
            error = errors.pop(0) if errors else None
        ctl.entered.put(rev)
        if error is not None:
            raise error
        for fraction, partial in ctl.progress:
            progress(fraction, partial)
        if rev in ctl.blocking:
            gate = ctl.gates[rev]
            while not gate.wait(0.005):  # wait for the test, staying responsive to cancellation
                if rev in ctl.honour_cancel:
                    cancel.raise_if_cancelled()
            if rev in ctl.honour_cancel:
                cancel.raise_if_cancelled()
        if rev in ctl.late_progress:
            progress(0.9, None)
        h, w = request.image.shape[:2]
        return np.full((h, w, 3), (self.fill + rev) % 256, np.uint8)


@pytest.fixture
def ctl():
    FakeEngine.ctl = Control()
    reg.register_engine_class(FakeEngine)
    yield FakeEngine.ctl
    reg.unregister_engine_class(FakeEngine)


@pytest.fixture
def registry(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    save_file({"fill": torch.tensor([100], dtype=torch.int32)}, str(folder / "fake.safetensors"))
    reg.write_card(
        {"name": "fake", "task": "inpaint", "architecture": "fake-test", "resolution": 8,
         "weights": "fake.safetensors", "sha256": reg.sha256_file(folder / "fake.safetensors")},
        folder / "fake.json",
    )
    return reg.ModelRegistry([folder])


class Events:
    """Collects worker events; ``wait`` pops until one matches (failing after TIMEOUT)."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.seen: list = []
        self.threads: set[str] = set()

    def __call__(self, event) -> None:
        self.threads.add(threading.current_thread().name)
        self.q.put(event)

    def wait(self, kind, **fields):
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {kind.__name__}{fields} among {self.seen}"
            try:
                event = self.q.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if isinstance(event, kind) and all(getattr(event, k) == v for k, v in fields.items()):
                return event

    def drain(self) -> list:
        while True:
            try:
                self.seen.append(self.q.get_nowait())
            except queue.Empty:
                return self.seen

    def of(self, kind) -> list:
        return [e for e in self.drain() if isinstance(e, kind)]


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def make_worker(registry, ctl, events):
    workers = []

    def make(**kwargs):
        kwargs.setdefault("on_event", events)
        w = InferenceWorker(registry, device="cpu", **kwargs)
        w.start()
        workers.append(w)
        return w

    yield make
    for w in workers:
        for gate in ctl.gates.values():
            gate.set()
        assert w.stop(TIMEOUT)


# ------------------------------------------------------------------------------------ worker


def test_result_delivered_with_info_on_the_worker_thread(make_worker, events, ctl):
    w = make_worker()
    assert events.wait(DeviceChanged).label == w.device_label
    w.submit(req(1))
    started = events.wait(Started, revision=1)
    assert (started.task, started.model, started.loading) == ("inpaint", "fake", True)  # the first run loads it
    result = events.wait(Finished, revision=1).result
    assert result.image.shape == (4, 5, 3) and (result.image == 101).all()  # fill 100 from the weights + rev
    assert result.elapsed_ms >= 0 and result.info["device"] == w.device_label and result.info["model"] == "fake"
    assert not result.image.flags.writeable
    assert ctl.loads == [("cpu", False)]  # loaded lazily once, on the worker thread, no half on CPU
    assert not w.busy
    assert events.threads == {"ganpaint-inference"}
    w.submit(req(2))
    assert not events.wait(Started, revision=2).loading


def test_latest_wins_and_stale_result_dropped(make_worker, events, ctl):
    w = make_worker()
    ctl.blocking.add(1)
    ctl.late_progress.update({1, 3})
    w.submit(req(1))
    ctl.wait_entered(1)
    assert w.busy
    w.submit(req(2))
    w.submit(req(3))
    assert ctl.tokens[1].cancelled  # superseded in flight
    ctl.release(1)  # r1 ignores its token and returns a result anyway
    events.wait(Finished, revision=3)
    assert events.of(Dropped) == [Dropped(2, "superseded"), Dropped(1, "stale")]
    assert [e.revision for e in events.of(Progress)] == [3]  # no progress from the superseded run
    assert [rev for rev, _ in ctl.calls] == [1, 3]  # r2 never ran
    assert [e.revision for e in events.of(Finished)] == [3]
    assert not events.of(Failed)


def test_engine_honouring_cancel_produces_no_finished(make_worker, events, ctl):
    w = make_worker()
    ctl.blocking.add(1)
    ctl.honour_cancel.add(1)
    w.submit(req(1))
    ctl.wait_entered(1)
    w.submit(req(2))  # sets r1's token: the engine raises Cancelled without being released
    events.wait(Dropped, revision=1, reason="cancelled")
    events.wait(Finished, revision=2)
    assert [e.revision for e in events.of(Finished)] == [2]
    assert not events.of(Failed) and not events.of(Notice)


def test_cancel_clears_pending_and_drops_in_flight(make_worker, events, ctl):
    w = make_worker()
    ctl.blocking.add(1)
    w.submit(req(1))
    ctl.wait_entered(1)
    w.submit(req(2), debounce=True)
    w.cancel()
    assert ctl.tokens[1].cancelled
    ctl.release(1)
    events.wait(Dropped, revision=2, reason="cancelled")
    events.wait(Dropped, revision=1, reason="cancelled")
    w.submit(req(3))
    events.wait(Finished, revision=3)
    assert [rev for rev, _ in ctl.calls] == [1, 3]
    assert [e.revision for e in events.of(Finished)] == [3]


def test_engine_exception_becomes_failed_and_worker_goes_on(make_worker, events, ctl):
    w = make_worker()
    ctl.errors[1].append(ValueError("bad tensor\nsecond line"))
    ctl.errors[2].append(EngineError("the photo is too small for this model"))
    w.submit(req(1))
    assert events.wait(Failed, revision=1).message == "inpaint engine failed: ValueError: bad tensor"
    w.submit(req(2))
    assert events.wait(Failed, revision=2).message == "the photo is too small for this model"
    w.submit(req(3))
    events.wait(Finished, revision=3)
    assert w.running


def test_unknown_model_and_bad_weights_fail_with_their_sentence(make_worker, events, registry, ctl):
    w = make_worker()
    w.submit(req(1, model="nope"))
    assert events.wait(Failed, revision=1).message == "unknown model 'nope' (available: fake)"
    weights = registry.get("fake").weights_path
    weights.write_bytes(b"tampered")
    w.submit(req(2))
    message = events.wait(Failed, revision=2).message
    assert message.startswith(f"weights file '{weights}' does not match its model card")


def test_debounced_submit_waits_and_only_the_latest_runs(make_worker, events, ctl):
    w = make_worker(debounce_s=0.05)
    t0 = time.monotonic()
    w.submit(req(1), debounce=True)
    w.submit(req(2), debounce=True)
    events.wait(Started, revision=2)
    assert time.monotonic() - t0 >= 0.05  # the worker uses the same monotonic clock
    events.wait(Finished, revision=2)
    assert [rev for rev, _ in ctl.calls] == [2]
    assert events.of(Dropped) == [Dropped(1, "superseded")]


def test_progress_with_partial_images(make_worker, events, ctl):
    partial = np.full((4, 5, 3), 7, np.uint8)
    ctl.progress = [(0.25, None), (0.5, partial), (1.5, partial)]
    w = make_worker()
    w.submit(req(1))
    first = events.wait(Progress, revision=1)
    second = events.wait(Progress, revision=1)
    third = events.wait(Progress, revision=1)
    events.wait(Finished, revision=1)
    assert (first.fraction, first.partial) == (0.25, None)
    assert second.fraction == 0.5 and np.array_equal(second.partial, partial)
    assert second.partial is not partial and not second.partial.flags.writeable
    assert third.fraction == 1.0  # clamped


@pytest.mark.parametrize(
    "error",
    [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
     RuntimeError("CUDA error: out of memory")],
)
def test_out_of_memory_falls_back_to_cpu_and_retries(make_worker, events, ctl, error):
    w = make_worker()
    events.wait(DeviceChanged)
    w.preload("fake")
    assert ctl.loaded.wait(TIMEOUT)
    ctl.errors[1].append(error)
    w.submit(req(1))
    notice = events.wait(Notice)
    assert (notice.message, notice.level) == (OOM_NOTICE, "warning")
    assert events.wait(DeviceChanged).label == w.device_label
    assert (events.wait(Finished, revision=1).result.image == 101).all()
    assert [rev for rev, _ in ctl.calls] == [1, 1]  # retried once
    assert ctl.loads == [("cpu", False), ("cpu", False)]  # engines reloaded on the CPU
    assert not events.of(Failed)


def test_out_of_memory_twice_fails(make_worker, events, ctl):
    w = make_worker()
    ctl.errors[1] += [torch.cuda.OutOfMemoryError("out of memory"), torch.cuda.OutOfMemoryError("out of memory")]
    w.submit(req(1))
    assert events.wait(Failed, revision=1).message.startswith("inpaint engine failed: OutOfMemoryError")
    w.submit(req(2))
    events.wait(Finished, revision=2)


def test_on_event_raising_does_not_kill_the_worker(make_worker, ctl):
    got: queue.Queue = queue.Queue()

    def hostile(event):
        got.put(event)
        raise RuntimeError("callback bug")

    w = make_worker(on_event=hostile)
    for rev in (1, 2):
        w.submit(req(rev))
        while not (isinstance(event := got.get(timeout=TIMEOUT), Finished) and event.revision == rev):
            pass
    assert w.running


def test_set_device_reloads_engines_and_preload_reports_errors(make_worker, events, ctl, monkeypatch):
    w = make_worker()
    w.preload("fake")
    assert ctl.loaded.wait(TIMEOUT)
    with pytest.raises(EngineError, match="not available"):
        w.set_device("cuda:7")
    monkeypatch.setattr(worker_module, "select_device", lambda pref: torch.device("meta"))
    w.set_device("anything")
    assert events.wait(DeviceChanged, label="meta")
    w.submit(req(1))
    events.wait(Finished, revision=1)
    assert ctl.loads == [("cpu", False), ("meta", False)]
    assert ctl.calls == [(1, "meta")]
    w.preload("missing")
    notice = events.wait(Notice, level="error")
    assert notice.message == "unknown model 'missing' (available: fake)"


def test_stop_joins_the_thread_and_cancels_the_running_request(registry, ctl, events):
    w = InferenceWorker(registry, device="cpu", on_event=events)
    assert w.stop() is True  # never started
    w = InferenceWorker(registry, device="cpu", on_event=events)
    w.start()
    ctl.blocking.add(1)
    ctl.honour_cancel.add(1)
    w.submit(req(1))
    ctl.wait_entered(1)
    w.submit(req(2), debounce=True)
    assert w.stop(TIMEOUT) is True
    assert not w.running
    assert {e.revision: e.reason for e in events.of(Dropped)} == {1: "cancelled", 2: "stopped"}
    assert not events.of(Finished)
    w.submit(req(3))  # ignored after stop
    assert not w.busy
    with pytest.raises(RuntimeError):
        w.start()


def test_registry_errors_are_model_errors(registry):
    with pytest.raises(ModelError):
        registry.create_engine("nope")


def test_set_threads_runs_on_the_worker_and_relabels_the_device(make_worker, events):
    """#9.7: the Preferences' CPU threads reach torch on the worker thread (OpenMP's count is per thread,
    so it must be set where inference runs); the label is read there too."""
    w = make_worker()
    target = 1 if torch.get_num_threads() != 1 else 2
    w.set_threads(target)
    event = events.wait(DeviceChanged, label=f"CPU ({target} thread{'s' if target != 1 else ''})")
    assert w.device_label == event.label
    with pytest.raises(ValueError):
        w.set_threads(0)
# ------------------------------------------------------------------------------------ watchdog


def test_stuck_engine_is_abandoned_and_the_next_request_runs(make_worker, events, ctl):
    """Issue #8.1: an engine that never returns (and ignores its cancel token) is abandoned after the
    watchdog limit with a Failed sentence; the next request runs on a fresh engine thread; the stuck
    run's progress and result are never delivered."""
    w = make_worker(watchdog_s=0.3)
    assert w.watchdog_s == 0.3
    ctl.blocking.add(1)
    ctl.late_progress.add(1)
    w.submit(req(1))
    ctl.wait_entered(1)
    message = events.wait(Failed, revision=1).message
    assert "did not finish within 0.3 s" in message and "abandoned" in message
    assert ctl.tokens[1].cancelled
    w.submit(req(2))
    events.wait(Finished, revision=2)
    assert len(ctl.loads) == 2  # the fresh engine thread loaded its own engine
    ctl.release(1)  # the stuck run now returns a result and reports progress: both are dropped
    w.submit(req(3))
    events.wait(Finished, revision=3)
    assert [e.revision for e in events.of(Finished)] == [2, 3]
    assert not [e for e in events.of(Progress) if e.revision == 1]
    assert events.threads == {"ganpaint-inference"}


def test_superseded_stuck_request_ends_dropped_with_a_notice(make_worker, events, ctl):
    w = make_worker(watchdog_s=0.3)
    ctl.blocking.add(1)
    w.submit(req(1))
    ctl.wait_entered(1)
    w.submit(req(2))  # r1 is now stale; it still has to be abandoned before r2 can run
    notice = events.wait(Notice, level="warning")
    assert "abandoned" in notice.message
    assert events.wait(Dropped, revision=1).reason == "stale"
    events.wait(Finished, revision=2)
    assert not events.of(Failed)


def test_stop_does_not_wait_for_a_stuck_engine(registry, ctl, events):
    w = InferenceWorker(registry, device="cpu", on_event=events, stop_grace_s=0.05)
    w.start()
    ctl.blocking.add(1)  # ignores its token until released
    w.submit(req(1))
    ctl.wait_entered(1)
    assert w.stop(TIMEOUT) is True
    assert not w.running
    assert events.wait(Dropped, revision=1).reason == "stopped"
    ctl.release(1)


def test_too_many_stuck_engines_fail_at_once_until_they_end(make_worker, events, ctl):
    w = make_worker(watchdog_s=0.2)
    stuck = list(range(1, worker_module.MAX_STUCK_THREADS + 1))
    for rev in stuck:
        ctl.blocking.add(rev)
        w.submit(req(rev))
        ctl.wait_entered(rev)
        events.wait(Failed, revision=rev)
    nxt = stuck[-1] + 1
    w.submit(req(nxt))
    assert "restart GANPaint Studio" in events.wait(Failed, revision=nxt).message
    w.preload("fake")
    assert "restart" in events.wait(Notice, level="error").message
    for rev in stuck:
        ctl.release(rev)
    abandoned = [ctl.threads[rev] for rev in stuck]
    assert len(set(abandoned)) == len(stuck) and nxt not in ctl.threads  # each stuck run had its own thread
    for thread in abandoned:
        thread.join(TIMEOUT)  # released: each returns from its run and ends
        assert not thread.is_alive()
    w.submit(req(nxt + 1))
    events.wait(Finished, revision=nxt + 1)


def test_watchdog_limits_are_checked(registry):
    with pytest.raises(ValueError):
        InferenceWorker(registry, device="cpu", watchdog_s=0)
    with pytest.raises(ValueError):
        InferenceWorker(registry, device="cpu", stop_grace_s=-1)
