"""Import of checkpoints of the original SIGGRAPH 2017 user-guided colorization network (ideepcolor).

``ganpaint models import CKPT --arch siggraph17 --name NAME [--mask-center 0|0.5]`` calls
:func:`import_checkpoint`: the file is read only with ``torch.load(path, map_location="cpu", weights_only=True)``
(:func:`~ganpaint.engines.spade_import.read_checkpoint`), its keys and shapes are compared strictly with
:class:`~ganpaint.nets.colorization.SIGGRAPHGenerator` (107 keys, 34,187,027 parameters, the distribution head
``model_class`` included), and ``NAME.safetensors`` + ``NAME.json`` (architecture ``siggraph17``, photo mode) are
written into the user's models folder.

Preprocessing is the original's (recorded in the card's ``config.preprocess``): L centred and scaled,
``(L - 50) / 100``; ab hints divided by 110; the hint mask 1 at hints and 0 elsewhere, minus ``mask_center``:
0 for the Caffe-trained release converted to PyTorch (``richzhang/colorization``'s ``siggraph17``), 0.5 for
checkpoints of the PyTorch retraining (``colorization-pytorch``, ideepcolor's ``--maskcent``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from ganpaint.errors import ModelError

ARCHITECTURE = "siggraph17"
PREPROCESS = {
    "lightness": "(L - 50) / 100, L of CIE Lab (D65) in [0, 100]",
    "ab_hints": "ab / 110 at hinted pixels, 0 elsewhere",
    "hint_mask": "1 at hinted pixels, 0 elsewhere, minus mask_center",
    "output": "tanh * 110 = ab; distribution head: softmax(0.2 * model_class(conv8_3)) over 529 ab bins "
              "(bin k: a = -110 + 10 * (k // 23), b = -110 + 10 * (k % 23))",
    "resolution": "256 px long side (the original resizes to 256 x 256), sides multiples of 8",
}


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of :class:`SIGGRAPHGenerator`'s state dict (built on the ``meta`` device: no memory)."""
    import torch

    from ganpaint.nets.colorization import SIGGRAPHGenerator

    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in SIGGRAPHGenerator().state_dict().items()}


def import_checkpoint(path: str | os.PathLike, name: str, models_dir: Optional[str | os.PathLike] = None,
                      mask_center: float = 0.0, half: bool = False, overwrite: bool = False) -> Path:
    """Import a SIGGRAPH17 colorization checkpoint as photo model ``name``.

    Args:
        path: ``.pth``/``.pt`` state dict (a ``{"state_dict": ...}`` wrapper or ``module.`` prefix is removed).
        name: model name (file stem of the card and weights).
        models_dir: destination (default: the user's models folder, created).
        mask_center: 0 (Caffe-trained release) or 0.5 (PyTorch retraining); see the module docstring.
        half: store fp16 weights (default fp32, as released).
        overwrite: replace an existing model of that name.

    Returns:
        The card path.

    Raises:
        ModelError: bad name, existing model, unreadable or unsafe checkpoint, key or shape mismatch.
    """
    from ganpaint.engines.registry import user_models_dir
    from ganpaint.engines.spade_import import check_state_dict, read_checkpoint
    from ganpaint.training.checkpoint import export_model

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ModelError(f"model name '{name}' must be letters, digits, '.', '_' or '-' (at most 64)")
    if mask_center not in (0.0, 0.5):
        raise ModelError(f"mask centre must be 0 or 0.5, not {mask_center:g}")
    state = read_checkpoint(path)
    check_state_dict(state, expected_shapes(), f"checkpoint '{path}' for the SIGGRAPH17 colorization network")
    folder = Path(models_dir) if models_dir is not None else user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and ((folder / f"{name}.json").exists() or (folder / f"{name}.safetensors").exists()):
        raise ModelError(f"a model named '{name}' already exists in {folder} (use --overwrite to replace it)")
    card = {
        "task": "colorize",
        "architecture": ARCHITECTURE,
        "resolution": 256,
        "config": {"mode": "photo", "mask_center": float(mask_center), "net": {}, "preprocess": PREPROCESS},
        "labels": [],
        "dataset": "ImageNet (the original training; see Zhang et al. 2017)",
        "licence": "The licence of the release the checkpoint comes from applies (richzhang/colorization and "
                   "junyanz/interactive-deep-colorization; see their repositories).",
        "training": {"source": f"imported from {Path(path).name}",
                     "command": f"ganpaint models import {Path(path).name} --arch siggraph17 --name {name} "
                                f"--mask-center {mask_center:g}",
                     "recipe": "Zhang et al. SIGGRAPH 2017: ImageNet, simulated point hints, classification + "
                               "Huber regression of ab"},
        "metrics": {},
        "description": "Zhang et al.'s SIGGRAPH 2017 user-guided colorization network (local hints, colour-"
                       "distribution head; 34.2 M parameters), imported from a released checkpoint. About 1.2 s "
                       "per 256 px image on a 2-core CPU: not live.",
    }
    _weights, card_path = export_model(state, folder, name, card, half=half)
    return card_path


__all__ = ["ARCHITECTURE", "PREPROCESS", "expected_shapes", "import_checkpoint"]
