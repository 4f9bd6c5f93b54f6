"""``ganpaint eval gan``: sample quality and memorisation check of an unconditional GAN.

Protocol:

* ``--samples`` pictures per truncation ``psi`` in ``--psi`` (``z ~ N(0, I)`` from ``--seed``);
* **KID-VGG / FD-VGG** (:func:`ganpaint.training.fid.kernel_inception_distance`,
  :func:`~ganpaint.training.fid.frechet_distance_of`) between VGG16 relu5_3 embeddings
  (:func:`ganpaint.training.perceptual.vgg_embeddings`, pictures resized to ``--embed-size``) of the samples
  and of the held-out ``--split`` photos (resized as a whole to the GAN's resolution, as in training). The
  same numbers for as many *training* photos against the held-out photos give the floor a perfect
  generator would reach (KID is unbiased; FD grows as the sample count falls);
* **nearest neighbours** (does it just memorise?): for each sample and each held-out photo, the distance to
  its nearest training photo, in pixels (RMS difference 0..255 over all training photos) and in VGG
  embeddings (cosine distance, against ``--nn-train`` training photos). A generator that copies its
  training set has samples much closer to the training photos than unseen photos are: the ratios
  ``median(sample -> train) / median(held-out -> train)`` would fall well below 1, and ``near_copies``
  (the share of samples closer to a training photo, in pixels, than 99 % of held-out photos are) would
  rise above about 0.01;
* ``--nn-grid PNG``: rows of a sample followed by its 4 nearest training photos (pixels).

``--json OUT`` writes the numbers (the ``metrics.gan`` of the model card); ``--report MD`` a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gan", required=True, help="model card .json, installed model name, or train-gan last.pt")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder the GAN was trained on")
    parser.add_argument("--split", default="val", help="held-out split of splits.json")
    parser.add_argument("--samples", type=int, default=1000, help="samples per truncation value")
    parser.add_argument("--limit", type=int, default=None, help="at most N held-out photos")
    parser.add_argument("--psi", default="1.0,0.7", help="truncation values, comma-separated")
    parser.add_argument("--embed-size", type=int, default=128, help="side the pictures are resized to for VGG16")
    parser.add_argument("--nn-train", type=int, default=2000, help="training photos searched in VGG space")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--json", metavar="OUT", default=None, help="write the metrics as JSON")
    parser.add_argument("--report", metavar="MD", default=None, help="write a Markdown summary")
    parser.add_argument("--nn-grid", metavar="PNG", default=None, help="samples with their nearest training photos")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")


def generate(G, count: int, psi: float, seed: int, batch: int = 50) -> np.ndarray:
    """``uint8 (count, R, R, 3)`` samples of generator ``G`` at truncation ``psi`` (``z`` from ``seed``)."""
    import torch

    from ganpaint.engines.latent import to_uint8

    device = next(G.parameters()).device
    z = torch.randn(count, G.opt.z_dim, generator=torch.Generator().manual_seed(seed))
    out = []
    with torch.no_grad():
        for i in range(0, count, batch):
            out.append(to_uint8(G(z[i:i + batch].to(device), psi)))
    return np.concatenate(out)


def nearest_pixel(queries: np.ndarray, pool: np.ndarray, k: int = 1, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(distances float64 (N, k), indices (N, k))``: the ``k`` nearest ``pool`` pictures of each query by RMS
    pixel difference (0..255); ``uint8 (N, ...)`` and ``(M, ...)`` pictures of one shape."""
    q = queries.reshape(len(queries), -1).astype(np.float32)
    p = pool.reshape(len(pool), -1).astype(np.float32)
    pn = (p * p).sum(1)
    dists, idx = [], []
    for i in range(0, len(q), chunk):
        qc = q[i:i + chunk]
        d2 = np.maximum((qc * qc).sum(1)[:, None] + pn[None] - 2 * qc @ p.T, 0)
        nn = np.argsort(d2, axis=1)[:, :k]
        dists.append(np.sqrt(np.take_along_axis(d2, nn, 1) / q.shape[1]))
        idx.append(nn)
    return np.concatenate(dists).astype(np.float64), np.concatenate(idx)


def nearest_cosine(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``float64 (N,)``: cosine distance of each query embedding to its nearest ``pool`` embedding."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True).clip(1e-12)
    p = pool / np.linalg.norm(pool, axis=1, keepdims=True).clip(1e-12)
    return 1.0 - (q @ p.T).max(axis=1)


def run(args: argparse.Namespace) -> int:
    import os

    import torch

    from ganpaint.nets.vgg import VGG16Features
    from ganpaint.training.fid import frechet_distance_of, kernel_inception_distance
    from ganpaint.training.perceptual import vgg_embeddings
    from ganpaint.training.progress import sample_grid, save_png
    from ganpaint.training.train_encoder import load_gan
    from ganpaint.training.train_gan import load_images

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    device = torch.device(args.device if args.device != "auto" else "cpu")
    t0 = time.perf_counter()
    G = load_gan(args.gan)[0].to(device)
    r = G.opt.resolution
    data = Path(args.data)
    train = load_images(data, "train", r).transpose(0, 2, 3, 1)
    held = load_images(data, args.split, r).transpose(0, 2, 3, 1)[:args.limit]
    vgg = VGG16Features.pretrained(device=device)

    def embed(pics: np.ndarray) -> np.ndarray:
        return vgg_embeddings(vgg, pics, size=args.embed_size)

    rng = np.random.default_rng(args.seed)
    n = min(args.samples, len(train))
    ref = train[rng.choice(len(train), n, replace=False)]
    held_emb, ref_emb = embed(held), embed(ref)
    nn_pool = train[rng.choice(len(train), min(args.nn_train, len(train)), replace=False)]
    pool_emb = embed(nn_pool)
    held_px = nearest_pixel(held, train)[0][:, 0]
    held_vgg = nearest_cosine(held_emb, pool_emb)
    result: dict = {
        "protocol": (f"{args.samples} samples per psi vs {len(held)} held-out '{args.split}' photos of {data.name} at "
                     f"{r} px; VGG16 relu5_3 means at {args.embed_size} px; NN: RMS pixels vs all {len(train)} "
                     f"training photos, VGG cosine vs {len(nn_pool)}"),
        "reference_train_vs_heldout": {"kid_vgg": kernel_inception_distance(ref_emb, held_emb),
                                       "fd_vgg": frechet_distance_of(ref_emb, held_emb)},
        "heldout_nn": {"pixel_rms_median": float(np.median(held_px)), "vgg_cosine_median": float(np.median(held_vgg))},
        "samples": {},
    }
    grid_rows = []
    for psi in (float(p) for p in args.psi.split(",") if p.strip()):
        pics = generate(G, args.samples, psi, args.seed)
        emb = embed(pics)
        px, px_idx = nearest_pixel(pics, train, k=4)
        cos = nearest_cosine(emb, pool_emb)
        result["samples"][f"psi_{psi:g}"] = {
            "kid_vgg": kernel_inception_distance(emb, held_emb), "fd_vgg": frechet_distance_of(emb, held_emb),
            "nn_pixel_rms_median": float(np.median(px[:, 0])), "nn_vgg_cosine_median": float(np.median(cos)),
            "nn_pixel_ratio": float(np.median(px[:, 0]) / np.median(held_px)),
            "nn_vgg_ratio": float(np.median(cos) / max(np.median(held_vgg), 1e-12)),
            "near_copies": float(np.mean(px[:, 0] < np.percentile(held_px, 1))),
        }
        if not grid_rows:
            grid_rows = [[pics[i]] + [train[j] for j in px_idx[i]] for i in range(8)]
        print(f"psi {psi:g}: {json.dumps(result['samples'][f'psi_{psi:g}'])}", file=sys.stderr)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if args.nn_grid:
        save_png(args.nn_grid, sample_grid(grid_rows))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.report:
        Path(args.report).write_text(markdown_table(result) + "\n", encoding="utf-8")
    return 0


def markdown_table(result: dict) -> str:
    """The numbers of :func:`run` as a Markdown table."""
    ref = result["reference_train_vs_heldout"]
    lines = ["| pictures | KID-VGG | FD-VGG | NN pixel RMS (ratio) | NN VGG cosine (ratio) | near copies |",
             "|---|---|---|---|---|---|",
             f"| training photos (floor) | {ref['kid_vgg']:.4f} | {ref['fd_vgg']:.1f} | "
             f"{result['heldout_nn']['pixel_rms_median']:.1f} (held-out) | "
             f"{result['heldout_nn']['vgg_cosine_median']:.3f} (held-out) | |"]
    for key, m in result["samples"].items():
        lines.append(f"| samples {key.replace('_', ' ')} | {m['kid_vgg']:.4f} | {m['fd_vgg']:.1f} | "
                     f"{m['nn_pixel_rms_median']:.1f} ({m['nn_pixel_ratio']:.2f}) | "
                     f"{m['nn_vgg_cosine_median']:.3f} ({m['nn_vgg_ratio']:.2f}) | {m['near_copies']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m ganpaint.training.eval_gan ...``."""
    parser = argparse.ArgumentParser(prog="ganpaint eval gan")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["add_arguments", "generate", "markdown_table", "nearest_cosine", "nearest_pixel", "run"]
