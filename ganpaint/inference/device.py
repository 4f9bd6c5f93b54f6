"""Choice of the compute device (CUDA, then Apple MPS, then CPU) and its status-bar label."""

from __future__ import annotations

import math
import re
from typing import Union

import torch

from ganpaint.errors import EngineError

DeviceLike = Union[str, torch.device]

_CUDA_RE = re.compile(r"^cuda(?::(\d+))?$")


def _cuda_available() -> bool:
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver reads as "no CUDA"
        return False


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:
        return False


def available_devices() -> list[str]:
    """Names of the devices usable here: ``"cpu"``, then ``"cuda:0"``, ``"cuda:1"``..., then ``"mps"``."""
    names = ["cpu"]
    if _cuda_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def select_device(preference: str = "auto") -> torch.device:
    """Turn a user preference into a usable ``torch.device``.

    Args:
        preference: ``"auto"`` (CUDA if available, then MPS, then CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or ``"mps"`` (case and surrounding spaces ignored).

    Returns:
        The device; ``"cuda"`` without an index is returned as ``cuda:0``.

    Raises:
        EngineError: the preference is not a device name, or names a device this machine lacks,
            e.g. "device 'cuda' is not available on this machine (available: cpu)".
    """
    pref = str(preference).strip().lower()
    if pref == "auto":
        if _cuda_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cpu":
        return torch.device("cpu")
    match = _CUDA_RE.match(pref)
    if match is None and pref != "mps":
        raise EngineError(f"unknown device '{preference}' (expected auto, cpu, cuda, cuda:N or mps)")
    available = available_devices()
    if match is not None:
        index = int(match.group(1) or 0)
        if f"cuda:{index}" in available:
            return torch.device("cuda", index)
    elif "mps" in available:
        return torch.device("mps")
    raise EngineError(
        f"device '{preference}' is not available on this machine (available: {', '.join(available)})"
    )


def device_label(device: DeviceLike) -> str:
    """A short status-bar description of ``device``.

    Examples: ``"CPU (2 threads)"``, ``"CUDA: NVIDIA H100 80GB HBM3 (80 GB)"`` (memory in GiB, rounded
    up), ``"Apple GPU (MPS)"``. Never raises: an unreadable CUDA device is labelled ``"CUDA:N"``.
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        threads = torch.get_num_threads()
        return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else 0
        try:
            props = torch.cuda.get_device_properties(index)
            gib = math.ceil(props.total_memory / 2**30)
            return f"CUDA: {props.name} ({gib} GB)"
        except Exception:
            return f"CUDA:{index}"
    if dev.type == "mps":
        return "Apple GPU (MPS)"
    return str(dev)


def use_half(device: DeviceLike, engine_supports_half: bool) -> bool:
    """Whether to run an engine in fp16: only on CUDA and only if the engine allows it."""
    return torch.device(device).type == "cuda" and bool(engine_supports_half)
