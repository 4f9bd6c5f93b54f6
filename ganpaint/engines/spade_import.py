"""SPADE model cards, and import of released NVlabs/SPADE generator checkpoints.

Weights layout of every ``architecture: "spade"`` model (ours and imported): the generator's keys
exactly as the official ``latest_net_G.pth`` (``fc.weight``, ``head_0.conv_0.weight_orig``, ...), plus,
for models with a VAE style encoder, the encoder's keys prefixed with :data:`ENCODER_PREFIX`
(``netE.layer1.0.weight_orig``, ...; the official ``latest_net_E.pth`` keys with that prefix).

Card ``config`` of a SPADE model (written by :func:`card_config`)::

    {"variant": "compact" | "official-ade20k" | "official-coco" | "official-cityscapes",
     "options": {SPADEOptions fields: label_nc, contain_dontcare_label, no_instance, ngf, ...},
     "has_encoder": bool,
     "preprocess": {"input": "one-hot label map", "label_nc", "contain_dontcare_label", "dontcare_id",
                    "instance_edges", "num_upsampling_layers", "size_multiple", "crop_size", "aspect_ratio",
                    "load_size", "preprocess_mode"},
     "segmenter": model name or null (segmentation model for photo mode / evaluation),
     "label_set": name of the label set (e.g. "landscape", "ade20k"),
     "paste_band": px, "feather": px, "margin": px}   (engine settings, optional)

``ganpaint models import latest_net_G.pth --arch spade --labels ade20k|coco|cityscapes --name NAME`` calls
:func:`import_checkpoint`: the file is read only with ``torch.load(path, map_location="cpu",
weights_only=True)``, its keys and shapes are compared strictly with the configuration, and
``NAME.safetensors`` + ``NAME.json`` are written into the user's models folder, with the label set's
standard names and colours from ``resources/palettes/<labels>.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from ganpaint.paths import PALETTES
from ganpaint.errors import ModelError

ENCODER_PREFIX = "netE."
ARCHITECTURE = "spade"


#: What the studio feeds configurations that expect an instance map (it has none).
ZERO_EDGES_NOTE = ("instance edge map channel present in the network but fed zeros: the studio has no instance "
                   "maps (objects of one class that touch merge into one region)")

#: Official preprocessing options (their opt.txt) that are not generator options.
OFFICIAL_PREPROCESS = {
    "ade20k": {"load_size": 256, "preprocess_mode": "resize_and_crop (test: the label map resized to 256x256, "
               "nearest)"},
    "coco": {"load_size": 256, "preprocess_mode": "resize_and_crop (test: the label map resized to 256x256, "
             "nearest)"},
    "cityscapes": {"load_size": 512, "preprocess_mode": "fixed (the label map resized to 512x256, nearest)"},
}

#: How each official dataset maps its label files to our ids.
OFFICIAL_LABEL_NOTES = {
    "ade20k": "ids 0..149 are ADE20K SceneParsing objectInfo150 classes 1..150 (file value - 1); id 150 is "
              "'other / don't care' (file value 0).",
    "coco": "ids 0..181 are COCO-Stuff label ids (unused thing ids included); id 182 is 'unlabeled / don't care' "
            "(file value 255).",
    "cityscapes": "ids 0..33 are Cityscapes labelIds; id 34 is 'license plate' (labelId -1 in the official table).",
}


def card_config(opt, variant: str, *, has_encoder: bool, segmenter: Optional[str] = None,
                label_set: Optional[str] = None, preprocess_extra: Optional[Mapping[str, Any]] = None,
                **engine: Any) -> dict[str, Any]:
    """The ``config`` field of a SPADE model card (see the module docstring).

    Args:
        opt: the :class:`~ganpaint.nets.spade.SPADEOptions`.
        variant: "compact" or "official-<dataset>".
        has_encoder: the weights hold a style encoder under :data:`ENCODER_PREFIX`.
        segmenter: name of a segmentation model with the same label set, or None.
        label_set: the label set's name (``resources/palettes/<name>.json`` when shipped there).
        preprocess_extra: more preprocessing facts (load size, mode...).
        engine: engine settings (``paste_band``, ``feather``, ``margin``).

    ``stochastic`` is ``opt.use_vae``: with a style code z the picture depends on the seed (the studio shows
    its seed row); without one SPADE starts from the down-sampled label map and is deterministic.
    """
    preprocess = {
        "input": "one-hot label map (label_nc channels + 1 don't-care channel when contain_dontcare_label)",
        "label_nc": opt.label_nc,
        "contain_dontcare_label": opt.contain_dontcare_label,
        "dontcare_id": opt.dontcare_id,
        "instance_edges": "none" if opt.no_instance else ZERO_EDGES_NOTE,
        "num_upsampling_layers": opt.num_upsampling_layers,
        "size_multiple": opt.size_multiple,
        "crop_size": opt.crop_size,
        "aspect_ratio": opt.aspect_ratio,
        "image_range": "[-1, 1] (tanh)",
    }
    preprocess.update(dict(preprocess_extra or {}))
    return {"variant": variant, "options": opt.to_dict(), "has_encoder": bool(has_encoder), "preprocess": preprocess,
            "segmenter": segmenter, "label_set": label_set, "stochastic": bool(opt.use_vae), **engine}


def options_from_card(card) -> "Any":
    """The :class:`~ganpaint.nets.spade.SPADEOptions` of a SPADE card.

    Raises:
        ModelError: the card's ``config.options`` is missing or invalid.
    """
    from ganpaint.nets.spade import SPADEOptions

    options = (card.config or {}).get("options")
    if not isinstance(options, dict):
        raise ModelError(f"model card '{card.card_path}' has no SPADE 'options' in its config")
    try:
        return SPADEOptions.from_dict(options)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model card '{card.card_path}' has invalid SPADE options ({exc})") from exc


def split_state(state: Mapping[str, Any]) -> tuple[dict, dict]:
    """``(generator keys, encoder keys without the prefix)`` of a SPADE weights dict."""
    gen = {k: v for k, v in state.items() if not k.startswith(ENCODER_PREFIX)}
    enc = {k[len(ENCODER_PREFIX):]: v for k, v in state.items() if k.startswith(ENCODER_PREFIX)}
    return gen, enc


def expected_shapes(opt, with_encoder: bool = False) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the state dict of a generator (and encoder) with options ``opt``, built on the
    ``meta`` device (no memory, milliseconds even for the 96 M-parameter official model)."""
    import torch

    from ganpaint.nets.spade import ConvEncoder, SPADEGenerator

    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in SPADEGenerator(opt).state_dict().items()}
        if with_encoder:
            shapes.update({ENCODER_PREFIX + k: tuple(v.shape) for k, v in ConvEncoder(opt).state_dict().items()})
    return shapes


def check_state_dict(state: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]], what: str) -> None:
    """Strict comparison of keys and shapes.

    Raises:
        ModelError: one sentence naming ``what``, the counts of missing/unexpected/mis-shaped keys and the
            first few of each.
    """
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shaped = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k])}" for k in expected
              if k in state and tuple(state[k].shape) != tuple(expected[k])]
    if not (missing or unexpected or shaped):
        return
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shaped)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            parts.append(f"{len(items)} {label} ({', '.join(items[:3])}{more})")
    raise ModelError(f"{what} does not match: {'; '.join(parts)}")


def load_palette(labels: str) -> dict[str, Any]:
    """``resources/palettes/<labels>.json`` as a dict with ``name`` and ``labels``.

    Raises:
        ModelError: unknown label set.
    """
    path = PALETTES / f"{labels}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"label set '{labels}' is not available ({path}: {exc})") from exc


def read_checkpoint(path: str | os.PathLike, wrappers: tuple[str, ...] = ("state_dict",)) -> dict:
    """A ``.pth``/``.pt`` generator checkpoint read with ``torch.load(path, map_location="cpu",
    weights_only=True)`` only (no code can run); ``{KEY: ...}`` wrappers named in ``wrappers`` (in order) and a
    DataParallel ``module.`` prefix are removed.

    Raises:
        ModelError: unreadable file, a pickle with anything but tensors and containers, no tensors.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint '{path}' does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, unsafe globals
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelError(f"checkpoint '{path}' could not be loaded safely (only tensors are allowed; "
                         f"{type(exc).__name__}: {first})") from exc
    for key in wrappers:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"checkpoint '{path}' does not hold a mapping of parameter names to tensors")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def official_options(labels: str, **overrides: Any):
    """The released configuration for ``labels`` (ade20k, coco, cityscapes), optionally modified (tests use a
    small ``ngf``). Raises ModelError for an unknown label set."""
    from dataclasses import replace

    from ganpaint.nets.spade import OFFICIAL_OPTIONS

    if labels not in OFFICIAL_OPTIONS:
        raise ModelError(f"unknown SPADE label set '{labels}' (expected one of {', '.join(OFFICIAL_OPTIONS)})")
    return replace(OFFICIAL_OPTIONS[labels], **overrides)


def import_checkpoint(path: str | os.PathLike, labels: str, name: str, models_dir: Optional[str | os.PathLike] = None,
                      encoder_path: Optional[str | os.PathLike] = None, overrides: Optional[Mapping[str, Any]] = None,
                      half: bool = False, overwrite: bool = False) -> Path:
    """Import an official SPADE generator checkpoint as model ``name``.

    Args:
        path: ``latest_net_G.pth`` (generator state dict).
        labels: ``ade20k``, ``coco`` or ``cityscapes``: the configuration and label set.
        name: model name (file stem of the card and weights).
        models_dir: destination (default: :func:`~ganpaint.engines.registry.user_models_dir`, created).
        encoder_path: optional ``latest_net_E.pth`` of a VAE model (then ``use_vae`` is set).
        overrides: option changes (e.g. ``{"ngf": 8}`` for a reduced test model).
        half: store fp16 weights (default fp32: the official weights are fp32).
        overwrite: replace an existing model of that name.

    Returns:
        The card path.

    Raises:
        ModelError: bad name, existing model, unreadable/unsafe checkpoint, key or shape mismatch.
    """
    import re

    from ganpaint.engines.registry import user_models_dir
    from ganpaint.training.checkpoint import export_model

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ModelError(f"model name '{name}' must be letters, digits, '.', '_' or '-' (at most 64)")
    overrides = dict(overrides or {})
    if encoder_path is not None:
        overrides["use_vae"] = True
    opt = official_options(labels, **overrides)
    state = read_checkpoint(path)
    check_state_dict(state, expected_shapes(opt), f"checkpoint '{path}' for the SPADE {labels} configuration")
    if encoder_path is not None:
        enc = read_checkpoint(encoder_path)
        check_state_dict({ENCODER_PREFIX + k: v for k, v in enc.items()},
                         {k: v for k, v in expected_shapes(opt, True).items() if k.startswith(ENCODER_PREFIX)},
                         f"encoder checkpoint '{encoder_path}'")
        state.update({ENCODER_PREFIX + k: v for k, v in enc.items()})
    folder = Path(models_dir) if models_dir is not None else user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and ((folder / f"{name}.json").exists() or (folder / f"{name}.safetensors").exists()):
        raise ModelError(f"a model named '{name}' already exists in {folder} (use --overwrite to replace it)")
    palette = load_palette(labels)
    config = card_config(opt, f"official-{labels}", has_encoder=encoder_path is not None, label_set=labels,
                         preprocess_extra={**OFFICIAL_PREPROCESS[labels], "label_ids": OFFICIAL_LABEL_NOTES[labels]})
    card = {
        "task": "synthesize",
        "architecture": ARCHITECTURE,
        "resolution": opt.crop_size,
        "config": config,
        "labels": palette["labels"],
        "dataset": palette.get("dataset", labels),
        "licence": "NVlabs/SPADE pretrained weights: CC BY-NC-SA 4.0 (non-commercial); see "
                   "https://github.com/NVlabs/SPADE",
        "training": {"source": f"imported from {Path(path).name}", "command":
                     f"ganpaint models import {Path(path).name} --arch spade --labels {labels} --name {name}",
                     "recipe": "official NVlabs/SPADE training (hinge GAN, feature matching, VGG loss)"},
        "metrics": {},
        "description": f"NVlabs SPADE (GauGAN) generator, official {labels} configuration "
                       f"({opt.label_nc} classes, ngf {opt.ngf}), imported from a released checkpoint.",
    }
    _weights, card_path = export_model(state, folder, name, card, half=half)
    return card_path


__all__ = [
    "ARCHITECTURE", "ENCODER_PREFIX", "card_config", "check_state_dict", "expected_shapes", "import_checkpoint",
    "load_palette", "official_options", "options_from_card", "read_checkpoint", "split_state",
]
