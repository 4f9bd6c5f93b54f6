"""``ganpaint eval spade``: how well a semantic-synthesis model paints the classes it is asked for.

Protocol (``--split val`` of ``--data``, at most ``--limit`` pairs):

* each validation label map (original size, raw ids: the don't-care class is a class for the
  generator) is painted by the model through the real :class:`~ganpaint.engines.synthesis.SynthesisEngine`
  blank-canvas path, twice when the model has a style encoder: with a random style (``seed + i``), and
  with the style of the real photo (the official SPADE test protocol for VAE models);
* **segmentation score**: the project's segmenter for that label set (``--segmenter``, default: the
  card's ``config["segmenter"]``, else an installed segmentation model with the same labels) labels the
  generated pictures and the real photos; mean IoU (classes with a non-empty union, "nanmean") and pixel
  accuracy against the input label map, don't-care pixels excluded. The real photos give the segmenter's
  own accuracy, a reference (generated pictures, painted from the label map, can be easier to segment);
* **FD-seg**: Frechet distance (:mod:`ganpaint.training.fid`) between Gaussian fits of the segmenter's
  pooled deepest features (:meth:`ganpaint.engines.segment.Segmenter.features`, the global-average-pooled
  output of the last encoder stage after its context block) of the generated and the real pictures, all
  centre-cropped to a square and resized to ``--fd-size`` (256) pixels. For scale it also reports the FD
  between real *training* photos (as many, same preprocessing) and the real validation photos. These
  features are semantic: pictures that share the validation layouts can score below that value, so
  compare generators with each other and with the flat baseline, not with it;
* **baseline**: "flat" pictures, every class painted with its mean colour over the training photos
  (exact layout, no texture), scored the same way;
* ``--grid PNG``: rows label | flat baseline | generated (random style) | generated (photo's style) | real.

``--json OUT`` writes the numbers (the ``metrics`` of the model card); ``--report MD`` a Markdown table.
``--checkpoint last.pt`` evaluates a training checkpoint's EMA networks instead of a registered model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ganpaint.errors import ModelError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import seed

    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (images/, labels/, splits.json)")
    parser.add_argument("--model", default=None, help="synthesis model name (default: the default synthesis model)")
    parser.add_argument("--checkpoint", metavar="PT", default=None, help="evaluate a 'ganpaint train spade' checkpoint")
    parser.add_argument("--segmenter", default=None, help="segmentation model name (default: the label set's)")
    parser.add_argument("--split", default="val", help="split of splits.json to evaluate on")
    parser.add_argument("--limit", type=int, default=None, help="at most N label maps")
    parser.add_argument("--seed", type=seed, default=0, help="style seed of the first image (then +1 per image)")
    parser.add_argument("--fd-size", type=int, default=256, help="square size of the images fed to the feature network")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the metrics as JSON")
    parser.add_argument("--report", metavar="MD", default=None, help="write a Markdown summary")
    parser.add_argument("--grid", metavar="PNG", default=None, help="sample grid (label | flat baseline | random style | photo style | real)")
    parser.add_argument("--grid-rows", type=int, default=6, help="rows of the sample grid")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")


# ------------------------------------------------------------------------------------- metrics


def confusion(target: np.ndarray, pred: np.ndarray, num_classes: int, ignore: int = 255) -> np.ndarray:
    """``int64 (K, K)`` confusion matrix (rows: target, columns: prediction) over pixels whose target is a
    class id below ``num_classes`` (``ignore`` and other values are skipped)."""
    valid = (target != ignore) & (target < num_classes)
    t = target[valid].astype(np.int64)
    p = np.minimum(pred[valid].astype(np.int64), num_classes - 1)
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores(conf: np.ndarray, names: list[str]) -> dict:
    """``{"miou", "pixel_acc", "iou": {class: IoU}}`` from a confusion matrix; classes whose union is
    empty are left out of the mean ("nanmean")."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return {"miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0,
            "pixel_acc": float(tp.sum() / max(conf.sum(), 1)),
            "iou": {n: (None if np.isnan(v) else round(float(v), 4)) for n, v in zip(names, iou)}}


def square(image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Centre square crop of ``image`` (``(H, W, 3)`` or ``(H, W)`` uint8) resized to ``size``."""
    from PIL import Image

    h, w = image.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[y0:y0 + s, x0:x0 + s]))
    return np.asarray(crop.resize((size, size), Image.NEAREST if nearest else Image.BICUBIC), dtype=np.uint8)


def class_mean_colors(data: Path, split: str = "train") -> np.ndarray:
    """``uint8 (256, 3)``: mean photo colour of every label id over ``split`` (ids never seen: grey 128),
    the "flat" baseline painter: it gets the layout exactly right and has no texture at all."""
    from ganpaint.training.seg_data import SegmentationDataset

    ds = SegmentationDataset(data, split, ignore_id=-1, jitter=0.0)
    sums, counts = np.zeros((256, 3)), np.zeros(256)
    for i in range(len(ds)):
        photo, raw = (np.asarray(a, dtype=np.uint8) for a in ds.images(i))
        ids = raw.ravel()
        counts += np.bincount(ids, minlength=256)
        for c in range(3):
            sums[:, c] += np.bincount(ids, weights=photo[..., c].ravel().astype(np.float64), minlength=256)
    lut = np.full((256, 3), 128.0)
    seen = counts > 0
    lut[seen] = sums[seen] / counts[seen, None]
    return np.clip(np.rint(lut), 0, 255).astype(np.uint8)


def features_of(segmenter, images: list[np.ndarray], size: int, batch: int = 16) -> np.ndarray:
    """``float64 (N, D)`` pooled segmenter features of RGB images (centre square, ``size`` px, [-1, 1])."""
    import torch

    out = []
    for i in range(0, len(images), batch):
        x = np.stack([square(im, size) for im in images[i:i + batch]])
        t = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        out.append(segmenter.features(t).cpu().double().numpy())
    return np.concatenate(out)


# ------------------------------------------------------------------------------------- loading


def card_from_checkpoint(path: Path, data: Path, folder: Path):
    """Export a training checkpoint's EMA generator + encoder to ``folder`` and return its card (fp32)."""
    from ganpaint.engines.registry import ModelCard
    from ganpaint.nets.spade import ConvEncoder, SPADEGenerator, SPADEOptions
    from ganpaint.training import checkpoint as ckpt
    from ganpaint.training.seg_data import read_classes
    from ganpaint.training.train_spade import export_state, spade_card

    state = ckpt.load_checkpoint(path)
    opt = SPADEOptions.from_dict(state["options"])
    gen, enc = SPADEGenerator(opt), ConvEncoder(opt)
    gen.load_state_dict(state["generator_ema"])
    enc.load_state_dict(state["encoder_ema"])
    card = spade_card(opt, data=data, classes=read_classes(data), resolution=256,
                      training={"checkpoint": str(path), "steps": int(state["step"])})
    _, card_path = ckpt.export_model(export_state(gen, enc), folder, f"checkpoint-{int(state['step'])}", card, half=False)
    return ModelCard.from_json(card_path)


def run(args: argparse.Namespace) -> int:
    import torch

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.engines.segment import load_segmenter
    from ganpaint.engines.synthesis import SynthesisEngine, find_segmenter_card, synthesize_array
    from ganpaint.inference.device import select_device
    from ganpaint.training.fid import frechet_distance_of
    from ganpaint.training.progress import sample_grid, save_png
    from ganpaint.training.seg_data import SegmentationDataset

    device = select_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    data = Path(args.data)
    ds = SegmentationDataset(data, args.split, jitter=0.0, limit=args.limit)  # bad data fails before any model loads
    registry = ModelRegistry.default()
    tmp = tempfile.TemporaryDirectory(prefix="ganpaint-eval-spade-")
    if args.checkpoint:
        card = card_from_checkpoint(Path(args.checkpoint), data, Path(tmp.name))
    else:
        card = registry.model_for("synthesize", args.model)
    seg_card = registry.get(args.segmenter) if args.segmenter else find_segmenter_card(registry, card)
    if seg_card is None:
        raise ModelError(f"no segmentation model for the label set of '{card.name}' is installed (use --segmenter)")
    engine = SynthesisEngine(card)
    engine.load(device)
    segmenter = load_segmenter(seg_card, device, registry=registry)
    labels = sorted(segmenter.labelset.labels, key=lambda lab: lab.id)
    num = max(lab.id for lab in labels) + 1
    names = [next((lab.name for lab in labels if lab.id == k), f"id{k}") for k in range(num)]

    kinds = ["random"] + (["photo_style"] if engine.encoder is not None else [])
    flat_lut = class_mean_colors(data)
    kinds_all = ["real", "flat", *kinds]
    conf = {k: np.zeros((num, num), np.int64) for k in kinds_all}
    pictures: dict[str, list[np.ndarray]] = {k: [] for k in kinds_all}
    label_maps: list[np.ndarray] = []
    start = time.perf_counter()
    gen_time = 0.0
    for i in range(len(ds)):
        photo_pil, raw_pil = ds.images(i)
        photo, raw = np.asarray(photo_pil, dtype=np.uint8), np.asarray(raw_pil, dtype=np.uint8)
        target = ds.lut[raw]
        t0 = time.perf_counter()
        made = {"random": synthesize_array(engine, raw, seed=args.seed + i)}
        if "photo_style" in kinds:
            made["photo_style"] = synthesize_array(engine, raw, seed=args.seed + i, style=photo)
        gen_time += time.perf_counter() - t0
        for kind, picture in [("real", photo), ("flat", flat_lut[raw]), *made.items()]:
            conf[kind] += confusion(target, segmenter.segment(picture), num)
            pictures[kind].append(picture)
        label_maps.append(raw)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(ds)} label maps ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    result: dict = {"data": f"{data.name} ({args.split} split, {len(ds)} label maps at their original size)",
                    "model": card.name, "segmenter": seg_card.name,
                    "generation_s_per_image": round(gen_time / max(len(ds), 1) / len(kinds), 4)}
    for kind in kinds_all:
        s = scores(conf[kind], names)
        result[result_key(kind)] = {"seg_miou": round(s["miou"], 4), "seg_pixel_acc": round(s["pixel_acc"], 4),
                                    "seg_iou": s["iou"]}
    real_feats = features_of(segmenter, pictures["real"], args.fd_size)
    dim = real_feats.shape[1]
    for kind in ["flat", *kinds]:
        feats = features_of(segmenter, pictures[kind], args.fd_size)
        result[result_key(kind)]["fd_seg"] = round(frechet_distance_of(feats, real_feats), 3)
    try:
        train_ds = SegmentationDataset(data, "train", jitter=0.0, limit=len(ds))
        train_feats = features_of(segmenter, [np.asarray(train_ds.images(i)[0]) for i in range(len(train_ds))], args.fd_size)
        result["fd_seg_real_train_vs_val"] = round(frechet_distance_of(train_feats, real_feats), 3)
    except (KeyError, FileNotFoundError):
        pass
    result["fd_seg_features"] = (f"FD-seg: Frechet distance on the pooled deepest encoder features ({dim}-d) of "
                                 f"segmentation model '{seg_card.name}', centre square crops resized to "
                                 f"{args.fd_size} px, {len(ds)} images per set (lower is better)")
    result["miou_note"] = ("mIoU / pixel accuracy of the segmenter on the pictures against the input label maps "
                           "(don't-care pixels excluded); real_photos is the segmenter's own score on the real photos "
                           "(a reference, not a bound: generated pictures can be easier to segment); "
                           "flat_class_colors paints every class with its mean training-photo colour (exact layout, "
                           "no texture), the baseline a generator should beat on FD-seg")

    if args.grid:
        from ganpaint.engines.synthesis import labelset_of

        lut = labelset_of(card).lut()
        rows = []
        for i in range(min(args.grid_rows, len(ds))):
            row = [square(lut[label_maps[i]], 160, nearest=True), square(pictures["flat"][i], 160, nearest=True)]
            row += [square(pictures[k][i], 160) for k in kinds] + [square(pictures["real"][i], 160)]
            rows.append(row)
        save_png(args.grid, sample_grid(rows))
        result["grid"] = str(args.grid)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.report:
        Path(args.report).write_text(markdown_table(result, kinds), encoding="utf-8")
    tmp.cleanup()
    return 0


def result_key(kind: str) -> str:
    """Key of a picture kind in the metrics dict."""
    return {"real": "real_photos", "flat": "flat_class_colors"}.get(kind, f"generated_{kind}")


def markdown_table(result: dict, kinds: list[str]) -> str:
    """A Markdown summary of :func:`run`'s result."""
    lines = [f"Evaluation of `{result['model']}` on {result['data']}; segmenter `{result['segmenter']}`.", "",
             "| pictures | seg mIoU | seg pixel acc | FD-seg |", "|---|---|---|---|"]
    for kind in ["real", "flat", *kinds]:
        r = result[result_key(kind)]
        fd = r.get("fd_seg", "0 (reference)" if kind == "real" else "")
        label = {"real": "real photos (segmenter reference)", "flat": "baseline: flat mean class colours",
                 "random": "SPADE, random style", "photo_style": "SPADE, style of the real photo"}[kind]
        lines.append(f"| {label} | {r['seg_miou']:.3f} | {r['seg_pixel_acc']:.3f} | {fd} |")
    if "fd_seg_real_train_vs_val" in result:
        lines.append(f"| real train photos vs real val photos (FD reference) | | | {result['fd_seg_real_train_vs_val']} |")
    lines += ["", result["fd_seg_features"] + ".", result["miou_note"] + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganpaint eval spade", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
