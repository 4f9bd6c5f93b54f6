"""Segmentation: network, engine, CLI, trainer (tiny sizes), and the shipped models when present."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.cli import main
from ganpaint.engines.registry import ModelCard, ModelRegistry, sha256_file
from ganpaint.engines.segment import SegmentEngine, load_segmenter, upsample_argmax, working_size
from ganpaint.errors import EngineError, ModelError
from ganpaint.inference.cancel import CancelToken, Cancelled
from ganpaint.inference.requests import SegmentRequest
from ganpaint.nets.segmenter import CompactSegmenter
from ganpaint.training import checkpoint as ckpt

REPO = Path(__file__).resolve().parent.parent
TINY = {"num_classes": 4, "channels": [4, 4, 8, 8, 8], "blocks": [1, 1, 1, 1], "separable_from": 2,
        "decoder_channels": 8, "dropout": 0.0}
TINY_ARGS = ["--channels", "4", "4", "8", "8", "8", "--blocks", "1", "1", "1", "1", "--decoder-channels", "8"]
LABELS = [{"id": 0, "name": "sky", "color": [110, 170, 235]}, {"id": 1, "name": "tree", "color": "#1e6e28"},
          {"id": 3, "name": "road", "color": [128, 64, 128]}]  # id 2 is not a class: never predicted


@pytest.fixture
def tiny_models(tmp_path, monkeypatch):
    """A models folder with a random-weight segmenter ``tiny-seg`` whose channel 2 would win everywhere."""
    folder = tmp_path / "models"
    folder.mkdir()
    torch.manual_seed(0)
    net = CompactSegmenter(**TINY)
    with torch.no_grad():
        net.classifier.bias[2] = 100.0  # class 2 is not in the label set: the engine must mask it out
    card = {"task": "segment", "architecture": "compact-segmenter", "resolution": 64,
            "config": {**TINY, "label_set": "tiny"}, "labels": LABELS, "dataset": "none", "licence": "CC0",
            "training": {"command": "none"}, "metrics": {}}
    ckpt.export_model(net, folder, "tiny-seg", card)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(folder))
    return folder


def _photo(h=45, w=70, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_network_shapes_and_features():
    net = CompactSegmenter(**TINY).eval()
    with torch.no_grad():
        for h, w in ((32, 32), (37, 53), (1, 5)):
            out = net(torch.rand(2, 3, h, w) * 2 - 1)
            assert out.shape == (2, 4, h, w)
        feats = net.features(torch.rand(3, 3, 64, 64) * 2 - 1)
    assert feats.shape == (3, TINY["channels"][-1]) and (feats >= 0).all()


def test_working_size_and_banded_upsampling():
    assert working_size(240, 320, 224) == (224, 299)
    assert working_size(4000, 3000, 224) == (299, 224)
    assert working_size(100, 10000, 224) == (9, 896)  # long side capped at 4 x resolution
    logits = torch.randn(5, 13, 17)
    full = upsample_argmax(logits, 101, 77)
    banded = upsample_argmax(logits, 101, 77, band_elements=5 * 77 * 3)
    assert full.dtype == np.uint8 and full.shape == (101, 77)
    assert (full == banded).mean() > 0.999


def test_load_segmenter_labels_a_photo(tiny_models):
    seg = load_segmenter("tiny-seg")
    assert seg.labelset.name == "tiny" and [lab.id for lab in seg.labelset.labels] == [0, 1, 3]
    assert seg.labelset.labels[1].color == (30, 110, 40)
    photo = _photo()
    photo.setflags(write=False)
    labels = seg.segment(photo)
    assert labels.dtype == np.uint8 and labels.shape == (45, 70)
    assert set(np.unique(labels)) <= {0, 1, 3}
    feats = seg.features(torch.zeros(2, 3, 64, 64))
    assert feats.shape == (2, 8) and feats.dtype == torch.float32
    with pytest.raises(EngineError):
        seg.segment(np.zeros((4, 4), np.uint8))


def test_engine_through_the_registry(tiny_models):
    registry = ModelRegistry.default()
    engine = registry.create_engine("tiny-seg")
    assert isinstance(engine, SegmentEngine) and engine.task == "segment"
    engine.load(torch.device("cpu"))
    request = SegmentRequest.snapshot(7, _photo(30, 20), "tiny-seg")
    assert request.task == "segment" and not request.image.flags.writeable
    seen = []
    out = engine.run(request, CancelToken(), lambda f, p: seen.append(f))
    assert out.shape == (30, 20) and out.dtype == np.uint8 and seen[-1] == 1.0
    assert set(np.unique(out)) <= {0, 1, 3}


def test_worker_serves_segment_requests(tiny_models):
    import queue

    from ganpaint.inference.events import Finished
    from ganpaint.inference.worker import InferenceWorker

    got: queue.Queue = queue.Queue()
    with InferenceWorker(ModelRegistry.default(), device="cpu", on_event=got.put) as worker:
        worker.submit(SegmentRequest.snapshot(3, _photo(21, 34), "tiny-seg"))
        deadline = 30
        while True:
            event = got.get(timeout=deadline)
            if isinstance(event, Finished):
                break
            assert type(event).__name__ in ("Started", "Progress", "DeviceChanged", "Notice"), event
    assert event.result.revision == 3 and event.result.task == "segment"
    assert event.result.image.shape == (21, 34) and event.result.image.dtype == np.uint8


def test_wrong_task_or_weights_are_model_errors(tiny_models):
    card = ModelCard.from_json(tiny_models / "tiny-seg.json")
    data = card.to_dict()
    data["config"] = {**data["config"], "channels": [8, 8, 8, 8, 8]}
    bad = ModelCard.from_dict(data, card.card_path)
    with pytest.raises(ModelError, match="do not fit"):
        load_segmenter(bad)
    with pytest.raises(ModelError, match="unknown model"):
        load_segmenter("nope")


def test_cli_writes_id_and_colour_maps(tiny_models, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(_photo(33, 47)).save(photo)
    out = tmp_path / "labels.png"
    assert main(["segment", str(photo), "-o", str(out), "--model", "tiny-seg"]) == 0
    with Image.open(out) as im:
        assert im.size == (47, 33) and im.mode == "L"
        assert set(np.unique(np.array(im))) <= {0, 1, 3}
    colour = tmp_path / "colour.png"
    assert main(["segment", str(photo), "-o", str(colour), "--model", "tiny-seg", "--color"]) == 0
    with Image.open(colour) as im:
        assert im.size == (47, 33) and im.mode == "RGB"
        used = {tuple(c) for c in np.array(im).reshape(-1, 3)}
    assert used <= {(110, 170, 235), (30, 110, 40), (128, 64, 128)}
    default = tmp_path / "default.png"
    assert main(["segment", str(photo), "-o", str(default)]) == 0  # the only segmentation model installed
    assert "'tiny-seg'" in capsys.readouterr().out
    from ganpaint.document.labelmaps import load_label_map

    seg = load_segmenter("tiny-seg")
    assert np.array_equal(load_label_map(colour, seg.labelset), np.array(Image.open(out)))


def test_cli_errors_exit_2(tiny_models, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(_photo()).save(photo)
    out = tmp_path / "labels.png"
    assert main(["segment", str(photo), "-o", str(out), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "missing.jpg"), "-o", str(out), "--model", "tiny-seg"]) == 2
    assert "missing.jpg" in capsys.readouterr().err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert main(["segment", str(broken), "-o", str(out), "--model", "tiny-seg"]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["segment", str(photo), "-o", str(tmp_path / "labels.jpg"), "--model", "tiny-seg"]) == 2
    assert ".png" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------------------------ training


def _make_dataset(root: Path, n_train=6, n_val=3):
    """Blue top / green bottom pictures whose labels say sky / grass, plus an 'unknown' class."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    classes = {"0": {"name": "sky", "color": [110, 170, 235]}, "1": {"name": "grass", "color": [120, 200, 80]},
               "2": {"name": "road", "color": [128, 64, 128]}, "3": {"name": "unknown", "color": [0, 0, 0]}}
    (root / "classes.json").write_text(json.dumps(classes))
    ids = [f"im{i:02d}" for i in range(n_train + n_val)]
    (root / "splits.json").write_text(json.dumps({"train": ids[:n_train], "val": ids[n_train:]}))
    rng = np.random.default_rng(0)
    for k, name in enumerate(ids):
        h, w = 40 + 4 * (k % 3), 56
        split = h // 2 + int(rng.integers(-4, 5))
        img = np.zeros((h, w, 3), np.uint8)
        img[:split] = (90, 140, 220)
        img[split:] = (60, 150, 50)
        lab = np.ones((h, w), np.uint8)
        lab[:split] = 0
        lab[split:split + 2] = 3  # unknown: ignored
        lab[-3:, :10] = 2
        Image.fromarray(img).save(root / "images" / f"{name}.jpg")
        Image.fromarray(lab).save(root / "labels" / f"{name}.png")
    return ids[n_train:]


def test_segmentation_dataset_respects_splits(tmp_path):
    from ganpaint.training.seg_data import IGNORE, SegmentationDataset

    val_ids = _make_dataset(tmp_path / "data")
    train = SegmentationDataset(tmp_path / "data", "train", size=24)
    assert train.ignore_id == 3 and train.num_classes == 3
    assert not {p.stem for p in train.paths} & set(val_ids)
    photo, target = train.get(0, np.random.default_rng(0))
    assert photo.shape == (24, 24, 3) and target.shape == (24, 24)
    assert set(np.unique(target)) <= {0, 1, 2, IGNORE}
    no_ignore = SegmentationDataset(tmp_path / "data", "val", ignore_id=-1)
    assert no_ignore.ignore_id is None and no_ignore.num_classes == 4


def test_train_resume_and_export(tmp_path):
    from ganpaint.training import train_segment

    data = tmp_path / "data"
    _make_dataset(data)
    out, models = tmp_path / "run", tmp_path / "models"
    common = ["--data", str(data), "--out", str(out), "--size", "32", "--batch", "2", "--threads", "1",
              "--eval-every", "0", "--warmup", "1", *TINY_ARGS]
    assert train_segment.main([*common, "--steps", "2"]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["step"] == 2
    assert (out / "samples" / "latest.png").is_file() and (out / "metrics.json").is_file()
    assert train_segment.main([*common, "--steps", "3", "--resume", "--export", "tiny-trained",
                               "--models-dir", str(models)]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["step"] == 3 and len(state["commands"]) == 2
    card_path = models / "tiny-trained.json"
    card = ModelCard.from_json(card_path)
    assert card.sha256 == sha256_file(models / "tiny-trained.safetensors")
    assert card.task == "segment" and card.architecture == "compact-segmenter"
    assert [lab["name"] for lab in card.labels] == ["sky", "grass", "road"]  # 'unknown' is ignored, not predicted
    assert card.config["ignore_index"] == 3 and card.training["steps"] == 3
    assert {"val_miou", "val_pixel_accuracy", "per_class_iou"} <= set(card.metrics)
    seg = load_segmenter(card)
    labels = seg.segment(_photo(40, 56))
    assert labels.shape == (40, 56) and set(np.unique(labels)) <= {0, 1, 2}


def test_metrics_from_confusion():
    from ganpaint.training.train_segment import confusion_matrix, metrics_from_confusion

    target = np.array([[0, 0, 1, 255]], np.uint8)
    pred = np.array([[0, 1, 1, 0]], np.uint8)
    conf = confusion_matrix(pred, target, 3)
    m = metrics_from_confusion(conf, [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2, "name": "c"}])
    assert m["pixel_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["per_class_iou"] == {"a": 0.5, "b": 0.5, "c": None}
    assert m["miou"] == pytest.approx(0.5)


# ------------------------------------------------------------------------------ shipped models


def _shipped(name):
    card_path = REPO / "ganpaint" / "models" / f"{name}.json"
    assert card_path.is_file(), f"models/{name}.json is not shipped"
    return ModelCard.from_json(card_path)


def test_shipped_landscape_segmenter_finds_sky_and_grass():
    card = _shipped("segment-landscape")
    seg = load_segmenter(card)
    names = {lab.id: lab.name for lab in seg.labelset.labels}
    assert names[0] == "sky" and "unknown" not in names.values()
    rng = np.random.default_rng(0)
    h, w = 240, 320
    t = np.linspace(0, 1, h // 2)[:, None, None]
    sky = (np.array([70, 130, 210]) * (1 - t) + np.array([170, 205, 240]) * t) * np.ones((1, w, 1))
    grass = np.array([70, 140, 45]) + rng.normal(0, 18, (h - h // 2, w, 3))
    photo = np.clip(np.concatenate([sky + rng.normal(0, 2, sky.shape), grass]), 0, 255).astype(np.uint8)
    labels = seg.segment(photo)
    assert labels.shape == (h, w)
    top, bottom = labels[: h // 3], labels[-h // 3:]
    assert (top == 0).mean() > 0.6, np.bincount(top.ravel(), minlength=8)
    assert (bottom == 0).mean() < 0.1
    assert card.metrics["val_miou"] > 0.3


def test_shipped_segmenters_verify_and_have_metrics():
    found = False
    for name in ("segment-landscape", "segment-facades", "segment-streets"):
        path = REPO / "ganpaint" / "models" / f"{name}.json"
        if not path.is_file():
            continue
        found = True
        card = ModelCard.from_json(path)
        assert sha256_file(card.weights_path) == card.sha256
        assert card.task == "segment" and card.labels and card.licence and card.dataset
        assert 0 < card.metrics["val_miou"] <= 1 and 0 < card.metrics["val_pixel_accuracy"] <= 1
        seg = load_segmenter(card)
        assert seg.segment(_photo(50, 60)).shape == (50, 60)
    assert found, "no segmentation model is shipped"


def test_engine_reports_progress_inside_the_network_and_cancels(tiny_models):
    """#9.4: the reading of a photo reports the encoder's stages and stops at a cancel."""
    engine = ModelRegistry.default().create_engine("tiny-seg")
    engine.load(torch.device("cpu"))
    request = SegmentRequest.snapshot(1, _photo(64, 64), "tiny-seg")
    seen = []
    engine.run(request, CancelToken(), lambda f, p: seen.append(f))
    assert len(seen) == 7 and seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0] < 0.8
    token = CancelToken()
    with pytest.raises(Cancelled):
        engine.run(request, token, lambda f, p: token.cancel())
