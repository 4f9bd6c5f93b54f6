"""Choice of the compute device (CUDA, then Apple MPS, then CPU), its status-bar label, and the number of
CPU threads interactive inference uses.

CPU threads on a busy machine: torch runs a network's layers on an OpenMP team of intra-op threads, and
each layer ends at a barrier where the threads wait for each other. libgomp's default wait is a spin of
up to ~300,000 iterations before sleeping, so when other processes hold the cores, a thread that finished
its share burns its time slice spinning while the thread it waits for is not even scheduled. Measured on a
2-core x86-64 CPU VM shared with other jobs (load average 7-8 from four other trainings), ``spade-landscape``
256 px through the engine, median of 12 runs, each configuration in a fresh process:

=====================================  ===============  ========================================
threads, OpenMP wait                   median           with two more busy-loop processes
=====================================  ===============  ========================================
2, default (spin, then sleep)          3.7-5.8 s        9.6 s
1                                      0.46-0.58 s      1.1 s
2, ``OMP_WAIT_POLICY=PASSIVE``         0.09-0.48 s      0.22 s
=====================================  ===============  ========================================

(the spread follows the other jobs' load at the time; an idle machine was not available for these runs:
the earlier idle measurement, default wait, 2 threads, is 77 ms). Passive waiters sleep at once, and with
the scheduler's per-thread fair share two threads get at least as much CPU as one. So the command line sets ``OMP_WAIT_POLICY=PASSIVE`` before torch loads (:func:`ganpaint.cli.main`, unless the
user set it) and the worker uses every core (:func:`interactive_threads`); where the passive policy is not
in force, one thread fewer than the cores.
"""

from __future__ import annotations

import math
import os
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


#: The OpenMP environment variable read once, when torch loads its OpenMP runtime.
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS tells, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def passive_wait() -> bool:
    """Whether OpenMP threads sleep at once when they wait (``OMP_WAIT_POLICY=PASSIVE`` in the environment;
    it only takes effect when set before torch loads, as :func:`ganpaint.cli.main` does)."""
    return os.environ.get(WAIT_POLICY_ENV, "").strip().upper() == "PASSIVE"


def interactive_threads(cores: int | None = None, passive: bool | None = None) -> int:
    """Intra-op threads for live inference on the CPU (see the module docstring): every core when OpenMP
    waits passively, else one fewer than the cores (at least 1), so that on a busy machine no thread spins
    while waiting for a descheduled one.

    Args:
        cores: cores to plan for (default :func:`usable_cores`).
        passive: whether the passive wait policy is in force (default :func:`passive_wait`).
    """
    cores = usable_cores() if cores is None else max(1, int(cores))
    passive = passive_wait() if passive is None else bool(passive)
    return cores if passive else max(1, cores - 1)


def apply_interactive_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (default :func:`interactive_threads`); returns the number.
    Process-wide: threads started later (the inference worker) pick it up on their first torch call."""
    n = interactive_threads() if threads is None else max(1, int(threads))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def use_half(device: DeviceLike, engine_supports_half: bool) -> bool:
    """Whether to run an engine in fp16: only on CUDA and only if the engine allows it."""
    return torch.device(device).type == "cuda" and bool(engine_supports_half)
