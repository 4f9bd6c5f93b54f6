"""Peak memory of the real studio editing a 12-megapixel photo (``ganpaint bench --gui``).

Runs in a fresh process (``python -m ganpaint.ui.memory_check``, started by the bench), so the peak
resident set size the kernel reports (``VmHWM``) is this session's alone: the studio opens a
``width x height`` photo (a generated landscape-like picture, saved as JPEG in a temporary folder), an
inpainting mask stroke of ``brush`` px is filled and applied as an edit layer, then in the Semantic tab
the photo is segmented and a water stroke is painted into it and regenerated, as a user would. Prints one
JSON object: the peak and the resident size after opening, in MiB, and the seconds of each step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _status_mib(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MiB (Linux ``/proc``; raises OSError elsewhere)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise OSError(f"{field} is not in /proc/self/status")


def landscape_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """``uint8 (height, width, 3)``: blue sky over a green field with grain, built row by row (cheap at 12 MP)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    sky, field = np.array([120, 170, 235], np.float32), np.array([90, 150, 60], np.float32)
    rows = np.where(t[..., None] < 0.45, sky * (0.8 + 0.4 * t[..., None]), field * (1.2 - 0.4 * t[..., None]))
    photo = np.broadcast_to(rows, (height, width, 3)).astype(np.float32)
    photo = photo + rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32)
    return np.clip(photo, 0, 255).astype(np.uint8)


def measure_large_edit_memory(width: int = 4000, height: int = 3000, brush: float = 300.0, device: str = "cpu",
                              timeout_s: float = 600.0) -> dict:
    """Peak resident memory (MiB) of this process while the studio fills and label-edits a large photo.

    Returns ``{"width", "height", "open_rss_mib", "peak_rss_mib", "seconds": {step: s}}``. Raises
    TimeoutError when a result never comes and OSError where ``/proc`` is missing (not Linux).
    """
    from PIL import Image

    from ganpaint.ui.latency import studio_window, wait_for

    seconds = {}
    with tempfile.TemporaryDirectory(prefix="ganpaint-memory-") as folder:
        photo = Path(folder) / "large.jpg"
        Image.fromarray(landscape_photo(width, height)).save(photo, quality=92)
        start = time.perf_counter()
        with studio_window(photo, device) as (app, window):
            controller = window.controller
            open_rss = _status_mib("VmRSS")
            seconds["open"] = time.perf_counter() - start

            def stroke(points) -> None:
                doc = controller.doc
                t0 = time.perf_counter()
                controller.pointer_pressed(*points[0])
                for p in points[1:-1]:
                    controller.pointer_moved(*p)
                controller.pointer_released(*points[-1])
                wait_for(app, lambda: doc.result is not None and doc.result_revision == doc.revision, timeout_s,
                         "no result arrived")
                return time.perf_counter() - t0

            controller.settings.size = brush
            w, h = width, height
            seconds["inpaint stroke"] = stroke([(0.4 * w, 0.5 * h), (0.5 * w, 0.55 * h), (0.6 * w, 0.5 * h)])
            controller.apply_result()
            t0 = time.perf_counter()
            window.set_mode("synthesize")
            doc = controller.doc
            wait_for(app, lambda: doc.settings.get("labels_source") == "segmenter", timeout_s, "no segmentation")
            seconds["segment"] = time.perf_counter() - t0
            window.set_tool("labels")
            water = next((label.id for label in controller.labelset.labels if label.name == "water"),
                         controller.labelset.labels[0].id)
            controller.settings.label = water
            seconds["label stroke"] = stroke([(0.35 * w, 0.73 * h), (0.5 * w, 0.77 * h), (0.65 * w, 0.73 * h)])
    return {"width": width, "height": height, "open_rss_mib": round(open_rss, 1),
            "peak_rss_mib": round(_status_mib("VmHWM"), 1), "seconds": {k: round(v, 2) for k, v in seconds.items()}}


def main(argv: list[str] | None = None) -> int:
    """``python -m ganpaint.ui.memory_check [--width W --height H --device D --brush PX]``: print the JSON result."""
    parser = argparse.ArgumentParser(prog="python -m ganpaint.ui.memory_check", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--brush", type=float, default=300.0, help="brush size of both strokes, pixels")
    args = parser.parse_args(argv)
    print(json.dumps(measure_large_edit_memory(args.width, args.height, args.brush, device=args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
