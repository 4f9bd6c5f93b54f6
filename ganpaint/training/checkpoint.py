"""Training checkpoints and model export (reusable by every trainer).

Checkpoints are plain dicts of tensors, numbers, strings, lists and dicts written with ``torch.save``
atomically (temp file in the same folder + ``os.replace``), so :func:`load_checkpoint` reads them with
``torch.load(..., weights_only=True)`` (no arbitrary code runs on load).

Export writes the generator's weights as fp16 (or fp32) ``safetensors`` plus a model card JSON whose
``sha256`` is the weights file's digest, the format :mod:`ganpaint.engines.registry` reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from ganpaint.errors import InputError

CHECKPOINT_NAME = "last.pt"


def _atomic_replace(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def rng_state(rng: np.random.Generator) -> dict:
    """A numpy Generator's state as a plain dict (ints and strings)."""
    return rng.bit_generator.state


def restore_rng(state: dict) -> np.random.Generator:
    """Rebuild a numpy Generator from :func:`rng_state`."""
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    return np.random.Generator(bitgen)


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Atomically ``torch.save`` a plain ``state`` dict (module/optimizer state dicts, step, rng...) to ``path``."""
    path = Path(path)
    _atomic_replace(path, lambda tmp: torch.save(dict(state), tmp))
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises:
        InputError: ``path`` does not exist, cannot be read, or is not a checkpoint of plain tensors and
            containers (a pickle that would run code is refused, never executed).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist or is not a file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise InputError(f"checkpoint '{path}' cannot be read as a training checkpoint ({error})") from error
    if not isinstance(state, dict):
        raise InputError(f"checkpoint '{path}' holds a {type(state).__name__}, not a training checkpoint dict")
    return state


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file (uses the registry's helper when present)."""
    try:
        from ganpaint.engines.registry import sha256_file  # type: ignore[attr-defined]

        return sha256_file(path)
    except ImportError:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


def _write_card(card: Mapping[str, Any], path: Path) -> None:
    try:
        from ganpaint.engines.registry import write_card  # type: ignore[attr-defined]

        write_card(dict(card), path)
        return
    except ImportError:
        pass
    text = json.dumps(dict(card), indent=2, sort_keys=False) + "\n"
    _atomic_replace(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def export_model(module: nn.Module | Mapping[str, torch.Tensor], models_dir: str | os.PathLike, name: str,
                 card: Mapping[str, Any], half: bool = True) -> tuple[Path, Path]:
    """Write ``models_dir/NAME.safetensors`` and the card ``models_dir/NAME.json``.

    Args:
        module: the network (its ``state_dict``) or a state dict.
        card: card fields (``task``, ``architecture``, ``resolution``, ``config``, ``dataset``, ``licence``,
            ``training``, ``metrics``, ``description``...). ``name``, ``weights`` (file name relative to the
            card) and ``sha256`` are filled in here.
        half: store floating tensors as fp16 (integer buffers are kept as they are).

    Returns ``(weights_path, card_path)``.
    """
    from safetensors.torch import save_file

    models_dir = Path(models_dir)
    weights_path = models_dir / f"{name}.safetensors"
    card_path = models_dir / f"{name}.json"
    state = module.state_dict() if isinstance(module, nn.Module) else dict(module)
    tensors = {}
    for k, v in state.items():
        v = v.detach().to("cpu")
        if half and v.is_floating_point():
            v = v.half()
        tensors[k] = v.contiguous().clone()
    _atomic_replace(weights_path, lambda tmp: save_file(tensors, tmp, metadata={"name": name}))
    full = {"name": name, **{k: v for k, v in card.items() if k != "name"}}
    full["weights"] = weights_path.name
    full["sha256"] = sha256_of(weights_path)
    _write_card(full, card_path)
    return weights_path, card_path


def store_eval_metrics(card, evaluation: Mapping[str, Any], command: str, samples: str | None = None) -> Path:
    """Write an evaluation into a registered model's card: ``metrics["eval"]`` becomes ``evaluation`` plus
    ``"command"`` (how to rerun it), ``metrics["samples"]`` the sample grid's file name when given; weights,
    sha256 and every other field stay. Returns the card's path.

    Args:
        card: the :class:`~ganpaint.engines.registry.ModelCard` that was evaluated.

    Raises:
        OSError: the card cannot be rewritten.
    """
    from ganpaint.engines.registry import write_card

    data = card.to_dict()
    metrics = dict(data.get("metrics") or {})
    metrics["eval"] = {**evaluation, "command": command}
    if samples:
        metrics["samples"] = samples
    data["metrics"] = metrics
    write_card(data, card.card_path)
    return card.card_path
