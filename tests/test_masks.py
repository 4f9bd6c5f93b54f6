"""ganpaint.training.masks: coverage ranges per kind, seeding, output format."""

import numpy as np
import pytest

from ganpaint.training import masks as M

SIZES = [(128, 128), (256, 256), (192, 288)]


@pytest.mark.parametrize("kind", ["thin", "thick", "box", "free_form", "blob"])
@pytest.mark.parametrize("h,w", SIZES)
def test_eval_masks_cover_documented_range(kind, h, w):
    low, high = M.COVERAGE[kind]
    for seed in range(25):
        m = M.eval_mask(kind, seed, h, w)
        assert m.shape == (h, w) and m.dtype == np.uint8
        assert set(np.unique(m).tolist()) <= {0, 255}
        assert low <= M.coverage(m) <= high, (kind, seed, M.coverage(m))


def test_box_is_one_rectangle_covering_10_to_30_percent():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = M.box_mask(rng, 256, 256)
        ys, xs = np.nonzero(m)
        area = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert area == len(ys)  # a filled rectangle
        assert 0.1 <= M.coverage(m) <= 0.3


def test_eval_masks_are_deterministic_and_differ_by_seed_and_kind():
    a = M.eval_mask("thick", 7, 256, 256)
    assert np.array_equal(a, M.eval_mask("thick", 7, 256, 256))
    assert not np.array_equal(a, M.eval_mask("thick", 8, 256, 256))
    assert not np.array_equal(M.eval_mask("thin", 7, 256, 256), M.eval_mask("box", 7, 256, 256))


def test_generators_follow_their_rng():
    for fn in (M.free_form_brush_mask, M.thin_stroke_mask, M.thick_stroke_mask, M.box_mask, M.random_training_mask):
        a = fn(np.random.default_rng(11), 96, 128)
        b = fn(np.random.default_rng(11), 96, 128)
        assert np.array_equal(a, b)
        assert a.shape == (96, 128)


def test_training_mixture_is_sane():
    rng = np.random.default_rng(0)
    cov = [M.coverage(M.random_training_mask(rng, 64, 64)) for _ in range(200)]
    assert min(cov) > 0.0 and max(cov) <= 0.6
    assert 0.1 < float(np.mean(cov)) < 0.4


def test_unknown_kind_raises():
    with pytest.raises(ValueError):
        M.eval_mask("stars", 0, 64, 64)


def test_adding_a_kind_keeps_the_other_kinds_masks():
    # seeds are per kind (fixed ids), so the eval masks of the first kinds did not change with "blob"
    rng = np.random.default_rng([0, 2, 2024])  # kind id of "thick" is 2
    assert np.array_equal(M.eval_mask("thick", 0, 64, 64), M.thick_stroke_mask(rng, 64, 64))


def test_object_blob_is_one_solid_region():
    from scipy import ndimage

    for seed in range(10):
        m = M.eval_mask("blob", seed, 128, 128) > 127
        labels, n = ndimage.label(m)
        assert n <= 2  # one blob (a second lobe may touch it or not)
        assert np.array_equal(ndimage.binary_fill_holes(m), m)  # no holes inside: an object's silhouette
