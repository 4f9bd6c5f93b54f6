"""ganpaint.inference.device: device choice, validation and labels (CUDA/MPS faked unavailable)."""

from types import SimpleNamespace

import pytest
import torch

from ganpaint.errors import EngineError
from ganpaint.inference import device as dev


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_auto_is_cpu_without_accelerators(cpu_only):
    assert dev.select_device() == torch.device("cpu")
    assert dev.select_device(" CPU ") == torch.device("cpu")
    assert dev.available_devices() == ["cpu"]


@pytest.mark.parametrize("name", ["cuda", "cuda:1", "mps"])
def test_unavailable_device_is_a_clear_engine_error(cpu_only, name):
    with pytest.raises(EngineError) as info:
        dev.select_device(name)
    assert str(info.value) == f"device '{name}' is not available on this machine (available: cpu)"


def test_unknown_device_name(cpu_only):
    with pytest.raises(EngineError, match="unknown device 'tpu'"):
        dev.select_device("tpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert dev.select_device() == torch.device("cuda", 0)
    assert dev.select_device("cuda:1") == torch.device("cuda", 1)
    assert dev.available_devices() == ["cpu", "cuda:0", "cuda:1", "mps"]
    with pytest.raises(EngineError, match=r"'cuda:2' is not available .*cuda:1, mps\)"):
        dev.select_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dev.select_device() == torch.device("mps")


def test_labels(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert dev.device_label(torch.device("cpu")) == "CPU (2 threads)"
    props = SimpleNamespace(name="NVIDIA H100", total_memory=80 * 2**30 - 5 * 2**20)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    assert dev.device_label("cuda:0") == "CUDA: NVIDIA H100 (80 GB)"
    assert dev.device_label("mps") == "Apple GPU (MPS)"


def test_use_half_only_on_cuda_when_allowed():
    assert dev.use_half(torch.device("cuda", 0), True) is True
    assert dev.use_half(torch.device("cuda", 0), False) is False
    assert dev.use_half(torch.device("cpu"), True) is False
    assert dev.use_half("mps", True) is False
