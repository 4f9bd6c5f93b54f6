"""``ganpaint models list``, ``ganpaint models verify`` and ``ganpaint models import``."""

from __future__ import annotations

import argparse


def _list(args: argparse.Namespace) -> int:
    from ganpaint.engines.registry import ModelRegistry

    registry = ModelRegistry.default()
    cards = registry.cards()
    rows = [("NAME", "TASK", "ARCHITECTURE", "RES", "WEIGHTS")]
    for card in cards:
        present = "ok" if card.weights_path.is_file() else "MISSING"
        rows.append((card.name, card.task, card.architecture, str(card.resolution), f"{card.weights} ({present})"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not cards:
        print("(no models installed)")
    for problem in registry.problems:
        print(f"problem: {problem}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ganpaint.engines.registry import ModelRegistry

    registry = ModelRegistry.default()
    failures = 0
    for card in registry.cards():
        ok, message = registry.verify(card.name)
        failures += not ok
        print(f"{'OK  ' if ok else 'FAIL'}  {card.name}: {message}")
    for problem in registry.problems:
        failures += 1
        print(f"FAIL  {problem}")
    if failures:
        print(f"{failures} model(s) failed verification")
        return 1
    print("all models verified")
    return 0


def _import(args: argparse.Namespace) -> int:
    """``ganpaint models import CHECKPOINT --arch spade|siggraph17 --name NAME ...``, or
    ``ganpaint models import [CHECKPOINT] --arch dcgan --name NAME`` (default: the gan-face-generate package's)."""
    from ganpaint.errors import ModelError

    if args.arch == "dcgan":
        from ganpaint.engines.gan_import import import_dcgan

        card_path = import_dcgan(args.name, args.checkpoint, models_dir=args.models_dir, overwrite=args.overwrite)
        print(f"imported model '{args.name}' (dcgan): {card_path}")
        return 0
    if args.checkpoint is None:
        raise ModelError(f"a {args.arch} import needs the checkpoint file")
    if args.arch == "siggraph17":
        from ganpaint.engines.siggraph17_import import import_checkpoint as import_siggraph17

        if args.labels or args.encoder or args.ngf:
            raise ModelError("--labels, --encoder and --ngf apply to SPADE checkpoints only")
        card_path = import_siggraph17(args.checkpoint, args.name, models_dir=args.models_dir,
                                      mask_center=args.mask_center, half=args.fp16, overwrite=args.overwrite)
        print(f"imported model '{args.name}' (siggraph17 colorization, mask centre {args.mask_center:g}): {card_path}")
        return 0
    from ganpaint.engines.spade_import import import_checkpoint

    if not args.labels:
        raise ModelError("a SPADE checkpoint needs --labels ade20k, coco or cityscapes")
    overrides = {"ngf": args.ngf} if args.ngf else {}
    card_path = import_checkpoint(args.checkpoint, args.labels, args.name, models_dir=args.models_dir,
                                  encoder_path=args.encoder, overrides=overrides, half=args.fp16,
                                  overwrite=args.overwrite)
    print(f"imported model '{args.name}' ({args.arch}, {args.labels} labels): {card_path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list, verify and import models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list the models of every task").set_defaults(func=_list)
    actions.add_parser("verify", help="check the sha256 of every model's weights").set_defaults(func=_verify)
    imp = actions.add_parser(
        "import", help="import a released checkpoint (weights only) into the user's models folder",
        description="Import a released generator checkpoint: NVlabs SPADE (--arch spade --labels ...), Zhang et al.'s "
                    "SIGGRAPH 2017 user-guided colorization network with its distribution head (--arch siggraph17) or a "
                    "DCGAN generator (--arch dcgan, default: the gan-face-generate package's). It is read only with "
                    "torch.load(weights_only=True), its keys and shapes are checked strictly against the configuration, "
                    "and NAME.safetensors + NAME.json (model card) are written to the user's models folder.")
    imp.add_argument("checkpoint", nargs="?", help="checkpoint file, e.g. latest_net_G.pth (dcgan: default the "
                                                   "installed gan-face-generate package's weights.tar)")
    imp.add_argument("--arch", required=True, choices=("spade", "siggraph17", "dcgan"),
                     help="network architecture of the checkpoint")
    imp.add_argument("--labels", choices=("ade20k", "coco", "cityscapes"),
                     help="SPADE: label set / released configuration (required)")
    imp.add_argument("--name", required=True, help="model name (letters, digits, '.', '_', '-')")
    imp.add_argument("--encoder", metavar="PTH", help="style encoder checkpoint (latest_net_E.pth) of a VAE model")
    imp.add_argument("--ngf", type=int, default=0, help="generator width if not the released 64 (reduced variants)")
    imp.add_argument("--mask-center", type=float, default=0.0, choices=(0.0, 0.5),
                     help="siggraph17: 0 for the Caffe-trained release (richzhang/colorization), 0.5 for the PyTorch "
                     "retraining (ideepcolor --maskcent)")
    imp.add_argument("--fp16", action="store_true", help="store fp16 weights (default: fp32 as released)")
    imp.add_argument("--overwrite", action="store_true", help="replace an existing model of that name")
    imp.add_argument("--models-dir", default=None, help=argparse.SUPPRESS)
    imp.set_defaults(func=_import)
