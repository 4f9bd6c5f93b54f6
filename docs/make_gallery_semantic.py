"""Render the semantic half of the gallery: label edits into the sample photos and doodled landscapes, each
with the previous models next to the current ones, as PNGs under ``docs/gallery/``.

    PYTHONPATH=. python docs/make_gallery_semantic.py [--old-rev REV] [--out docs/gallery]

* **label edits** (``semantic-edit-N.png``, 2x2 at the photo's own size: photo | edited label map (colours
  over the photo) / previous | current): a sample photo of ``ganpaint/resources/samples`` is segmented by
  ``segment-landscape``, one class is painted over a shape, and only the changed pixels are regenerated,
  through the synthesis engine's photo-edit path. *Previous*: the ``spade-landscape`` of ``--old-rev``
  alone (synthesis in the photo's style, colour-matched, pasted); *current*: the installed
  ``spade-landscape`` with its photo editor (SESAME semantic inpainting, when installed).
* **doodles** (``semantic-doodle-N.png``, label map | previous | current at 512x384): blank-canvas
  synthesis of hand-made label maps with the same seed.

``--old-rev`` (default: the commit before issue #10's semantic work) names the git revision whose
``ganpaint/models/spade-landscape.*`` are the previous model; the files are read with ``git show``.
``docs/gallery/semantic.md`` gets one caption line per picture.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "ganpaint" / "resources" / "samples"
#: the models before the semantic work of issue #10
OLD_REV = "fca70d2"

# landscape ids: sky 0, tree 1, road 2, grass 3, water 4, building 5, mountain 6, foreground object 7
SKY, TREE, ROAD, GRASS, WATER, BUILDING, MOUNTAIN = 0, 1, 2, 3, 4, 5, 6

#: (photo, class id, shape, box as fractions (x0, y0, x1, y1), caption)
EDITS = [
    ("rocket.jpg", WATER, "rect", (0.0, 0.86, 1.0, 1.0), "water painted over the ground of the launch pad"),
    ("rocket.jpg", TREE, "ellipse", (0.55, 0.7, 1.0, 1.05), "trees painted over the lower right"),
    ("astronaut.png", SKY, "rect", (0.0, 0.0, 0.3, 0.45), "sky painted over the flag behind the astronaut"),
    ("coffee.png", GRASS, "rect", (0.72, 0.0, 1.0, 0.5), "grass painted over the top right of the table"),
]


def _doodle(draw_fn, size=(512, 384)) -> np.ndarray:
    img = Image.new("L", size, SKY)
    draw_fn(ImageDraw.Draw(img), *size)
    return np.asarray(img, np.uint8)


#: (caption, drawing function of an ImageDraw on a sky-filled canvas)
DOODLES = [
    ("mountains over a lake, grass and two trees", lambda d, w, h: (
        d.polygon([(0, 200), (120, 130), (230, 190), (340, 110), (470, 180), (w, 150), (w, h), (0, h)], fill=MOUNTAIN),
        d.rectangle([0, 260, w, h], fill=GRASS), d.ellipse([90, 250, 420, 300], fill=WATER),
        d.ellipse([30, 200, 90, 290], fill=TREE), d.ellipse([430, 190, 500, 290], fill=TREE))),
    ("sea under a sky, a headland", lambda d, w, h: (
        d.rectangle([0, 210, w, h], fill=WATER),
        d.polygon([(300, 215), (380, 150), (450, 160), (w, 120), (w, 215)], fill=MOUNTAIN))),
    ("a building by a road, trees and grass", lambda d, w, h: (
        d.rectangle([0, 250, w, h], fill=GRASS), d.polygon([(180, h), (240, 250), (280, 250), (340, h)], fill=ROAD),
        d.rectangle([300, 120, 470, 255], fill=BUILDING), d.ellipse([40, 150, 170, 270], fill=TREE))),
    ("a forest above a meadow with a river", lambda d, w, h: (
        d.rectangle([0, 120, w, 230], fill=TREE), d.rectangle([0, 230, w, h], fill=GRASS),
        d.polygon([(200, 230), (250, 230), (330, h), (180, h)], fill=WATER))),
]


def old_models(rev: str, folder: Path, name: str = "spade-landscape") -> Path:
    """Write ``ganpaint/models/NAME.{json,safetensors}`` of git revision ``rev`` into ``folder``."""
    for ext in ("json", "safetensors"):
        data = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:ganpaint/models/{name}.{ext}"],
                              check=True, capture_output=True).stdout
        (folder / f"{name}.{ext}").write_bytes(data)
    return folder / f"{name}.json"


def shape_mask(shape: str, box, h: int, w: int) -> np.ndarray:
    img = Image.new("L", (w, h), 0)
    x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    (ImageDraw.Draw(img).rectangle if shape == "rect" else ImageDraw.Draw(img).ellipse)([x0, y0, x1, y1], fill=1)
    return np.asarray(img, bool)


def grid(rows: list[list[np.ndarray]], gap: int = 4) -> np.ndarray:
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            out[i * (h + gap): i * (h + gap) + h, j * (w + gap): j * (w + gap) + w] = im
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from ganpaint.document.imageio import load_rgb, save_image
    from ganpaint.engines.registry import ModelCard, ModelRegistry
    from ganpaint.engines.segment import load_segmenter
    from ganpaint.engines.synthesis import SynthesisEngine, synthesize_array
    from ganpaint.labelsets import default_labelset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default=OLD_REV, help="git revision of the previous spade-landscape")
    parser.add_argument("--out", default=str(REPO / "docs" / "gallery"), help="output folder")
    parser.add_argument("--seed", type=int, default=3, help="style seed of the doodles")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cpu = torch.device("cpu")
    registry = ModelRegistry.default()
    new = registry.create_engine("spade-landscape")
    new.load(cpu)
    with tempfile.TemporaryDirectory() as tmp:
        old = SynthesisEngine(ModelCard.from_json(old_models(args.old_rev, Path(tmp))))  # no registry: SPADE alone
        old.load(cpu)
    segmenter = load_segmenter("segment-landscape")
    lut = default_labelset().lut()
    captions = [f"Previous: `spade-landscape` of {args.old_rev}, alone. Current: `{new.card.name}` with photo editor "
                f"`{new.editor.card.name if new.editor else 'none'}`.", ""]
    for n, (name, cls, shape, box, caption) in enumerate(EDITS, start=1):
        photo = load_rgb(SAMPLES / name)
        labels = segmenter.segment(photo)
        painted = shape_mask(shape, box, *labels.shape)
        edited = labels.copy()
        edited[painted] = cls
        region = edited != labels
        before = synthesize_array(old, edited, seed=0, photo=photo, region=region)
        after = synthesize_array(new, edited, seed=0, photo=photo, region=region)
        overlay = np.where(region[..., None], (0.35 * photo + 0.65 * lut[edited]).astype(np.uint8), photo)
        save_image(out / f"semantic-edit-{n}.png", grid([[photo, overlay], [before, after]]))
        captions.append(f"- `semantic-edit-{n}.png`: {caption} ({name}; top: photo, edited labels over it; bottom: "
                        f"previous, current by `{new.last_generator}`).")
    for n, (caption, draw) in enumerate(DOODLES, start=1):
        labels = _doodle(draw)
        before = synthesize_array(old, labels, seed=args.seed)
        after = synthesize_array(new, labels, seed=args.seed)
        save_image(out / f"semantic-doodle-{n}.png", grid([[lut[labels], before, after]]))
        captions.append(f"- `semantic-doodle-{n}.png`: {caption} (label map | previous | current, seed {args.seed}).")
    (out / "semantic.md").write_text("\n".join(captions) + "\n", encoding="utf-8")
    print(f"wrote {len(EDITS)} label edits and {len(DOODLES)} doodles to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
