"""Inpainting training loop: a few tiny steps, exact resume, sample grids, export + card."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.engines.registry import ModelRegistry, sha256_file
from ganpaint.training import checkpoint as ckpt
from ganpaint.training import train_inpaint
from ganpaint.training.data import ImageFolderDataset
from ganpaint.training.losses import d_hinge_loss, feature_matching_loss, g_hinge_loss, masked_l1
from ganpaint.nets.patch_discriminator import PatchDiscriminator


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:56]
    for i in range(6):
        base = np.stack([(xx * (i + 1)) % 256, (yy * 3 + i * 40) % 256, ((xx + yy) * 2) % 256], -1)
        img = np.clip(base + rng.integers(0, 20, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"img{i}.{'png' if i % 2 else 'jpg'}")
    return d


def train(folder, out, steps, *extra):
    argv = ["--data", str(folder), "--out", str(out), "--size", "32", "--batch", "2", "--steps", str(steps),
            "--base-channels", "4", "--d-channels", "4", "--threads", "1", "--checkpoint-every", "1",
            "--sample-every", "2", "--keep-every", "0", "--log-every", "1", "--adv-start", "1", *extra]
    assert train_inpaint.main(argv) == 0


def test_plain_folder_dataset(folder):
    ds = ImageFolderDataset(folder, "train", 32)
    assert len(ds) == 6
    a = ds.get(0, np.random.default_rng(1))
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, ds.get(0, np.random.default_rng(1)))
    val = ImageFolderDataset(folder, "val", 24)
    assert val[0].shape == (24, 24, 3)


def test_shared_dataset_splits_do_not_overlap(shared_datasets):
    d = shared_datasets / "bsds500"
    train = set(ImageFolderDataset(d, "train", 32).paths)
    val = set(ImageFolderDataset(d, "val", 32).paths)
    assert train and val and not (train & val)


def test_losses():
    real, fake = torch.full((2, 1, 4, 4), 2.0), torch.full((2, 1, 4, 4), -2.0)
    assert d_hinge_loss(real, fake).item() == 0.0
    assert g_hinge_loss(fake).item() == 2.0
    out, tgt = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :] = 1
    assert masked_l1(out, tgt, m, 5.0, 1.0).item() == pytest.approx(6.0)
    d = PatchDiscriminator(base_channels=4, channel_mult=[1, 2])
    logits, feats = d(torch.zeros(1, 3, 32, 32), m.new_zeros(1, 1, 32, 32))
    assert logits.shape == (1, 1, 8, 8) and len(feats) == 2
    assert feature_matching_loss(feats, feats).item() == 0.0


def test_train_resume_exactly_and_export(folder, tmp_path):
    straight, split = tmp_path / "a", tmp_path / "b"
    train(folder, straight, 3)
    train(folder, split, 2)
    assert ckpt.load_checkpoint(split / "last.pt")["step"] == 2
    train(folder, split, 3, "--resume", "--export", "tiny-trained", "--models-dir", str(tmp_path / "models"))
    a, b = ckpt.load_checkpoint(straight / "last.pt"), ckpt.load_checkpoint(split / "last.pt")
    assert b["step"] == 3
    for k in a["generator"]:
        assert torch.equal(a["generator"][k], b["generator"][k]), k
    assert (split / "samples" / "step_0000002.png").is_file() and (split / "samples" / "latest.png").is_file()
    assert len((split / "train_log.jsonl").read_text().splitlines()) == 3

    card = json.loads((tmp_path / "models" / "tiny-trained.json").read_text())
    assert card["sha256"] == sha256_file(tmp_path / "models" / "tiny-trained.safetensors")
    assert card["task"] == "inpaint" and card["architecture"] == "gated-conv-inpaint"
    assert card["training"]["steps"] == 3 and "--resume" in card["training"]["command"]
    registry = ModelRegistry([tmp_path / "models"])
    engine = registry.create_engine("tiny-trained")
    engine.load(torch.device("cpu"))
    state = registry.load_state_dict("tiny-trained")
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())


def test_checkpoint_is_plain_and_atomic(tmp_path):
    rng = np.random.default_rng(5)
    rng.random(3)
    path = ckpt.save_checkpoint(tmp_path / "c.pt", {"step": 7, "rng": ckpt.rng_state(rng), "w": torch.ones(2)})
    loaded = torch.load(path, weights_only=True)
    assert loaded["step"] == 7
    assert ckpt.restore_rng(loaded["rng"]).random() == rng.random()
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_v2_generator_trains_with_perceptual_and_style_losses(folder, tmp_path):
    out = tmp_path / "v2"
    train(folder, out, 2, "--generator", "v2", "--ffc-blocks", "1", "--w-perc", "0.5", "--w-style", "5",
          "--perc-batch", "1", "--perc-every", "1")
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["g_config"]["prefill"] == "pullpush" and state["g_config"]["ffc_blocks"] == 1
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert all(r["perc"] > 0 and r["style"] > 0 for r in log)
    assert state["phases"][-1]["w_perc"] == 0.5
