"""Render the object-removal pictures of the gallery: three removals on the shipped sample photos, the
previous inpainting model vs the current one vs OpenCV's Telea and OpenCV-contrib's shift-map, side by
side at 100 % (crops around each hole, no resampling).

    PYTHONPATH=. python docs/make_inpaint_gallery.py [--out docs/gallery] [--previous inpaint-v2]
                                                     [--previous-option texture=0] [--model NAME] [--threads 2]

Writes ``OUT/remove-<photo>.png`` (panels: input with the hole in red | previous model | current model |
Telea | shift-map, the last only where ``opencv-contrib-python-headless`` is installed) and
``OUT/remove-<photo>-mask.png`` (the mask, so the removal can be reproduced in the studio or with
``ganpaint inpaint``). The masks are drawn here from polygons and ellipses in image pixels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganpaint.paths import SAMPLES  # noqa: E402

#: photo -> (what is removed, shapes): ("poly", [(x, y), ...]) or ("ellipse", (x0, y0, x1, y1))
REMOVALS = {
    "coffee.png": ("the spoon", [
        ("ellipse", (320, 236, 412, 330)),
        ("poly", [(392, 60), (426, 64), (420, 122), (398, 124)]),
        ("poly", [(372, 196), (394, 196), (392, 250), (366, 250)]),
    ]),
    "astronaut.png": ("the shuttle model", [
        ("poly", [(380, 0), (425, 0), (440, 40), (462, 60), (465, 215), (450, 235), (440, 250), (470, 265),
                  (455, 285), (365, 285), (350, 265), (355, 240), (345, 215), (360, 200), (370, 60)]),
    ]),
    "rocket.jpg": ("a launch tower", [
        ("poly", [(182, 116), (207, 116), (211, 422), (169, 422)]),
    ]),
}
MARGIN = 40  # context pixels shown around the hole


def draw_mask(size: tuple[int, int], shapes) -> np.ndarray:
    """``uint8 (H, W)`` mask (255 = hole) of ``shapes`` on an image of ``size`` (W, H)."""
    img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(img)
    for kind, spec in shapes:
        if kind == "poly":
            draw.polygon(spec, fill=255)
        else:
            draw.ellipse(spec, fill=255)
    return np.asarray(img, np.uint8).copy()


def _panel(image: np.ndarray, box, title: str) -> Image.Image:
    x0, y0, x1, y1 = box
    crop = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    panel = Image.new("RGB", (crop.width, crop.height + 16), "white")
    panel.paste(crop, (0, 16))
    ImageDraw.Draw(panel).text((3, 2), title, fill=(0, 0, 0), font=ImageFont.load_default())
    return panel


def _row(panels: list[Image.Image], gap: int = 6) -> Image.Image:
    out = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), max(p.height for p in panels)), "white")
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + gap
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "gallery"))
    parser.add_argument("--previous", default="inpaint-v2", help="the model being replaced")
    parser.add_argument("--previous-option", action="append", default=None, metavar="KEY=VALUE",
                        help="engine setting of the previous model, as for `ganpaint eval inpaint --engine-option` "
                             "(default: texture=0, the fill before the PatchMatch texture stage)")
    parser.add_argument("--model", default=None, help="the current model (default: the registry's default)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from ganpaint.document.imageio import load_rgb, save_image
    from ganpaint.engines.inpaint import inpaint_array
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.training.eval_inpaint import apply_engine_options, shiftmap_available, shiftmap_fill, telea_fill

    torch.set_num_threads(args.threads)
    registry = ModelRegistry.default()
    current = registry.model_for("inpaint", args.model).name
    engines = {role: registry.create_engine(name) for role, name in (("previous", args.previous), ("current", current))}
    options = ["texture=0"] if args.previous_option is None else args.previous_option
    apply_engine_options(engines["previous"], options)
    for engine in engines.values():
        engine.load(torch.device("cpu"))
    before = f"{args.previous}, {', '.join(options)} (before)" if options else f"{args.previous} (before)"
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for photo, (what, shapes) in REMOVALS.items():
        image = load_rgb(SAMPLES / photo)
        mask = draw_mask((image.shape[1], image.shape[0]), shapes)
        hole = mask > 127
        ys, xs = np.nonzero(hole)
        box = (max(0, xs.min() - MARGIN), max(0, ys.min() - MARGIN),
               min(image.shape[1], xs.max() + 1 + MARGIN), min(image.shape[0], ys.max() + 1 + MARGIN))
        shown = image.copy()
        shown[hole] = (0.5 * shown[hole] + 0.5 * np.array([255, 0, 0])).astype(np.uint8)
        panels = [_panel(shown, box, f"remove {what}")]
        panels.append(_panel(inpaint_array(engines["previous"], image, mask), box, before))
        panels.append(_panel(inpaint_array(engines["current"], image, mask), box, f"{current} (now)"))
        panels.append(_panel(telea_fill(image, hole), box, "OpenCV Telea"))
        if shiftmap_available():
            panels.append(_panel(shiftmap_fill(image, hole), box, "OpenCV-contrib shift-map"))
        stem = Path(photo).stem
        _row(panels).save(out_dir / f"remove-{stem}.png", optimize=True)
        save_image(out_dir / f"remove-{stem}-mask.png", mask)
        print(f"wrote {out_dir / f'remove-{stem}.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
