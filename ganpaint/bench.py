"""``ganpaint bench``: latency and peak memory of every installed engine.

For each model (its task's default unless ``--model`` is given), each resolution and the chosen
device, the engine serves the same request ``repeats`` times after ``warmup`` runs; we report the
median and 95th-percentile wall-clock latency in milliseconds and the peak memory in MiB (CUDA:
``torch.cuda.max_memory_allocated``; CPU: peak resident set size of the process above its level
before the runs, sampled every 2 ms from ``/proc/self/statm``).

CPU runs use the studio's thread policy (:func:`ganpaint.inference.device.interactive_threads`; the
``ganpaint`` command sets the passive OpenMP wait before torch loads) unless ``threads`` is given. With
``load=True`` every case is measured twice: on the machine as it is ("idle": no load of ours), then with
one busy-loop process per core started by the bench itself (:class:`BusyLoad`), the situation of a
studio next to a compile or a training run.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from ganpaint.inference.cancel import CancelToken
from ganpaint.inference.requests import InpaintRequest, Request


@dataclass
class BenchRow:
    """One benchmark measurement (times in ms, memory in MiB)."""

    model: str
    task: str
    case: str
    width: int
    height: int
    device: str
    precision: str
    median_ms: float
    p95_ms: float
    peak_mem_mib: float
    runs: int
    threads: int = 0
    load: str = "idle"


def _inpaint_request(width: int, height: int, hole: tuple[int, int, int, int] | None, seed: int) -> Request:
    rng = np.random.default_rng(seed)
    # a smooth synthetic photo: gradients plus texture, so the engine does real work
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([xx / width * 255, yy / height * 255, np.full_like(xx, 128)], axis=-1)
    image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = hole if hole is not None else (width // 4, height // 4, width * 3 // 4, height * 3 // 4)
    mask[y0:y1, x0:x1] = 255
    return InpaintRequest.snapshot(0, image, mask, model="", seed=seed)


def bench_cases(task: str, sizes: list[int]) -> list[tuple[str, int, int, object]]:
    """(case name, width, height, request factory(model name)) for ``task`` at ``sizes`` (pixels)."""
    cases = []
    if task == "inpaint":
        for size in sizes:
            cases.append((f"{size} crop", size, size, lambda model, s=size: _with_model(_inpaint_request(s, s, None, 0), model)))
        # a 512 px hole (1024 px crop with its context): the network works at <= 512, detail comes from the photo
        cases.append(("1024 photo, 512 px hole", 1024, 1024,
                      lambda model: _with_model(_inpaint_request(1024, 1024, (256, 256, 768, 768), 0), model)))
        # a 12-megapixel photo with a small hole: should cost about a 512 crop
        cases.append(("4000x3000, 200 px hole", 4000, 3000, lambda model: _with_model(_inpaint_request(4000, 3000, (1900, 1400, 2100, 1600), 0), model)))
        # ... and with a 1500 px hole: a 3000 px crop filled at 500 px + full-resolution detail (memory)
        cases.append(("4000x3000, 1500 px hole", 4000, 3000,
                      lambda model: _with_model(_inpaint_request(4000, 3000, (1250, 750, 2750, 2250), 0), model)))
        # ... and a 2400 px hole: its texture box is over the texture stage's pixel budget (reduced scale)
        cases.append(("4000x3000, 2400 px hole", 4000, 3000,
                      lambda model: _with_model(_inpaint_request(4000, 3000, (800, 300, 3200, 2700), 0), model)))
    elif task == "segment":
        from ganpaint.inference.requests import SegmentRequest

        for size in sizes:
            cases.append((f"{size} photo", size, size, lambda model, s=size: SegmentRequest.snapshot(
                0, np.array(_inpaint_request(s, s, None, 0).image), model)))
    elif task == "synthesize":
        from ganpaint.engines.synthesis import bench_request

        for size in sizes:
            cases.append((f"{size} label map", size, size, lambda model, s=size: bench_request(model, s, s)))
        for size in sizes:  # a photo edit whose relabelled ellipse spans half the photo (the photo editor's work)
            box = (size // 4, size // 4, size * 3 // 4, size * 3 // 4)
            cases.append((f"{size} photo, half-size edited region", size, size,
                          lambda model, s=size, b=box: bench_request(model, s, s, region=b)))
        # a 12-megapixel photo with a 200 px relabelled region: should cost about that region's crop
        cases.append(("4000x3000 photo, 200 px edited region", 4000, 3000,
                      lambda model: bench_request(model, 4000, 3000, region=(1900, 1400, 2100, 1600))))
    elif task == "colorize":
        from ganpaint.engines.colorize import bench_request as colorize_request

        for size in sizes:
            cases.append((f"{size} photo, 10 hints", size, size, lambda model, s=size: colorize_request(model, s, s)))
        # a 12-megapixel photo: the network still works at 256 px; ab is upsampled onto the full-size L
        cases.append(("4000x3000 photo, 10 hints", 4000, 3000, lambda model: colorize_request(model, 4000, 3000)))
    return cases


def _with_model(request: Request, model: str) -> Request:
    from dataclasses import replace

    return replace(request, model=model)


class BusyLoad:
    """``with BusyLoad(n):`` runs ``n`` busy-loop processes (``python -c "while True: pass"``) at normal
    priority, stopped (terminated, then killed) on exit."""

    def __init__(self, processes: int) -> None:
        self.processes = int(processes)
        self._procs: list = []

    def __enter__(self) -> "BusyLoad":
        import subprocess

        for _ in range(self.processes):
            self._procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))
        time.sleep(0.3)  # let them start spinning before the measurement (not a synchronisation)
        return self

    def __exit__(self, *exc) -> None:
        import subprocess

        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    @property
    def label(self) -> str:
        return f"{self.processes} busy process{'es' if self.processes != 1 else ''}"


class _PeakRss:
    """Samples the resident set size in a thread; ``peak_mib`` is the maximum above the start level."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._stop = threading.Event()
        self.start_bytes = self._rss()
        self.peak_bytes = self.start_bytes
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * self._page
        except OSError:  # not Linux: ru_maxrss is the lifetime peak (KiB on Linux, bytes on macOS)
            scale = 1 if sys.platform == "darwin" else 1024
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak_bytes = max(self.peak_bytes, self._rss())

    def __enter__(self) -> "_PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss())

    @property
    def peak_mib(self) -> float:
        return (self.peak_bytes - self.start_bytes) / 2**20


def run_bench(registry, device_preference: str = "auto", sizes=(256, 512), models: list[str] | None = None,
              repeats: int = 10, warmup: int = 2, half: bool | None = None, progress=print, load: bool = False,
              threads: int | None = None) -> list[BenchRow]:
    """Benchmark engines; returns one :class:`BenchRow` per (model, case), two with ``load`` (idle, then
    with one busy-loop process per core, see the module docstring).

    ``half`` None uses fp16 where the device is CUDA and the engine supports it. ``threads``: torch CPU
    threads (None: the studio's policy, :func:`~ganpaint.inference.device.interactive_threads`).
    Raises ModelError/EngineError for an unknown model or unavailable device.
    """
    import torch

    from ganpaint.inference.device import apply_interactive_threads, device_label, select_device, usable_cores, use_half

    device = select_device(device_preference)
    n_threads = apply_interactive_threads(threads) if device.type == "cpu" else torch.get_num_threads()
    loads = [None] + ([BusyLoad(usable_cores())] if load else [])
    cards = [registry.get(name) for name in models] if models else [c for c in (registry.default_for(t) for t in sorted({c.task for c in registry.cards()})) if c]
    rows = []
    jobs = []
    for card in cards:
        engine = registry.create_engine(card.name)
        fp16 = use_half(device, engine.supports_half) if half is None else (half and device.type == "cuda")
        engine.load(device, half=fp16)
        if card.task == "manifold":
            for row in manifold_rows(engine, device_label(device), repeats, warmup, n_threads):
                rows.append(row)
                progress(f"  {row.model} {row.case}: median {row.median_ms:.1f} ms")
            continue
        jobs.append((card.name, card.task, engine, fp16, bench_cases(card.task, list(sizes)), repeats))
    if any(card.task == "colorize" for card in cards):
        # the paper's SIGGRAPH17 network (random weights) on the smallest case, for comparison (1.2 s a run)
        from ganpaint.engines.colorize import reference_engine

        engine = reference_engine(device)
        jobs.append((engine.card.name, "colorize", engine, False, bench_cases("colorize", [min(sizes)])[:1],
                     min(repeats, 3)))
    for name, task, engine, fp16, cases, count in jobs:
        for case, width, height, factory in cases:
            request = factory(name)
            for busy in loads:
                with busy or contextlib.nullcontext():
                    times, peak = _measure(engine, request, device, warmup, count)
                row = BenchRow(name, task, case, width, height, device_label(device),
                               "fp16" if fp16 else "fp32", float(np.median(times)), float(np.percentile(times, 95)),
                               round(peak, 1), count, n_threads, "idle" if busy is None else busy.label)
                rows.append(row)
                progress(f"  {row.model} {row.case} ({row.load}): median {row.median_ms:.1f} ms")
    return rows


def _measure(engine, request, device, warmup: int, repeats: int) -> tuple[list[float], float]:
    """``(times in ms, peak memory in MiB)`` of ``repeats`` runs after ``warmup`` runs."""
    import torch

    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            engine.run(request, CancelToken(), lambda f, p: None)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        with _PeakRss() as rss:
            for _ in range(repeats):
                start = time.perf_counter()
                engine.run(request, CancelToken(), lambda f, p: None)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                times.append((time.perf_counter() - start) * 1000.0)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else rss.peak_mib
    return times, peak


def _timed_progress(engine, request) -> tuple[list[float], float]:
    """Run ``request``; ``(ms from the start to each progress call, total ms)``."""
    marks: list[float] = []
    start = time.perf_counter()
    engine.run(request, CancelToken(), lambda f, p: marks.append((time.perf_counter() - start) * 1000.0))
    return marks, (time.perf_counter() - start) * 1000.0


def manifold_rows(engine, device: str, repeats: int = 10, warmup: int = 2, threads: int = 0) -> list[BenchRow]:
    """iGAN timings of a GAN engine (:mod:`ganpaint.engines.manifold`), ``R`` = the model's resolution:

    * ``sample (dice)``: one :class:`~ganpaint.inference.requests.SampleRequest`;
    * ``project ...: first preview``: from the start of a projection request to its first progress picture
      (the projection's start), on a 1024x768 photo with a 512 px region;
    * ``project ...: 100 steps``: the whole request (encoder + 100 optimisation steps: usable);
    * ``edit K=8: one optimisation step``: median time between the per-step callbacks of an edit with one
      colour and one sketch stroke (8 candidates, 20 steps; :meth:`ManifoldModel.edit` called directly);
    * ``edit K=8, 40 steps + morphs``: the whole edit request with 8-frame morphs;
    * ``transfer 4000x3000 photo, 1000 px region``: the edit carried back onto a 12-megapixel photo.
    """
    from ganpaint.document.vectors import SketchStroke
    from ganpaint.engines.constraints import rasterize_strokes
    from ganpaint.inference.requests import EditTransferRequest, LatentEditRequest, ProjectRequest, SampleRequest

    model, name = engine.model, engine.card.name
    r = model.resolution
    photo = np.array(_inpaint_request(1024, 768, None, 0).image)
    rect = (256, 128, 768, 640)
    strokes = [SketchStroke([(300, 300), (450, 350)], (230, 30, 30), 30, kind="color"),
               SketchStroke([(300, 500), (700, 450)], (0, 0, 0), 4, kind="sketch")]
    w0 = model.sample(0)[0]
    big = np.array(_inpaint_request(4000, 3000, None, 1).image)
    proj_pic, edit_pic = model.render(w0)[0], model.render(model.sample(1)[0])[0]

    def request_ms(request) -> float:
        return _timed_progress(engine, request)[1]

    def first_preview_ms(request) -> float:
        return _timed_progress(engine, request)[0][0]

    maps = rasterize_strokes(strokes, rect, r)

    def step_ms(steps: int) -> float:
        marks: list[float] = []
        model.edit(w0, maps, candidates=8, steps=steps, preview_every_s=0.0,
                   callback=lambda *a: marks.append(time.perf_counter() * 1000.0))
        return float(np.median(np.diff(marks)))

    project = ProjectRequest.snapshot(0, photo, rect, name, steps=100)
    cases = [
        ("sample (dice)", r, r, request_ms, SampleRequest(revision=0, model=name, seed=3)),
        (f"project 512 px region -> {r} px: first preview", 1024, 768, first_preview_ms, project),
        (f"project 512 px region -> {r} px: 100 steps", 1024, 768, request_ms, project),
        (f"edit K=8 at {r} px: one optimisation step", r, r, step_ms, 20),
        (f"edit K=8 at {r} px: 40 steps + morphs", r, r, request_ms,
         LatentEditRequest.snapshot(0, w0, strokes, rect, name, candidates=8, steps=40, morph_frames=8)),
        ("transfer 4000x3000 photo, 1000 px region", 4000, 3000, request_ms,
         EditTransferRequest.snapshot(0, big, (1500, 1000, 2500, 2000), proj_pic, edit_pic, name)),
    ]
    rows = []
    for case, width, height, measure, request in cases:
        for _ in range(warmup):
            measure(request)
        with _PeakRss() as rss:
            times = [measure(request) for _ in range(repeats)]
        rows.append(BenchRow(name, "manifold", case, width, height, device, "fp32", float(np.median(times)),
                             float(np.percentile(times, 95)), round(rss.peak_mib, 1), repeats, threads))
    return rows


def format_table(rows: list[BenchRow]) -> str:
    """Plain-text table of benchmark rows."""
    header = ("model", "case", "load", "device", "prec", "median ms", "p95 ms", "peak MiB")
    lines = [header] + [(r.model, r.case, r.load, r.device, r.precision, f"{r.median_ms:.1f}", f"{r.p95_ms:.1f}",
                         f"{r.peak_mem_mib:.0f}") for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def rows_to_json(rows: list[BenchRow], gui: dict | None = None) -> str:
    """JSON text of the rows, the machine, and the studio latency (``gui``) when measured."""
    data = {"machine": _machine(), "results": [asdict(r) for r in rows]}
    if gui is not None:
        data["studio_release_to_fill"] = gui
    return json.dumps(data, indent=1)


def _machine() -> dict:
    import platform

    import torch

    return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)")}
