"""The VGG16-feature judge of ``ganpaint eval spade``: its head, its training command and its file."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganpaint.cli import main
from ganpaint.errors import InputError
from ganpaint.nets.vgg import HypercolumnHead
from ganpaint.training.vgg_judge import VGGJudge, default_judge_path
from tests.test_segment import _make_dataset


def test_hypercolumn_head_fuses_taps_at_the_finest_grid():
    head = HypercolumnHead(5, width=8)
    feats = [torch.randn(2, 256, 12, 20), torch.randn(2, 512, 6, 10), torch.randn(2, 512, 3, 5)]
    assert head(feats).shape == (2, 5, 12, 20)
    with pytest.raises(ValueError, match="unknown VGG16 layers"):
        HypercolumnHead(5, taps=("relu9_9",))


def test_train_judge_writes_a_judge_that_reads_sky_and_grass(tmp_path, capsys):
    _make_dataset(tmp_path / "data", n_train=4, n_val=2)
    out = tmp_path / "judge.safetensors"
    cache = tmp_path / "features"
    assert main(["train", "judge", "--data", str(tmp_path / "data"), "--out", str(out), "--epochs", "30",
                 "--batch", "2", "--lr", "0.01", "--width", "16", "--threads", "1", "--feature-cache", str(cache)]) == 0
    assert len(list(cache.glob("data-*.npy"))) == 4 * 2 * 3  # 4 train photos, mirrored, 3 taps
    judge = VGGJudge.load(out)
    assert [e["name"] for e in judge.labels] == ["sky", "grass", "road"]  # the don't-care class is not predicted
    assert judge.info["metrics"]["images"] == 2 and judge.info["command"].startswith("ganpaint train judge")
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:30] = (90, 140, 220)
    picture[30:] = (60, 150, 50)
    pred = judge.segment(picture)
    assert pred.shape == (60, 90) and pred.dtype == np.uint8
    assert (pred[:22] == 0).mean() > 0.9 and (pred[38:] == 1).mean() > 0.9  # sky above, grass below
    assert "mIoU" in capsys.readouterr().err
    stamps = {f: f.stat().st_mtime_ns for f in cache.iterdir()}
    again = tmp_path / "again.safetensors"  # a second head from the cached features: none is written again
    assert main(["train", "judge", "--data", str(tmp_path / "data"), "--out", str(again), "--epochs", "1",
                 "--width", "16", "--threads", "1", "--feature-cache", str(cache)]) == 0
    assert {f: f.stat().st_mtime_ns for f in cache.iterdir()} == stamps and VGGJudge.load(again).info["epochs"] == 1


def test_a_file_that_is_not_a_judge_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        VGGJudge.load(tmp_path / "nope.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))  # weights without the judge's description
    with pytest.raises(InputError, match="not a judge"):
        VGGJudge.load(plain)
    bad = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(2)}, str(bad), metadata={"judge": json.dumps({"num_classes": 3, "width": 4,
                                                                              "taps": ["relu3_3"], "labels": []})})
    with pytest.raises(InputError, match="not a judge"):
        VGGJudge.load(bad)  # the description does not match the tensors


def test_the_landscape_judge_ships_and_reads_real_photos():
    from ganpaint.training.seg_data import SegmentationDataset
    from tests.conftest import REPO

    path = default_judge_path("landscape")
    judge = VGGJudge.load(path)
    m = judge.info["metrics"]
    assert m["miou"] > 0.5 and m["pixel_accuracy"] > 0.75 and m["images"] == 103  # the held-out val split
    data = REPO.parent / "shared" / "datasets" / "stanford_background"
    if not data.is_dir():
        pytest.skip("../shared/datasets/stanford_background is absent")
    ds = SegmentationDataset(data, "val", cache=False, limit=8)
    right = total = 0
    for i in range(len(ds)):
        photo, target = ds.pair(i)
        keep = target < 255
        right += int((judge.segment(photo)[keep] == target[keep]).sum())
        total += int(keep.sum())
    assert right / total > 0.7  # 0.75 on these 8 held-out photos (0.79 over all 103)


def test_eval_spade_takes_the_label_sets_judge_and_refuses_a_foreign_one():
    import argparse

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.training.eval_spade import judge_description, load_judge

    registry = ModelRegistry.default()
    landscape, streets = registry.get("spade-landscape"), registry.get("spade-streets")
    args = lambda judge, no_vgg=False: argparse.Namespace(judge=judge, no_vgg=no_vgg)  # noqa: E731
    judge = load_judge(args("auto"), landscape, "cpu")
    assert isinstance(judge, VGGJudge) and "val mIoU" in judge_description(judge)
    assert load_judge(args("auto"), streets, "cpu") is None  # no street judge ships: the segmenter alone
    assert load_judge(args("none"), landscape, "cpu") is None and load_judge(args("auto", True), landscape, "cpu") is None
    with pytest.raises(InputError, match="not the label set 'streets'"):
        load_judge(args(str(default_judge_path("landscape"))), streets, "cpu")


def test_report_shows_the_judges_read_back_next_to_the_segmenters():
    from ganpaint.training.eval_spade import markdown_report

    table = {"real_regions": {"rate": 0.9, "per_class": {"sky": 0.9}, "cases": 10},
             "sesame": {"rate": 0.5, "per_class": {"sky": 0.5}, "cases": 4, "mean_target_share": 0.4}}
    result = {"model": "m", "data": "d", "segmenter": "seg", "judge": "VGG16-feature judge 'landscape'",
              "photo_edit": {"cases": 4, "per_photo": 1, "segmenter": "seg", "targets": ["sky"], "readback": table,
                             "readback_judges": {"vgg_judge": {**table, "sesame": {**table["sesame"], "rate": 0.75}}},
                             "seconds_per_edit": {"sesame": 0.1}, "painters": {"sesame": "editor"}}}
    text = markdown_report(result)
    assert "Judge: VGG16-feature judge 'landscape'." in text and "Read back by `vgg_judge`:" in text
    assert "| sesame | 0.500 | 0.400 | 0.50 |" in text  # the segmenter's table
    assert "| sesame | 0.750 | 0.400 | 0.50 |" in text  # the judge's
