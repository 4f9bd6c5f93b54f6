"""Colorization training: simulated hints (the paper's protocol), the line-art data, a few tiny steps of both
modes with exact resume, sample grids and export to a model the engine runs."""

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.engines.colorize import colorize_array
from ganpaint.engines.registry import ModelRegistry
from ganpaint.errors import GanpaintError
from ganpaint.training import checkpoint as ckpt
from ganpaint.training import train_colorize
from ganpaint.training.colorize_hints import ab_histogram, simulate_hints
from ganpaint.training.lineart_data import photo_lineart, xdog
from ganpaint.training.levin import levin_colorize


def test_geometric_number_of_hints_at_their_mean_colour():
    rng = np.random.default_rng(0)
    color = torch.rand(400, 2, 32, 32) * 100 - 50
    hint, mask = simulate_hints(color, rng, p=0.125, patch_sizes=(1, 3))
    per_image = mask.flatten(1).sum(1)
    assert 0.05 < (per_image == 0).float().mean() < 0.22  # P(no hint) = p
    i = int(torch.nonzero(per_image == 9)[0]) if (per_image == 9).any() else None
    if i is not None:  # one 3x3 patch: its hint is the patch's mean colour
        ys, xs = torch.nonzero(mask[i, 0], as_tuple=True)
        patch = color[i][:, ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert torch.allclose(hint[i][:, ys[0], xs[0]], patch.mean(dim=(1, 2)), atol=1e-4)
    assert (hint * (1 - mask)).abs().max() == 0
    hint, mask = simulate_hints(color[:3], rng, num_points=5, patch_sizes=(1,), sampling="uniform")
    assert (mask.flatten(1).sum(1) <= 5).all() and (mask.flatten(1).sum(1) >= 1).all()


def test_hints_stay_inside_one_region():
    rng = np.random.default_rng(1)
    regions = np.zeros((2, 32, 32), np.int32)
    regions[:, :, :15], regions[:, :, 17:] = 1, 2  # a vertical line at x = 15, 16
    color = torch.zeros(2, 3, 32, 32)
    color[:, :, :, 16:] = 50.0
    hint, mask = simulate_hints(color, rng, num_points=40, patch_sizes=(9,), regions=regions, stroke_prob=0.5)
    m = mask[:, 0].numpy() > 0
    assert m.any() and not m[:, :, 15:17].any()  # never on the line
    values = hint[:, 0].numpy()[m]
    assert set(np.unique(values)) <= {0.0, 50.0}  # each hint takes one region's colour


def test_ab_histogram_sums_to_one():
    ab = torch.zeros(2, 2, 8, 8)
    ab[1, 0] = 40.0
    hist = ab_histogram(ab)
    assert hist.shape == (2, 529) and torch.allclose(hist.sum(1), torch.ones(2))
    assert hist[0].argmax() == 11 * 23 + 11 and hist[1].argmax() == 15 * 23 + 11


def test_photo_lineart_has_closed_flat_regions():
    yy, xx = np.mgrid[0:96, 0:128]
    photo = np.where(((xx - 64) ** 2 + (yy - 48) ** 2 < 900)[..., None], [200, 40, 40], [40, 120, 200]).astype(np.uint8)
    line, flat = photo_lineart(photo)
    assert line.dtype == np.uint8 and set(np.unique(line)) <= {0, 255}
    assert (line[48, 64 - 31:64 - 28] == 0).any()  # the disc's outline is a line
    assert np.abs(flat[48, 64].astype(int) - (200, 40, 40)).max() <= 3 and (flat[line == 0] == 0).all()
    assert xdog(np.full((20, 20), 0.5, np.float32)).max() < 0.5  # a flat area draws no line


def test_levin_propagates_within_edges():
    lightness = np.full((40, 40), 30.0)
    lightness[:, 20:] = 80.0
    hints = np.zeros((40, 40, 2))
    mask = np.zeros((40, 40), bool)
    mask[5, 5], hints[5, 5] = True, (40, -20)
    mask[35, 35], hints[35, 35] = True, (-30, 30)
    ab = levin_colorize(lightness, hints, mask)
    assert np.allclose(ab[20, 10], (40, -20), atol=3) and np.allclose(ab[20, 30], (-30, 30), atol=3)


@pytest.fixture
def folders(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    for i in range(4):
        img = np.stack([(xx * (i + 3)) % 256, (yy * 5 + 40 * i) % 256, ((xx + yy) * 2) % 256], -1)
        Image.fromarray(np.clip(img + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)).save(photos / f"{i}.png")
    pairs = tmp_path / "pairs"
    (pairs / "line").mkdir(parents=True)
    (pairs / "color").mkdir()
    for i in range(4):
        line = np.full((40, 40), 255, np.uint8)
        line[8:32, 8:10] = line[8:32, 30:32] = line[8:10, 8:32] = line[30:32, 8:32] = 0
        color = np.repeat(line[..., None], 3, axis=2).copy()
        color[10:30, 10:30] = (40 * i, 200, 90)
        Image.fromarray(line).save(pairs / "line" / f"p{i}.png")
        Image.fromarray(color).save(pairs / "color" / f"p{i}.png")
    (pairs / "splits.json").write_text(json.dumps({"train": ["p0", "p1", "p2"], "val": ["p3"]}))
    return photos, pairs


def train(data, out, mode, steps, *extra):
    argv = ["--mode", mode, "--data", *map(str, data), "--out", str(out), "--size", "32", "--batch", "2",
            "--steps", str(steps), "--widths", "4", "4", "4", "4", "--middle", "1", "--threads", "1",
            "--checkpoint-every", "1", "--sample-every", "2", "--keep-every", "0", "--log-every", "1",
            "--lr-final", "1.0", *extra]  # constant learning rate: the cosine schedule depends on --steps
    assert train_colorize.main(argv) == 0


@pytest.mark.parametrize("mode", ["photo", "lineart"])
def test_train_resume_export(folders, tmp_path, mode):
    photos, pairs = folders
    data = [photos] if mode == "photo" else [pairs, photos]
    out = tmp_path / f"run-{mode}"
    train(data, out, mode, 2)
    assert (out / "samples" / "latest.png").is_file()
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["reg"]) and np.isfinite(r["ce"]) for r in log)
    train(data, out, mode, 3, "--resume")
    resumed = ckpt.load_checkpoint(out / "last.pt")
    train(data, tmp_path / "straight", mode, 3)
    straight = ckpt.load_checkpoint(tmp_path / "straight" / "last.pt")
    assert resumed["step"] == 3 and resumed["mode"] == mode
    for k in straight["net"]:  # resuming continues exactly
        assert torch.allclose(resumed["net"][k].float(), straight["net"][k].float(), atol=1e-5), k
    models = tmp_path / "models"
    train(data, out, mode, 3, "--resume", "--export", f"tiny-{mode}", "--models-dir", str(models))
    card = json.loads((models / f"tiny-{mode}.json").read_text())
    assert card["task"] == "colorize" and card["config"]["mode"] == mode and card["training"]["steps"] == 3
    assert card["config"]["default"] == (mode == "photo")
    engine = ModelRegistry([models]).create_engine(f"tiny-{mode}")
    engine.load(torch.device("cpu"))
    out_img = colorize_array(engine, np.full((30, 50, 3), 200, np.uint8)).image
    assert out_img.shape == (30, 50, 3)


def test_init_starts_a_run_from_an_exported_model(folders, tmp_path):
    photos, pairs = folders
    models = tmp_path / "models"
    train([photos], tmp_path / "first", "photo", 2, "--export", "tiny-photo", "--models-dir", str(models))
    first = ckpt.load_checkpoint(tmp_path / "first" / "last.pt")
    weights = models / "tiny-photo.safetensors"
    out = tmp_path / "second"
    train([photos], out, "photo", 1, "--init", str(weights), "--lr", "0", "--widths", "8", "8", "8", "8")
    second = ckpt.load_checkpoint(out / "last.pt")
    assert second["config"] == first["config"]  # the model's configuration wins over --widths
    assert second["phases"][0]["init"] == "tiny-photo" and second["step"] == 1
    assert second["init"]["model"] == "tiny-photo" and second["init"]["steps"] == 2  # its history travels
    train([photos], out, "photo", 1, "--resume", "--export", "tuned", "--models-dir", str(models))
    card = json.loads((models / "tuned.json").read_text())
    assert card["training"]["init"]["model"] == "tiny-photo" and "--steps 2" in card["training"]["init"]["command"]
    for k, v in first["net_ema"].items():  # lr 0: the weights are the exported ones (fp16 on export)
        if "running_" in k or "num_batches" in k:  # batch-norm statistics move even at lr 0
            continue
        assert torch.allclose(second["net"][k].float(), v.float(), atol=2e-3), k
    with pytest.raises(GanpaintError, match="colours photo, this run lineart"):
        train([pairs, photos], tmp_path / "third", "lineart", 1, "--init", str(weights))


def test_balance_draws_every_folder_equally(folders, tmp_path):
    photos, _ = folders
    big = tmp_path / "big"
    big.mkdir()
    for i in range(36):  # nine times as many photos as the other folder
        Image.fromarray(np.full((40, 48, 3), i, np.uint8)).save(big / f"{i}.png")
    parser = argparse.ArgumentParser()
    train_colorize.add_arguments(parser)
    args = parser.parse_args(["--data", str(photos), str(big), "--out", str(tmp_path / "o"), "--size", "32",
                              "--balance"])
    batches = train_colorize.PhotoBatches(args)
    picks = batches.indices(np.random.default_rng(0), 4000)
    from_small = np.isin(picks, batches.groups[0]).mean()
    assert len(batches.groups) == 2 and 0.45 < from_small < 0.55
    args.balance = False
    uniform = train_colorize.PhotoBatches(args).indices(np.random.default_rng(0), 4000)
    assert np.isin(uniform, batches.groups[0]).mean() < 0.15  # by default the small folder is a tenth


def test_drop_hints_removes_every_hint_of_a_share_of_the_images():
    hint, mask = torch.ones(400, 2, 4, 4), torch.ones(400, 1, 4, 4)
    h, m = train_colorize.drop_hints(hint, mask, np.random.default_rng(0), 0.25)
    empty = (m.flatten(1).sum(1) == 0)
    assert 0.18 < float(empty.float().mean()) < 0.32
    assert torch.equal(h[empty], torch.zeros_like(h[empty])) and torch.equal(h[~empty], hint[~empty])
    assert train_colorize.drop_hints(hint, mask, np.random.default_rng(0), 0.0) == (hint, mask)
