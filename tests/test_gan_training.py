"""``ganpaint train gan`` and ``ganpaint train encoder`` on a tiny synthetic dataset (steps, resume, export into one
model); helpers of ``ganpaint eval gan`` and ``ganpaint eval igan``."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.training import checkpoint as ckpt
from ganpaint.training.eval_gan import nearest_cosine, nearest_pixel
from ganpaint.training.eval_igan import PALETTE, edge_recall, far_colour, random_polyline


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "blobs"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        img = np.full((48, 48, 3), rng.integers(0, 256, 3), np.uint8)
        img[10 + i:30, 12:36] = rng.integers(0, 256, 3)
        Image.fromarray(img).save(root / "images" / f"im{i}.png")
    (root / "splits.json").write_text(json.dumps({"train": [f"im{i}" for i in range(5)], "val": ["im5"]}))
    return root


def test_train_gan_resume_export_then_encoder(dataset, tmp_path):
    from ganpaint.training.train_encoder import main as train_encoder
    from ganpaint.training.train_gan import main as train_gan

    out, models = tmp_path / "gan", tmp_path / "models"
    common = ["--arch", "stylegan2-lite", "--data", str(dataset), "--out", str(out), "--size", "64", "--batch", "4",
              "--threads", "1", "--max-channels", "16", "--min-channels", "4", "--z-dim", "8", "--sample-every", "2",
              "--checkpoint-every", "1", "--log-every", "1", "--keep-every", "0", "--r1-every", "2"]
    assert train_gan(common + ["--steps", "2"]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["step"] == 2 and state["options"]["channels"] == [16, 8, 4, 4, 4]
    assert (out / "samples" / "latest.png").is_file()
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and "r1" in log[0]
    assert train_gan(common + ["--steps", "3", "--resume", "--export", "toy-gan", "--models-dir", str(models)]) == 0
    card = json.loads((models / "toy-gan.json").read_text())
    assert card["task"] == "manifold" and card["architecture"] == "stylegan2-lite" and card["training"]["steps"] == 3
    assert "encoder" not in card["config"]

    enc_out = tmp_path / "enc"
    enc = ["--gan", str(models / "toy-gan.json"), "--data", str(dataset), "--out", str(enc_out), "--batch", "4",
           "--threads", "1", "--w-vgg", "0", "--checkpoint-every", "1", "--log-every", "1", "--sample-every", "1",
           "--keep-every", "0"]
    assert train_encoder(enc + ["--steps", "2"]) == 0
    assert train_encoder(enc + ["--steps", "3", "--resume", "--export", "toy-gan", "--models-dir", str(models)]) == 0
    card = json.loads((models / "toy-gan.json").read_text())
    assert card["config"]["encoder"]["w_dim"] == 8 and card["training"]["encoder"]["steps"] == 3
    assert card["training"]["steps"] == 3, "the GAN's own training record is kept"

    from ganpaint.engines.registry import ModelRegistry

    engine = ModelRegistry([models]).create_engine("toy-gan")
    engine.load(torch.device("cpu"))
    assert engine.model.E is not None and engine.model.resolution == 64
    # the encoder of a training checkpoint also works from a train-gan checkpoint as --gan
    assert train_encoder(["--gan", str(out / "last.pt")] + enc[2:] + ["--out", str(tmp_path / "enc2"), "--steps", "1"]) == 0


def test_train_dcgan_then_encoder_then_engine(dataset, tmp_path):
    """--arch dcgan: DCGAN networks and recipe, resumed from its checkpoint, exported as a 'dcgan' card whose
    encoder trains and whose engine projects."""
    from ganpaint.training.train_encoder import main as train_encoder
    from ganpaint.training.train_gan import main as train_gan

    out, models = tmp_path / "dcgan", tmp_path / "models"
    common = ["--arch", "dcgan", "--ngf", "4", "--z-dim", "8", "--data", str(dataset), "--out", str(out), "--batch", "4",
              "--threads", "1", "--sample-every", "2", "--checkpoint-every", "1", "--log-every", "1", "--keep-every", "0"]
    assert train_gan(common + ["--steps", "2"]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["arch"] == "dcgan" and state["options"]["ngf"] == 4 and state["options"]["nz"] == 8
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert "r1" not in log[0], "DCGAN trains without R1 by default"
    # resuming ignores --arch (the checkpoint's architecture wins) and exports a dcgan card
    assert train_gan(common[2:] + ["--steps", "3", "--resume", "--export", "toy-dcgan", "--models-dir", str(models)]) == 0
    card = json.loads((models / "toy-dcgan.json").read_text())
    assert card["architecture"] == "dcgan" and card["config"]["latent_space"] == "z"
    assert "(0.5, 0.999)" in card["training"]["optimizer"]

    enc = ["--gan", str(models / "toy-dcgan.json"), "--data", str(dataset), "--out", str(tmp_path / "enc"), "--batch", "4",
           "--threads", "1", "--w-vgg", "0", "--checkpoint-every", "1", "--log-every", "1", "--sample-every", "1",
           "--keep-every", "0", "--steps", "2", "--export", "toy-dcgan", "--models-dir", str(models)]
    assert train_encoder(enc) == 0

    from ganpaint.engines.registry import ModelRegistry

    engine = ModelRegistry([models]).create_engine("toy-dcgan")
    engine.load(torch.device("cpu"))
    assert engine.model.E is not None and engine.model.resolution == 64


def test_dcgan_is_64_px_only(dataset, tmp_path):
    from ganpaint.errors import InputError
    from ganpaint.training.train_gan import main as train_gan

    with pytest.raises(InputError, match="64 px"):
        train_gan(["--data", str(dataset), "--out", str(tmp_path / "g"), "--size", "128", "--steps", "1"])
    assert not (tmp_path / "g").exists()


def test_nearest_neighbours():
    pool = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 100, 200)])
    queries = np.stack([np.full((4, 4, 3), 190, np.uint8), np.full((4, 4, 3), 10, np.uint8)])
    d, idx = nearest_pixel(queries, pool, k=2)
    assert idx.tolist() == [[2, 1], [0, 1]] and np.allclose(d[:, 0], [10, 10])
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.allclose(nearest_cosine(np.array([[2.0, 0.0], [1.0, 1.0]]), emb), [0.0, 1 - np.sqrt(0.5)])


def test_eval_igan_helpers():
    rng = np.random.default_rng(0)
    pts = random_polyline(rng, 100)
    assert len(pts) == 3 and all(15 <= v <= 85 for p in pts for v in p)
    assert all(np.hypot(a[0] - b[0], a[1] - b[1]) >= 20 for a, b in zip(pts, pts[1:]))
    pic = np.full((8, 8, 3), 240, np.uint8)
    assert far_colour(pic, np.ones((8, 8), bool)) == (20, 20, 20) and (20, 20, 20) in PALETTE
    line = np.zeros((8, 8), bool)
    line[4, 1:7] = True
    edges = np.zeros((8, 8), bool)
    edges[5, 1:4] = True  # within one pixel (chessboard) of line pixels 1..4
    assert edge_recall(edges, line) == 4 / 6 and np.isnan(edge_recall(edges, np.zeros((8, 8), bool)))
