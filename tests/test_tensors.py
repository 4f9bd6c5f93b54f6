"""ganpaint.engines.tensors: uint8 <-> [-1, 1] NCHW conversions."""

import numpy as np
import pytest
import torch

from ganpaint.engines.tensors import mask_to_tensor, rgb_to_tensor, tensor_to_rgb


def _all_values_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(8, 12, 3), dtype=np.uint8)
    img.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)  # every value appears
    return img


def test_rgb_round_trip_is_exact_for_every_uint8_value():
    img = _all_values_image()
    t = rgb_to_tensor(img)
    assert t.shape == (1, 3, 8, 12) and t.dtype == torch.float32
    assert t.min().item() == -1.0 and t.max().item() == 1.0
    back = tensor_to_rgb(t)
    assert back.dtype == np.uint8 and back.shape == img.shape and back.flags.c_contiguous
    np.testing.assert_array_equal(back, img)
    np.testing.assert_array_equal(tensor_to_rgb(t[0]), img)  # (3, H, W) accepted too


def test_channel_layout_and_read_only_input():
    img = np.zeros((2, 3, 3), np.uint8)
    img[1, 2] = (255, 0, 128)
    img.setflags(write=False)
    t = rgb_to_tensor(img)
    assert t[0, :, 1, 2].tolist() == pytest.approx([1.0, -1.0, 128 / 127.5 - 1], abs=1e-6)
    assert t[0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0]


def test_half_round_trip_and_clamping():
    img = _all_values_image()
    np.testing.assert_array_equal(tensor_to_rgb(rgb_to_tensor(img, dtype=torch.float16)), img)
    out = tensor_to_rgb(torch.tensor([[[[-3.0, 5.0]]] * 3]))
    assert out.tolist() == [[[0, 0, 0], [255, 255, 255]]]


def test_mask_threshold():
    mask = np.array([[0, 127, 128, 255]], np.uint8)
    t = mask_to_tensor(mask)
    assert t.shape == (1, 1, 1, 4)
    assert t.flatten().tolist() == [0.0, 0.0, 1.0, 1.0]
    assert mask_to_tensor(mask, threshold=0).flatten().tolist() == [0.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "call",
    [
        lambda: rgb_to_tensor(np.zeros((4, 4), np.uint8)),
        lambda: rgb_to_tensor(np.zeros((4, 4, 3), np.float32)),
        lambda: tensor_to_rgb(torch.zeros(2, 3, 4, 4)),
        lambda: tensor_to_rgb(torch.zeros(1, 4, 4)),
        lambda: mask_to_tensor(np.zeros((4, 4, 1), np.uint8)),
    ],
)
def test_wrong_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
