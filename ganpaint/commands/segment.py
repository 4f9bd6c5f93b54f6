"""``ganpaint segment PHOTO -o LABELS.png [--model NAME] [--color]``: label a photo with a segmentation model.

The output is a PNG of the photo's size: by default a class-id map (8-bit gray, pixel value = class id),
with ``--color`` the class colours of the model's label set (both read back by
:func:`ganpaint.document.labelmaps.load_label_map`). Errors (unreadable photo, unknown model, a model of
another task, bad device, an output that is not ``.png``) are :class:`~ganpaint.errors.GanpaintError`
sentences: the CLI prints them and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from ganpaint.document.imageio import load_rgb
    from ganpaint.document.labelmaps import save_label_map
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.errors import GanpaintError

    from ganpaint.commands.options import check_output, writing

    if os.path.splitext(args.output)[1].lower() != ".png":
        raise GanpaintError(f"cannot save label map '{os.path.basename(args.output)}': use a .png file name.")
    check_output(args.output, force=args.force)
    registry = ModelRegistry.default()
    card = registry.model_for("segment", args.model)
    photo = load_rgb(args.photo)

    from ganpaint.commands.engine_run import load_engine, run_timed
    from ganpaint.inference.device import select_device
    from ganpaint.inference.requests import SegmentRequest

    device = select_device(args.device)
    engine = load_engine(registry, card, device)
    labelset = engine.labelset
    request = SegmentRequest.snapshot(0, photo, card.name)
    labels, elapsed = run_timed(engine, request)
    with writing(args.force):
        save_label_map(args.output, labels, labelset, mode="color" if args.color else "ids")
    counts = np.bincount(labels.ravel(), minlength=256)
    share = sorted(((int(c), lab.name) for lab in labelset.labels if (c := counts[lab.id]) > 0), reverse=True)
    summary = ", ".join(f"{name} {100.0 * c / labels.size:.0f}%" for c, name in share[:4])
    print(f"labelled {photo.shape[1]}x{photo.shape[0]} {args.photo} with '{card.name}' on {device} in "
          f"{elapsed:.2f} s ({summary}): wrote {'colour' if args.color else 'class-id'} map {args.output}")
    return 0


def register(subparsers) -> None:
    from ganpaint.commands.options import add_force

    parser = subparsers.add_parser(
        "segment", help="label a photo with a semantic segmentation model",
        description="Label every pixel of PHOTO with a class of the model's label set and write a PNG of the "
                    "photo's size: class ids (default) or the classes' colours (--color).",
    )
    parser.add_argument("photo", metavar="PHOTO", help="photo to label (PNG, JPEG, ...)")
    parser.add_argument("-o", "--output", required=True, metavar="LABELS.png", help="output label map (.png)")
    parser.add_argument("--model", default=None,
                        help="segmentation model name (default: the landscape model, else the first installed)")
    parser.add_argument("--color", action="store_true", help="write class colours instead of class ids")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_force(parser)
    parser.set_defaults(func=_run)


if __name__ == "__main__":  # pragma: no cover
    from ganpaint.cli import main

    raise SystemExit(main(["segment", *sys.argv[1:]]))
