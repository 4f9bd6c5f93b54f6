"""The edit-layer stack inside a ``.ganpaint`` project (format version 2).

``document.json`` gets an ``"edits"`` list, bottom layer first, one object per layer::

    {"name": "Fill 1", "box": [x0, y0, x1, y1], "visible": true, "opacity": 1.0,
     "mode": "inpaint", "model": "inpaint-gated-v1", "seed": 0, "inputs": ["mask"], "settings": {}}

and each layer ``i`` has PNG members of its box's size: ``edits/<i>/pixels.png`` (RGB),
``edits/<i>/alpha.png`` (L) and ``edits/<i>/in-<input>.png`` (L) per input. Projects of format
version 1 have no ``"edits"`` entry and open with an empty stack.

Every field is checked on loading (types, ranges, boxes inside the image, at most
:data:`~ganpaint.document.layers.MAX_EDIT_LAYERS` layers of at most
:data:`~ganpaint.document.layers.MAX_LAYER_AREA` pixels in all, :data:`MAX_INPUTS` inputs per layer);
a problem raises :class:`~ganpaint.errors.ProjectError` through the project reader's ``fail``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .layers import MAX_EDIT_LAYERS, MAX_LAYER_AREA, EditLayer

__all__ = ["MAX_INPUTS", "is_layer_member", "layers_meta", "read_layers", "write_layers"]

MAX_INPUTS = 4
"""Most inputs (mask, label map, reading...) one layer stores."""
_MEMBER = re.compile(r"^edits/(\d{1,3})/(pixels|alpha|in-[a-z_]{1,24})\.png$")
_INPUT_NAME = re.compile(r"^[a-z_]{1,24}$")
_MAX_TEXT = 200


def is_layer_member(name: str) -> bool:
    """Whether ``name`` is the name of an edit-layer PNG member (the reader's whitelist)."""
    return _MEMBER.match(name) is not None


def _members(index: int, layer_inputs: list[str]) -> dict[str, str]:
    """Part name (``pixels``, ``alpha``, input name) -> member name of layer ``index``."""
    members = {"pixels": f"edits/{index}/pixels.png", "alpha": f"edits/{index}/alpha.png"}
    members.update({f"in-{name}": f"edits/{index}/in-{name}.png" for name in layer_inputs})
    return members


def layers_meta(layers: list[EditLayer]) -> list[dict[str, Any]]:
    """The ``"edits"`` entry of ``document.json`` for ``layers`` (bottom to top)."""
    return [{"name": layer.name, "box": list(layer.box), "visible": layer.visible, "opacity": layer.opacity,
             "mode": layer.mode, "model": layer.model, "seed": layer.seed, "inputs": sorted(layer.inputs),
             "settings": layer.settings} for layer in layers]


def write_layers(layers: list[EditLayer], write_png: Callable[[str, np.ndarray], None]) -> None:
    """Write every layer's PNG members with ``write_png(member, array)``."""
    for index, layer in enumerate(layers):
        members = _members(index, sorted(layer.inputs))
        write_png(members["pixels"], layer.pixels)
        write_png(members["alpha"], layer.alpha)
        for name, array in layer.inputs.items():
            write_png(members[f"in-{name}"], array)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_entry(entry: Any, index: int, width: int, height: int, fail: Callable[[str], Exception]) -> dict[str, Any]:
    """One ``"edits"`` item with every field checked (``fail(reason)`` makes the error to raise)."""
    where = f"edit layer {index}"
    if not isinstance(entry, dict):
        raise fail(f"{where} is not an object")
    name, box, mode, model = entry.get("name"), entry.get("box"), entry.get("mode"), entry.get("model")
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_TEXT:
        raise fail(f"{where} has an invalid name")
    if not (isinstance(box, list) and len(box) == 4 and all(_is_int(v) for v in box)
            and 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height):
        raise fail(f"{where} has an invalid box {box!r} for a {width}x{height} image")
    if not isinstance(entry.get("visible"), bool):
        raise fail(f"{where} has an invalid 'visible' flag")
    opacity = entry.get("opacity")
    if isinstance(opacity, bool) or not isinstance(opacity, (int, float)) or not 0.0 <= opacity <= 1.0:
        raise fail(f"{where} has an invalid opacity {opacity!r}")
    if not isinstance(mode, str) or len(mode) > _MAX_TEXT:
        raise fail(f"{where} has an invalid mode")
    if model is not None and (not isinstance(model, str) or len(model) > _MAX_TEXT):
        raise fail(f"{where} has an invalid model name")
    if not _is_int(entry.get("seed")) or not 0 <= entry["seed"] < 2**63:
        raise fail(f"{where} has an invalid seed")
    inputs = entry.get("inputs")
    if (not isinstance(inputs, list) or len(inputs) > MAX_INPUTS or len(set(map(str, inputs))) != len(inputs)
            or not all(isinstance(n, str) and _INPUT_NAME.match(n) for n in inputs)):
        raise fail(f"{where} has an invalid 'inputs' list")
    if not isinstance(entry.get("settings"), dict):
        raise fail(f"{where} has invalid settings")
    return entry


def read_layers(meta: dict[str, Any], width: int, height: int, read_png: Callable[[str, str, int, int], np.ndarray],
                fail: Callable[[str], Exception]) -> list[EditLayer]:
    """The stack described by ``meta["edits"]`` (absent: empty), bottom to top.

    Args:
        meta: the parsed ``document.json``.
        width, height: the document's size in pixels.
        read_png: ``read_png(member, pil_mode, width, height)`` -> checked ``uint8`` array.
        fail: ``fail(reason)`` -> the exception to raise (a ProjectError naming the file).
    """
    entries = meta.get("edits", [])
    if not isinstance(entries, list):
        raise fail("'document.json' has an invalid 'edits' entry")
    if len(entries) > MAX_EDIT_LAYERS:
        raise fail(f"it has {len(entries)} edit layers, more than the {MAX_EDIT_LAYERS} allowed")
    entries = [_checked_entry(entry, i, width, height, fail) for i, entry in enumerate(entries)]
    area = sum((e["box"][2] - e["box"][0]) * (e["box"][3] - e["box"][1]) for e in entries)
    if area > MAX_LAYER_AREA:  # checked before any pixel is decoded
        raise fail(f"its edit layers hold {area:,} pixels, more than the {MAX_LAYER_AREA:,} allowed")
    layers = []
    for index, entry in enumerate(entries):
        x0, y0, x1, y1 = entry["box"]
        w, h = x1 - x0, y1 - y0
        members = _members(index, entry["inputs"])
        layers.append(EditLayer(
            name=entry["name"], box=(x0, y0, x1, y1), pixels=read_png(members["pixels"], "RGB", w, h),
            alpha=read_png(members["alpha"], "L", w, h), visible=entry["visible"], opacity=float(entry["opacity"]),
            mode=entry["mode"], model=entry["model"], seed=entry["seed"], settings=entry["settings"],
            inputs={name: read_png(members[f"in-{name}"], "L", w, h) for name in entry["inputs"]}))
    return layers

