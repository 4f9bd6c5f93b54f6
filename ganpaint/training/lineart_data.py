"""Line-art colorization data: exact line-art / colour pairs, and line art with flat colours made from photos.

* Pair folders (``line/<id>.png`` grayscale drawing + ``color/<id>.png`` its coloured version + ``splits.json``,
  e.g. ``openmoji_lineart``) are used as they are.
* Photo folders become pairs with :func:`photo_lineart`: the photo is smoothed (mean shift) and quantised into a few
  colours (k-means in Lab); the boundaries between the colour areas plus the photo's edges (XDoG, Winnenmoeller et
  al. 2012, or HED, Xie and Tu 2015) are the lines; every region the lines bound is filled with the photo's mean
  colour there, so the target is flat colour inside closed lines, like a coloured drawing.

Both kinds are cropped, rescaled and flipped together. A batch is ``(lab, lines, regions)``: the target Lab
``float32 (N, 3, H, W)``, the drawing's darkness ``(N, 1, H, W)`` in [0, 1] (1 = black line) and the region labels
``int32 (N, H, W)`` of :func:`ganpaint.engines.lineart_regions.label_regions` (0 on lines).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from ganpaint.engines.lineart_regions import LINE_L, label_regions, region_means
from ganpaint.lab import lab_to_rgb8, rgb8_to_lab
from ganpaint.training.data import list_split, load_rgb_pil


def xdog(gray: np.ndarray, sigma: float = 0.8, k: float = 1.6, tau: float = 0.98, eps: float = -0.004,
         phi: float = 200.0) -> np.ndarray:
    """Extended difference of Gaussians line drawing of ``gray`` (``float32 (H, W)`` in [0, 1]).

    Returns the line *darkness* ``float32 (H, W)`` in [0, 1] (1 = black line, 0 = paper).
    """
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    d = g1 - tau * g2
    white = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    return (1.0 - white).astype(np.float32)


def hed_edges(rgb: np.ndarray) -> np.ndarray:
    """HED edge probability (``float32 (H, W)`` in [0, 1]) of ``uint8 (H, W, 3)`` with the shipped HED weights."""
    from ganpaint.nets.vgg import HED

    global _HED
    if _HED is None:
        _HED = HED.pretrained()
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1.0  # [-1, 1]
        return _HED(x)[0, 0].numpy().astype(np.float32)


_HED = None


def photo_lineart(rgb: np.ndarray, colors: int = 8, edges: str = "xdog", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A line drawing and its flat colouring made from a photo.

    Args:
        rgb: ``uint8 (H, W, 3)`` photo.
        colors: k-means colours of the quantisation (the number of distinct fills before splitting into regions).
        edges: ``"xdog"`` or ``"hed"``: which edges join the colour boundaries as lines.
        seed: k-means seed (the result is deterministic for a seed).

    Returns:
        ``(line, flat)``: the drawing ``uint8 (H, W)`` (0 = black line, 255 = paper) and ``uint8 (H, W, 3)`` flat
        colours (black on the lines).
    """
    h, w = rgb.shape[:2]
    half = cv2.resize(np.ascontiguousarray(rgb), (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    smooth = cv2.resize(cv2.pyrMeanShiftFiltering(half, 4, 20), (w, h), interpolation=cv2.INTER_LINEAR)
    lab = rgb8_to_lab(smooth).reshape(-1, 3)
    cv2.setRNGSeed(seed)
    _, _, centers = cv2.kmeans(np.ascontiguousarray(lab[::4]), colors, None,
                               (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 10, 1.0), 1, cv2.KMEANS_PP_CENTERS)
    quant = ((lab[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    quant = cv2.medianBlur(quant.reshape(h, w).astype(np.uint8), 5)
    boundary = np.zeros(quant.shape, bool)
    boundary[:, 1:] |= quant[:, 1:] != quant[:, :-1]
    boundary[1:, :] |= quant[1:, :] != quant[:-1, :]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    edge = hed_edges(rgb) > 0.6 if edges == "hed" else xdog(gray) > 0.5
    lines = boundary | edge
    labels, count = label_regions(lines)
    means = region_means(labels, rgb8_to_lab(rgb), count)
    flat = lab_to_rgb8(means[labels].astype(np.float32))
    flat[lines] = 0
    line = np.where(lines, 0, 255).astype(np.uint8)
    return line, flat


def _crop_pair(line: np.ndarray, color: np.ndarray, size: int, rng: np.random.Generator, scale_min: float,
               flip: bool = True):
    """The same random square crop (side a fraction of the short side), resize to ``size`` and flip of both."""
    h, w = line.shape
    side = int(round(min(h, w) * rng.uniform(scale_min, 1.0)))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    line = cv2.resize(line[y0:y0 + side, x0:x0 + side], (size, size), interpolation=interp)
    color = cv2.resize(color[y0:y0 + side, x0:x0 + side], (size, size), interpolation=interp)
    if flip and rng.random() < 0.5:
        line, color = line[:, ::-1], color[:, ::-1]
    return np.ascontiguousarray(line), np.ascontiguousarray(color)


class LineArtPairs:
    """Exact pairs of one split of a pair folder (``line/``, ``color/``, ``splits.json``), cached in memory."""

    def __init__(self, root: str | Path, split: str) -> None:
        root = Path(root)
        ids = json.loads((root / "splits.json").read_text())[split]
        self.paths = [(root / "line" / f"{i}.png", root / "color" / f"{i}.png") for i in ids]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in self._cache:
            lp, cp = self.paths[i]
            line = np.asarray(load_rgb_pil(lp).convert("L"), np.uint8)
            self._cache[i] = (line, np.asarray(load_rgb_pil(cp), np.uint8))
        return self._cache[i]


class PhotoLineArt:
    """Photos of one split turned into (line art, flat colours) pairs by :func:`photo_lineart`, cached."""

    def __init__(self, root: str | Path, split: str, edges: str = "xdog") -> None:
        self.paths = list_split(root, split)
        self.edges = edges
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in self._cache:
            rgb = np.asarray(load_rgb_pil(self.paths[i]), np.uint8)
            self._cache[i] = photo_lineart(rgb, edges=self.edges, seed=i)
        return self._cache[i]


def is_pair_folder(root: str | Path) -> bool:
    """Whether ``root`` holds line-art pairs (``line/`` and ``color/``) rather than photos."""
    return (Path(root) / "line").is_dir() and (Path(root) / "color").is_dir()


def pair_batch(pairs: list[tuple[np.ndarray, np.ndarray]], device: torch.device):
    """``[(line uint8 (H, W), color uint8 (H, W, 3))]`` -> ``(lab, lines, regions)`` as in the module docstring."""
    lab = torch.from_numpy(np.stack([rgb8_to_lab(c) for _, c in pairs])).permute(0, 3, 1, 2).to(device)
    line_l = np.stack([rgb8_to_lab(np.repeat(l[..., None], 3, axis=2))[..., 0] for l, _ in pairs])
    regions = np.stack([label_regions(ll < LINE_L)[0] for ll in line_l])
    lines = torch.from_numpy(1.0 - line_l / 100.0).float()[:, None].to(device)
    return lab, lines, regions


class LineArtBatches:
    """Line-art mode batches for :mod:`ganpaint.training.train_colorize`: half pairs, half photo line art."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pair_sets = [LineArtPairs(d, "train") for d in args.data if is_pair_folder(d)]
        self.photo_sets = [PhotoLineArt(d, "train", args.photo_lines) for d in args.data if not is_pair_folder(d)]
        if not self.pair_sets and not self.photo_sets:
            raise SystemExit("--mode lineart needs pair folders (line/ + color/) or photo folders in --data")
        self.size = sum(map(len, self.pair_sets)) + sum(map(len, self.photo_sets))
        samples = []
        for kind in (self.pair_sets, self.photo_sets):
            for d in args.data:
                if is_pair_folder(d) == (kind is self.pair_sets):
                    val = LineArtPairs(d, "val") if kind is self.pair_sets else PhotoLineArt(d, "val", args.photo_lines)
                    samples += [val.pair(i) for i in range(min(3, len(val)))]
                    break
        self.samples = [_crop_pair(l, c, 192, np.random.default_rng(i), 1.0, flip=False) for i, (l, c) in enumerate(samples)]

    def batch(self, rng: np.random.Generator, n: int, device: torch.device):
        pairs = []
        for _ in range(n):
            sets = self.pair_sets if (self.pair_sets and (not self.photo_sets or rng.random() < 0.5)) else self.photo_sets
            ds = sets[int(rng.integers(0, len(sets)))]
            line, color = ds.pair(int(rng.integers(0, len(ds))))
            pairs.append(_crop_pair(line, color, self.args.size, rng, self.args.scale_min))
        return pair_batch(pairs, device)

    def sample_batch(self, device: torch.device):
        lab, lines, regions = pair_batch(self.samples, device)
        return lab, lines, regions
