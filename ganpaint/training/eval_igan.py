"""``ganpaint eval igan``: projection and constrained editing (iGAN) on held-out photos.

Protocol (``--split`` photos of ``--data``, at most ``--limit``; each whole photo is the region):

* **projection**: PSNR (dB) and VGG distance (:func:`ganpaint.training.perceptual.vgg_distance`, pix2pixHD
  weights, at the GAN's resolution; lower is better) between the photo at the GAN's resolution and
  - the encoder's guess alone,
  - the encoder's guess refined by ``--steps`` optimisation steps (iGAN's hybrid method, what the studio
    and ``ganpaint project`` do),
  - the same optimisation without the encoder, started from the nearest of 32 random samples (iGAN's
    optimisation-only baseline, which the encoder must beat);
* **editing**, from the hybrid projection, each photo gets one colour stroke and, separately, one sketch
  stroke (random polylines of 3 points from ``--seed``; colour strokes ``--stroke-width`` photo pixels
  wide, in a colour from :data:`PALETTE` far from the projection's colour there), edited with
  ``--candidates`` candidates and ``--edit-steps`` steps; the best candidate is scored:
  - colour: mean absolute RGB error (0..255) under the stroke, projection vs edit;
  - sketch: edge recall, the share of the stroke's centre-line pixels with an HED edge (the HED network of
    :mod:`ganpaint.nets.vgg`, on the picture up-sampled 2x, probability >= 0.5, max-pooled back) within 1
    pixel, projection vs edit;
  - change outside the strokes: mean absolute difference (0..255) between projection and edit more than
    ``--margin`` GAN pixels away from the stroke, and the same inside that band for comparison;
  - transfer: the edit carried back onto the photo (:func:`ganpaint.engines.transfer.transfer_edit`): colour
    error under the colour stroke on the photo itself, before and after;
* ``--grid PNG``: rows photo | encoder | hybrid projection | colour stroke | colour edit | transferred |
  sketch stroke | sketch edit, for the first 6 photos.

``--json OUT`` writes the numbers (the ``metrics.igan`` of the model card); ``--report MD`` a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

#: Stroke colours (RGB): saturated primaries and secondaries, white and near-black.
PALETTE = ((230, 30, 30), (30, 200, 40), (40, 70, 230), (250, 220, 30), (230, 40, 200), (30, 210, 220),
           (250, 250, 250), (20, 20, 20))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GAN model name or card .json (with an encoder)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (splits.json + images/)")
    parser.add_argument("--split", default="val", help="held-out split")
    parser.add_argument("--limit", type=int, default=100, help="at most N photos")
    parser.add_argument("--steps", type=int, default=100, help="projection optimisation steps")
    parser.add_argument("--candidates", type=int, default=8, help="edit candidates")
    parser.add_argument("--edit-steps", type=int, default=40, help="edit optimisation steps")
    parser.add_argument("--closeness", type=float, default=None, help="closeness weight (default: the card's)")
    parser.add_argument("--stroke-width", type=float, default=12.0, help="colour stroke width in photo pixels")
    parser.add_argument("--margin", type=int, default=4, help="GAN pixels around a stroke that count as its neighbourhood")
    parser.add_argument("--seed", type=int, default=0, help="stroke seed")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the metrics as JSON")
    parser.add_argument("--report", metavar="MD", default=None, help="write a Markdown summary")
    parser.add_argument("--grid", metavar="PNG", default=None, help="sample grid (see the module docstring)")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")


def random_polyline(rng: np.random.Generator, size: int, points: int = 3) -> list[tuple[float, float]]:
    """``points`` points in the middle 70 % of a ``size`` x ``size`` photo, consecutive ones at least a fifth of
    the side apart (photo pixels)."""
    lo, hi = 0.15 * size, 0.85 * size
    pts = [tuple(rng.uniform(lo, hi, 2))]
    while len(pts) < points:
        p = tuple(rng.uniform(lo, hi, 2))
        if np.hypot(p[0] - pts[-1][0], p[1] - pts[-1][1]) >= size / 5:
            pts.append(p)
    return [(float(x), float(y)) for x, y in pts]


def far_colour(picture: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    """The :data:`PALETTE` colour farthest (RGB distance) from ``picture``'s mean colour under ``mask``."""
    mean = picture[mask].astype(np.float64).mean(axis=0) if mask.any() else picture.reshape(-1, 3).mean(axis=0)
    return max(PALETTE, key=lambda c: float(np.linalg.norm(np.array(c) - mean)))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``bool (H, W)`` by a square of side ``2 * radius + 1``."""
    import cv2

    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def hed_edges(hed, pictures: np.ndarray) -> np.ndarray:
    """``bool (N, R, R)``: HED edge probability >= 0.5 on ``uint8 (N, R, R, 3)`` pictures up-sampled 2x,
    max-pooled back to ``R``."""
    import torch
    import torch.nn.functional as F

    from ganpaint.engines.latent import to_tensor

    x = to_tensor(pictures, next(hed.parameters()).device)
    with torch.no_grad():
        e = hed(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        e = F.max_pool2d(e, 2)
    return (e[:, 0] >= 0.5).cpu().numpy()


def edge_recall(edges: np.ndarray, line: np.ndarray) -> float:
    """Share of ``line`` pixels (``bool (R, R)``) with an edge of ``edges`` within 1 pixel (NaN for no line)."""
    if not line.any():
        return float("nan")
    return float(dilate(edges, 1)[line].mean())


def stroke_overlay(picture: np.ndarray, maps) -> np.ndarray:
    """``picture`` with the colour strokes painted in and sketch lines in black (for the grid)."""
    out = picture.copy()
    c = maps.color_mask > 0
    out[c] = maps.color_target[c].astype(np.uint8)
    out[maps.sketch_mask > 0] = 0
    return out


def run(args: argparse.Namespace) -> int:
    import os

    import torch

    from ganpaint.document.vectors import SketchStroke
    from ganpaint.engines.constraints import color_error, rasterize_strokes
    from ganpaint.engines.manifold import build_model
    from ganpaint.engines.registry import ModelCard, ModelRegistry, load_state_dict
    from ganpaint.engines.latent import psnr
    from ganpaint.engines.transfer import crop_region, transfer_edit
    from ganpaint.nets.vgg import HED, VGG16Features
    from ganpaint.training.data import list_split, load_rgb_pil
    from ganpaint.training.perceptual import vgg_distance
    from ganpaint.training.progress import sample_grid, save_png

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    device = torch.device(args.device if args.device != "auto" else "cpu")
    t_start = time.perf_counter()
    card = ModelCard.from_json(args.model) if args.model.endswith(".json") else ModelRegistry.default().get(args.model)
    model = build_model(load_state_dict(card), card.config, device, card.architecture)
    if model.E is None:
        print(f"model '{card.name}' has no encoder: 'encoder' rows use the average latent", file=sys.stderr)
    proj_cfg, edit_cfg = card.config.get("projection", {}), card.config.get("edit", {})
    closeness = args.closeness if args.closeness is not None else float(edit_cfg.get("closeness", 0.05))
    vgg, hed = VGG16Features.pretrained(device=device), HED.pretrained(device=device)
    r = model.resolution
    rng = np.random.default_rng(args.seed)
    paths = list_split(args.data, args.split)[:args.limit]
    rows: dict[str, list[float]] = {}
    grid = []

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(float(value))

    for i, path in enumerate(paths):
        photo = np.asarray(load_rgb_pil(path), np.uint8)
        h, w = photo.shape[:2]
        rect = (0, 0, w, h)
        target = crop_region(photo, rect, r)
        hybrid = model.project(target, steps=args.steps, lr=float(proj_cfg.get("lr", 0.1)),
                               prior=float(proj_cfg.get("prior", 1e-3)))
        saved_e, model.E = model.E, None
        plain = model.project(target, steps=args.steps, lr=float(proj_cfg.get("lr", 0.1)),
                              prior=float(proj_cfg.get("prior", 1e-3)))
        model.E = saved_e
        for name, pic in (("encoder", hybrid.encoder_image), ("hybrid", hybrid.image), ("optimisation_only", plain.image)):
            add(f"projection.{name}.psnr", psnr(pic, target))
            add(f"projection.{name}.vgg", vgg_distance(vgg, pic, target))

        row = [target, hybrid.encoder_image, hybrid.image]
        for kind in ("color", "sketch"):
            pts = random_polyline(rng, min(h, w))
            probe = rasterize_strokes([SketchStroke(pts, (0, 0, 0), args.stroke_width, kind="color")], rect, r)
            rgb = far_colour(hybrid.image, probe.color_mask > 0) if kind == "color" else (0, 0, 0)
            stroke = SketchStroke(pts, rgb, args.stroke_width if kind == "color" else 2.0, kind=kind)
            maps = rasterize_strokes([stroke], rect, r)
            edit = model.edit(hybrid.w, maps, candidates=args.candidates, steps=args.edit_steps,
                              lr=float(edit_cfg.get("lr", 0.1)), closeness=closeness,
                              w_color=float(edit_cfg.get("w_color", 1.0)), w_sketch=float(edit_cfg.get("w_sketch", 1.0)),
                              spread=float(edit_cfg.get("spread", 0.5)), seed=args.seed + i)
            best = edit.images[0]
            region = maps.changed_region()
            near = dilate(region, args.margin)
            diff = np.abs(best.astype(np.float64) - hybrid.image).mean(axis=2)
            add(f"edit.{kind}.change_outside", diff[~near].mean())
            add(f"edit.{kind}.change_near_stroke", diff[near].mean())
            if kind == "color":
                add("edit.color.error_before", color_error(hybrid.image, maps))
                add("edit.color.error_after", color_error(best, maps))
                moved, _ = transfer_edit(photo, rect, hybrid.image, best)
                photo_maps = rasterize_strokes([stroke], (0, 0, w, h), max(h, w)) if h == w else None
                if photo_maps is not None:
                    add("edit.color.photo_error_before", color_error(photo, photo_maps))
                    add("edit.color.photo_error_after", color_error(moved, photo_maps))
                row += [stroke_overlay(hybrid.image, maps), best, crop_region(moved, rect, r)]
            else:
                line = maps.sketch_mask > 0
                before, after = hed_edges(hed, np.stack([hybrid.image, best]))
                add("edit.sketch.edge_recall_before", edge_recall(before, line))
                add("edit.sketch.edge_recall_after", edge_recall(after, line))
                row += [stroke_overlay(hybrid.image, maps), best]
        if len(grid) < 6:
            grid.append(row)
        print(f"{i + 1}/{len(paths)} {path.name}: hybrid {hybrid.psnr:.2f} dB, encoder {hybrid.encoder_psnr:.2f} dB",
              file=sys.stderr)

    result = {"protocol": (f"{len(paths)} '{args.split}' photos of {Path(args.data).name} (whole photo as the region, "
                           f"{r} px); projection {args.steps} steps; edits: {args.candidates} candidates, "
                           f"{args.edit_steps} steps, closeness {closeness}, colour strokes {args.stroke_width} px "
                           f"wide, seed {args.seed}"),
              "metrics": {k: float(np.nanmean(v)) for k, v in sorted(rows.items())},
              "seconds": round(time.perf_counter() - t_start, 1)}
    if args.grid and grid:
        save_png(args.grid, sample_grid(grid))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.report:
        Path(args.report).write_text(markdown_table(result["metrics"]) + "\n", encoding="utf-8")
    return 0


def markdown_table(m: dict) -> str:
    """The projection and edit numbers of :func:`run` as Markdown tables."""
    g = m.get
    lines = ["| projection | PSNR (dB) | VGG distance |", "|---|---|---|"]
    for name, title in (("encoder", "encoder alone"), ("hybrid", "encoder + optimisation"),
                        ("optimisation_only", "optimisation from the best of 32 random samples")):
        lines.append(f"| {title} | {g(f'projection.{name}.psnr', float('nan')):.2f} | "
                     f"{g(f'projection.{name}.vgg', float('nan')):.3f} |")
    lines += ["", "| edit | before | after | change outside strokes (0..255) | change near strokes |", "|---|---|---|---|---|",
              f"| colour error under the stroke (0..255) | {g('edit.color.error_before', float('nan')):.1f} | "
              f"{g('edit.color.error_after', float('nan')):.1f} | {g('edit.color.change_outside', float('nan')):.1f} | "
              f"{g('edit.color.change_near_stroke', float('nan')):.1f} |",
              f"| colour error on the photo after transfer | {g('edit.color.photo_error_before', float('nan')):.1f} | "
              f"{g('edit.color.photo_error_after', float('nan')):.1f} | | |",
              f"| HED edge recall on the sketch line | {g('edit.sketch.edge_recall_before', float('nan')):.3f} | "
              f"{g('edit.sketch.edge_recall_after', float('nan')):.3f} | {g('edit.sketch.change_outside', float('nan')):.1f} | "
              f"{g('edit.sketch.change_near_stroke', float('nan')):.1f} |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.eval_igan ...``."""
    parser = argparse.ArgumentParser(prog="ganpaint eval igan")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["PALETTE", "add_arguments", "edge_recall", "far_colour", "hed_edges", "markdown_table", "random_polyline",
           "run"]
