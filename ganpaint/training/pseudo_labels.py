"""``python -m ganpaint.training.pseudo_labels``: label unlabelled photos with a segmentation model, to enlarge
the training data of a label set's generators (e.g. outdoor photos of ``bsds500`` and ``weather4`` for the
landscape label set).

For every photo of ``--split`` (default ``train``; never a validation split) of each ``--data`` folder,
the segmenter's logits (at its working size) are resized bilinearly to the photo, and

* pixels whose softmax confidence is below ``--min-confidence`` get the label set's don't-care id (the
  class named unknown/void of ``--classes-from``), which generators paint as an ordinary class and
  evaluations ignore;
* a photo is kept only if at least ``--min-confident`` of its pixels are confident and at most
  ``--max-class`` of them are one ``--limit-class`` class (default: the foreground-object class, so
  portraits and animal close-ups of bsds500 are left out of a *landscape* set).

Output, a dataset folder in the shared layout (outside the repository, e.g. ``~/.cache/ganpaint-data/``):
``images/<source>_<id>.<ext>`` (symbolic links to the original photos; nothing is copied), ``labels/``
(class-id PNGs), ``classes.json`` (copied from ``--classes-from``), ``splits.json`` (``{"train": [...]}``) and
``SOURCE.md`` (what was labelled, by which model, with which thresholds; the photos' own terms are those of
their source folders).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR", help="photo folders (images/ + splits.json)")
    parser.add_argument("--split", default="train", help="split of each folder to label")
    parser.add_argument("--segmenter", required=True, help="segmentation model name (e.g. segment-landscape)")
    parser.add_argument("--classes-from", required=True, metavar="DIR", help="labelled dataset whose classes.json to use")
    parser.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    parser.add_argument("--min-confidence", type=float, default=0.6, help="softmax confidence below which a pixel is don't-care")
    parser.add_argument("--min-confident", type=float, default=0.6, help="keep photos with at least this share of confident pixels")
    parser.add_argument("--limit-class", default="foreground_object", help="class whose share is limited (name)")
    parser.add_argument("--max-class", type=float, default=0.3, help="keep photos with at most this share of --limit-class")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def pseudo_label(segmenter, photo: np.ndarray, void: int | None, min_confidence: float) -> tuple[np.ndarray, float]:
    """``(uint8 (H, W) label map, share of confident pixels)`` of one photo (low-confidence pixels -> ``void``)."""
    import torch
    import torch.nn.functional as F

    logits = segmenter.logits(photo)
    with torch.inference_mode():
        up = F.interpolate(logits[None], size=photo.shape[:2], mode="bilinear", align_corners=False)[0]
        prob, label = up.softmax(0).max(0)
    labels = label.to(torch.uint8).cpu().numpy()
    confident = prob.cpu().numpy() >= min_confidence
    if void is not None:
        labels[~confident] = void
    return labels, float(confident.mean())


def run(args: argparse.Namespace) -> int:
    import torch
    from PIL import Image

    from ganpaint.engines.segment import load_segmenter
    from ganpaint.training.data import list_split, load_rgb_pil
    from ganpaint.training.seg_data import find_void_id, read_classes

    torch.set_num_threads(max(1, args.threads))
    classes = read_classes(args.classes_from)
    void = find_void_id(classes)
    limit = next((c["id"] for c in classes if c["name"].lower().replace(" ", "_") == args.limit_class.lower()), None)
    segmenter = load_segmenter(args.segmenter)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(exist_ok=True)
    kept, seen = [], 0
    for folder in map(Path, args.data):
        for path in list_split(folder, args.split):
            seen += 1
            photo = np.asarray(load_rgb_pil(path), dtype=np.uint8)
            labels, confident = pseudo_label(segmenter, photo, void, args.min_confidence)
            share = float((labels == limit).mean()) if limit is not None else 0.0
            if confident < args.min_confident or share > args.max_class:
                continue
            stem = f"{folder.name}_{path.stem}"
            link = out / "images" / f"{stem}{path.suffix.lower()}"
            if link.is_symlink() or link.exists():
                link.unlink()
            os.symlink(path.resolve(), link)
            Image.fromarray(labels).save(out / "labels" / f"{stem}.png")
            kept.append(stem)
        print(f"{folder.name}: {len(kept)} of {seen} photos kept so far", file=sys.stderr)
    (out / "classes.json").write_text((Path(args.classes_from) / "classes.json").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    (out / "splits.json").write_text(json.dumps({"train": kept}, indent=0) + "\n", encoding="utf-8")
    (out / "SOURCE.md").write_text(
        f"# Pseudo-labelled photos\n\nThe '{args.split}' split of {', '.join(Path(d).name for d in args.data)} "
        f"(images are symbolic links to those folders; their terms apply), labelled by segmentation model "
        f"'{args.segmenter}' with the classes of {Path(args.classes_from).name}. Pixels below softmax confidence "
        f"{args.min_confidence} are '{classes[void]['name'] if void is not None else 'kept'}'; photos kept when at "
        f"least {args.min_confident:.0%} of their pixels are confident and at most {args.max_class:.0%} are "
        f"'{args.limit_class}': {len(kept)} of {seen}.\n", encoding="utf-8")
    print(f"wrote {len(kept)} pseudo-labelled photos of {seen} to {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganpaint.training.pseudo_labels",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
