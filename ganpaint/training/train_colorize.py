"""``ganpaint train colorize``: train the compact user-guided colorization network (:class:`LiteSIGGRAPHGenerator`).

Follows Zhang et al., "Real-Time User-Guided Image Colorization with Learned Deep Priors" (SIGGRAPH 2017):
hints are simulated from the truth (:func:`~ganpaint.training.colorize_hints.simulate_hints`: a geometric number
of small patches at their mean colour, ``--hint-p`` of the images with none, plus short strokes), and the loss is

    L = w_reg * SmoothL1_beta(color_pred, color_true) + w_class * CE(class_logits, ab bin of the truth)

with ``beta`` = 1 ab unit (the paper's Huber loss; ``--reg-loss mse``: the squared error) on the regression output
(half the crop's resolution) and the cross-entropy over the 529 ab bins of the colour-distribution head (at 1/4
resolution). With ``--global-prob``
a share of the images also get a *global hint*: the ab histogram of the truth, which the network's global-hints
branch turns into a bottleneck bias (the studio passes a reference image's or a palette's histogram).

Modes:

* ``--mode photo``: ``--data`` photo folders (train splits). Input ``L``, ab hints; output ab.
* ``--mode lineart``: ``--data`` line-art pair folders (``line/`` + ``color/`` + ``splits.json``, e.g.
  ``openmoji_lineart``) and photo folders, whose photos become line art (XDoG, or HED edges with
  ``--photo-lines hed``) with the photo's colours flattened inside the regions the lines bound
  (:mod:`ganpaint.training.lineart_data`). Input the drawing's ``L`` and Lab hints (placed off the lines); output
  ``L, a, b`` of the fills. Lines are not in the loss (the engine draws them black over the flat fills).

Outputs in ``--out``: ``last.pt`` (network, EMA copy, optimiser, step, numpy and torch RNG; ``--resume`` continues
exactly), ``step_NNNNNNN.pt`` snapshots, ``samples/step_NNNNNNN.png`` + ``samples/latest.png`` (rows: input |
hints | automatic (no hints) | with the hints | truth), ``train_log.jsonl``. ``--export NAME`` writes
``MODELS_DIR/NAME.safetensors`` (fp16 EMA network) and the card ``MODELS_DIR/NAME.json``; with ``--resume`` and
``--steps`` not above the checkpoint's step it only exports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.lab import lab_to_rgb, rgb_to_lab
from ganpaint.nets.colorization import (AB_NORM, L_CENT, L_NORM, LiteSIGGRAPHGenerator, encode_ab_bins,
                                        network_inputs, normalize_inputs)
from ganpaint.paths import SHIPPED_MODELS
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.colorize_hints import ab_histogram, simulate_hints
from ganpaint.training.progress import sample_grid, save_png
from ganpaint.training.runs import (RunLoop, add_run_arguments, command_line, frozen_copy, open_run, optimizer_step,
                                    restore_progress, standalone_main, update_ema)

ARCHITECTURE = "lite-siggraph17"
#: exported photo models keep this share of the colours no hint asked for (engine ``auto_strength``): on 80
#: held-out photos (``ganpaint eval colorize`` protocol, 20 per set), 0.5 against 1 raised the PSNR of the
#: 2026-11-30 network by 1.0 dB without hints and 0.7 / 0.5 / 0.25 dB with 1 / 2 / 5 hints, and stayed within
#: 0.03 dB from 10 hints on; its automatic colours stay visible.
PHOTO_AUTO_STRENGTH = 0.5
#: the studio's own models feed the hint mask centred, as the paper's PyTorch retraining does.
MASK_CENTER = 0.5
DEFAULT_MODELS_DIR = SHIPPED_MODELS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("photo", "lineart"), default="photo",
                        help="photo: colorize grayscale photos; lineart: fill line drawings with flat colours")
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="photo folders (splits.json + images/); for lineart also pair folders (line/ + color/)")
    parser.add_argument("--size", type=int, default=128, help="training crop size (multiple of 16)")
    parser.add_argument("--batch", type=int, default=16, help="batch size")
    parser.add_argument("--steps", type=int, default=4000, help="total number of optimisation steps")
    parser.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate (betas 0.9/0.99)")
    parser.add_argument("--lr-final", type=float, default=0.1, help="cosine decay of the learning rate to this "
                        "fraction of --lr at --steps (1: constant)")
    parser.add_argument("--reg-loss", choices=("huber", "mse"), default="huber",
                        help="colour regression: the paper's Huber loss (about L1: the median colour, vivid) or the "
                        "squared error (the mean colour: greyer where unsure, higher PSNR)")
    parser.add_argument("--w-reg", type=float, default=10.0, help="weight of the colour regression")
    parser.add_argument("--w-class", type=float, default=1.0, help="weight of the ab-bin cross-entropy (distribution head)")
    parser.add_argument("--hint-p", type=float, default=0.125, help="stop probability of the geometric number of hints")
    parser.add_argument("--no-hints", type=float, default=0.0,
                        help="share of images trained with no local hints at all, on top of the geometric draw's "
                        "(automatic colorization: with --hint-p 0.06 alone, 6 %% of images have none)")
    parser.add_argument("--stroke-prob", type=float, default=0.2, help="share of hints that are short strokes")
    parser.add_argument("--global-prob", type=float, default=0.2, help="share of images given a global (histogram) hint")
    parser.add_argument("--widths", type=int, nargs=4, default=[32, 64, 96, 160], help="network widths (new runs)")
    parser.add_argument("--middle", type=int, default=3, help="dilated bottleneck convolutions (new runs)")
    parser.add_argument("--photo-lines", choices=("xdog", "hed"), default="xdog",
                        help="lineart: how line art is made from photos")
    parser.add_argument("--scale-min", type=float, default=0.5, help="smallest crop as a fraction of the short side")
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported network (0: off)")
    parser.add_argument("--init", metavar="MODEL", default=None,
                        help="new runs: start from this shipped colorization model (name, or its .safetensors path): "
                        "its network configuration and weights (network and EMA); the step count starts at 0")
    parser.add_argument("--balance", action="store_true",
                        help="photo mode: draw every --data folder equally often (by default each image is equally "
                        "likely, so the largest folder, e.g. flowers102's 1467 photos, sets the colour prior)")
    add_run_arguments(parser, sample_every=250, checkpoint_every=100, keep_every=1000, log_every=25,
                      models_dir=str(DEFAULT_MODELS_DIR))


def colorize_card(config: dict, mode: str, *, dataset: list[str], training: dict, metrics: dict | None = None) -> dict:
    """Model-card fields of an exported colorization network (name/weights/sha256 are added on export)."""
    licence = ("Weights: research / non-commercial use (trained on research-only image sets: " + ", ".join(dataset)
               + "; see each dataset's SOURCE.md).")
    if "openmoji_lineart" in dataset:
        licence += (" Trained on OpenMoji (openmoji.org, CC BY-SA 4.0): attribution required and the weights are "
                    "shared alike under CC BY-SA 4.0.")
    return {
        "task": "colorize",
        "architecture": ARCHITECTURE,
        "resolution": 256,
        "config": {"mode": mode, "mask_center": MASK_CENTER, "net": dict(config), "default": mode == "photo",
                   "pin_hints": mode == "photo", **({"auto_strength": PHOTO_AUTO_STRENGTH} if mode == "photo" else {})},
        "labels": [],
        "dataset": ", ".join(f"{d} (train split)" for d in dataset),
        "licence": licence,
        "training": training,
        "metrics": metrics or {},
        "description": (
            "Compact user-guided colorization network with the layout of Zhang et al.'s SIGGRAPH 2017 local-hints "
            "network (dilated middle, encoder shortcuts, colour-distribution head over 529 ab bins) and a "
            "global-hints branch; trained from scratch with simulated point, patch and stroke hints. "
            + ("Colours grayscale photos: ab is predicted and put on the photo's own full-resolution L."
               if mode == "photo" else
               "Fills line art: predicts the fills' Lab colour; the engine flattens it within the regions the "
               "lines bound and draws the lines black on top.")
            + _init_sentence(training.get("init"))),
    }


def _init_sentence(init) -> str:
    """The card description's note on the model a run started from (``training.init``), or ``""``."""
    if not isinstance(init, dict):
        return ""
    return f" Fine-tuned from the earlier '{init.get('model')}' ({init.get('steps', '?')} steps; training.init)."


def _lab_batch(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """``uint8 (N, H, W, 3)`` -> Lab ``float32 (N, 3, H, W)``."""
    rgb = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    return rgb_to_lab(rgb)


class PhotoBatches:
    """Photo mode: random crops of the train splits -> ``(lab, lines=None)``; validation crops for the grids."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ganpaint.training.data import ImageFolderDataset

        self.train = ImageFolderDataset(args.data, "train", args.size, scale_range=(args.scale_min, 1.0))
        val = ImageFolderDataset(args.data, "val", 192, limit=2)
        self.samples = np.stack([val[i] for i in range(min(6, len(val)))])
        self.size = len(self.train)
        self.groups = None  # --balance: the image indices of each folder
        if args.balance:
            sources = np.asarray(self.train.sources)
            self.groups = [np.flatnonzero(sources == s) for s in dict.fromkeys(self.train.sources)]

    def indices(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` training image indices: uniform over the images, or with ``--balance`` a uniform folder, then a
        uniform image of it."""
        if self.groups is None:
            return rng.integers(0, len(self.train), n)
        folders = (self.groups[k] for k in rng.integers(0, len(self.groups), n))
        return np.array([g[rng.integers(0, len(g))] for g in folders])

    def batch(self, rng: np.random.Generator, n: int, device: torch.device) -> tuple[torch.Tensor, None, None]:
        return _lab_batch(self.train.batch(self.indices(rng, n), rng), device), None, None

    def sample_batch(self, device: torch.device) -> tuple[torch.Tensor, None, None]:
        return _lab_batch(self.samples, device), None, None


def _color_target(lab: torch.Tensor, mode: str) -> torch.Tensor:
    """The colour the network regresses, normalised: ``ab / 110`` (photo) or ``(L - 50) / 100, ab / 110``."""
    if mode == "photo":
        return lab[:, 1:] / AB_NORM
    return torch.cat([(lab[:, :1] - L_CENT) / L_NORM, lab[:, 1:] / AB_NORM], dim=1)


def _net_inputs(net, lab: torch.Tensor, lightness: torch.Tensor, hint: torch.Tensor, mask: torch.Tensor, mode: str):
    """Normalised network inputs from the input lightness and simulated hints (``ab`` or ``Lab``)."""
    if mode == "photo":
        l, ab, m = normalize_inputs(lightness, hint, mask, MASK_CENTER)
        return network_inputs(net, l, ab, m)
    l, ab, m, hl = normalize_inputs(lightness, hint[:, 1:], mask, MASK_CENTER, hint_lightness=hint[:, :1])
    return network_inputs(net, l, ab, m, hl)


def predicted_lab(color: torch.Tensor, lightness: torch.Tensor, mode: str) -> torch.Tensor:
    """Network colour output (any resolution) + input lightness (full resolution) -> Lab at full resolution."""
    color = F.interpolate(color.float(), size=lightness.shape[-2:], mode="bilinear", align_corners=False)
    if mode == "photo":
        return torch.cat([lightness, color * AB_NORM], dim=1)
    return torch.cat([color[:, :1] * L_NORM + L_CENT, color[:, 1:] * AB_NORM], dim=1)


def _to_rgb8(lab: torch.Tensor) -> np.ndarray:
    return (lab_to_rgb(lab.float()).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def drop_hints(hint: torch.Tensor, mask: torch.Tensor, rng: np.random.Generator, share: float):
    """``(hint, mask)`` (``(N, C, H, W)``, ``(N, 1, H, W)``) with every hint of a random ``share`` of the N
    images removed (zeros), so the network also learns automatic colorization; unchanged when ``share`` <= 0."""
    if share <= 0:
        return hint, mask
    kept = torch.from_numpy(rng.random(hint.shape[0]) >= share).to(hint.device, hint.dtype)[:, None, None, None]
    return hint * kept, mask * kept.to(mask.dtype)


def shipped_colorizer(name_or_path: str, mode: str) -> tuple[dict, dict, dict]:
    """``(fp32 state dict, init, network configuration)`` of a shipped colorization model given by name
    (through the model registry) or by its ``.safetensors`` path (the card beside it), to start a run from.
    ``init``: the model's name and how it was trained (its card's ``training`` steps, command, wall time and
    phases), which the run keeps and its exported card repeats under ``training.init``.

    Raises:
        GanpaintError: not a colorization model of this trainer's architecture, or of another ``mode``.
        ModelError: unknown model or unreadable weights (from the registry).
    """
    from ganpaint.engines.registry import ModelCard, ModelRegistry, load_state_dict
    from ganpaint.errors import GanpaintError

    path = Path(name_or_path)
    card = (ModelCard.from_json(path.with_suffix(".json")) if path.suffix == ".safetensors"
            else ModelRegistry.default().get(name_or_path))
    cfg = card.config or {}
    if card.task != "colorize" or card.architecture != ARCHITECTURE or not isinstance(cfg.get("net"), dict):
        raise GanpaintError(f"--init: '{card.name}' is not a '{ARCHITECTURE}' colorization model")
    if cfg.get("mode", "photo") != mode:
        raise GanpaintError(f"--init: '{card.name}' colours {cfg.get('mode')}, this run {mode}")
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_state_dict(card).items()}
    trained = card.training or {}
    init = {"model": card.name, **{k: trained[k] for k in ("steps", "command", "wall_time", "phases", "init")
                                   if k in trained}}
    return state, init, dict(cfg["net"])


def run(args: argparse.Namespace) -> int:
    if args.size % 16:
        raise SystemExit("--size must be a multiple of 16")
    device, out, state, ckpt_path = open_run(args)
    mode = state["mode"] if state is not None else args.mode
    init_state, init = None, None
    if state is not None:
        config = dict(state["config"])
        init = state.get("init")
        first = (state.get("phases") or [{}])[0]
        if init is None and first.get("init"):  # a run saved before its state kept the init's history
            init = shipped_colorizer(first["init"], mode)[1]
    elif args.init:
        init_state, init, config = shipped_colorizer(args.init, mode)
    else:
        channels = 2 if mode == "photo" else 3
        config = {"widths": list(args.widths), "middle": args.middle, "hint_channels": channels,
                  "out_channels": channels, "global_bins": 529}
    torch.manual_seed(args.seed)
    net = LiteSIGGRAPHGenerator(**config).to(device)
    ema = frozen_copy(net)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.99))
    step, wall, rng, history_cmds = restore_progress(state, args.seed)
    if state is not None:
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["net_ema"])
        opt.load_state_dict(state["opt"])
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    elif init_state is not None:
        net.load_state_dict(init_state)
        ema.load_state_dict(init_state)
        print(f"started from model '{init['model']}'", file=sys.stderr)
    phases: list[dict] = list(state.get("phases", [])) if state is not None else []
    if state is None or step < args.steps:
        history_cmds.append(command_line("colorize", args))
        compute = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU, {torch.get_num_threads()} torch thread(s)")
        phases.append({"from_step": step, "size": args.size, "batch": args.batch, "lr": args.lr,
                       "reg_loss": args.reg_loss, "w_reg": args.w_reg,
                       "w_class": args.w_class, "hint_p": args.hint_p, "stroke_prob": args.stroke_prob,
                       **({"no_hints": args.no_hints} if args.no_hints > 0 else {}),
                       "global_prob": args.global_prob, "ema": args.ema, "compute": compute,
                       **({"init": init["model"]} if init and step == 0 else {}),
                       **({"balance": True} if args.balance else {})})
    data_names = [Path(d).name for d in args.data]

    def snapshot() -> dict:
        return {"net": net.state_dict(), "net_ema": ema.state_dict(), "opt": opt.state_dict(), "config": config,
                "mode": mode, "size": args.size, "batch": args.batch, "data": data_names, "commands": history_cmds,
                "phases": phases, "init": init}

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        computes = sorted({p["compute"] for p in phases})
        card = colorize_card(config, mode, dataset=data_names, training={
            "command": " ; ".join(history_cmds), "steps": step, "batch": args.batch, "size": args.size,
            "compute": "; ".join(computes), "wall_time": f"{wall / 60:.1f} min", "phases": phases,
            "exported": "EMA network" if args.ema > 0 else "network", **({"init": init} if init else {})})
        wp, cp = ckpt.export_model(ema if args.ema > 0 else net, args.models_dir, args.export, card,
                                   half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    if mode == "photo":
        batches = PhotoBatches(args)
    else:
        from ganpaint.training.lineart_data import LineArtBatches

        batches = LineArtBatches(args)
    patch_max = max(1, round(9 * args.size / 256))

    def hints_for(lab: torch.Tensor, regions, generator: np.random.Generator, **kw):
        color = lab[:, 1:] if mode == "photo" else lab
        return simulate_hints(color, generator, regions=regions, **kw)

    def write_samples(step: int) -> None:
        lab, lines, regions = batches.sample_batch(device)
        lightness = lab[:, :1] if lines is None else lines_to_lightness(lines)
        model = ema if args.ema > 0 else net
        hint, mask = hints_for(lab, regions, np.random.default_rng(1), num_points=10, sampling="uniform",
                               patch_sizes=(5,))
        outs = []
        with torch.no_grad():
            for h, m in ((hint * 0, mask * 0), (hint, mask)):
                o = model(*_net_inputs(model, lab, lightness, h, m, mode))
                outs.append(_to_rgb8(predicted_lab(o.color, lightness, mode)))
        gray = _to_rgb8(torch.cat([lightness, torch.zeros_like(lab[:, 1:])], dim=1))
        shown = torch.cat([lightness, lab[:, 1:]], 1) if mode == "photo" else lab
        hinted = _to_rgb8(torch.where(mask > 0, shown, torch.cat([lightness, torch.zeros_like(lab[:, 1:])], 1)))
        truth = _to_rgb8(lab)
        rows = [[g, hh, a, b, t] for g, hh, a, b, t in zip(gray, hinted, outs[0], outs[1], truth)]
        grid = sample_grid(rows)
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    def lr_at(s: int) -> float:
        frac = min(1.0, s / max(1, args.steps))
        return float(args.lr * (args.lr_final + (1 - args.lr_final) * 0.5 * (1 + np.cos(np.pi * frac))))

    loop = RunLoop(args, out, f"colorize-{mode}", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training {sum(p.numel() for p in net.parameters()) / 1e6:.2f}M-param {mode} colorizer on "
                   f"{batches.size} images, size {args.size}, batch {args.batch}, device {device}, "
                   f"threads {torch.get_num_threads()}")
    net.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = lr_at(loop.step)
            lab, lines, regions = batches.batch(rng, args.batch, device)
            lightness = lab[:, :1] if lines is None else lines_to_lightness(lines)
            hint, mask = hints_for(lab, regions, rng, p=args.hint_p, patch_sizes=range(1, patch_max + 1),
                                   stroke_prob=args.stroke_prob)
            hint, mask = drop_hints(hint, mask, rng, args.no_hints)
            ghint = None
            if args.global_prob > 0:
                given = torch.from_numpy(rng.random(args.batch) < args.global_prob).to(device)
                weight = None if lines is None else (lines < 0.5).float()
                ghint = ab_histogram(lab[:, 1:], weight) * given[:, None].float()
            o = net(*_net_inputs(net, lab, lightness, hint, mask, mode), global_hint=ghint)
            target = F.avg_pool2d(_color_target(lab, mode), net.output_stride)
            weight = torch.ones_like(target[:, :1])
            if lines is not None:  # lines are drawn black by the engine: no loss on them
                weight = F.avg_pool2d((lines < 0.5).float(), net.output_stride)
            if mode == "photo":  # the paper skips nearly grayscale images
                chroma = lab[:, 1:].abs().mean(dim=(1, 2, 3))
                weight = weight * (chroma > 2.0).float()[:, None, None, None]
            if args.reg_loss == "mse":
                per_pixel = F.mse_loss(o.color, target, reduction="none")
            else:
                per_pixel = F.smooth_l1_loss(o.color, target, beta=1.0 / AB_NORM, reduction="none")
            reg = (per_pixel * weight).sum() / (weight.sum() * target.shape[1]).clamp_min(1.0)
            ab4 = F.avg_pool2d(lab[:, 1:], 4)
            w4 = F.avg_pool2d(weight, 2) if net.output_stride == 2 else F.avg_pool2d(weight, 4)
            ce = F.cross_entropy(net.class_logits(o.class_features), encode_ab_bins(ab4), reduction="none")
            ce = (ce * w4[:, 0]).sum() / w4.sum().clamp_min(1.0)
            loss = args.w_reg * reg + args.w_class * ce
            optimizer_step(opt, loss)
            update_ema([(ema, net)], args.ema, loop.step)
            loop.step_done(time.perf_counter() - t0, {"reg": reg.item(), "ce": ce.item()})
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def lines_to_lightness(lines: torch.Tensor) -> torch.Tensor:
    """Line-art darkness ``(N, 1, H, W)`` in [0, 1] (1 = black line) -> the drawing's L in [0, 100]."""
    return (1.0 - lines) * 100.0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_colorize ...``."""
    return standalone_main("colorize", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
