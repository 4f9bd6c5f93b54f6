"""Render the colorization part of the gallery: grayscale copies of the sample photos coloured by the
previous ``colorize-photo`` and the current one, without hints and with 10 hints, as PNGs under
``docs/gallery/``.

    PYTHONPATH=. python docs/make_gallery_colorize.py [--old-rev REV] [--out docs/gallery]

Each ``colorize-N.png`` is a 2x3 grid at the photo's own size: grayscale input | the original colours /
previous, no hints | current, no hints / previous, 10 hints | current, 10 hints. The hints are 3x3 patches of
the original at random places, revealed at their mean colour, as in ``ganpaint eval colorize`` (seed 10).
*Previous* is the ``colorize-photo`` of ``--old-rev`` (default: the one shipped before 2026-11-30's fine-tune)
with that revision's card, run as that revision's engine ran it (bilinear upsampling; its card has no
``auto_strength``, so every colour stays whole); *current* is the installed model with its card.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_gallery_semantic import SAMPLES, grid, old_models  # noqa: E402

#: the colorize-photo before the fine-tune of 2026-11-30
OLD_REV = "25559e2"
PHOTOS = ("chelsea.png", "astronaut.png", "coffee.png")


def main(argv: list[str] | None = None) -> int:
    import torch

    from ganpaint.engines.colorize import colorize_array
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.lab import rgb8_to_lab
    from ganpaint.training.eval_colorize import _with_ab, photo_hints

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--out", default="docs/gallery")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        old_models(args.old_rev, Path(tmp), "colorize-photo")
        previous = ModelRegistry([Path(tmp)]).create_engine("colorize-photo")
        previous.guided_radius = 0.0  # the engine of that revision: bilinear upsampling, every colour whole
        current = ModelRegistry.default().create_engine("colorize-photo")
        for engine in (previous, current):
            engine.load(torch.device("cpu"))
        for k, name in enumerate(PHOTOS, 1):
            truth = np.asarray(Image.open(SAMPLES / name).convert("RGB"))
            lab = rgb8_to_lab(truth)
            gray = _with_ab(lab[..., 0], np.zeros(lab.shape[:2] + (2,), np.float32))
            hints = photo_hints(truth, 10, 10)[0]
            rows = [[gray, truth],
                    [colorize_array(previous, gray).image, colorize_array(current, gray).image],
                    [colorize_array(previous, gray, hints).image, colorize_array(current, gray, hints).image]]
            Image.fromarray(grid(rows)).save(out / f"colorize-{k}.png", optimize=True)
            print(f"wrote {out / f'colorize-{k}.png'} ({name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
