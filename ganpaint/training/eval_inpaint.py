"""``ganpaint eval inpaint``: held-out inpainting quality of a model against two baselines.

Protocol:

* images: the ``val`` split of each ``--data`` folder (plain folders: all images), short side resized to
  ``--size`` and centre-cropped (:class:`~ganpaint.training.data.ImageFolderDataset`), at most ``--limit``
  per folder;
* masks: for the ``i``-th image overall, ``eval_mask(kind, i, size, size)`` for each kind ``thin``
  (thin strokes, 2-25 % of the image), ``thick`` (thick strokes, 10-45 %) and ``box`` (one rectangle,
  10-30 %); fixed seeds, so every method and every run sees the same holes;
* every method receives the image with the hole pixels set to grey 127 (none can see the truth) and its
  output is composited (outside the hole = truth):

  - ``model``: the model through the real :class:`~ganpaint.engines.inpaint.InpaintEngine` path
    (crops, padding, feathered paste), loaded through the model registry;
  - ``mean``: the hole filled with the mean colour of the image's valid pixels;
  - ``telea``: ``cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)`` (OpenCV, the ``eval`` extra).

Metrics, per image then averaged over images (``sharpness``: pooled), all on 8-bit values:

* ``psnr``: ``10 log10(255^2 / MSE)``, MSE over the hole pixels and the 3 RGB channels;
* ``ssim``: SSIM (Wang et al. 2004; gaussian window 11, sigma 1.5, K1 0.01, K2 0.03) computed on the
  grayscale (ITU-R 601 luma) composited image vs the truth, then the mean of the SSIM map over the hole
  pixels;
* ``sharpness``: gradient energy of the output inside the hole relative to the truth's in the same
  region: ``sum (luma difference)^2`` over pairs of horizontally/vertically adjacent pixels that are
  both in the hole (so seams at the hole border do not count), output / truth, pooled over all images
  of the kind; 1.0 = as much detail as the real image there, 0 = flat, lower = blurrier.
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
from ganpaint.training.masks import EVAL_KINDS, eval_mask

METHODS = ("model", "telea", "mean")
_ENGINE_OPTIONS = {"feather": float, "max_hole_radius": int, "work_size": int, "min_margin": int, "margin_ratio": float}
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
                        help="override an engine setting for this evaluation (feather, max_hole_radius, work_size, "
                             "min_margin, margin_ratio); repeatable")
    parser.add_argument("--card-metrics", action="store_true",
                        help="also store the results in the evaluated model's card (metrics.eval)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="methods to evaluate")


# ------------------------------------------------------------------------------------- metrics


def _luma(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float64)
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


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
    """OpenCV Telea inpainting (radius 3)."""
    cv2 = _cv2()
    bgr = np.ascontiguousarray(image[..., ::-1])
    out = cv2.inpaint(bgr, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    return np.ascontiguousarray(out[..., ::-1])


# ---------------------------------------------------------------------------------------- model


def _engine_from_checkpoint(path: str, tmp: Path):
    import torch

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.training.checkpoint import export_model, load_checkpoint
    from ganpaint.training.train_inpaint import build_generator, inpaint_card

    from ganpaint.errors import ModelError

    if not Path(path).is_file():
        raise ModelError(f"checkpoint '{path}' does not exist")
    state = load_checkpoint(path)
    g = build_generator(dict(state["g_config"]))
    g.load_state_dict(state["generator_ema"])
    name = f"checkpoint-step-{int(state['step'])}"
    export_model(g, tmp, name, inpaint_card(dict(state["g_config"]), resolution=256, dataset=list(state.get("data", [])),
                                          training={"steps": int(state["step"])}), half=False)
    del torch
    return ModelRegistry([tmp]).create_engine(name)


def _load_engine(args, tmp: Path):
    import torch

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.device import select_device

    if args.checkpoint:
        engine = _engine_from_checkpoint(args.checkpoint, tmp)
    else:
        registry = ModelRegistry.default()
        engine = registry.create_engine(registry.model_for("inpaint", args.model).name)
    for option in args.engine_option:
        key, _, value = option.partition("=")
        if key not in _ENGINE_OPTIONS or not value:
            raise GanpaintError(f"--engine-option expects KEY=VALUE with KEY in {', '.join(_ENGINE_OPTIONS)}, got '{option}'")
        setattr(engine, key, _ENGINE_OPTIONS[key](value))
    device = select_device(args.device)
    engine.load(device, half=False)
    del torch
    return engine


def _tile(img: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    if img.shape[0] == side and img.shape[1] == side:
        return img
    return np.asarray(Image.fromarray(img).resize((side, side), Image.LANCZOS))


def run(args: argparse.Namespace) -> int:
    from ganpaint.training.data import ImageFolderDataset

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if "telea" in args.methods:
        _cv2()
    ds = ImageFolderDataset(args.data, "val", args.size, limit=args.limit, cache=False)
    counts: dict[str, int] = {}
    for s in ds.sources:
        counts[s] = counts.get(s, 0) + 1
    with tempfile.TemporaryDirectory() as tmpdir:
        engine = _load_engine(args, Path(tmpdir)) if "model" in args.methods else None
        model_name = engine.card.name if engine is not None else None
        from ganpaint.engines.inpaint import inpaint_array

        per: dict[str, dict[str, dict[str, list[float]]]] = {
            k: {m: {"psnr": [], "ssim": [], "g_out": [], "g_true": []} for m in args.methods} for k in EVAL_KINDS}
        times: dict[str, list[float]] = {m: [] for m in args.methods}
        grid_rows = []
        t_start = time.perf_counter()
        n = len(ds)
        for i in range(n):
            truth = ds[i]
            for kind in EVAL_KINDS:
                mask = eval_mask(kind, i, args.size, args.size)
                hole = mask > 127
                given = truth.copy()
                given[hole] = HOLE_GREY
                outs = {}
                for method in args.methods:
                    t0 = time.perf_counter()
                    if method == "model":
                        out = inpaint_array(engine, given, mask)
                    elif method == "telea":
                        out = telea_fill(given, hole)
                    else:
                        out = mean_fill(given, hole)
                    times[method].append(time.perf_counter() - t0)
                    out = np.where(hole[..., None], out, truth)
                    outs[method] = out
                    r = per[kind][method]
                    r["psnr"].append(psnr_in_hole(out, truth, hole))
                    r["ssim"].append(ssim_in_hole(out, truth, hole))
                    r["g_out"].append(gradient_energy(out, hole))
                    r["g_true"].append(gradient_energy(truth, hole))
                if args.grid and len(grid_rows) < args.grid_rows and i % 3 == EVAL_KINDS.index(kind) % 3 \
                        and i // 3 < args.grid_rows:
                    inp = truth.copy()
                    inp[hole] = 255
                    row = [inp] + [outs[m] for m in ("mean", "telea", "model") if m in outs] + [truth]
                    grid_rows.append([_tile(x, args.grid_tile) for x in row])
            if sys.stderr.isatty() or (i + 1) % 10 == 0 or i + 1 == n:
                print(f"\reval {i + 1}/{n} images ({time.perf_counter() - t_start:.0f} s)", end="", file=sys.stderr)
        print(file=sys.stderr)

    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind in EVAL_KINDS:
        results[kind] = {}
        for method in args.methods:
            r = per[kind][method]
            finite = [p for p in r["psnr"] if math.isfinite(p)]
            results[kind][method] = {
                "psnr": round(float(np.mean(finite)), 3) if finite else float("nan"),
                "ssim": round(float(np.mean(r["ssim"])), 4),
                "sharpness": round(float(np.sum(r["g_out"]) / max(np.sum(r["g_true"]), 1e-9)), 4),
            }
    report = {
        "model": model_name,
        "engine_options": list(args.engine_option),
        "checkpoint": args.checkpoint,
        "size": args.size,
        "images": counts,
        "n_images": n,
        "split": "val",
        "results": results,
        "ms_per_image": {m: round(1000 * float(np.mean(t)), 1) for m, t in times.items() if t},
        "definitions": {
            "psnr": "dB over hole pixels, RGB, 8-bit; mean over images",
            "ssim": "grayscale (luma) SSIM map, gaussian window 11 sigma 1.5, averaged over hole pixels; mean over images",
            "sharpness": "sum of squared luma differences of adjacent pixel pairs both inside the hole, output / truth, pooled over images (1.0 = as detailed as the truth)",
            "masks": "eval_mask(kind, image index, size, size): thin strokes 2-25%, thick strokes 10-45%, box 10-30%",
            "input": "hole pixels set to grey 127 for every method; outputs composited with the truth outside the hole",
        },
    }
    _print_table(report)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    if args.card_metrics:
        _store_in_card(engine, report, args)
    if args.grid and grid_rows:
        from ganpaint.training.progress import sample_grid, save_png

        save_png(args.grid, sample_grid(grid_rows))
        print(f"wrote {args.grid} (columns: input | {' | '.join(m for m in ('mean', 'telea', 'model') if m in args.methods)} | truth)")
    return 0


def _store_in_card(engine, report: dict, args) -> None:
    """Write ``report`` into the evaluated model card's ``metrics`` (weights and sha256 untouched)."""
    from ganpaint.engines.registry import write_card

    if engine is None or args.checkpoint:
        raise GanpaintError("--card-metrics needs a registered model (not --checkpoint) and the 'model' method")
    card = engine.card.to_dict()
    metrics = dict(card.get("metrics") or {})
    metrics["eval"] = {k: report[k] for k in ("size", "split", "images", "n_images", "results", "ms_per_image", "definitions")}
    metrics["eval"]["command"] = "ganpaint eval inpaint " + " ".join(
        ["--data", *args.data, "--size", str(args.size)] + (["--limit", str(args.limit)] if args.limit else []))
    if args.grid:
        metrics["samples"] = Path(args.grid).name
    card["metrics"] = metrics
    write_card(card, engine.card.card_path)
    print(f"stored the metrics in {engine.card.card_path}")


def _print_table(report: dict) -> None:
    print(f"inpainting eval: {report['n_images']} val images ({', '.join(f'{k} {v}' for k, v in report['images'].items())}), "
          f"{report['size']}x{report['size']}, model {report['model'] or '-'}")
    header = f"{'masks':<6} {'method':<8} {'PSNR':>7} {'SSIM':>7} {'sharp':>7}"
    print(header)
    print("-" * len(header))
    for kind, methods in report["results"].items():
        for method, r in methods.items():
            print(f"{kind:<6} {method:<8} {r['psnr']:>7.2f} {r['ssim']:>7.4f} {r['sharpness']:>7.3f}")
    print("ms per image: " + ", ".join(f"{m} {v}" for m, v in report["ms_per_image"].items()))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.eval_inpaint ...``."""
    parser = argparse.ArgumentParser(prog="ganpaint eval inpaint", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
