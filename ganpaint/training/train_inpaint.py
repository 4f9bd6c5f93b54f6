"""``ganpaint train inpaint``: train the gated-convolution inpainting generator with an SN-PatchGAN.

Losses (DeepFill v2, Yu et al. 2019, plus pix2pixHD feature matching):

    L_G = w_hole * L1_hole + w_valid * L1_valid + w_adv * hinge_G(D(composite)) + w_fm * FM(D)
    L_D = hinge_D(D(real), D(composite))

where ``composite`` is the generator output inside the hole and the real image outside. The adversarial
and feature-matching terms start at ``--adv-start`` (a reconstruction-only warm-up is cheaper per step and
gets a usable generator quickly on a CPU).

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
from ganpaint.training.masks import eval_mask, random_training_mask
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
    parser.add_argument("--export-fp32", action="store_true", help="export fp32 weights instead of fp16")


def _to_tensor(images: np.ndarray, masks: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    m = torch.from_numpy((masks > 127).astype(np.float32))[:, None].to(device)
    return x, m


@torch.no_grad()
def build_generator(config: dict) -> InpaintGenerator:
    return InpaintGenerator(**config)


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
        "description": description or (
            "Single-stage gated-convolution inpainting generator (DeepFill v2 family, Yu et al. 2019) trained with "
            "an SN-PatchGAN hinge loss, L1 and discriminator feature matching on procedural free-form/stroke/box masks."),
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
        g_config = {"base_channels": args.base_channels, "channel_mult": list(args.channel_mult),
                    "dilations": [2, 4, 8, 16], "refine_blocks": 1, "separable": False, "activation": "elu",
                    "residual": True, "skips": True}
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
        card = inpaint_card(g_config, resolution=256, dataset=data_names, training={
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
    kinds = ["thin", "thick", "box"]
    sample_masks = np.stack([eval_mask(kinds[i % 3], i, args.size, args.size) for i in range(n_samples)])

    def write_samples(step: int) -> None:
        x, m = _to_tensor(sample_imgs, sample_masks, device)
        with torch.no_grad():
            y = G_ema(x * (1 - m), m) if args.ema > 0 else G(x * (1 - m), m)
        grid = sample_grid(inpaint_grid_rows(sample_imgs, sample_masks, to_uint8(y)))
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

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
