"""``ganpaint train segment``: train a compact semantic segmentation network on one labelled dataset.

Data: a dataset folder with ``images/``, ``labels/`` (single-channel class-id PNGs), ``classes.json`` and
``splits.json`` (see :mod:`ganpaint.training.seg_data`). Only the ``train`` split is trained on; the
``val`` split is used for evaluation only (periodically and at the end). The don't-care class (named
``unknown``/``void``..., or ``--ignore-index K``) is excluded from the loss, the metrics and the
predicted classes.

Recipe: pixel-wise cross-entropy (optionally weighted by ``1/sqrt(class frequency)``, normalised to mean 1
and clipped to [0.5, 3], which helps rare classes), AdamW with a linear warm-up and a cosine decay,
random rescale + square crop + horizontal flip + mild colour jitter.

Evaluation runs the app's own inference path (:class:`ganpaint.engines.segment.Segmenter`: resize the short
side to the model resolution, upsample logits to full size, argmax) on each full-size val photo and
accumulates a confusion matrix: mean IoU over classes, pixel accuracy and per-class IoU.

Outputs in ``--out``: ``last.pt`` (checkpoint; ``--resume`` continues exactly: network, optimizer, step,
numpy/torch RNG), ``samples/step_NNNNNNN.png`` + ``samples/latest.png`` (rows: photo | truth | prediction,
val photos), ``train_log.jsonl`` (losses, seconds per step, val metrics), ``metrics.json`` (final
evaluation). ``--export NAME`` writes ``MODELS_DIR/NAME.safetensors`` (fp16) and the card
``MODELS_DIR/NAME.json`` at the end (with ``--resume`` and ``--steps`` not above the checkpoint's step, it
only evaluates and exports).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.paths import SHIPPED_MODELS
from ganpaint.nets.segmenter import ARCHITECTURE, CompactSegmenter
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.runs import RunLoop, command_line, open_run, restore_progress, standalone_main
from ganpaint.training.progress import sample_grid, save_png
from ganpaint.training.seg_data import IGNORE, SegmentationDataset

DEFAULT_MODELS_DIR = SHIPPED_MODELS
NET_KEYS = ("num_classes", "channels", "blocks", "separable_from", "decoder_channels", "dropout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import seed

    parser.add_argument("--data", required=True, metavar="DIR",
                        help="dataset folder: images/, labels/ (class-id PNGs), classes.json, splits.json")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoint, samples, logs")
    parser.add_argument("--size", type=int, default=160, help="training crop side in pixels")
    parser.add_argument("--batch", type=int, default=16, help="batch size")
    parser.add_argument("--steps", type=int, default=2000, help="total number of optimisation steps")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (or --checkpoint)")
    parser.add_argument("--checkpoint", metavar="PT", help="checkpoint to resume from instead of OUT/last.pt")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")
    parser.add_argument("--ignore-index", type=int, default=None, metavar="K",
                        help="label value to ignore (default: the class named unknown/void, if any; -1: none)")
    parser.add_argument("--label-set", default=None, metavar="NAME",
                        help="name of the label set in the model card (default: the dataset folder's name)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    parser.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    parser.add_argument("--class-weights", choices=("sqrt", "none"), default="sqrt",
                        help="sqrt: weight classes by 1/sqrt(frequency) (clipped to [0.5, 3]); none: plain CE")
    parser.add_argument("--scale-min", type=float, default=0.5, help="smallest crop as a fraction of the short side")
    parser.add_argument("--scale-max", type=float, default=1.0, help="largest crop as a fraction of the short side")
    parser.add_argument("--jitter", type=float, default=0.2, help="colour jitter strength (0: off)")
    parser.add_argument("--resolution", type=int, default=0,
                        help="inference short side written to the card (0: size / mean crop fraction, rounded to 32)")
    parser.add_argument("--channels", type=int, nargs=5, default=[24, 32, 64, 128, 256], metavar="C",
                        help="stem and stage widths (new runs only)")
    parser.add_argument("--blocks", type=int, nargs=4, default=[2, 2, 3, 3], metavar="B", help="blocks per stage (new runs only)")
    parser.add_argument("--separable-from", type=int, default=2, help="first depthwise-separable stage (new runs only)")
    parser.add_argument("--decoder-channels", type=int, default=64, help="decoder width (new runs only)")
    parser.add_argument("--dropout", type=float, default=0.1, help="decoder dropout (new runs only)")
    parser.add_argument("--eval-every", type=int, default=500, help="evaluate on the val split every N steps (0: only at the end)")
    parser.add_argument("--eval-limit", type=int, default=0, help="evaluate on at most N val photos (0: all)")
    parser.add_argument("--sample-every", type=int, default=500, help="write a sample grid every N steps")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="write OUT/last.pt every N steps")
    parser.add_argument("--log-every", type=int, default=50, help="append to train_log.jsonl every N steps")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (new runs)")
    parser.add_argument("--export", metavar="NAME", help="export as MODELS_DIR/NAME.{safetensors,json} at the end")
    parser.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR), help="where --export writes")
    parser.add_argument("--export-fp32", action="store_true", help="export fp32 weights instead of fp16")
    parser.add_argument("--description", default="", help="model-card description (default: generated)")


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``peak`` to ``peak / 100`` at ``total``."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t)))


def class_weights(freq: np.ndarray, mode: str) -> Optional[torch.Tensor]:
    """Loss weights per class: ``1/sqrt(freq)`` normalised to mean 1 over present classes, clipped to
    ``[0.5, 3]`` (absent classes get 1), or ``None`` for ``mode == "none"``."""
    if mode == "none":
        return None
    w = np.ones_like(freq)
    present = freq > 0
    if present.any():
        raw = 1.0 / np.sqrt(freq[present])
        w[present] = np.clip(raw / raw.mean(), 0.5, 3.0)
    return torch.tensor(w, dtype=torch.float32)


# ------------------------------------------------------------------------------------ evaluation


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``int64 (C, C)``, rows = truth, columns = prediction; target pixels equal to :data:`IGNORE` (or
    ``>= C``) are skipped."""
    keep = target < num_classes
    idx = target[keep].astype(np.int64) * num_classes + np.minimum(pred[keep].astype(np.int64), num_classes - 1)
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def metrics_from_confusion(conf: np.ndarray, labels: list[dict]) -> dict:
    """``{"miou", "pixel_accuracy", "per_class_iou": {name: iou or None}}`` for the classes in ``labels``;
    a class with no truth and no prediction pixel has IoU ``None`` and is left out of the mean."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    per_class = {}
    ious = []
    for e in labels:
        c = e["id"]
        if union[c] > 0:
            iou = float(tp[c] / union[c])
            ious.append(iou)
            per_class[e["name"]] = round(iou, 4)
        else:
            per_class[e["name"]] = None
    total = conf.sum()
    return {
        "miou": round(float(np.mean(ious)), 4) if ious else 0.0,
        "pixel_accuracy": round(float(tp.sum() / total), 4) if total else 0.0,
        "per_class_iou": per_class,
    }


def evaluate(net: CompactSegmenter, dataset: SegmentationDataset, labels: list[dict], resolution: int,
             device: torch.device, limit: int = 0) -> tuple[dict, list[np.ndarray]]:
    """Evaluate ``net`` on every full-size photo of ``dataset`` through the app's inference path.

    Returns ``(metrics, predictions)``; metrics as :func:`metrics_from_confusion` plus ``"images"`` and
    ``"resolution"``; predictions are ``uint8 (H, W)`` maps of the first 6 photos (for sample grids).
    """
    from ganpaint.engines.segment import Segmenter
    from ganpaint.labelsets import Label, LabelSet

    was_training = net.training
    net.eval()
    labelset = LabelSet("eval", tuple(Label(e["id"], e["name"], tuple(e["color"])) for e in labels))
    seg = Segmenter(None, net, labelset, resolution, device)  # type: ignore[arg-type]
    n = len(dataset) if limit <= 0 else min(limit, len(dataset))
    conf = np.zeros((net.num_classes, net.num_classes), np.int64)
    preds = []
    try:
        for i in range(n):
            photo, target = dataset.pair(i)
            pred = seg.segment(photo)
            conf += confusion_matrix(pred, target, net.num_classes)
            if i < 6:
                preds.append(pred)
    finally:
        net.train(was_training)
    metrics = metrics_from_confusion(conf, labels)
    metrics["images"] = n
    metrics["resolution"] = int(resolution)
    return metrics, preds


def _grid_lut(classes: list[dict]) -> np.ndarray:
    lut = np.zeros((256, 3), np.uint8)
    for e in classes:
        lut[e["id"]] = e["color"]
    lut[IGNORE] = (0, 0, 0)
    return lut


def _square(a: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    from PIL import Image

    h, w = a.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    img = Image.fromarray(np.ascontiguousarray(a[y0:y0 + s, x0:x0 + s]))
    return np.asarray(img.resize((size, size), Image.NEAREST if nearest else Image.BILINEAR))


def segment_grid_rows(photos: list[np.ndarray], truths: list[np.ndarray], preds: list[np.ndarray],
                      classes: list[dict], size: int) -> list[list[np.ndarray]]:
    """Rows ``photo | truth | prediction`` (centre squares resized to ``size``; ignored pixels black)."""
    lut = _grid_lut(classes)
    return [[_square(p, size, False), _square(lut[t], size, True), _square(lut[q], size, True)]
            for p, t, q in zip(photos, truths, preds)]


# ----------------------------------------------------------------------------------- model card


def _source_info(root: Path) -> tuple[str, str]:
    """``(title, terms)`` from the dataset's SOURCE.md (first heading; the bold "Treat as **...**" phrase)."""
    try:
        text = (root / "SOURCE.md").read_text(encoding="utf-8")
    except OSError:
        return root.name, ""
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), root.name)
    m = re.search(r"Treat as \*\*(.+?)\*\*", text)
    return title, (m.group(1).strip() if m else "")


def segment_card(config: dict, *, resolution: int, labels: list[dict], data_root: Path, label_set: str,
                 ignore_id: Optional[int], train_images: int, val_images: int, training: dict,
                 metrics: Optional[dict] = None, description: str = "") -> dict:
    """Model-card fields of an exported segmenter (``name``/``weights``/``sha256`` are added on export)."""
    title, terms = _source_info(data_root)
    terms = terms or "see the dataset's SOURCE.md"
    names = ", ".join(e["name"] for e in labels)
    return {
        "task": "segment",
        "architecture": ARCHITECTURE,
        "resolution": int(resolution),
        "config": {**{k: config[k] for k in NET_KEYS if k in config}, "label_set": label_set,
                   "ignore_index": ignore_id},
        "labels": [{"id": int(e["id"]), "name": e["name"], "color": [int(c) for c in e["color"]]} for e in labels],
        "dataset": f"{title} - folder '{data_root.name}': {train_images} photos of the train split; "
                   f"metrics on the {val_images} photos of the held-out val split",
        "licence": f"Weights: research / non-commercial use only. Trained on {title}, whose terms are: {terms} "
                   f"(see {data_root.name}/SOURCE.md).",
        "training": training,
        "metrics": metrics or {},
        "description": description or (
            f"Compact encoder-decoder segmentation network (residual + depthwise-separable encoder with "
            f"pyramid pooling, FPN decoder) trained from scratch on real photos of {title}. Labels photos "
            f"with the '{label_set}' classes: {names}."),
    }


# ---------------------------------------------------------------------------------------- train


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def run(args: argparse.Namespace) -> int:
    device, out, state, ckpt_path = open_run(args)
    data_root = Path(args.data)

    ignore_arg = args.ignore_index if state is None else int(state["ignore_id"])  # -1: none
    scale_range = (args.scale_min, args.scale_max)
    train_ds = SegmentationDataset(data_root, "train", args.size, scale_range, ignore_arg, args.jitter)
    val_ds = SegmentationDataset(data_root, "val", args.size, scale_range, ignore_arg, 0.0)
    labels = [{**e, "name": _pretty(e["name"])} for e in train_ds.labels]
    classes_all = train_ds.classes

    if state is not None:
        net_config = dict(state["net_config"])
    else:
        net_config = {"num_classes": train_ds.num_classes, "channels": list(args.channels),
                      "blocks": list(args.blocks), "separable_from": args.separable_from,
                      "decoder_channels": args.decoder_channels, "dropout": args.dropout}
    torch.manual_seed(args.seed)
    net = CompactSegmenter(**net_config).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    resolution = args.resolution or int(max(32, round(args.size / (0.5 * (args.scale_min + args.scale_max)) / 32) * 32))

    step, wall, rng, history_cmds = restore_progress(state, args.seed)
    if state is not None:
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        resolution = args.resolution or int(state.get("resolution", resolution))
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    history_cmds.append(command_line("segment", args))

    freq = train_ds.class_frequencies()
    weights = class_weights(freq, args.class_weights)
    weights_dev = weights.to(device) if weights is not None else None
    label_set = args.label_set or data_root.name
    metrics_log: list[dict] = list(state.get("eval_history", [])) if state is not None else []

    def snapshot() -> dict:
        return {"net": net.state_dict(), "opt": opt.state_dict(), "net_config": net_config,
                "ignore_id": -1 if train_ds.ignore_id is None else train_ds.ignore_id, "resolution": resolution,
                "size": args.size, "batch": args.batch, "data": data_root.name, "commands": history_cmds,
                "eval_history": metrics_log}

    n_samples = min(6, len(val_ds))
    sample_pairs = [val_ds.pair(i) for i in range(n_samples)]

    def write_samples(step: int, preds: list[np.ndarray]) -> None:
        rows = segment_grid_rows([p for p, _ in sample_pairs], [t for _, t in sample_pairs], preds[:n_samples],
                                 classes_all, args.size)
        grid = sample_grid(rows)
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    def do_eval(step: int) -> dict:
        t0 = time.perf_counter()
        metrics, preds = evaluate(net, val_ds, labels, resolution, device, args.eval_limit)
        metrics["step"] = step
        metrics["eval_seconds"] = round(time.perf_counter() - t0, 1)
        write_samples(step, preds)
        return metrics

    loop = RunLoop(args, out, "segment", step, wall, snapshot, rng)
    trained_now = step < args.steps
    with loop:
        if trained_now:
            n_params = sum(p.numel() for p in net.parameters()) / 1e6
            loop.bar.write(f"training {n_params:.2f}M-param segmenter ({train_ds.num_classes} classes, ignore id "
                           f"{train_ds.ignore_id}) on {len(train_ds)} train photos of {data_root.name}, size "
                           f"{args.size}, batch {args.batch}, device {device}, threads {torch.get_num_threads()}; "
                           f"val {len(val_ds)} photos at resolution {resolution}")
            net.train()
            while loop.running:
                t0 = time.perf_counter()
                for group in opt.param_groups:
                    group["lr"] = lr_at(loop.step, args.steps, args.lr, args.warmup)
                idx = rng.integers(0, len(train_ds), args.batch)
                photos, targets = train_ds.batch(idx, rng)
                # NCHW-contiguous: a channels-last input crashes torch 2.13's CPU backward of small
                # strided 1x1 convs (heap corruption with 4 channels)
                x = torch.from_numpy(photos).to(device).permute(0, 3, 1, 2).contiguous()
                x = x.float().div_(127.5).sub_(1.0)
                y = torch.from_numpy(targets).to(device).long()
                logits = net(x)
                loss = F.cross_entropy(logits, y, weight=weights_dev, ignore_index=IGNORE)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loop.step_done(time.perf_counter() - t0, {"ce": loss.item()}, lr=round(opt.param_groups[0]["lr"], 6))
                step = loop.step
                if args.eval_every and step % args.eval_every == 0 and step < args.steps:
                    m = do_eval(step)
                    metrics_log.append({k: m[k] for k in ("step", "miou", "pixel_accuracy")})
                    loop.log.write({"eval": m})
                    loop.bar.write(f"step {step}: val mIoU {m['miou']:.3f}, pixel accuracy {m['pixel_accuracy']:.3f}")
                elif args.sample_every and step % args.sample_every == 0:
                    write_samples(step, evaluate(net, val_ds, labels, resolution, device, n_samples)[1])
            loop.finish()

        step, wall = loop.step, loop.wall_s
        final = do_eval(step)
        if trained_now:
            metrics_log.append({k: final[k] for k in ("step", "miou", "pixel_accuracy")})
            loop.save()
        loop.log.write({"eval": final})
        (out / "metrics.json").write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
        print(f"val ({final['images']} photos at resolution {resolution}): mIoU {final['miou']:.4f}, "
              f"pixel accuracy {final['pixel_accuracy']:.4f}", file=sys.stderr)
        print("per-class IoU: " + ", ".join(f"{k} {v if v is None else f'{v:.3f}'}"
                                            for k, v in final["per_class_iou"].items()), file=sys.stderr)

    if args.export:
        if device.type == "cuda":
            compute = torch.cuda.get_device_name(device)
        else:
            compute = (f"CPU ({platform.machine()}, {os.cpu_count()} cores shared with other jobs), "
                       f"{torch.get_num_threads()} torch thread(s)")
        rate = step / wall if wall > 0 else 0.0
        training = {
            "command": " ; ".join(history_cmds), "steps": step, "batch": args.batch, "crop_size": args.size,
            "scale_range": list(scale_range), "flip": True, "color_jitter": args.jitter,
            "optimizer": f"AdamW lr {args.lr} (warm-up {args.warmup}, cosine), weight decay {args.weight_decay}",
            "loss": "cross-entropy" + (" weighted by 1/sqrt(class frequency)" if weights is not None else "")
                    + (f", ignore id {train_ds.ignore_id}" if train_ds.ignore_id is not None else ""),
            "compute": compute, "wall_time": f"{wall / 60:.1f} min", "steps_per_second": round(rate, 3),
            "torch": torch.__version__, "seed": args.seed,
        }
        metrics = {
            "val_miou": final["miou"], "val_pixel_accuracy": final["pixel_accuracy"],
            "per_class_iou": final["per_class_iou"], "val_images": final["images"],
            "eval_resolution": resolution,
            "eval_protocol": "full-size val photos through the app's inference path; confusion matrix over all "
                             "pixels, ignored pixels excluded; mIoU over classes present in truth or prediction",
            "history": metrics_log,
        }
        card = segment_card(net_config, resolution=resolution, labels=labels, data_root=data_root,
                            label_set=label_set, ignore_id=train_ds.ignore_id, train_images=len(train_ds),
                            val_images=len(val_ds), training=training, metrics=metrics,
                            description=args.description)
        wp, cp = ckpt.export_model(net, args.models_dir, args.export, card, half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_segment ...``."""
    return standalone_main("segment", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
