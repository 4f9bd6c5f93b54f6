"""Semantic photo editing (SESAME): the network and its inference form, label edits for training, the engine
(locality, feathering, routing from the synthesis engine), training and the photo-edit evaluation, with tiny
random-weight models."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganpaint.engines.registry import ModelRegistry
from ganpaint.engines.semantic_edit import SemanticEditEngine, find_photo_editor_card, resize_hole
from ganpaint.engines.synthesis import PASTE_BAND, SynthesisEngine, dilate, synthesize_array
from ganpaint.errors import EngineError
from ganpaint.inference.cancel import CancelToken, Cancelled
from ganpaint.inference.requests import SynthesisRequest
from ganpaint.nets.sesame import FastSESAMEGenerator, SESAMEGenerator, block_levels, spade_generator_keys
from ganpaint.nets.spade import SPADEGenerator, compact_options
from ganpaint.training.eval_photo_edit import crop_box, evaluate_edits, plan_edits, readback, target_classes
from ganpaint.training.semantic_edits import pick_region, random_edit, transplant_edit

from .test_spade_engine import CLASSES, scene, tiny_model
from .test_spade_training import write_toy_dataset

OPT = dict(ngf=4, spade_hidden=8, z_dim=8, ngf_E=4, crop_size=64)


def tiny_sesame(folder, name="tiny-sesame", resolution=64, classes=CLASSES, scale_skips=0.0):
    """Write a random-weight SESAME model (same label set as ``tiny_model``) into ``folder``; returns its card path."""
    from ganpaint.training.checkpoint import export_model
    from ganpaint.training.train_sesame import sesame_card

    torch.manual_seed(1)
    opt = compact_options(3, True, **OPT)
    gen = SESAMEGenerator(opt)
    calibrate(gen, scale_skips)
    card = sesame_card(opt, data=[Path("tiny")], classes=classes, resolution=resolution, training={"command": "test"},
                       init=None)
    _, card_path = export_model(gen, folder, name, card, half=False)
    return card_path


def calibrate(gen, scale_skips=0.2):
    """Random skips, and batch-norm running statistics from two training-mode passes (a random network's
    activations otherwise grow without bound through the blocks); leaves ``gen`` in eval mode."""
    with torch.no_grad():
        for conv in gen.skips.values():
            conv.weight.normal_(0, scale_skips)
        gen.train()
        for _ in range(2):
            gen(torch.rand(2, 3, 64, 64) * 2 - 1, torch.zeros(2, 1, 64, 64), torch.randint(0, 4, (2, 64, 64)))
    return gen.eval()


def photo_scene(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    photo = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 90)], -1)
    return np.clip(photo + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def models(tmp_path, monkeypatch):
    tiny_model(tmp_path)
    tiny_sesame(tmp_path, scale_skips=0.3)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(tmp_path))
    return ModelRegistry.default()


# ------------------------------------------------------------------------------------- network


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_fast_network_matches_training_network(mode):
    torch.manual_seed(0)
    opt = compact_options(3, True, **OPT, upsample_mode=mode)
    g = calibrate(SESAMEGenerator(opt))
    photo, hole = torch.rand(1, 3, 64, 96) * 2 - 1, torch.zeros(1, 1, 64, 96)
    hole[..., 10:40, 20:70] = 1
    labels = torch.from_numpy(scene(64, 96)).long()[None]
    with torch.no_grad():
        slow = g(photo, hole, labels)
    fast = FastSESAMEGenerator.from_generator(g)(photo, hole, labels)
    assert slow.shape == (1, 3, 64, 96)
    assert torch.allclose(slow, fast, atol=1e-4)
    with pytest.raises(ValueError):
        g(torch.zeros(1, 3, 40, 64), torch.zeros(1, 1, 40, 64), torch.zeros(1, 40, 64, dtype=torch.long))


def test_decoder_starts_from_spade_weights_and_zero_skips():
    opt = compact_options(3, True, **OPT)
    spade = SPADEGenerator(opt)
    g = SESAMEGenerator(opt)
    fresh = g.load_spade_decoder(spade.state_dict())
    assert all(k.startswith(("encoder.", "fc.", "skips.")) for k in fresh)
    assert torch.equal(g.up_3.conv_0.weight_orig, spade.up_3.conv_0.weight_orig)
    assert all(not c.weight.detach().any() for c in g.skips.values())
    assert block_levels(opt) == {"head_0": 5, "G_middle_0": 4, "G_middle_1": 4, "up_0": 3, "up_1": 2, "up_2": 1,
                                 "up_3": 0, "conv_img": 0}
    other = SPADEGenerator(compact_options(3, True, **{**OPT, "ngf": 8}))
    with pytest.raises(ValueError, match="do not fit"):
        g.load_spade_decoder(other.state_dict())
    assert set(spade_generator_keys({"fc.weight": 1, "netE.fc_mu.weight": 2})) == {"fc.weight"}


# --------------------------------------------------------------------------------- label edits


def test_random_edits_cover_every_changed_label():
    labels = scene(64, 80)
    labels[:6, :6] = 3  # don't care
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(60):
        hole, new, relabelled, kind = random_edit(labels, rng, [0, 1, 2], void=3)
        kinds.add(kind)
        changed = new != labels
        assert hole.shape == labels.shape and hole.any()
        assert not (changed & ~hole).any()  # every relabelled pixel is painted
        assert relabelled == bool(changed.any())
        assert not (new[changed] == 3).any()  # never painted with don't care
    assert kinds == {"region", "box", "strokes", "relabel", "paint"}


def test_transplant_edit_paints_a_class_where_a_donor_shows_it():
    """Training's transplant edit: the class goes where another label map has it, never over don't care."""
    labels = np.zeros((64, 80), np.uint8)  # all class 0
    labels[:6, :6] = 3  # don't care
    donor = np.zeros((64, 80), np.uint8)
    donor[40:, :] = 2  # class 2 in the lower part
    rng = np.random.default_rng(0)
    made = [transplant_edit(labels, [donor], rng, [0, 1, 2], void=3) for _ in range(30)]
    made = [m for m in made if m is not None]
    assert made  # class 2 drawn at least once; classes the donor lacks give None
    for hole, new, relabelled, kind in made:
        changed = new != labels
        assert kind == "transplant" and relabelled and changed.any()
        assert (new[changed] == 2).all() and not changed[:40].any()  # only where the donor shows class 2
        assert not (changed & ~hole).any() and (new[:6, :6] == 3).all()
    assert transplant_edit(labels, [labels], rng, [1], void=3) is None  # no donor region of class 1


def test_pick_region_skips_classes_and_cuts_huge_regions():
    labels = np.zeros((60, 60), np.uint8)
    labels[40:] = 1
    rng = np.random.default_rng(0)
    for _ in range(10):
        c, mask = pick_region(labels, rng, skip=(0,))
        assert c == 1 and mask.any() and (labels[mask] == 1).all()
    sky_only = np.zeros((60, 60), np.uint8)
    c, mask = pick_region(sky_only, rng, cover=(0.02, 0.6))
    assert mask.mean() <= 0.5 + 1e-9  # cut by a box
    assert pick_region(sky_only, rng, skip=(0,)) is None


# ------------------------------------------------------------------------------------- engine


def test_edit_changes_nothing_outside_region_and_band(models):
    engine = models.create_engine("tiny-sesame")
    assert isinstance(engine, SemanticEditEngine)
    engine.load(torch.device("cpu"))
    h, w = 300, 420
    photo, labels = photo_scene(h, w), scene(h, w)
    new = labels.copy()
    new[200:260, 50:160] = 1
    region = new != labels
    out = engine.edit(photo, new, region, CancelToken(), lambda f, p: None)
    outside = ~dilate(region, PASTE_BAND)
    assert np.array_equal(out[outside], photo[outside])
    assert not np.array_equal(out[region], photo[region])
    # the feathered band blends: its outer ring is closer to the photo than the region is
    band = dilate(region, PASTE_BAND) & ~dilate(region, PASTE_BAND - 1)
    diff = np.abs(out.astype(int) - photo.astype(int)).sum(-1)
    assert diff[band].mean() < diff[region].mean()
    empty = engine.edit(photo, labels, np.zeros((h, w), bool), CancelToken(), lambda f, p: None)
    assert np.array_equal(empty, photo) and engine.last_crops == []


def test_edit_of_a_large_photo_is_local_and_cancellable(models):
    engine = models.create_engine("tiny-sesame")
    engine.load(torch.device("cpu"))
    h, w = 1500, 2000
    photo, labels = photo_scene(h, w), np.zeros((h, w), np.uint8)
    region = np.zeros((h, w), bool)
    region[700:760, 900:1000] = True
    labels[region] = 2
    out = engine.edit(photo, labels, region, CancelToken(), lambda f, p: None)
    assert len(engine.last_crops) == 1
    x0, y0, x1, y1 = engine.last_crops[0].box
    assert (x1 - x0) * (y1 - y0) < 0.02 * h * w
    assert np.array_equal(out[:600], photo[:600])
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        engine.edit(photo, labels, region, token, lambda f, p: None)


def test_edit_rejects_bad_input(models):
    engine = models.create_engine("tiny-sesame")
    with pytest.raises(EngineError, match="before its model was loaded"):
        engine.edit(photo_scene(32, 32), scene(32, 32), None, CancelToken(), lambda f, p: None)
    engine.load(torch.device("cpu"))
    with pytest.raises(EngineError, match="not a class"):
        engine.edit(photo_scene(32, 32), np.full((32, 32), 9, np.uint8), None, CancelToken(), lambda f, p: None)
    with pytest.raises(EngineError, match="same size|label map's size"):
        engine.edit(photo_scene(32, 40), scene(32, 32), None, CancelToken(), lambda f, p: None)
    with pytest.raises(EngineError, match="blank canvas"):
        engine.run(SynthesisRequest.snapshot(0, scene(32, 32), "tiny-sesame", 0), CancelToken(), lambda f, p: None)


def test_fp16_network_matches_fp32(models):
    engine = models.create_engine("tiny-sesame")
    engine.load(torch.device("cpu"))
    photo, labels = photo_scene(96, 128), scene(96, 128)
    labels[60:90, 10:60] = 1
    region = labels != scene(96, 128)
    full = engine.edit(photo, labels, region, CancelToken(), lambda f, p: None)
    engine.net, engine.half = engine.net.half(), True  # what load(cuda, half=True) does
    half = engine.edit(photo, labels, region, CancelToken(), lambda f, p: None)
    diff = np.abs(half.astype(int) - full.astype(int))
    assert diff.mean() < 1.0 and diff.max() <= 16


def test_synthesis_engine_hands_photo_edits_to_the_label_sets_editor(models):
    spade = models.create_engine("tiny-spade")
    spade.load(torch.device("cpu"))
    assert spade.editor is not None and spade.editor.card.name == "tiny-sesame"
    photo, labels = photo_scene(120, 160), scene(120, 160)
    new = labels.copy()
    new[80:110, 20:70] = 1
    region = new != labels
    out = synthesize_array(spade, new, photo=photo, region=region)
    assert spade.last_generator == "tiny-sesame"
    direct = spade.editor.edit(photo, new, region, CancelToken(), lambda f, p: None)
    assert np.array_equal(out, direct)
    synthesize_array(spade, new, seed=1)
    assert spade.last_generator == "tiny-spade"  # blank canvas stays SPADE
    alone = SynthesisEngine(spade.card)  # built without a registry: no companion models
    alone.load(torch.device("cpu"))
    assert alone.editor is None
    synthesize_array(alone, new, photo=photo, region=region)
    assert alone.last_generator == "tiny-spade"


def test_find_photo_editor_card_prefers_the_cards_link(tmp_path):
    tiny_model(tmp_path)
    tiny_sesame(tmp_path, name="a-editor")
    tiny_sesame(tmp_path, name="b-editor")
    other = [dict(c, name="x" + c["name"]) for c in CLASSES]
    tiny_sesame(tmp_path, name="0-other-labels", classes=other)
    registry = ModelRegistry([tmp_path])
    card = registry.get("tiny-spade")
    assert find_photo_editor_card(registry, card).name == "a-editor"  # same labels, first by name
    data = json.loads(card.card_path.read_text())
    data["config"]["photo_editor"] = "b-editor"
    card.card_path.write_text(json.dumps(data))
    registry.refresh()
    assert find_photo_editor_card(registry, registry.get("tiny-spade")).name == "b-editor"
    assert registry.model_for("synthesize").name == "tiny-spade"  # an editor is never the synthesis default


def test_absurd_sesame_card_is_a_problem_and_spade_edits_alone(tmp_path):
    """A user-trained editor whose card asks for an absurd network is refused by the registry (the SPADE
    ``config_limits``), and the label set's photo edits fall back to SPADE alone."""
    tiny_model(tmp_path)
    card_path = tiny_sesame(tmp_path, name="huge-editor")
    data = json.loads(card_path.read_text())
    data["config"]["options"]["ngf"] = 4096
    card_path.write_text(json.dumps(data))
    registry = ModelRegistry([tmp_path])
    assert "huge-editor" not in registry.names()
    assert any("huge-editor.json" in p and "'options.ngf' must be a number from 1 to 128" in p for p in registry.problems)
    engine = registry.create_engine("tiny-spade")
    engine.load(torch.device("cpu"))
    labels = np.zeros((32, 48), np.uint8)
    region = np.zeros((32, 48), bool)
    region[8:16, 8:24] = True
    labels[region] = 1
    synthesize_array(engine, labels, seed=0, photo=photo_scene(32, 48), region=region)
    assert engine.last_generator == "tiny-spade"


def test_resize_hole_keeps_thin_edits():
    hole = np.zeros((100, 100), bool)
    hole[50, 10:90] = True
    small = resize_hole(hole, 25, 25)
    assert small.shape == (25, 25) and small.any(axis=1).sum() == 1


# ------------------------------------------------------------------------------------ training


@pytest.fixture
def dataset(tmp_path):
    maps = []
    for i in range(4):
        labels = np.zeros((48, 64), np.uint8)
        labels[20 + i:] = 2
        labels[30:40, 10 + i:30] = 1
        labels[:4, :4] = 3
        maps.append(labels)
    return write_toy_dataset(tmp_path / "toy", maps, [c["color"] for c in CLASSES], [c["name"] for c in CLASSES])


def test_train_from_spade_resume_and_export(dataset, tmp_path):
    from ganpaint.training import checkpoint as ckpt
    from ganpaint.training.train_sesame import main

    spade_card = tiny_model(tmp_path / "spade")
    out, models = tmp_path / "run", tmp_path / "models"
    common = ["--data", str(dataset), "--out", str(out), "--size", "64", "--batch", "2", "--threads", "1",
              "--ndf", "8", "--w-vgg", "0", "--sample-every", "2", "--checkpoint-every", "1", "--log-every", "1",
              "--keep-every", "0"]
    assert main(common + ["--steps", "2", "--init-spade", str(spade_card.with_suffix(".safetensors"))]) == 0
    state = ckpt.load_checkpoint(out / "last.pt")
    assert state["step"] == 2 and state["init"]["name"] == "tiny-spade"
    assert (out / "samples" / "latest.png").is_file()
    assert state["options"]["upsample_mode"] == "nearest"
    assert main(common + ["--steps", "3", "--resume", "--upsample-mode", "bilinear", "--export", "toy-sesame",
                          "--models-dir", str(models)]) == 0
    assert ckpt.load_checkpoint(out / "last.pt")["options"]["upsample_mode"] == "bilinear"  # switched on resume
    card = json.loads((models / "toy-sesame.json").read_text())
    assert card["task"] == "semantic-edit" and card["architecture"] == "sesame" and card["training"]["steps"] == 3
    assert card["config"]["options"]["upsample_mode"] == "bilinear"
    engine = ModelRegistry([models]).create_engine("toy-sesame")
    engine.load(torch.device("cpu"))
    photo = photo_scene(48, 64)
    region = np.zeros((48, 64), bool)
    region[10:20, 10:30] = True
    assert engine.edit(photo, np.where(region, 1, 0).astype(np.uint8), region, CancelToken(),
                       lambda f, p: None).shape == (48, 64, 3)


def test_train_with_label_probe_trains_it_once_and_reuses_it(dataset, tmp_path):
    from ganpaint.training.train_sesame import main

    spade_card = tiny_model(tmp_path / "spade")
    out = tmp_path / "run"
    common = ["--data", str(dataset), "--out", str(out), "--size", "64", "--batch", "2", "--threads", "1",
              "--ndf", "8", "--w-vgg", "1", "--w-seg", "1", "--probe-steps", "3", "--sample-every", "0",
              "--checkpoint-every", "1", "--log-every", "1", "--keep-every", "0"]
    assert main(common + ["--steps", "1", "--init-spade", str(spade_card.with_suffix(".safetensors"))]) == 0
    probe = out / "label_probe.safetensors"
    first = probe.stat().st_mtime_ns
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert any("seg" in entry for entry in log)
    assert main(common + ["--steps", "2", "--resume"]) == 0
    assert probe.stat().st_mtime_ns == first  # resumed runs keep the probe they were trained against


def test_label_probe_loss_counts_only_labelled_hole_pixels(dataset, tmp_path):
    from ganpaint.training.label_probe import VGGLabelProbe, consistency_loss, fit_probe

    probe = fit_probe([dataset], tmp_path / "probe.safetensors", num_classes=4, ignore_id=3, steps=2, size=32, batch=2)
    assert all(not p.requires_grad for p in probe.heads.parameters())
    with pytest.raises(ValueError, match="5 classes"):
        VGGLabelProbe(5, probe.vgg).load_heads(tmp_path / "probe.safetensors")
    again = VGGLabelProbe(4, probe.vgg).load_heads(tmp_path / "probe.safetensors").freeze()
    picture = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    assert torch.allclose(again(picture), probe(picture))
    labels = torch.zeros(1, 32, 32, dtype=torch.long)
    hole = torch.zeros(1, 1, 32, 32)
    assert consistency_loss(probe, picture, labels, hole, 3).item() == 0.0  # no hole
    hole[..., 8:24, 8:24] = 1
    assert consistency_loss(probe, picture, torch.full_like(labels, 3), hole, 3).item() == 0.0  # don't-care only
    loss = consistency_loss(probe, picture, labels, hole, 3)
    loss.backward()
    grad = picture.grad.abs().sum(1)[0]
    assert loss.item() > 0 and float(grad[8:24, 8:24].sum()) > 0


# ---------------------------------------------------------------------------------- evaluation


def test_photo_edit_protocol_reads_back_what_was_painted():
    labels = [scene(60, 80), np.where(scene(60, 80) == 0, 2, scene(60, 80)).astype(np.uint8)]
    colours = np.asarray([c["color"] for c in CLASSES], np.uint8)
    photos = [colours[lab] for lab in labels]

    def segment(picture):  # a perfect judge for flat class colours
        return np.argmin(((picture[..., None, :].astype(int) - colours[None, None]) ** 2).sum(-1), axis=-1).astype(np.uint8)

    painters = {"oracle": lambda photo, e: colours[e.labels], "nothing": lambda photo, e: photo}
    names = {c["id"]: c["name"] for c in CLASSES}
    targets = target_classes(CLASSES, 3)
    assert targets == [0, 1, 2]
    blind = lambda picture: np.zeros(picture.shape[:2], np.uint8)  # noqa: E731  a second judge that only sees class 0
    result, kept = evaluate_edits(photos, labels, painters, segment, names, targets, 3, per_photo=3, keep=1,
                                  judges={"blind": blind})
    assert result["cases"] >= 4 and len(kept) == 1
    assert result["readback"]["oracle"]["rate"] == 1.0
    assert result["readback"]["nothing"]["rate"] == 0.0
    assert result["readback"]["real_regions"]["rate"] == 1.0
    other = result["readback_judges"]["blind"]  # same tables, the second judge's own outcomes
    assert set(other) == set(result["readback"]) and other["oracle"]["cases"] == result["readback"]["oracle"]["cases"]
    assert other["oracle"]["per_class"][names[0]] == 1.0 and other["oracle"]["per_class"][names[1]] == 0.0
    assert 0.0 < other["oracle"]["rate"] < 1.0 and other["real_regions"]["rate"] < 1.0
    edits = plan_edits(labels[0], 0, targets, 3, 3, seed=5)
    again = plan_edits(labels[0], 0, targets, 3, 3, seed=5)
    assert [e.target for e in edits] == [e.target for e in again]
    assert all(np.array_equal(a.region, b.region) for a, b in zip(edits, again))
    for e in edits:
        assert not (labels[0][e.region] == e.target).any()  # a region of another class
        x0, y0, x1, y1 = e.box
        assert 0 <= x0 < x1 <= 80 and 0 <= y0 < y1 <= 60 and x1 - x0 == y1 - y0
    assert readback(np.array([[1, 1, 2]]), np.array([[True, True, True]]), 1) == (True, pytest.approx(2 / 3))


def test_transplanted_edits_paint_each_class_where_another_photo_shows_it():
    top = np.full((60, 80), 2, np.uint8)
    top[:20] = 0  # a donor: class 0 across the top third
    photo_labels = np.full((30, 40), 1, np.uint8)  # the photo: class 1 everywhere, another size
    photo_labels[:, :5] = 3  # don't-care strip
    edits = plan_edits(photo_labels, 0, [0], 1, 3, seed=1, regions="transplant", donors=[photo_labels, top])
    assert len(edits) == 1
    e = edits[0]
    assert e.target == 0 and e.region[:10, 5:].all() and not e.region[10:].any()  # the donor's place
    assert not e.region[:, :5].any()  # never over don't-care pixels
    assert (e.labels[e.region] == 0).all() and (e.labels[~e.region] == photo_labels[~e.region]).all()
    # nothing to transplant: no donor shows class 2 in a large enough region (the photo itself is skipped)
    assert plan_edits(photo_labels, 0, [2], 1, 3, regions="transplant", donors=[np.full((30, 40), 2, np.uint8)]) == []
    with pytest.raises(ValueError, match="regions"):
        plan_edits(photo_labels, 0, [0], 1, 3, regions="elsewhere")


def test_crop_box_is_square_and_inside():
    region = np.zeros((50, 200), bool)
    region[20:30, 180:199] = True
    x0, y0, x1, y1 = crop_box(region)
    assert x1 - x0 == y1 - y0 <= 50 and x1 <= 200 and y1 <= 50
