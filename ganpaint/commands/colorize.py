"""``ganpaint colorize IMAGE -o OUT [--model NAME] [--hints HINTS.json]``: colour a photo or fill line art.

HINTS.json is a JSON list of hints in image pixels::

    [{"x": 120, "y": 80, "rgb": [200, 40, 30], "radius": 4},
     {"x": 10, "y": 10, "rgb": [30, 90, 200], "radius": 3, "points": [[10, 10], [60, 12]]}]

(``points``, optional, makes a stroke hint). A bad hint file (unreadable, not JSON, not a list, a missing or
mistyped field, a colour that is not three integers 0..255, a negative radius, a point outside the image) is a
:class:`~ganpaint.errors.HintFileError`: the CLI prints one line and exits 2, as for every other user error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def load_hints_file(path: str | os.PathLike, width: int, height: int) -> list:
    """Read and validate a hints file for a ``width x height`` image: a list of
    :class:`~ganpaint.document.vectors.ColorHint`.

    Raises:
        HintFileError: one sentence naming the file and, for a bad hint, its position in the list (from 1).
    """
    from ganpaint.document.vectors import ColorHint
    from ganpaint.errors import HintFileError

    name = os.path.basename(os.fspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise HintFileError(f"hint file '{name}' does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HintFileError(f"cannot read hint file '{name}' ({type(exc).__name__}).") from None
    except json.JSONDecodeError as exc:
        raise HintFileError(f"hint file '{name}' is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    if not isinstance(data, list):
        raise HintFileError(f"hint file '{name}' must hold a JSON list of hints, not a {type(data).__name__}.")
    hints = []
    for i, item in enumerate(data, 1):
        try:
            hint = ColorHint.from_json(item)
        except ValueError as exc:
            raise HintFileError(f"hint {i} of '{name}' is invalid: {exc}.") from None
        for x, y in hint.path():
            if not (0 <= x < width and 0 <= y < height):
                raise HintFileError(f"hint {i} of '{name}' lies outside the {width}x{height} image "
                                    f"(point {x:g}, {y:g}).")
        hints.append(hint)
    return hints


def _parse_palette(text: str) -> list[tuple[int, int, int]]:
    from ganpaint.errors import GanpaintError

    colors = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        value = part.lstrip("#")
        if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise GanpaintError(f"palette colour '{part}' is not a #rrggbb hex colour.")
        colors.append((int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)))
    return colors


def _run(args: argparse.Namespace) -> int:
    from ganpaint.commands.options import check_output, writing
    from ganpaint.document.imageio import SAVE_FORMATS, load_rgb, save_image
    from ganpaint.engines.registry import ModelRegistry

    check_output(args.output, suffixes=SAVE_FORMATS, force=args.force)
    image = load_rgb(args.image)
    hints = load_hints_file(args.hints, image.shape[1], image.shape[0]) if args.hints else []
    palette = _parse_palette(args.palette) if args.palette else []
    reference = load_rgb(args.reference) if args.reference else None
    registry = ModelRegistry.default()
    card = registry.model_for("colorize", args.model)

    from ganpaint.commands.engine_run import load_engine, run_timed
    from ganpaint.inference.device import select_device
    from ganpaint.inference.requests import ColorizeRequest

    device = select_device(args.device)
    engine = load_engine(registry, card, device)
    request = ColorizeRequest.snapshot(0, image, card.name, hints, recolor=args.recolor, palette=palette,
                                       reference=reference)
    output, elapsed = run_timed(engine, request)
    with writing(args.force):
        save_image(args.output, output.image)
    print(f"coloured {image.shape[1]}x{image.shape[0]} {args.image} with '{card.name}' ({len(hints)} hints) "
          f"on {device} in {elapsed:.2f} s: wrote {args.output}")
    return 0


def register(subparsers) -> None:
    from ganpaint.commands.options import add_force

    parser = subparsers.add_parser(
        "colorize", help="colour a grayscale photo, recolour a photo, or fill line art, from colour hints",
        description="Colour IMAGE with a colorization model guided by colour hints and write OUT. Photo models keep "
                    "the photo's own lightness at full resolution; line-art models fill the regions the lines bound "
                    "with flat colours and keep the lines.")
    parser.add_argument("image", metavar="IMAGE", help="grayscale or colour photo, or line art (PNG, JPEG, ...)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (.png, .jpg, ...)")
    parser.add_argument("--model", default=None, help="colorization model: colorize-photo (the default), "
                        "colorize-lineart or an imported one")
    parser.add_argument("--hints", metavar="HINTS.json", help='JSON list of {"x", "y", "rgb": [r, g, b], "radius"} '
                        "in image pixels (optional \"points\": [[x, y], ...] for a stroke)")
    parser.add_argument("--recolor", action="store_true", help="photo models: keep the photo's own colours where "
                        "the hints do not reach (recolour one object)")
    parser.add_argument("--palette", metavar="#RRGGBB,...", help="global hint: colours the picture should use")
    parser.add_argument("--reference", metavar="IMAGE", help="global hint: an image whose colours to follow")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_force(parser)
    parser.set_defaults(func=_run)


if __name__ == "__main__":  # pragma: no cover
    from ganpaint.cli import main

    raise SystemExit(main(["colorize", *sys.argv[1:]]))
