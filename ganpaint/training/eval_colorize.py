"""``ganpaint eval colorize``: held-out quality of a colorization model against baselines.

Photo models (the paper's protocol, Zhang et al. 2017, Fig. 4): images of the ``val`` split of each ``--data``
folder, short side resized to ``--size`` and centre-cropped, at most ``--limit`` per folder. For each image and
each number of hints N in ``--points`` (default 0, 1, 2, 5, 10, 20, 50, 100), N hints are revealed from the
truth at uniformly random places (seed: image index and N), each a 3x3 patch at its mean colour. Methods, all
given the grayscale picture and the same hints:

* ``model``: the model through the real :class:`~ganpaint.engines.colorize.ColorizeEngine` path (each hint a
  point hint of radius 1.5 px at the patch's mean RGB);
* ``levin``: Levin, Lischinski, Weiss 2004, optimisation colorization (:mod:`ganpaint.training.levin`) with
  the hint patches' mean ab;
* ``gray``: the grayscale input itself (ab = 0), independent of N.

Metric: PSNR in dB of the RGB 8-bit output against the truth, mean over images.

Line-art models: pairs of the ``val`` split of each pair folder (``line/`` + ``color/``, e.g.
``openmoji_lineart``), at most ``--limit`` per folder. The drawing's regions are those the engine uses
(:mod:`ganpaint.engines.lineart_regions`); for N in ``--lineart-hints`` (default 0, 1, 3, 5) hints are
placed in N random regions of at least 64 px (at the pixel deepest inside the region, radius 2 px, the
truth's colour there). Methods: ``model`` (flat fills), ``raw`` (the same network's prediction without the
per-region flattening), ``levin`` (Levin et al. propagating the hints' full Lab colour along the drawing's
lightness; N = 0: the drawing itself). Metrics, pooled over drawings:

* ``acc_hinted`` / ``acc_other``: share of regions (>= 64 px) whose mean output colour is within CIE76
  ``Delta E < 10`` of the truth's mean colour there, for the regions holding a hint / all other regions;
* ``leak``: share of the non-line pixels outside the hinted regions that took a hint's colour
  (``Delta E < 10``) although their true colour is not that (``Delta E >= 10``): colour that crossed a line;
* ``lines_black``: share of the drawing's dark line pixels (L < 25) that are dark (L < 25) in the output.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ganpaint.errors import GanpaintError
from ganpaint.lab import lab_to_rgb8, rgb8_to_lab

PHOTO_POINTS = (0, 1, 2, 5, 10, 20, 50, 100)
LINEART_HINTS = (0, 1, 3, 5)
DELTA_E = 10.0
MIN_REGION = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="photo folders (photo models) or line-art pair folders (line-art models); val split")
    parser.add_argument("--model", default=None, help="model name in the registry (default: the default "
                        "colorization model)")
    parser.add_argument("--checkpoint", metavar="PT", default=None,
                        help="evaluate a training checkpoint (EMA network) instead of a registered model")
    parser.add_argument("--size", type=int, default=256, help="photo evaluation size (centre crop)")
    parser.add_argument("--limit", type=int, default=20, help="at most N images per dataset folder (0: all)")
    parser.add_argument("--points", type=int, nargs="+", default=list(PHOTO_POINTS), help="photo: numbers of hints")
    parser.add_argument("--lineart-hints", type=int, nargs="+", default=list(LINEART_HINTS),
                        help="line art: numbers of hinted regions")
    parser.add_argument("--no-levin", action="store_true", help="skip the Levin et al. baseline (slow: a sparse "
                        "solve per image and N)")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the results as JSON")
    parser.add_argument("--grid", metavar="IMAGE", default=None, help="write a sample grid (.png or .jpg)")
    parser.add_argument("--card-metrics", action="store_true",
                        help="also store the results in the evaluated model's card (metrics.eval)")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")


# ------------------------------------------------------------------------------------- engines


def _engine_from_checkpoint(path: str, tmp: Path):
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.nets.colorization import LiteSIGGRAPHGenerator
    from ganpaint.training.checkpoint import export_model, load_checkpoint
    from ganpaint.training.train_colorize import colorize_card

    state = load_checkpoint(path)  # InputError when missing or unreadable
    net = LiteSIGGRAPHGenerator(**state["config"])
    net.load_state_dict(state["net_ema"])
    name = f"checkpoint-step-{int(state['step'])}"
    export_model(net, tmp, name, colorize_card(dict(state["config"]), state["mode"], dataset=list(state.get("data", [])),
                                               training={"steps": int(state["step"])}), half=False)
    return ModelRegistry([tmp]).create_engine(name)


def _load_engine(args, tmp: Path):
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.device import select_device

    if args.checkpoint:
        engine = _engine_from_checkpoint(args.checkpoint, tmp)
    else:
        registry = ModelRegistry.default()
        engine = registry.create_engine(registry.model_for("colorize", args.model).name)
    engine.load(select_device(args.device), half=False)
    return engine


# ------------------------------------------------------------------------------------ photo


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two ``uint8`` images (all pixels and channels)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def photo_hints(truth: np.ndarray, n: int, seed: int):
    """``n`` random 3x3 hint patches of ``truth`` at their mean colour: ``(ColorHint list, hint mask, hint ab)``."""
    from ganpaint.document.vectors import ColorHint

    h, w = truth.shape[:2]
    rng = np.random.default_rng(seed)
    hints, mask, ab = [], np.zeros((h, w), bool), np.zeros((h, w, 2), np.float32)
    for _ in range(n):
        y, x = int(rng.integers(1, h - 1)), int(rng.integers(1, w - 1))
        rgb = truth[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0).round().astype(np.uint8)
        hints.append(ColorHint(x + 0.5, y + 0.5, tuple(int(c) for c in rgb), 1.5))
        mask[y - 1:y + 2, x - 1:x + 2] = True
        ab[y - 1:y + 2, x - 1:x + 2] = rgb8_to_lab(rgb[None])[0, 1:]
    return hints, mask, ab


def _with_ab(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return lab_to_rgb8(np.concatenate([lightness[..., None], ab], axis=-1).astype(np.float32))


def _overlay(image: np.ndarray, mask: np.ndarray, colors: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[mask] = colors[mask]
    return out


def eval_photo(engine, args) -> tuple[dict, list]:
    from ganpaint.engines.colorize import colorize_array
    from ganpaint.training.data import ImageFolderDataset
    from ganpaint.training.levin import levin_colorize

    ds = ImageFolderDataset(args.data, "val", args.size, limit=args.limit or None, cache=False)
    methods = ["model"] + ([] if args.no_levin else ["levin"])
    scores = {n: {m: [] for m in methods} for n in args.points}
    gray_scores, rows, t0 = [], [], time.perf_counter()
    for i in range(len(ds)):
        truth = ds[i]
        lab = rgb8_to_lab(truth)
        gray = _with_ab(lab[..., 0], np.zeros(lab.shape[:2] + (2,), np.float32))
        gray_scores.append(psnr(gray, truth))
        outs = {}
        for n in args.points:
            hints, mask, ab = photo_hints(truth, n, 1000 * i + n)
            out = colorize_array(engine, gray, hints).image
            scores[n]["model"].append(psnr(out, truth))
            outs[("model", n)] = out
            if "levin" in methods:
                lev = _with_ab(lab[..., 0], levin_colorize(lab[..., 0], ab, mask)) if n else gray
                scores[n]["levin"].append(psnr(lev, truth))
                outs[("levin", n)] = lev
            outs[("mask", n)] = mask
        if len(rows) < 6:
            n = 10 if 10 in args.points else args.points[-1]
            row = [gray, _overlay(gray, outs[("mask", n)], truth)]
            if 0 in args.points:
                row.append(outs[("model", 0)])
            row += [outs[("model", n)]] + ([outs[("levin", n)]] if "levin" in methods else []) + [truth]
            rows.append(row)
        if (i + 1) % 5 == 0 or i + 1 == len(ds):
            print(f"\reval {i + 1}/{len(ds)} images ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    counts: dict[str, int] = {}
    for s in ds.sources:
        counts[s] = counts.get(s, 0) + 1
    results = {str(n): {m: round(float(np.mean(v)), 3) for m, v in per.items()} for n, per in scores.items()}
    report = {
        "mode": "photo", "size": args.size, "split": "val", "images": counts, "n_images": len(ds),
        "psnr_db": results, "psnr_db_gray_input": round(float(np.mean(gray_scores)), 3),
        "definitions": {
            "psnr_db": "PSNR (dB, RGB 8-bit, whole image) against the truth, mean over images, per number of hints",
            "hints": "N 3x3 patches at uniformly random places revealed at their mean colour (seed 1000 * image + N)",
            "levin": "Levin, Lischinski, Weiss 2004 optimisation colorization from the same hint patches",
            "gray": "the grayscale input (ab = 0)",
        },
    }
    return report, rows


# --------------------------------------------------------------------------------- line art


def lineart_hints(line_l: np.ndarray, truth: np.ndarray, labels: np.ndarray, count: int, n: int, seed: int):
    """Hints in ``n`` random regions of at least 64 px, at each region's deepest pixel, the truth's colour there:
    ``(ColorHint list, hinted region ids)``."""
    from ganpaint.document.vectors import ColorHint

    areas = np.bincount(labels.ravel(), minlength=count)
    candidates = [r for r in range(1, count) if areas[r] >= MIN_REGION]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=min(n, len(candidates)), replace=False) if candidates and n else []
    depth = cv2.distanceTransform((labels > 0).astype(np.uint8), cv2.DIST_L2, 3)
    hints = []
    for r in chosen:
        d = np.where(labels == r, depth, -1)
        y, x = np.unravel_index(int(np.argmax(d)), d.shape)
        hints.append(ColorHint(x + 0.5, y + 0.5, tuple(int(c) for c in truth[y, x]), 2.0))
    return hints, [int(r) for r in chosen]


def lineart_scores(out: np.ndarray, truth: np.ndarray, line_l: np.ndarray, labels: np.ndarray, count: int,
                   hinted: list[int], hint_colors: np.ndarray) -> dict:
    """Counts for the line-art metrics of one output (see the module docstring)."""
    from ganpaint.engines.lineart_regions import region_means

    out_lab, true_lab = rgb8_to_lab(out), rgb8_to_lab(truth)
    areas = np.bincount(labels.ravel(), minlength=count)
    out_mean, true_mean = region_means(labels, out_lab, count), region_means(labels, true_lab, count)
    ok = np.linalg.norm(out_mean - true_mean, axis=1) < DELTA_E
    big = [r for r in range(1, count) if areas[r] >= MIN_REGION]
    hinted_set = set(hinted)
    c = {"hinted_ok": sum(ok[r] for r in big if r in hinted_set), "hinted_n": sum(r in hinted_set for r in big),
         "other_ok": sum(ok[r] for r in big if r not in hinted_set), "other_n": sum(r not in hinted_set for r in big)}
    outside = (labels > 0) & ~np.isin(labels, hinted)
    leaked = np.zeros(labels.shape, bool)
    for color in hint_colors:
        takes = np.linalg.norm(out_lab - color, axis=-1) < DELTA_E
        should = np.linalg.norm(true_lab - color, axis=-1) < DELTA_E
        leaked |= takes & ~should
    c["leak_n"], c["outside_n"] = int((leaked & outside).sum()), int(outside.sum())
    dark = line_l < 25
    c["dark_ok"], c["dark_n"] = int((out_lab[..., 0][dark] < 25).sum()), int(dark.sum())
    return c


def eval_lineart(engine, args) -> tuple[dict, list]:
    from ganpaint.engines.colorize import colorize_array
    from ganpaint.engines.lineart_regions import label_regions, line_mask
    from ganpaint.training.levin import levin_colorize
    from ganpaint.training.lineart_data import LineArtPairs, is_pair_folder

    folders = [d for d in args.data if is_pair_folder(d)]
    if not folders:
        raise GanpaintError("a line-art model is evaluated on line-art pair folders (line/ + color/)")
    pairs = []
    for d in folders:
        ds = LineArtPairs(d, "val")
        pairs += [(Path(d).name, *ds.pair(i)) for i in range(min(len(ds), args.limit or len(ds)))]
    methods = ["model", "raw"] + ([] if args.no_levin else ["levin"])
    totals = {n: {m: {} for m in methods} for n in args.lineart_hints}
    rows, t0 = [], time.perf_counter()
    for i, (_, line, truth) in enumerate(pairs):
        drawing = np.repeat(line[..., None], 3, axis=2)
        line_l = rgb8_to_lab(drawing)[..., 0]
        labels, count = label_regions(line_mask(line_l))
        outs = {}
        for n in args.lineart_hints:
            hints, hinted = lineart_hints(line_l, truth, labels, count, n, 1000 * i + n)
            colors = rgb8_to_lab(np.array([h.rgb for h in hints], np.uint8).reshape(-1, 1, 3))[:, 0] if hints \
                else np.zeros((0, 3), np.float32)
            for method in methods:
                if method == "levin":
                    if hints:
                        mask = np.zeros(line.shape, bool)
                        values = np.zeros(line.shape + (3,), np.float32)
                        for h, c in zip(hints, colors):
                            mask[int(h.y), int(h.x)] = True
                            values[int(h.y), int(h.x)] = c
                        fill = lab_to_rgb8(levin_colorize(line_l, values, mask))
                        out = cv2.multiply(fill, drawing, scale=1.0 / 255.0)
                    else:
                        out = drawing.copy()
                else:
                    engine.flat_fills = method == "model"
                    out = colorize_array(engine, drawing, hints).image
                outs[(method, n)] = out
                counts = lineart_scores(out, truth, line_l, labels, count, hinted, colors)
                total = totals[n][method]
                for k, v in counts.items():
                    total[k] = total.get(k, 0) + int(v)
            outs[("hints", n)] = hints
        engine.flat_fills = True
        if len(rows) < 6:
            n = 3 if 3 in args.lineart_hints else args.lineart_hints[-1]
            shown = drawing.copy()
            for h in outs[("hints", n)]:
                cv2.circle(shown, (int(h.x), int(h.y)), 4, h.rgb, -1)
                cv2.circle(shown, (int(h.x), int(h.y)), 4, (0, 0, 0), 1)
            rows.append([shown] + [outs[(m, n)] for m in methods] + [truth])
        if (i + 1) % 10 == 0 or i + 1 == len(pairs):
            print(f"\reval {i + 1}/{len(pairs)} drawings ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)

    def ratio(a: int, b: int) -> float:
        return round(a / b, 4) if b else float("nan")

    results = {str(n): {m: {"acc_hinted": ratio(t["hinted_ok"], t["hinted_n"]), "acc_other": ratio(t["other_ok"], t["other_n"]),
                            "leak": ratio(t["leak_n"], t["outside_n"]), "lines_black": ratio(t["dark_ok"], t["dark_n"])}
                        for m, t in per.items()} for n, per in totals.items()}
    counts: dict[str, int] = {}
    for name, _, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    report = {
        "mode": "lineart", "split": "val", "images": counts, "n_images": len(pairs), "results": results,
        "definitions": {
            "acc_hinted / acc_other": f"share of regions (>= {MIN_REGION} px) whose mean output colour is within CIE76 "
                                      f"Delta E < {DELTA_E:g} of the truth's, for hinted / other regions",
            "leak": f"share of non-line pixels outside the hinted regions that took a hint's colour (Delta E < "
                    f"{DELTA_E:g}) while their true colour differs from it",
            "lines_black": "share of the drawing's line pixels with L < 25 that have L < 25 in the output",
            "hints": "N random regions of >= 64 px, one hint each at the region's deepest pixel, radius 2 px, the "
                     "truth's colour there (seed 1000 * drawing + N)",
            "raw": "the same network without the per-region flat fills; levin: Levin et al. 2004 propagating the "
                   "hints' Lab colour along the drawing's lightness",
        },
    }
    return report, rows


# ----------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmpdir:
        engine = _load_engine(args, Path(tmpdir))
        report, rows = (eval_photo if engine.mode == "photo" else eval_lineart)(engine, args)
        report["model"] = engine.card.name
        report["checkpoint"] = args.checkpoint
    _print_report(report)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    if args.grid and rows:
        from ganpaint.document.imageio import save_image
        from ganpaint.training.progress import sample_grid

        save_image(args.grid, sample_grid(rows), quality=88)  # PNG or JPEG by the extension
        columns = ("gray | hints (N=10) | model, no hints | model | levin | truth" if report["mode"] == "photo"
                   else "drawing + hints (N=3) | model | raw network | levin | truth")
        print(f"wrote {args.grid} (columns: {columns})")
    if args.card_metrics:
        _store_in_card(engine, report, args)
    return 0


def _store_in_card(engine, report: dict, args) -> None:
    """Write ``report`` into the evaluated model card's ``metrics.eval`` (weights and sha256 untouched)."""
    from ganpaint.training.checkpoint import store_eval_metrics

    if args.checkpoint:
        raise GanpaintError("--card-metrics needs a registered model, not --checkpoint")
    command = "ganpaint eval colorize " + " ".join(
        ["--model", engine.card.name, "--data", *[Path(d).name for d in args.data], "--limit", str(args.limit)])
    path = store_eval_metrics(engine.card, {k: v for k, v in report.items() if k not in ("model", "checkpoint")},
                              command, Path(args.grid).name if args.grid else None)
    print(f"stored the metrics in {path}")


def _print_report(report: dict) -> None:
    print(f"colorization eval ({report['mode']}): {report['n_images']} val images "
          f"({', '.join(f'{k} {v}' for k, v in report['images'].items())}), model {report['model']}")
    if report["mode"] == "photo":
        methods = list(next(iter(report["psnr_db"].values())))
        print(f"{'hints':>5} " + " ".join(f"{m:>8}" for m in methods) + f" {'gray':>8}   (PSNR dB)")
        for n, per in report["psnr_db"].items():
            print(f"{n:>5} " + " ".join(f"{per[m]:>8.2f}" for m in methods) + f" {report['psnr_db_gray_input']:>8.2f}")
        return
    print(f"{'hints':>5} {'method':<6} {'acc_hinted':>10} {'acc_other':>9} {'leak':>7} {'lines_black':>11}")
    for n, per in report["results"].items():
        for m, r in per.items():
            print(f"{n:>5} {m:<6} {r['acc_hinted']:>10.3f} {r['acc_other']:>9.3f} {r['leak']:>7.4f} {r['lines_black']:>11.3f}")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.eval_colorize ...``."""
    parser = argparse.ArgumentParser(prog="ganpaint eval colorize")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
