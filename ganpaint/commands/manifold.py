"""``ganpaint project`` and ``ganpaint igan``: latent projection and constrained editing (iGAN) from the
command line, through the same :class:`~ganpaint.engines.manifold.ManifoldEngine` the studio uses.

* ``ganpaint project PHOTO -o RECON.png --model NAME [--steps N] [--rect X0,Y0,X1,Y1]``: project the region
  (default: the largest centred square) and write the GAN's picture of it (``R x R``); ``--paste OUT``
  also writes the photo with the projection resized into the region, ``--latent W.npy`` the latent code.
* ``ganpaint igan PHOTO --strokes STROKES.json -o OUT [--candidates K]``: project, edit with the strokes,
  and carry the best candidate back onto the full-resolution photo (every pixel outside the region is the
  photo's own). STROKES.json is a list of ``{"kind": "color"|"sketch", "points": [[x, y], ...],
  "rgb": [r, g, b], "width": px}`` in photo pixels. ``--gallery PNG`` writes one row per candidate (best
  first): the candidate, then its morph from the projection.

Bad input (unreadable photo or strokes file, malformed strokes, a region outside the photo, unknown
model) prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ganpaint.errors import InputError


def parse_rect(text: str | None, shape) -> tuple[int, int, int, int]:
    """``"x0,y0,x1,y1"`` (photo pixels, half-open) or None (the largest centred square) -> a checked rect.

    Raises:
        InputError: not four integers, or not a non-empty rectangle inside the photo.
    """
    from ganpaint.engines.transfer import square_rect
    from ganpaint.errors import EngineError

    if text is None:
        return square_rect(shape)
    try:
        rect = tuple(int(v) for v in text.split(","))
    except ValueError:
        rect = ()
    if len(rect) != 4:
        raise InputError(f"--rect must be four integers x0,y0,x1,y1, got {text!r}")
    try:
        from ganpaint.engines.transfer import check_rect

        return check_rect(shape, rect)  # type: ignore[arg-type]
    except EngineError as exc:
        raise InputError(str(exc)) from None


def read_strokes(path: str) -> list:
    """The strokes of a STROKES.json file as :class:`~ganpaint.document.vectors.SketchStroke` objects.

    Raises:
        InputError: unreadable file, invalid JSON, not a list, or a malformed stroke (the message says which).
    """
    from ganpaint.document.vectors import SketchStroke

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read strokes file '{path}' ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"strokes file '{path}' is not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise InputError(f"strokes file '{path}' must hold a JSON list of strokes")
    strokes = []
    for i, item in enumerate(data):
        if isinstance(item, dict) and "kind" not in item:
            raise InputError(f"stroke {i + 1} of '{path}' has no \"kind\" (\"color\" or \"sketch\")")
        try:
            strokes.append(SketchStroke.from_json(item))
        except ValueError as exc:
            raise InputError(f"stroke {i + 1} of '{path}' is malformed: {exc}") from None
    if not strokes:
        raise InputError(f"strokes file '{path}' holds no stroke")
    return strokes


def _engine(args: argparse.Namespace):
    from ganpaint.commands.engine_run import load_engine
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.device import select_device

    registry = ModelRegistry.default()
    card = registry.model_for("manifold", args.model)
    device = select_device(args.device)
    return load_engine(registry, card, device), card, device


def _project(engine, card, photo, rect, steps: int):
    from ganpaint.commands.engine_run import run_timed
    from ganpaint.inference.requests import ProjectRequest

    return run_timed(engine, ProjectRequest.snapshot(0, photo, rect, card.name, steps=steps))


def _check_outputs(args: argparse.Namespace, images: tuple, others: tuple = ()) -> None:
    """Every output path of the command is writable before any model runs (``--force`` for read-only files)."""
    from ganpaint.commands.options import check_output
    from ganpaint.document.imageio import SAVE_FORMATS

    for path in images:
        if path:
            check_output(path, suffixes=SAVE_FORMATS, force=args.force)
    for path in others:
        if path:
            check_output(path, force=args.force)


def _run_project(args: argparse.Namespace) -> int:
    import numpy as np

    from ganpaint.commands.options import writing
    from ganpaint.document.imageio import load_rgb, save_image
    from ganpaint.engines.transfer import paste_region

    _check_outputs(args, (args.output, args.paste), (args.latent,))
    photo = load_rgb(args.photo)
    rect = parse_rect(args.rect, photo.shape)
    if args.steps < 0:
        raise InputError(f"--steps must be >= 0, got {args.steps}")
    engine, card, device = _engine(args)
    out, elapsed = _project(engine, card, photo, rect, args.steps)
    with writing(args.force):
        save_image(args.output, out.image)
        if args.paste:
            save_image(args.paste, paste_region(photo, rect, out.image))
        if args.latent:
            np.save(args.latent, out.extras["latent"])
    x = out.extras
    print(f"projected region {rect} of {args.photo} onto '{card.name}' on {device} in {elapsed:.2f} s "
          f"({x['steps']} steps): PSNR {x['psnr']:.2f} dB (encoder alone {x['encoder_psnr']:.2f} dB); wrote {args.output}")
    return 0


def _run_igan(args: argparse.Namespace) -> int:
    import numpy as np

    from ganpaint.commands.engine_run import run_timed
    from ganpaint.commands.options import writing
    from ganpaint.document.imageio import load_rgb, save_image
    from ganpaint.inference.requests import EditTransferRequest, LatentEditRequest

    _check_outputs(args, (args.output, args.gallery))
    photo = load_rgb(args.photo)
    strokes = read_strokes(args.strokes)
    rect = parse_rect(args.rect, photo.shape)
    if args.candidates < 1:
        raise InputError(f"--candidates must be >= 1, got {args.candidates}")
    if args.steps < 0 or args.edit_steps < 0:
        raise InputError("--steps and --edit-steps must be >= 0")
    engine, card, device = _engine(args)
    proj, t_proj = _project(engine, card, photo, rect, args.steps)
    request = LatentEditRequest.snapshot(0, proj.extras["latent"], strokes, rect, card.name, seed=args.seed,
                                         candidates=args.candidates, steps=args.edit_steps,
                                         closeness=args.closeness, morph_frames=args.morph_frames)
    edit, t_edit = run_timed(engine, request)
    moved, t_move = run_timed(engine, EditTransferRequest.snapshot(0, photo, rect, proj.image, edit.image, card.name))
    with writing(args.force):
        save_image(args.output, moved.image)
        if args.gallery:
            from ganpaint.training.progress import sample_grid

            morphs = edit.extras["morphs"]
            rows = [[edit.extras["candidates"][k]] + list(morphs[k]) for k in range(len(morphs))]
            save_image(args.gallery, sample_grid(rows))
    errors = edit.extras["color_error"]
    colour = "" if np.isnan(errors[0]) else f"; colour error under the strokes {errors[0]:.1f} (0..255)"
    print(f"projected region {rect} ({proj.extras['psnr']:.2f} dB, {t_proj:.2f} s), edited with {len(strokes)} "
          f"stroke(s) into {args.candidates} candidate(s) ({t_edit:.2f} s){colour}, transferred the best onto the "
          f"photo ({t_move:.2f} s) on {device}: wrote {args.output}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import add_force

    parser.add_argument("photo", metavar="PHOTO", help="photo (PNG, JPEG, ...) of any size")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (.png, .jpg, ...)")
    parser.add_argument("--model", default=None, help="GAN model name (default: the installed default)")
    parser.add_argument("--rect", default=None, metavar="X0,Y0,X1,Y1",
                        help="region to project, photo pixels (default: the largest centred square)")
    parser.add_argument("--steps", type=int, default=100, help="projection optimisation steps after the encoder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_force(parser)


def register(subparsers) -> None:
    project = subparsers.add_parser(
        "project", help="project a photo region onto a GAN's pictures (iGAN)",
        description="Project a region of PHOTO onto a GAN (encoder guess + optimisation) and write the GAN's "
                    "picture of it (the GAN's resolution).")
    _common(project)
    project.add_argument("--paste", metavar="OUT", help="also write the photo with the projection in the region")
    project.add_argument("--latent", metavar="NPY", help="also write the latent code (numpy .npy)")
    project.set_defaults(func=_run_project)

    igan = subparsers.add_parser(
        "igan", help="edit a photo region with colour and sketch strokes on a GAN's manifold (iGAN)",
        description="Project a region of PHOTO, edit it with the strokes of STROKES.json as constraints, and "
                    "carry the best candidate back onto the full-resolution photo.")
    _common(igan)
    igan.add_argument("--strokes", required=True, metavar="JSON",
                      help='[{"kind": "color"|"sketch", "points": [[x, y], ...], "rgb": [r, g, b], "width": px}, ...]')
    igan.add_argument("--candidates", type=int, default=8, help="number of candidates (K)")
    igan.add_argument("--edit-steps", type=int, default=40, help="edit optimisation steps")
    igan.add_argument("--closeness", type=float, default=None,
                      help="weight keeping the edit close to the projection (default: the model's)")
    igan.add_argument("--morph-frames", type=int, default=8, help="frames of each candidate's morph in the gallery")
    igan.add_argument("--gallery", metavar="PNG", help="also write the candidates and their morphs")
    igan.add_argument("--seed", type=int, default=0, help="seed of the candidates' random starts")
    igan.set_defaults(func=_run_igan)


if __name__ == "__main__":  # pragma: no cover
    from ganpaint.cli import main

    raise SystemExit(main(sys.argv[1:]))
