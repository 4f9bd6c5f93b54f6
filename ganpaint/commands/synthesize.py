"""``ganpaint synthesize LABELS -o OUT [--model NAME] [--style IMAGE] [--seed N] [--photo PHOTO]``.

Paints a picture from a label map with a semantic-synthesis (SPADE) model
(:class:`~ganpaint.engines.synthesis.SynthesisEngine`).

* ``LABELS`` is a label map of the model's label set: a class-id PNG or a colour (palette) PNG, read by
  :func:`ganpaint.document.labelmaps.load_label_map` (``--snap`` maps unknown colours to the nearest
  class colour). The output has its size.
* ``--style IMAGE``: a reference picture whose style (VAE encoder mean) the result takes; without it the
  style is drawn from ``--seed``.
* ``--photo PHOTO`` (same size as LABELS): photo-edit mode. The photo is segmented with the label set's
  segmentation model (the synthesis card's ``config["segmenter"]``, else an installed ``segment`` model
  with the same labels) and only the pixels where LABELS differs from that segmentation are regenerated
  (plus the engine's thin feathered band); every other pixel of OUT equals the photo's. They are painted
  by the label set's semantic photo editor (SESAME semantic inpainting, which sees the photo around the
  region: a ``semantic-edit`` model exported by ``ganpaint train sesame --export``) when one is
  installed, else by the SPADE model alone (none ships yet).

Bad input (unreadable or mismatched files, unknown model or colours, no segmenter) raises a
:class:`~ganpaint.errors.GanpaintError`: one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from ganpaint.document.imageio import load_rgb, save_image
    from ganpaint.document.labelmaps import load_label_map
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.engines.synthesis import find_segmenter_card, labelset_of
    from ganpaint.errors import ModelError
    from ganpaint.commands.engine_run import load_engine, run_timed
    from ganpaint.inference.device import select_device
    from ganpaint.inference.requests import SynthesisRequest

    from ganpaint.commands.options import check_output, writing
    from ganpaint.document.imageio import SAVE_FORMATS

    check_output(args.output, suffixes=SAVE_FORMATS, force=args.force)
    registry = ModelRegistry.default()
    card = registry.model_for("synthesize", args.model)
    labelset = labelset_of(card)
    photo = load_rgb(args.photo) if args.photo else None
    labels = load_label_map(args.labels, labelset, shape=None if photo is None else photo.shape[:2], snap=args.snap)
    style = load_rgb(args.style) if args.style else None
    device = select_device(args.device)

    region = None
    if photo is not None:
        seg_card = find_segmenter_card(registry, card)
        if seg_card is None:
            raise ModelError(f"--photo needs a segmentation model for the label set of '{card.name}' "
                             f"(none is installed; see 'ganpaint models list')")
        from ganpaint.engines.segment import load_segmenter

        segmenter = load_segmenter(seg_card, device, registry=registry)
        region = labels != segmenter.segment(photo)
        print(f"segmented the photo with '{seg_card.name}': {100.0 * region.mean():.2f}% of the pixels have new "
              f"labels", file=sys.stderr)

    engine = load_engine(registry, card, device)
    request = SynthesisRequest.snapshot(0, labels, card.name, args.seed, style=style, photo=photo, region=region,
                                        exemplar=not args.no_match_photo)
    out, elapsed = run_timed(engine, request)
    with writing(args.force):
        save_image(args.output, out)
    mode = "blank canvas" if photo is None else f"photo edit by '{getattr(engine, 'last_generator', None) or card.name}'"
    print(f"synthesized {labels.shape[1]}x{labels.shape[0]} ({mode}) with '{card.name}' on {device} in "
          f"{elapsed:.2f} s: wrote {args.output}")
    return 0


def register(subparsers) -> None:
    from ganpaint.commands.options import add_force, seed

    parser = subparsers.add_parser(
        "synthesize", help="paint a picture from a label map (SPADE semantic synthesis)",
        description="Generate a picture of the label map's size from LABELS (class-id or colour PNG of the model's "
                    "label set). With --photo, only the pixels whose labels differ from the photo's segmentation "
                    "are regenerated; all other pixels stay the photo's.",
    )
    parser.add_argument("labels", metavar="LABELS", help="label map: class-id PNG or colour PNG of the model's classes")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (.png, .jpg, ...)")
    parser.add_argument("--model", default=None,
                        help="synthesis model name (default: one for the landscape label set, else the first installed)")
    parser.add_argument("--style", metavar="IMAGE", default=None, help="reference image whose style to use")
    parser.add_argument("--seed", type=seed, default=0, help="random style seed (without --style; 0 to 2**64 - 1)")
    parser.add_argument("--photo", metavar="PHOTO", default=None, help="photo to edit (same size as LABELS)")
    parser.add_argument("--snap", action="store_true", help="map unknown label colours to the nearest class colour")
    parser.add_argument("--no-match-photo", action="store_true",
                        help="with --photo: keep the network's painting, without the colour (and texture) of the "
                             "same classes elsewhere in the photo")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_force(parser)
    parser.set_defaults(func=_run)


if __name__ == "__main__":  # pragma: no cover
    from ganpaint.cli import main

    raise SystemExit(main(["synthesize", *sys.argv[1:]]))
