"""Training-time feedback: a tqdm progress bar with running losses, and PNG sample grids (Pillow)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image


class ProgressBar:
    """tqdm bar from ``start`` to ``total`` steps showing exponentially smoothed losses and steps/s.

    When stderr is not a terminal (``nohup`` logs) the bar refreshes at most every ``log_interval`` s so
    the log stays readable.
    """

    def __init__(self, total: int, start: int = 0, desc: str = "train", smoothing: float = 0.9,
                 log_interval: float = 30.0) -> None:
        from tqdm import tqdm

        interactive = sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=start, desc=desc, dynamic_ncols=True, smoothing=0.05,
                        mininterval=0.5 if interactive else log_interval, file=sys.stderr)
        self.smoothing = smoothing
        self.values: dict[str, float] = {}

    def update(self, losses: Mapping[str, float], n: int = 1) -> None:
        for k, v in losses.items():
            v = float(v)
            old = self.values.get(k)
            self.values[k] = v if old is None else self.smoothing * old + (1 - self.smoothing) * v
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in self.values.items()}, refresh=False)
        self.bar.update(n)

    def write(self, text: str) -> None:
        self.bar.write(text)

    def close(self) -> None:
        self.bar.close()


def to_uint8(t) -> np.ndarray:
    """``(N, 3, H, W)`` or ``(N, 1, H, W)`` tensor/array in [-1, 1] (RGB) -> ``uint8 (N, H, W, 3)``."""
    a = t.detach().float().cpu().numpy() if hasattr(t, "detach") else np.asarray(t, dtype=np.float32)
    if a.shape[1] == 1:
        a = np.repeat(a, 3, axis=1)
    a = np.clip((a + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return a.transpose(0, 2, 3, 1)


def sample_grid(rows: Sequence[Sequence[np.ndarray]], pad: int = 2, background: int = 255) -> np.ndarray:
    """Tile rows of equally sized ``uint8 (H, W, 3)`` images into one ``uint8`` image with ``pad`` px gaps."""
    h, w = rows[0][0].shape[:2]
    ncols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + pad) + pad, ncols * (w + pad) + pad, 3), background, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            img = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
            out[y:y + h, x:x + w] = img[:h, :w]
    return out


def inpaint_grid_rows(truth: np.ndarray, mask: np.ndarray, output: np.ndarray, hole_color=(255, 255, 255)) -> list[list[np.ndarray]]:
    """Rows ``input-with-hole | mask | output (composited) | truth`` from ``uint8 (N, H, W, 3)`` truth/output
    and ``uint8`` or bool ``(N, H, W)`` mask (> 127 or True = hole)."""
    rows = []
    for t, m, o in zip(truth, mask, output):
        hole = m > 127 if m.dtype == np.uint8 else m.astype(bool)
        inp = t.copy()
        inp[hole] = hole_color
        comp = t.copy()
        comp[hole] = o[hole]
        rows.append([inp, np.repeat((hole * 255).astype(np.uint8)[..., None], 3, axis=2), comp, t])
    return rows


def save_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write ``uint8`` RGB as PNG atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
