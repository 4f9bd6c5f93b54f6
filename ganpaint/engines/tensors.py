"""Conversions between document arrays (numpy ``uint8``) and network tensors (NCHW, ``[-1, 1]``).

The mapping is ``v -> v / 127.5 - 1`` and back ``t -> round((t + 1) * 127.5)``, so a ``uint8``
image survives a round trip exactly.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

DeviceArg = Optional["torch.device | str"]


def rgb_to_tensor(image: np.ndarray, device: DeviceArg = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert an RGB image to a network input.

    Args:
        image: RGB ``uint8 (H, W, 3)`` (read-only arrays are fine; the input is never modified).
        device: target device (default CPU).
        dtype: floating dtype of the result (``float32`` by default, ``float16`` for half engines).

    Returns:
        ``(1, 3, H, W)`` tensor of ``dtype`` with values in ``[-1, 1]`` (0 -> -1, 255 -> 1).

    Raises:
        ValueError: ``image`` is not ``uint8 (H, W, 3)``.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) array, got {_describe(image)}")
    t = torch.from_numpy(image.astype(np.float32))  # a writable copy
    t = t.permute(2, 0, 1).unsqueeze(0).div_(127.5).sub_(1.0)
    return t.contiguous().to(device=device, dtype=dtype)


def tensor_to_rgb(tensor: torch.Tensor) -> np.ndarray:
    """Convert a network output to an RGB image.

    Args:
        tensor: ``(1, 3, H, W)`` or ``(3, H, W)`` floating tensor, nominally in ``[-1, 1]``, on any
            device; values outside are clamped. Gradients are not tracked.

    Returns:
        A new C-contiguous RGB ``uint8 (H, W, 3)`` array (rounded to nearest).

    Raises:
        ValueError: wrong shape or a non-floating tensor.
    """
    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        raise ValueError(f"expected a floating tensor, got {_describe(tensor)}")
    t = tensor.detach()
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a (1, 3, H, W) or (3, H, W) tensor, got shape {tuple(tensor.shape)}")
    t = t.to(device="cpu", dtype=torch.float32).clamp(-1.0, 1.0).add(1.0).mul(127.5).round()
    return np.ascontiguousarray(t.to(torch.uint8).permute(1, 2, 0).numpy())


def mask_to_tensor(
    mask: np.ndarray, threshold: int = 127, device: DeviceArg = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Convert a hole mask to a binary network input.

    Args:
        mask: ``uint8 (H, W)``; values ``> threshold`` are holes.
        threshold: in ``[0, 255]``; default 127 (the document convention).
        device: target device (default CPU).
        dtype: floating dtype of the result.

    Returns:
        ``(1, 1, H, W)`` tensor of ``dtype`` with 1 in holes and 0 elsewhere.

    Raises:
        ValueError: ``mask`` is not ``uint8 (H, W)``.
    """
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"expected a uint8 (H, W) mask, got {_describe(mask)}")
    t = torch.from_numpy((mask > threshold).astype(np.float32))
    return t[None, None].to(device=device, dtype=dtype)


def _describe(obj: object) -> str:
    shape = getattr(obj, "shape", None)
    dtype = getattr(obj, "dtype", None)
    if shape is None:
        return type(obj).__name__
    return f"{type(obj).__name__} of shape {tuple(shape)} and dtype {dtype}"
