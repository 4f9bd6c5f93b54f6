"""Class exemplars for semantic photo edits (:mod:`ganpaint.nets.class_exemplar`) and the photo editor's
exemplar stage: colour and texture of the photo's own pixels of the painted class, nothing outside the
grown region touched."""

import json

import numpy as np
import pytest
import torch

from ganpaint.engines.synthesis import PASTE_BAND, dilate
from ganpaint.errors import ModelError
from ganpaint.inference.cancel import CancelToken, Cancelled
from ganpaint.nets.class_exemplar import exemplar_finish

from .test_sesame import models, photo_scene  # noqa: F401  (fixture)


def foliage_scene(h=96, w=128, seed=0):
    """Left half: 'tree' (label 1), dark green with strong grain; right half: 'sky' (label 0), smooth blue.
    The network 'painted' a tree over the right half's middle in a flat wrong colour (red)."""
    rng = np.random.default_rng(seed)
    photo = np.zeros((h, w, 3), np.float64)
    photo[:, : w // 2] = [40, 90, 35] + rng.normal(0, 18, (h, w // 2, 1))
    photo[:, w // 2:] = [120, 170, 230]
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    labels = np.zeros((h, w), np.uint8)
    labels[:, : w // 2] = 1
    region = np.zeros((h, w), bool)
    region[30:70, 80:115] = True
    labels[region] = 1
    grown = dilate(region, 4)
    painted = photo.copy()
    painted[grown] = [200, 60, 50]
    return photo, painted, labels, region, grown


def test_painted_class_takes_the_photos_colour_and_nothing_outside_changes():
    photo, painted, labels, region, grown = foliage_scene()
    out = exemplar_finish(photo, painted, labels, region, grown)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    assert np.array_equal(out[~grown], photo[~grown])
    tree = photo[(labels == 1) & ~grown].mean(0)
    inner = dilate(~region, 3) == 0  # away from the blend at the region's edge
    got = out[inner].reshape(-1, 3).mean(0)
    assert np.abs(got - tree).max() < 8, (got, tree)  # was (200, 60, 50)
    # colour only: the flat paint stays flat (its spread is never enlarged)
    assert out[inner].std(0).max() < 1.5


def test_texture_classes_copy_the_exemplars_grain():
    photo, painted, labels, region, grown = foliage_scene()
    out = exemplar_finish(photo, painted, labels, region, grown, texture_classes={1})
    assert np.array_equal(out[~grown], photo[~grown])
    inner = dilate(~region, 4) == 0
    grain = np.abs(np.diff(out[..., 1].astype(float), axis=1))[inner[:, 1:] & inner[:, :-1]].mean()
    real = np.abs(np.diff(photo[:, :60, 1].astype(float), axis=1)).mean()
    assert 0.5 * real < grain < 1.5 * real, (grain, real)
    # the same inputs give the same picture
    assert np.array_equal(out, exemplar_finish(photo, painted, labels, region, grown, texture_classes={1}))


def test_classes_outside_the_stages_list_keep_the_networks_pixels():
    photo, painted, labels, region, grown = foliage_scene()
    out = exemplar_finish(photo, painted, labels, region, grown, classes={0, 2})
    assert np.array_equal(out, painted)  # the painted tree (1) is not in the list
    assert not np.array_equal(exemplar_finish(photo, painted, labels, region, grown, classes={1}), painted)


def test_class_without_exemplars_keeps_the_networks_pixels():
    photo, painted, labels, region, grown = foliage_scene()
    labels[region] = 2  # 'grass': nowhere else in the photo
    painted[grown] = np.random.default_rng(3).integers(0, 256, (int(grown.sum()), 3))  # no Lab round trip either
    out = exemplar_finish(photo, painted, labels, region, grown, texture_classes={2})
    assert np.array_equal(out, painted)


def test_bad_shapes_are_refused():
    photo, painted, labels, region, grown = foliage_scene()
    with pytest.raises(ValueError, match="same height and width"):
        exemplar_finish(photo[:-1], painted, labels, region, grown)
    with pytest.raises(ValueError, match="odd"):
        exemplar_finish(photo, painted, labels, region, grown, patch=8)


def enable_exemplar(registry, **config):
    card_path = registry.get("tiny-sesame").card_path
    card = json.loads(card_path.read_text())
    card["config"].update({"exemplar": True, **config})
    card_path.write_text(json.dumps(card))
    registry.refresh()


def test_editor_streams_the_network_picture_then_finishes_with_exemplars(models):  # noqa: F811
    enable_exemplar(models, exemplar_texture=["Tree"])
    engine = models.create_engine("tiny-sesame")
    assert engine.exemplar and engine.exemplar_texture_ids() == {1}
    engine.load(torch.device("cpu"))
    photo, _, labels, region, _ = foliage_scene(120, 160)
    calls = []
    out = engine.edit(photo, labels, region, CancelToken(), lambda f, p: calls.append((f, None if p is None else p.copy())))
    previews = [(f, p) for f, p in calls if p is not None]
    assert previews and previews[-1][0] == pytest.approx(0.8)
    assert not np.array_equal(previews[-1][1][region], out[region])  # the exemplars changed the network's picture
    outside = ~dilate(region, PASTE_BAND)
    assert np.array_equal(out[outside], photo[outside])
    plain = []  # the request's switch off (the Semantic tab's *Match photo*): the network's picture, no preview
    network = engine.edit(photo, labels, region, CancelToken(), lambda f, p: plain.append(f), exemplar=False)
    assert 0.8 not in plain and np.array_equal(network, previews[-1][1])
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        engine.edit(photo, labels, region, token, lambda f, p: None)


def test_editor_card_naming_an_unknown_texture_class_is_refused(models):  # noqa: F811
    enable_exemplar(models, exemplar_texture=["seaweed"])
    with pytest.raises(ModelError, match="seaweed"):
        models.create_engine("tiny-sesame")


def test_huge_exemplar_box_keeps_the_networks_picture(models):  # noqa: F811
    enable_exemplar(models, exemplar_max_pixels=100)
    engine = models.create_engine("tiny-sesame")
    engine.load(torch.device("cpu"))
    photo, _, labels, region, _ = foliage_scene(120, 160)
    calls = []
    engine.edit(photo, labels, region, CancelToken(), lambda f, p: calls.append(f))
    assert 0.8 not in calls and calls[-1] == 1.0


def test_eval_editor_options_set_the_stage_and_refuse_bad_values(models):  # noqa: F811
    from ganpaint.errors import GanpaintError
    from ganpaint.training.eval_inpaint import apply_engine_options
    from ganpaint.training.eval_spade import EDITOR_OPTIONS

    engine = models.create_engine("tiny-sesame")
    assert not engine.exemplar
    apply_engine_options(engine, ["exemplar=on", "exemplar_texture=tree,grass", "exemplar_sigma=3"], EDITOR_OPTIONS,
                         "--editor-option")
    assert engine.exemplar and engine.exemplar_texture_ids() == {1, 2} and engine.exemplar_sigma == 3.0
    apply_engine_options(engine, ["exemplar_texture=none"], EDITOR_OPTIONS, "--editor-option")
    assert engine.exemplar_texture_ids() == set() and engine.exemplar_class_ids() is None
    apply_engine_options(engine, ["exemplar_classes=tree"], EDITOR_OPTIONS, "--editor-option")
    assert engine.exemplar_class_ids() == {1}
    with pytest.raises(GanpaintError, match="--editor-option.*maybe"):
        apply_engine_options(engine, ["exemplar=maybe"], EDITOR_OPTIONS, "--editor-option")
    with pytest.raises(GanpaintError, match="KEY in exemplar"):
        apply_engine_options(engine, ["texture=1"], EDITOR_OPTIONS, "--editor-option")
