"""``ganpaint train gan``: train an unconditional GAN with DiffAugment, for latent projection and constrained
editing (iGAN): a light StyleGAN2 (``--arch stylegan2-lite``, :mod:`ganpaint.nets.stylegan2_lite`) or a DCGAN
(``--arch dcgan``, :mod:`ganpaint.nets.dcgan`, 64 px, batch norm, Adam betas (0.5, 0.999), DCGAN's
initialisation; the recipe iGAN edited with).

Losses (StyleGAN2's defaults, Karras et al. 2020): the non-saturating logistic loss

    L_D = softplus(D(T(G(z)))) + softplus(-D(T(x)))        L_G = softplus(-D(T(G(z))))

where ``T`` is DiffAugment (``--augment``, Zhao et al. 2020) applied to real and fake images alike, plus
the lazy R1 penalty ``gamma / 2 * |grad_x D(T(x))|^2`` every ``--r1-every`` steps (scaled by that
interval; off by default for the DCGAN). Adam with betas (0, 0.99) (DCGAN: (0.5, 0.999)); the exported generator is an exponential moving average of the
trained one (``--ema``).

Data: every image of the ``--split`` split (shared layout: ``splits.json`` + ``images/``), resized as a
whole (Lanczos) to ``--size`` and kept in memory; random horizontal flips.

Outputs in ``--out``: ``last.pt`` (generator, discriminator, EMA generator, optimisers, step, RNG states;
``--resume`` continues exactly), ``step_NNNNNNN.pt`` snapshots, ``samples/step_NNNNNNN.png`` and
``samples/latest.png`` (fixed latents: rows at truncation psi 1.0 and 0.7), ``train_log.jsonl``.
``--export NAME`` writes ``MODELS_DIR/NAME.safetensors`` (EMA generator) and its card; with ``--resume``
and ``--steps`` not above the checkpoint's step it only exports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.errors import InputError
from ganpaint.nets.dcgan import DCGANOptions
from ganpaint.nets.gan_architectures import build_gan, gan_options
from ganpaint.nets.stylegan2_lite import GANOptions, default_channels, param_count
from ganpaint.paths import SHIPPED_MODELS
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.data import list_split, load_rgb_pil
from ganpaint.training.diffaugment import diff_augment, parse_policy
from ganpaint.training.progress import sample_grid, save_png, to_uint8
from ganpaint.training.runs import (RunLoop, add_run_arguments, command_line, frozen_copy, open_run, optimizer_step,
                                    restore_progress, standalone_main, update_ema)

#: Model-card ``architecture`` of an exported generator (see :mod:`ganpaint.engines.manifold`).
ARCHITECTURE = "stylegan2-lite"
#: Closeness weight of edits per architecture, for the card. A DCGAN's z is entangled: with 0.05 a colour
#: stroke on gan-flowers repainted the whole picture (mean change outside the strokes 93 of 255, ``eval igan``
#: on 10 val photos); 0.5 kept more of it (76) and still met the stroke colour (error 135 -> 18).
EDIT_CLOSENESS = {"dcgan": 0.5}
#: Training recipe per architecture: name -> (default learning rate, Adam betas, default R1 gamma).
RECIPES = {"stylegan2-lite": (0.002, (0.0, 0.99), 0.05), "dcgan": (2e-4, (0.5, 0.999), 0.0)}
DEFAULT_MODELS_DIR = SHIPPED_MODELS

#: Dataset folder name -> (category, licence sentence), for cards.
DATASET_FACTS = {
    "flowers102_128": ("flowers",
                       "Weights trained on the Oxford 102 Category Flowers photos (Nilsback & Zisserman, ICVGIP 2008), "
                       "collected from the web with no licence stated: research use, cite the paper. Weights: research "
                       "/ non-commercial use."),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (splits.json + images/, or plain image folder)")
    parser.add_argument("--split", default="train", help="training split of splits.json")
    parser.add_argument("--arch", default="dcgan", choices=tuple(RECIPES),
                        help="network (new runs); dcgan (the recipe of gan-flowers) is 64 px")
    parser.add_argument("--size", type=int, default=64, choices=(64, 128), help="output resolution in pixels (new runs)")
    parser.add_argument("--batch", type=int, default=16, help="batch size")
    parser.add_argument("--steps", type=int, default=20_000, help="total number of optimisation steps")
    parser.add_argument("--lr", type=float, default=None, help="learning rate of G and D (default: 0.002 for stylegan2-lite, 2e-4 for dcgan)")
    parser.add_argument("--r1", type=float, default=None, help="R1 penalty weight gamma (0: off; default: 0.05 for stylegan2-lite, 0 for dcgan)")
    parser.add_argument("--r1-every", type=int, default=16, help="lazy R1: apply it every N steps")
    parser.add_argument("--augment", default="color,translation,cutout", help="DiffAugment policies ('none': off)")
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported generator (0: off)")
    parser.add_argument("--max-channels", type=int, default=256, help="channels at 4 px, halved per octave (new runs)")
    parser.add_argument("--min-channels", type=int, default=16, help="fewest channels at any resolution (new runs)")
    parser.add_argument("--z-dim", type=int, default=128, help="latent size z and w (new runs)")
    parser.add_argument("--ngf", type=int, default=32, help="dcgan: generator and discriminator width (new runs)")
    parser.add_argument("--metrics", metavar="JSON", help="metrics JSON (from 'ganpaint eval gan --json') to put in the card")
    add_run_arguments(parser, sample_every=250, checkpoint_every=100, keep_every=2000, log_every=25,
                      models_dir=str(DEFAULT_MODELS_DIR))


def load_images(data: Path, split: str, size: int) -> np.ndarray:
    """Every image of ``split`` resized as a whole to ``size`` x ``size`` (Lanczos): ``uint8 (N, 3, size, size)``.

    Raises:
        FileNotFoundError, KeyError: see :func:`ganpaint.training.data.list_split`.
    """
    from PIL import Image

    paths = list_split(data, split)
    out = np.empty((len(paths), 3, size, size), np.uint8)
    for i, p in enumerate(paths):
        img = load_rgb_pil(p)
        if img.size != (size, size):
            w, h = img.size
            side = min(w, h)
            box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
            img = img.resize((size, size), Image.LANCZOS, box=box)
        out[i] = np.asarray(img, np.uint8).transpose(2, 0, 1)
    return out


def real_batch(images: np.ndarray, rng: np.random.Generator, batch: int, device: torch.device) -> torch.Tensor:
    """A random batch of ``images`` (``uint8 (N, 3, S, S)``), half of them flipped: ``float (B, 3, S, S)`` in [-1, 1]
    (channels-last memory format)."""
    idx = rng.integers(0, len(images), batch)
    x = images[idx]
    flip = rng.random(batch) < 0.5
    x[flip] = x[flip][..., ::-1]
    return torch.from_numpy(x).to(device).float().div_(127.5).sub_(1.0).contiguous(memory_format=torch.channels_last)


def d_loss(D, G, real: torch.Tensor, z: torch.Tensor, policy, r1_gamma: float) -> tuple[torch.Tensor, dict]:
    """Discriminator loss of the module docstring (R1 term included when ``r1_gamma > 0``)."""
    with torch.no_grad():
        fake = G(z)
    real = real.detach().requires_grad_(r1_gamma > 0)
    real_logits = D(diff_augment(real, policy))
    loss = F.softplus(D(diff_augment(fake, policy))).mean() + F.softplus(-real_logits).mean()
    logs = {"d": float(loss.detach()), "real": float(real_logits.detach().mean())}
    if r1_gamma > 0:
        (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        r1 = grad.square().sum(dim=(1, 2, 3)).mean()
        loss = loss + r1_gamma / 2 * r1
        logs["r1"] = float(r1.detach())
    return loss, logs


def describe(arch: str, opt, category: str) -> str:
    """The card's one-paragraph description of a generator we trained."""
    if arch == "dcgan":
        return (f"DCGAN (Radford et al. 2016; nz {opt.nz}, ngf {opt.ngf}, batch norm) trained by us with DiffAugment "
                f"(Zhao et al. 2020) on {category} at 64 px, the kind of generator iGAN (Zhu et al. 2016) edited. "
                f"For latent projection and constrained editing.")
    return (f"Light StyleGAN2 (Karras et al. 2020) trained by us with DiffAugment (Zhao et al. 2020) on "
            f"{category} at {opt.resolution} px: 2-layer mapping network, one modulated convolution per "
            f"resolution, channels {opt.channels}, no noise inputs. For latent projection and "
            f"constrained editing (iGAN, Zhu et al. 2016).")


def gan_card(opt, *, data: Path, training: dict, metrics: dict | None = None, arch: str = ARCHITECTURE) -> dict:
    """Model-card fields of an exported generator of architecture ``arch`` (name/weights/sha256 are added
    on export)."""
    category, licence = DATASET_FACTS.get(data.name, (data.name, f"Weights trained on {data.name}; see its SOURCE.md."))
    return {
        "task": "manifold",
        "architecture": arch,
        "resolution": int(opt.resolution),
        "config": {"options": opt.to_dict(), "category": category, "latent_space": "z" if arch == "dcgan" else "w",
                   "preprocess": f"whole photo (square centre crop) resized to {opt.resolution} px, RGB in [-1, 1]",
                   "truncation_psi": 0.7,
                   "projection": {"lr": 0.1, "prior": 1e-3},
                   "edit": {"lr": 0.1, "closeness": EDIT_CLOSENESS.get(arch, 0.05), "w_color": 1.0, "w_sketch": 1.0,
                            "spread": 0.5}},
        "dataset": f"{data.name}: 'train' split of its splits.json (../shared/datasets/{data.name}; origin and terms "
                   f"in its SOURCE.md)",
        "licence": licence,
        "training": training,
        "metrics": metrics or {},
        "description": describe(arch, opt, category),
    }


def cpu_description(device: torch.device) -> str:
    """Where training ran, for the card: the GPU name, or the CPU model, core count and torch threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores, shared with other jobs), {torch.get_num_threads()} torch thread(s)"


def run(args: argparse.Namespace) -> int:
    if args.arch == "dcgan" and args.size != 64 and not args.resume:
        raise InputError(f"--arch dcgan makes 64 px pictures; use --size 64, or --arch stylegan2-lite for {args.size} px")
    device, out, state, ckpt_path = open_run(args)
    data = Path(args.data)
    if state is not None:
        arch = state.get("arch", ARCHITECTURE)
        opt = gan_options(arch, state["options"])
    elif args.arch == "dcgan":
        arch, opt = "dcgan", DCGANOptions(nz=args.z_dim, ngf=args.ngf, ndf=args.ngf)
    else:
        arch = ARCHITECTURE
        ch = default_channels(args.size, args.max_channels, args.min_channels)
        opt = GANOptions(resolution=args.size, z_dim=args.z_dim, w_dim=args.z_dim, channels=ch,
                         d_channels=list(reversed(ch)))
    policy = parse_policy(args.augment)
    default_lr, betas, default_r1 = RECIPES[arch]
    args.lr = default_lr if args.lr is None else args.lr
    args.r1 = default_r1 if args.r1 is None else args.r1

    torch.manual_seed(args.seed)
    # channels-last activations: about a third faster convolutions on a CPU (oneDNN), same numbers
    G, D = build_gan(arch, opt, discriminator=True)
    G = G.to(device, memory_format=torch.channels_last)
    D = D.to(device, memory_format=torch.channels_last)
    G_ema = frozen_copy(G)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=betas)
    r1_ratio = args.r1_every / (args.r1_every + 1) if args.r1 > 0 else 1.0  # StyleGAN2's lazy-regularisation fix
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr * r1_ratio, betas=(betas[0], betas[1] ** r1_ratio))
    step, wall, rng, commands = restore_progress(state, args.seed)
    if state is not None:
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
        G_ema.load_state_dict(state["generator_ema"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    commands.append(command_line("gan", args))
    G_ema.to(device)

    def snapshot() -> dict:
        return {"generator": G.state_dict(), "discriminator": D.state_dict(), "generator_ema": G_ema.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "options": opt.to_dict(), "arch": arch,
                "batch": args.batch, "data": data.name, "commands": commands}

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        training = {"command": " ; ".join(commands), "steps": step, "batch": args.batch, "compute": cpu_description(device),
                    "wall_time": f"{wall / 60:.1f} min", "s_per_step": round(wall / max(step, 1), 3),
                    "losses": {"gan": "non-saturating logistic", "r1_gamma": args.r1, "r1_every": args.r1_every,
                               "diffaugment": ",".join(policy) or "none"},
                    "optimizer": f"Adam betas {betas}, lr {args.lr}", "ema": args.ema,
                    "params": {"generator": param_count(G), "discriminator": param_count(D)}}
        metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else {}
        card = gan_card(opt, data=data, training=training, metrics=metrics, arch=arch)
        wp, cp = ckpt.export_model(G_ema if args.ema > 0 else G, args.models_dir, args.export, card,
                                   half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    images = load_images(data, args.split, opt.resolution)
    sample_z = torch.randn(8, opt.z_dim, generator=torch.Generator().manual_seed(1234)).to(device)

    def write_samples(step: int) -> None:
        with torch.no_grad():
            rows = [list(to_uint8(G_ema(sample_z, psi))) for psi in (1.0, 0.7)]
        rows.append([im.transpose(1, 2, 0) for im in images[:8]])
        grid = sample_grid(rows)
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    loop = RunLoop(args, out, "gan", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training {arch} G {param_count(G) / 1e6:.2f}M, D {param_count(D) / 1e6:.2f}M params on "
                   f"{len(images)} images of {data.name} at {opt.resolution} px, batch {args.batch}, DiffAugment "
                   f"{','.join(policy) or 'off'}, device {device}, threads {torch.get_num_threads()}")
    G.train(), D.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            # discriminator step (with lazy R1)
            real = real_batch(images, rng, args.batch, device)
            z = torch.randn(args.batch, opt.z_dim, device=device)
            r1 = args.r1 * args.r1_every if args.r1 > 0 and loop.step % args.r1_every == 0 else 0.0
            loss_d, logs = d_loss(D, G, real, z, policy, r1)
            optimizer_step(opt_d, loss_d)

            # generator step
            D.requires_grad_(False)
            fake_logits = D(diff_augment(G(torch.randn(args.batch, opt.z_dim, device=device)), policy))
            logs["g"] = optimizer_step(opt_g, F.softplus(-fake_logits).mean())
            D.requires_grad_(True)

            update_ema([(G_ema, G)], args.ema, loop.step)
            loop.step_done(time.perf_counter() - t0, logs)
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_gan ...``."""
    return standalone_main("gan", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["ARCHITECTURE", "RECIPES", "add_arguments", "cpu_description", "d_loss", "describe", "gan_card", "load_images",
           "real_batch", "run"]
