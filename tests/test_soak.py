"""Issue #8.10 soaks: kill -9 during saves and autosaves, and a long headless worker session.

The default run is short; ``GANPAINT_SOAK=1`` (``make soak``) runs the full sizes: 200 kill -9 trials
and 10,000 strokes. ``GANPAINT_KILL_TRIALS`` / ``GANPAINT_SOAK_STROKES`` set them directly. Each test
prints its counts (``pytest -s`` shows them).
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ganpaint.document.autosave import Autosave
from ganpaint.document.model import Document
from ganpaint.document.project import load_project, save_project
from tests.conftest import REPO

FULL = os.environ.get("GANPAINT_SOAK") == "1"
KILL_TRIALS = int(os.environ.get("GANPAINT_KILL_TRIALS", "200" if FULL else "4"))
STROKES = int(os.environ.get("GANPAINT_SOAK_STROKES", "10000" if FULL else "400"))

_SAVER = r"""
import sys
import numpy as np
from ganpaint.document.autosave import Autosave
from ganpaint.document.model import Document
from ganpaint.document.project import save_project

work, autosave_dir, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(seed)
saver = Autosave(autosave_dir)
n = 0
while True:
    height, width = (int(v) for v in rng.integers(64, 400, 2))
    doc = Document(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    doc.mask[: height // 2] = 255
    doc.settings["seed"] = n
    save_project(doc, work)
    saver.write(doc)
    n += 1
    if n == 1:
        print("ready", flush=True)
"""


def _litter(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_kill_9_during_save_and_autosave_never_loses_the_file(tmp_path):
    """Every trial: a process saves a project and autosaves in a loop and is killed with SIGKILL at a
    random moment. The project always loads, the autosave is always recoverable, and after the next
    save (and the recovering instance's next autosave) no temporary file is left."""
    work_dir, autosave_dir = tmp_path / "work", tmp_path / "autosave"
    work_dir.mkdir()
    work = work_dir / "work.ganpaint"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rng = random.Random(8)
    litter_seen = 0
    for trial in range(KILL_TRIALS):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, str(work), str(autosave_dir), str(trial)],
                                 stdout=subprocess.PIPE, env=env, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.25))  # not synchronisation: a random moment to kill it
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        litter_seen += bool(_litter(work_dir) or _litter(autosave_dir))
        doc = load_project(work)  # the last complete save, never a torn one
        assert doc.settings["seed"] >= 0
        recovering = Autosave(autosave_dir)
        [entry] = recovering.pending()  # the OS released the dead process's lock
        recovered = recovering.recover(entry)
        recovering.write(recovered)  # carries on in that session: its own leftovers go
        save_project(doc, work)  # the next save into the folder removes the killed save's leftovers
        assert _litter(work_dir) == [] and _litter(autosave_dir) == []
        recovering.close_clean()
        assert list(autosave_dir.iterdir()) == []
    print(f"\nkill -9 soak: {KILL_TRIALS} trials, {litter_seen} left temporary files that were then cleaned up")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Terminal:
    """Counts each revision's terminal event (Finished, Failed or Dropped) and anything unexpected."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.ended: dict[int, str] = {}
        self.failed: list = []
        self.duplicates: list[int] = []

    def __call__(self, event) -> None:
        from ganpaint.inference import events

        if isinstance(event, (events.Finished, events.Failed, events.Dropped)):
            with self.cond:
                if event.revision in self.ended:
                    self.duplicates.append(event.revision)
                self.ended[event.revision] = type(event).__name__
                if isinstance(event, events.Failed):
                    self.failed.append(event)
                self.cond.notify_all()
        elif isinstance(event, events.Notice) and event.level == "error":
            with self.cond:
                self.failed.append(event)

    def wait_for(self, revisions: set[int], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: revisions <= self.ended.keys(), timeout)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS from /proc")
def test_worker_soak_random_strokes_undo_redo_and_mode_switches(fake_models):
    """Random tools, undo/redo and switches between inpainting and semantic synthesis with the fake
    engines: every request ends in exactly one terminal event, nothing fails, no hang, and memory after
    the warm-up tenth grows by less than 10 %."""
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.requests import InpaintRequest, SynthesisRequest
    from ganpaint.inference.worker import InferenceWorker
    from ganpaint.tools import EraserTool, FillTool, LabelBrushTool, MaskBrushTool, PaintBrushTool, ToolSettings

    rng = np.random.default_rng(10)
    settings = ToolSettings(size=12)
    tools = [cls(settings) for cls in (MaskBrushTool, EraserTool, LabelBrushTool, PaintBrushTool, FillTool)]
    doc = Document(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), history_cap_bytes=4 * 2**20)
    terminal = _Terminal()
    worker = InferenceWorker(ModelRegistry.default(), device="cpu", on_event=terminal, debounce_s=0.0, watchdog_s=60)
    worker.start()
    submitted: set[int] = set()
    mode, revision = "inpaint", 0
    counts = {"stroke": 0, "undo": 0, "redo": 0, "mode": 0}
    baseline = None
    try:
        for i in range(STROKES):
            action = rng.choice(["stroke", "undo", "redo", "mode"], p=[0.72, 0.12, 0.1, 0.06])
            counts[str(action)] += 1
            if action == "stroke":
                tool = tools[int(rng.integers(len(tools)))]
                settings.target = str(rng.choice(["mask", "labels", "photo"]))
                settings.label = int(rng.integers(0, 8))
                settings.size = float(rng.integers(2, 30))
                points = rng.uniform(-10, 140, (int(rng.integers(1, 6)), 2))
                tool.press(doc, *points[0])
                for x, y in points[1:]:
                    tool.move(doc, x, y)
                tool.release(doc, *points[-1])
            elif action == "undo":
                doc.undo()
            elif action == "redo":
                doc.redo()
            else:
                mode = "synthesize" if mode == "inpaint" else "inpaint"
            revision += 1
            if mode == "inpaint":
                request = InpaintRequest.snapshot(revision, doc.photo, doc.mask, "fake-inpaint")
            else:
                region = doc.labels != 0 if rng.random() < 0.5 else None
                request = SynthesisRequest.snapshot(revision, doc.labels, "fake-spade", photo=doc.photo, region=region)
            worker.submit(request, debounce=bool(rng.random() < 0.5))
            submitted.add(revision)
            if i == STROKES // 10:
                assert terminal.wait_for(set(submitted), 60), "the worker hung during warm-up"
                gc.collect()
                baseline = _rss_bytes()
        assert terminal.wait_for(submitted, 60), f"{len(submitted - terminal.ended.keys())} requests never ended"
    finally:
        assert worker.stop(10)
    gc.collect()
    growth = (_rss_bytes() - baseline) / baseline
    assert not terminal.failed, terminal.failed[:3]
    assert not terminal.duplicates
    kinds = {kind: list(terminal.ended.values()).count(kind) for kind in ("Finished", "Dropped", "Failed")}
    print(f"\nworker soak: {STROKES} actions {counts}, {len(submitted)} requests {kinds}, "
          f"memory growth after warm-up {100 * growth:+.1f}%")
    assert kinds["Finished"] > 0
    assert growth < 0.10
