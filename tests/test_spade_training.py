"""``ganpaint train spade`` on a tiny synthetic dataset: steps, checkpoint, resume, export; evaluation helpers."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.training import checkpoint as ckpt
from ganpaint.training.eval_spade import confusion, scores
from ganpaint.training.fid import frechet_distance_of
from ganpaint.training.train_spade import label_options, main


def write_toy_dataset(root, label_maps, class_colors, names):
    """A labelled-photo folder (images/, labels/, classes.json, splits.json: im0-2 train, im3 val) whose
    photos are ``class_colors[label] + noise``; returns ``root``."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    for i, labels in enumerate(label_maps):
        photo = np.asarray(class_colors, np.uint8)[labels]
        photo = np.clip(photo + rng.normal(0, 10, photo.shape), 0, 255).astype(np.uint8)
        Image.fromarray(photo).save(root / "images" / f"im{i}.png")
        Image.fromarray(labels).save(root / "labels" / f"im{i}.png")
    (root / "classes.json").write_text(json.dumps({str(k): {"name": n, "color": list(map(int, c))}
                                                   for k, (n, c) in enumerate(zip(names, class_colors))}))
    (root / "splits.json").write_text(json.dumps({"train": ["im0", "im1", "im2"], "val": ["im3"]}))
    return root


@pytest.fixture
def dataset(tmp_path):
    maps = []
    for i in range(4):
        labels = np.zeros((48, 64), np.uint8)
        labels[20 + i:] = 1
        labels[:4, :4] = 2  # don't care
        maps.append(labels)
    return write_toy_dataset(tmp_path / "toy", maps, [[90, 150, 230], [60, 160, 60], [0, 0, 0]],
                             ["sky", "grass", "unknown"])


def test_train_resume_export(dataset, tmp_path):
    out, models = tmp_path / "run", tmp_path / "models"
    common = ["--data", str(dataset), "--out", str(out), "--size", "32", "--batch", "2", "--threads", "1", "--ngf", "4",
              "--spade-hidden", "8", "--z-dim", "8", "--ndf", "8", "--sample-every", "2", "--checkpoint-every", "1",
              "--log-every", "1", "--keep-every", "0"]
    assert main(common + ["--steps", "2", "--w-vgg", "0", "--w-l1", "5"]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["step"] == 2 and state["options"]["label_nc"] == 2 and state["options"]["contain_dontcare_label"]
    assert (out / "samples" / "latest.png").is_file() and len((out / "train_log.jsonl").read_text().splitlines()) == 2
    assert main(common + ["--steps", "3", "--resume", "--export", "toy-spade", "--models-dir", str(models)]) == 0
    card = json.loads((models / "toy-spade.json").read_text())
    assert card["training"]["steps"] == 3
    assert card["training"]["losses"]["w_vgg"] == 10.0 and "pix2pixHD VGG16" in card["training"]["losses"]["vgg"]
    assert "VGG16 perceptual loss" in card["description"]
    assert [e["name"] for e in card["labels"]] == ["sky", "grass", "unknown"]
    assert card["config"]["stochastic"] is True  # a style code: the studio shows the seed row
    assert "covering 50-100% of the short side, resized to 32" in card["config"]["preprocess"]["training_crops"]

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.engines.synthesis import synthesize_array

    registry = ModelRegistry([models])
    engine = registry.create_engine("toy-spade")
    engine.load(torch.device("cpu"))
    assert engine.encoder is not None and registry.get("toy-spade").stochastic
    assert synthesize_array(engine, np.zeros((40, 50), np.uint8)).shape == (40, 50, 3)


def test_fine_tune_starts_from_a_shipped_model(dataset, tmp_path):
    from .test_spade_engine import tiny_model

    card_path = tiny_model(tmp_path / "init")  # 4 classes, as the toy data set after one more class
    classes = json.loads((dataset / "classes.json").read_text())
    classes["3"] = classes.pop("2")
    classes["2"] = {"name": "tree", "color": [30, 110, 40]}
    (dataset / "classes.json").write_text(json.dumps(classes))
    out = tmp_path / "ft"
    assert main(["--data", str(dataset), "--out", str(out), "--size", "64", "--batch", "2", "--threads", "1",
                 "--ndf", "8", "--steps", "1", "--w-vgg", "0", "--checkpoint-every", "1", "--keep-every", "0",
                 "--sample-every", "0", "--init-from", str(card_path.with_suffix(".safetensors"))]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["init"] == "tiny-spade" and state["options"]["ngf"] == 4


def test_label_options():
    assert label_options([{"id": 0, "name": "a"}, {"id": 1, "name": "unknown"}]) == (1, True)
    assert label_options([{"id": 0, "name": "a"}, {"id": 1, "name": "b"}]) == (2, False)
    with pytest.raises(ValueError):
        label_options([{"id": 0, "name": "void"}, {"id": 1, "name": "b"}])


def test_segmentation_scores_and_frechet_distance():
    target = np.array([[0, 0, 1, 255], [1, 1, 2, 2]], np.uint8)
    pred = np.array([[0, 1, 1, 0], [1, 1, 2, 0]], np.uint8)
    s = scores(confusion(target, pred, 3), ["a", "b", "c"])
    assert s["pixel_acc"] == pytest.approx(5 / 7)
    assert s["iou"] == pytest.approx({"a": 1 / 3, "b": 3 / 4, "c": 1 / 2}, abs=1e-4)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    assert frechet_distance_of(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance_of(a, a + 2.0) == pytest.approx(24.0, rel=1e-6)
