"""``ganpaint inpaint IMAGE MASK -o OUT``: fill the holes of a photo from the command line.

MASK is a grayscale (or RGB, read as luminance) image of the photo's size; pixels > 127 are holes. The
output has the photo's size; every pixel outside the holes is the input pixel. An empty mask writes
the input unchanged (and says so). Errors (unreadable file, mask of another size, unknown model, bad
device) are :class:`~ganpaint.errors.GanpaintError` sentences: the CLI prints them and exits 2.
"""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from ganpaint.commands.options import check_output, writing
    from ganpaint.document.imageio import SAVE_FORMATS, load_mask, load_rgb, save_image
    from ganpaint.engines.registry import ModelRegistry

    check_output(args.output, suffixes=SAVE_FORMATS, force=args.force)
    image = load_rgb(args.image)
    mask = load_mask(args.mask, image.shape[:2])
    registry = ModelRegistry.default()
    card = registry.model_for("inpaint", args.model)

    if not np.any(mask > 127):
        with writing(args.force):
            save_image(args.output, image)
        print(f"the mask has no hole: wrote {args.image} unchanged to {args.output}")
        return 0

    import torch

    from ganpaint.commands.engine_run import load_engine, run_timed
    from ganpaint.inference.device import select_device
    from ganpaint.inference.requests import InpaintRequest

    device = select_device(args.device)
    torch.manual_seed(args.seed)
    engine = load_engine(registry, card, device)
    request = InpaintRequest.snapshot(0, image, mask, card.name, args.seed, texture=not args.no_texture)
    result, elapsed = run_timed(engine, request)
    with writing(args.force):
        save_image(args.output, result)
    holes = int(np.count_nonzero(mask > 127))
    print(f"filled {holes} hole pixels of {image.shape[1]}x{image.shape[0]} {args.image} with '{card.name}' "
          f"on {device} in {elapsed:.2f} s: wrote {args.output}")
    return 0


def register(subparsers) -> None:
    from ganpaint.commands.options import add_force, seed

    parser = subparsers.add_parser(
        "inpaint", help="fill the holes of a photo (mask pixels > 127)",
        description="Fill the holes of IMAGE marked in MASK (grayscale, same size, > 127 = hole) and write OUT.",
    )
    parser.add_argument("image", metavar="IMAGE", help="photo to repair (PNG, JPEG, ...)")
    parser.add_argument("mask", metavar="MASK", help="hole mask of the same size: pixels > 127 are filled")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (.png, .jpg, ...)")
    parser.add_argument("--model", default=None, help="inpainting model name (default: the installed default)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (0 to 2**64 - 1)")
    parser.add_argument("--no-texture", action="store_true",
                        help="the network's smooth fill, without the photo's own grain copied into it")
    add_force(parser)
    parser.set_defaults(func=_run)


if __name__ == "__main__":  # pragma: no cover
    from ganpaint.cli import main

    raise SystemExit(main(["inpaint", *sys.argv[1:]]))
