"""OpenRaster (``.ora``) files: the layered format Krita, GIMP and MyPaint read and write. No Qt.

**Writing** (:func:`export_document`, :func:`write_ora`) follows the OpenRaster 0.0.5 baseline
(https://www.openraster.org/): a zip whose first member is ``mimetype``, stored uncompressed, holding
exactly ``image/openraster``; then ``stack.xml`` (``<image version w h xres yres>`` holding one root
``<stack>`` of ``<layer name src x y opacity visibility composite-op>``, the first layer on top),
``data/*.png`` (one straight-alpha RGBA PNG per layer), ``Thumbnails/thumbnail.png`` (the merged
picture, at most 256 x 256) and ``mergedimage.png`` (the visible layers composited, full size, RGBA).
A document becomes these layers, top first:

================  ==================================================================  ==============
name              pixels                                                              visibility
================  ==================================================================  ==============
``hints``         each colour hint as a disc of its colour, on transparency           hidden
``labels``        the label map in the palette colours of the label set given         hidden
``mask``          the hole tint with alpha = the mask value (255 hole, soft edges)    hidden
``result``        the engine result, when there is one                                visible
``edit: NAME``    each edit layer (an applied result), in its box, alpha = its alpha  as in the studio
``photo``         the original photo                                                  visible
================  ==================================================================  ==============

``mergedimage.png`` is the picture the studio shows: the result, or the photo with its edit layers.

**Reading** (:func:`read_stack`, :func:`load_document`) takes the layers named ``photo``, ``mask`` and
``labels`` (case and spaces ignored; a few synonyms, see :data:`ROLE_NAMES`), or the roles a caller
assigns (the studio asks when the names do not tell, :func:`guess_roles`). Visible ``edit: ...``
layers above the photo are blended into it (the picture comes back; the re-editable stack is what
``.ganpaint`` projects keep). It never extracts anything
and refuses, with a :class:`~ganpaint.errors.ProjectError` sentence: a file that is not a zip or has
no ``mimetype`` of ``image/openraster``; the checks of
:class:`~ganpaint.document.ziparchive.BoundedZipReader` (unsafe member names, at most
:data:`MAX_MEMBERS` members, sizes and compression ratios); a ``stack.xml`` above
:data:`MAX_STACK_BYTES`, with a DTD or entities, or not following the rules above; more than
:data:`MAX_LAYERS` layers; a canvas above ``imageio.MAX_PIXELS``; a layer PNG declaring more pixels
than :func:`layer_pixel_cap` allows (checked from its header, before decoding).
"""

from __future__ import annotations

import io
import math
import os
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ganpaint.errors import ProjectError
from ganpaint.labelsets import LabelSet

from .atomic import atomic_writer
from .imageio import MAX_PIXELS, _composite_over_white
from .labelmaps import labels_from_colors
from .layers import EditLayer, composite_region
from .model import Document
from .ziparchive import (
    BoundedZipReader,
    check_regular_file,
    decode_png,
    max_layer_bytes,
    member_info,
    opening_archive,
    write_png,
)

__all__ = [
    "EDIT_PREFIX",
    "IMPORT_ROLES",
    "MAX_LAYERS",
    "MAX_MEMBERS",
    "MAX_STACK_BYTES",
    "MAX_TOTAL_BYTES",
    "MIMETYPE",
    "ROLE_NAMES",
    "OraLayer",
    "OraLayerInfo",
    "OraStack",
    "composite",
    "document_layers",
    "export_document",
    "guess_roles",
    "layer_pixel_cap",
    "load_document",
    "read_layers",
    "read_stack",
    "validate",
    "write_ora",
]

MIMETYPE = b"image/openraster"
ORA_VERSION = "0.0.5"
STACK_MEMBER = "stack.xml"
MERGED_MEMBER = "mergedimage.png"
THUMBNAIL_MEMBER = "Thumbnails/thumbnail.png"
THUMBNAIL_SIZE = 256
"""Largest thumbnail side in pixels (the spec's limit)."""

MAX_MEMBERS = 1024
"""Most zip members accepted in an OpenRaster file."""
MAX_LAYERS = 256
"""Most layers accepted in ``stack.xml``."""
MAX_STACK_BYTES = 8 * 2**20
"""Largest accepted uncompressed ``stack.xml`` (8 MiB)."""
MAX_TOTAL_BYTES = 16 * MAX_PIXELS + MAX_STACK_BYTES
"""Most uncompressed bytes read from one OpenRaster file in all."""
MAX_DECODED_BYTES = 2**31
"""Most bytes of canvas-sized RGBA layers :func:`read_layers` decodes in one call (2 GiB)."""
MAX_OFFSET = 2**24
"""Largest accepted layer offset, in pixels, either way."""

COMPOSITE_OPS = frozenset(
    f"svg:{name}" for name in (
        "src-over", "multiply", "screen", "overlay", "darken", "lighten", "color-dodge", "color-burn",
        "hard-light", "soft-light", "difference", "color", "luminosity", "hue", "saturation", "plus",
        "dst-in", "dst-out", "src-atop", "dst-atop")
)
"""The composite operations of the OpenRaster 0.0.5 layer stack spec."""

MASK_RGB = (255, 40, 60)
"""Colour of the hole pixels in the exported ``mask`` layer (the studio's hole tint)."""
MIN_HINT_RADIUS = 2.0
"""Smallest disc radius, in pixels, of an exported colour hint."""
EDIT_PREFIX = "edit: "
"""Name prefix of the exported edit layers; such layers above the photo are blended into it on reading."""

IMPORT_ROLES = ("photo", "mask", "labels")
"""Document layers an OpenRaster layer can become."""
ROLE_NAMES: dict[str, frozenset[str]] = {
    "photo": frozenset({"photo"}),
    "mask": frozenset({"mask", "hole", "holes"}),
    "labels": frozenset({"labels", "label", "labelmap", "label map"}),
    "result": frozenset({"result"}),
    "hints": frozenset({"hints", "colour hints", "color hints"}),
}
"""Role -> the layer names (lower case, spaces collapsed) taken for it. ``result`` and ``hints`` (and
the ``edit: ...`` layers, blended into the photo) are exported layers that are recognised, and not
imported as such."""


@dataclass(frozen=True)
class OraLayer:
    """A raster layer to write.

    Attributes:
        name: layer name shown by the painting programs.
        rgba: ``uint8 (h, w, 4)`` straight (not premultiplied) RGBA pixels.
        x, y: offset of the layer's top-left corner on the canvas, in pixels.
        opacity: layer opacity in [0, 1].
        visible: False writes ``visibility="hidden"``.
    """

    name: str
    rgba: np.ndarray
    x: int = 0
    y: int = 0
    opacity: float = 1.0
    visible: bool = True


@dataclass(frozen=True)
class OraLayerInfo:
    """A layer as ``stack.xml`` declares it: ``name``, ``src`` (member path), canvas offset ``x``, ``y``
    in pixels (nested stacks' offsets added), ``opacity`` in [0, 1] and ``visible``."""

    name: str
    src: str
    x: int
    y: int
    opacity: float
    visible: bool


@dataclass(frozen=True)
class OraStack:
    """The canvas ``width`` x ``height`` in pixels and its raster (PNG) layers, top first."""

    width: int
    height: int
    layers: tuple[OraLayerInfo, ...]


def layer_pixel_cap(width: int, height: int) -> int:
    """Most pixels a layer PNG of a ``width`` x ``height`` canvas may declare: four canvases (layers may
    reach past the edges), at least one megapixel, at most ``imageio.MAX_PIXELS``."""
    return min(MAX_PIXELS, max(4 * width * height, 2**20))


# --------------------------------------------------------------------------- writing


def _over(dst_rgb: np.ndarray, dst_a: np.ndarray, rgba: np.ndarray, opacity: float) -> None:
    """Source-over of straight ``uint8 (h, w, 4)`` onto premultiplied float accumulators, in place."""
    alpha = rgba[..., 3:4].astype(np.float32) * (opacity / 255.0)
    dst_rgb *= 1.0 - alpha
    dst_rgb += rgba[..., :3].astype(np.float32) * alpha
    dst_a *= 1.0 - alpha
    dst_a += alpha


def composite(width: int, height: int, layers: Sequence[OraLayer], band_pixels: int = 1 << 22) -> np.ndarray:
    """The visible ``layers`` (top first) composited source-over on a transparent canvas.

    Works ``band_pixels`` at a time, so memory stays bounded for big canvases.

    Returns:
        ``uint8 (height, width, 4)`` straight RGBA (the ``mergedimage.png`` of the spec).
    """
    out = np.zeros((height, width, 4), np.uint8)
    rows = max(1, band_pixels // max(1, width))
    visible = [layer for layer in reversed(layers) if layer.visible and layer.opacity > 0]
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        rgb = np.zeros((r1 - r0, width, 3), np.float32)
        alpha = np.zeros((r1 - r0, width, 1), np.float32)
        for layer in visible:
            h, w = layer.rgba.shape[:2]
            y0, y1 = max(r0, layer.y), min(r1, layer.y + h)
            x0, x1 = max(0, layer.x), min(width, layer.x + w)
            if y0 < y1 and x0 < x1:
                _over(rgb[y0 - r0:y1 - r0, x0:x1], alpha[y0 - r0:y1 - r0, x0:x1],
                      layer.rgba[y0 - layer.y:y1 - layer.y, x0 - layer.x:x1 - layer.x], layer.opacity)
        covered = alpha > 0
        rgb = np.divide(rgb, alpha, out=np.zeros_like(rgb), where=covered)
        out[r0:r1, :, :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        out[r0:r1, :, 3:] = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
    return out


def _thumbnail(merged: np.ndarray) -> np.ndarray:
    """``merged`` scaled down (never up) to fit 256 x 256, aspect ratio kept, RGBA."""
    image = Image.fromarray(merged, "RGBA")
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return np.array(image)


def _stack_xml(width: int, height: int, layers: Sequence[OraLayer], sources: Sequence[str]) -> bytes:
    image = ET.Element("image", {"version": ORA_VERSION, "w": str(width), "h": str(height), "xres": "72", "yres": "72"})
    stack = ET.SubElement(image, "stack")
    for layer, src in zip(layers, sources):
        ET.SubElement(stack, "layer", {
            "name": layer.name, "src": src, "x": str(int(layer.x)), "y": str(int(layer.y)),
            "opacity": f"{layer.opacity:.3f}", "visibility": "visible" if layer.visible else "hidden",
            "composite-op": "svg:src-over",
        })
    ET.indent(image)
    return ET.tostring(image, encoding="UTF-8", xml_declaration=True)


def write_ora(path: str | os.PathLike[str], width: int, height: int, layers: Sequence[OraLayer],
              merged: np.ndarray | None = None) -> None:
    """Write ``layers`` (top first) on a ``width`` x ``height`` canvas as an OpenRaster file, atomically.

    ``merged`` (``uint8 (height, width, 4)``) is the ``mergedimage.png`` when the caller has it (default:
    :func:`composite` of ``layers``).

    Raises:
        ValueError: a layer is not ``uint8 (h, w, 4)``, an opacity is outside [0, 1], or a size < 1.
        ProjectError: the file cannot be written (a previous file is then left intact).
    """
    if width < 1 or height < 1:
        raise ValueError(f"canvas size must be at least 1x1, not {width}x{height}")
    for layer in layers:
        if layer.rgba.dtype != np.uint8 or layer.rgba.ndim != 3 or layer.rgba.shape[2] != 4:
            raise ValueError(f"layer {layer.name!r} must be uint8 (h, w, 4), got {layer.rgba.dtype} {layer.rgba.shape}")
        if not 0.0 <= layer.opacity <= 1.0:
            raise ValueError(f"layer {layer.name!r} opacity must be in [0, 1], not {layer.opacity}")
    sources = [f"data/layer{index:03d}.png" for index in range(len(layers))]
    merged = composite(width, height, layers) if merged is None else merged
    if merged.shape != (height, width, 4) or merged.dtype != np.uint8:
        raise ValueError(f"the merged image must be uint8 ({height}, {width}, 4), got {merged.dtype} {merged.shape}")
    name = os.path.basename(os.fspath(path))
    try:
        with atomic_writer(path) as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(member_info("mimetype", zipfile.ZIP_STORED), MIMETYPE)
            archive.writestr(member_info(STACK_MEMBER, zipfile.ZIP_DEFLATED), _stack_xml(width, height, layers, sources))
            for layer, src in zip(layers, sources):
                write_png(archive, src, layer.rgba)
            write_png(archive, THUMBNAIL_MEMBER, _thumbnail(merged))
            write_png(archive, MERGED_MEMBER, merged)
    except OSError as exc:
        raise ProjectError(f"cannot save '{name}': {exc.strerror or exc}.") from exc


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray | int = 255) -> np.ndarray:
    """``uint8 (H, W, 3)`` + alpha (``uint8 (H, W)`` or a constant) -> ``uint8 (H, W, 4)``."""
    rgba = np.empty(rgb.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = alpha
    return rgba


def _hints_rgba(doc: Document) -> np.ndarray:
    """The colour hints as discs (radius at least :data:`MIN_HINT_RADIUS`) on a transparent layer."""
    image = Image.new("RGBA", (doc.width, doc.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for hint in doc.hints:
        radius = max(hint.radius, MIN_HINT_RADIUS)
        box = (hint.x - radius, hint.y - radius, hint.x + radius, hint.y + radius)
        draw.ellipse(box, fill=(*hint.rgb, 255), outline=(0, 0, 0, 255))
    return np.array(image)


def document_layers(doc: Document, labelset: LabelSet) -> list[OraLayer]:
    """The layers :func:`export_document` writes for ``doc`` (top first; see the module docstring).

    Args:
        doc: the document.
        labelset: the label set of the active synthesis model (gives the label map's colours; ids
            outside it are drawn magenta).
    """
    hole_rgb = np.empty((doc.height, doc.width, 3), np.uint8)
    hole_rgb[...] = MASK_RGB
    layers = [
        OraLayer("hints", _hints_rgba(doc), visible=False),
        OraLayer("labels", _with_alpha(labelset.colorize(doc.labels)), visible=False),
        OraLayer("mask", _with_alpha(hole_rgb, doc.mask), visible=False),
    ]
    if doc.result is not None:
        layers.append(OraLayer("result", _with_alpha(doc.result)))
    for edit in reversed(doc.edits):  # the stack is bottom to top, OpenRaster lists the top first
        x0, y0 = edit.box[:2]
        layers.append(OraLayer(EDIT_PREFIX + edit.name, _with_alpha(edit.pixels, edit.alpha), x=x0, y=y0,
                               opacity=edit.opacity, visible=edit.visible))
    layers.append(OraLayer("photo", _with_alpha(doc.photo)))
    return layers


def export_document(doc: Document, path: str | os.PathLike[str], labelset: LabelSet) -> None:
    """Write ``doc`` as an OpenRaster file of :func:`document_layers` (atomically; ``doc`` is unchanged).

    Raises:
        ProjectError: the file cannot be written.
    """
    merged = _with_alpha(doc.result if doc.result is not None else doc.composite())
    write_ora(path, doc.width, doc.height, document_layers(doc, labelset), merged)


# --------------------------------------------------------------------------- reading


def _int_attribute(element: ET.Element, key: str, default: int | None, fail) -> int:
    value = element.get(key)
    if value is None:
        if default is None:
            raise fail(f"<{element.tag}> has no '{key}'")
        return default
    try:
        number = float(value)
    except ValueError:
        raise fail(f"<{element.tag}> has an invalid {key}={value!r}") from None
    if not math.isfinite(number) or abs(number) > MAX_OFFSET * 64:
        raise fail(f"<{element.tag}> has an invalid {key}={value!r}")
    return int(round(number))


def _parse_stack(data: bytes, fail) -> OraStack:
    """``stack.xml`` bytes -> OraStack (raster layers only, top first); ``fail(reason)`` makes the error."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise fail("'stack.xml' declares a DTD or entities, which OpenRaster files never need")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise fail(f"'stack.xml' is not valid XML ({exc})") from exc
    if root.tag != "image":
        raise fail(f"'stack.xml' has a <{root.tag}> root, not <image>")
    width, height = _int_attribute(root, "w", None, fail), _int_attribute(root, "h", None, fail)
    if width < 1 or height < 1:
        raise fail(f"'stack.xml' declares an invalid canvas size {width}x{height}")
    if width * height > MAX_PIXELS:
        raise fail(f"it declares a {width}x{height} image, more than the {MAX_PIXELS:,} pixels allowed")
    stacks = [child for child in root if child.tag == "stack"]
    if len(stacks) != 1:
        raise fail(f"'stack.xml' must hold one root <stack>, not {len(stacks)}")
    layers: list[OraLayerInfo] = []

    def walk(stack: ET.Element, dx: int, dy: int, hidden: bool, depth: int) -> None:
        if depth > 64:
            raise fail("'stack.xml' nests its stacks too deeply")
        for child in stack:
            x = dx + _int_attribute(child, "x", 0, fail)
            y = dy + _int_attribute(child, "y", 0, fail)
            is_hidden = hidden or child.get("visibility", "visible") == "hidden"
            if abs(x) > MAX_OFFSET or abs(y) > MAX_OFFSET:
                raise fail(f"a layer of 'stack.xml' is placed at {x}, {y}, too far off the canvas")
            if child.tag == "stack":
                walk(child, x, y, is_hidden, depth + 1)
            elif child.tag == "layer":
                src = child.get("src")
                if not src:
                    raise fail("a <layer> of 'stack.xml' has no 'src'")
                if not src.lower().endswith(".png"):
                    continue  # e.g. an SVG layer: not raster data the studio can take
                if len(layers) >= MAX_LAYERS:
                    raise fail(f"it has more than the {MAX_LAYERS} layers allowed")
                try:
                    opacity = float(child.get("opacity", "1"))
                except ValueError:
                    raise fail(f"layer '{child.get('name', '')}' has an invalid opacity") from None
                layers.append(OraLayerInfo(" ".join(child.get("name", "").split()), src.removeprefix("/"), x, y,
                                           min(1.0, max(0.0, opacity)) if math.isfinite(opacity) else 1.0,
                                           not is_hidden))

    walk(stacks[0], 0, 0, False, 0)
    return OraStack(width, height, tuple(layers))


class _OraReader:
    """An open OpenRaster archive: its checked members and its parsed stack."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.members = BoundedZipReader(archive, name, MAX_MEMBERS, MAX_TOTAL_BYTES, rooted=True)
        self.fail = self.members.fail
        if "mimetype" not in self.members.members:
            raise self.fail("it is not an OpenRaster file (it has no 'mimetype')")
        if self.members.read("mimetype", 256).strip() != MIMETYPE:
            raise self.fail("it is not an OpenRaster file (its 'mimetype' is not image/openraster)")
        self.stack = _parse_stack(self.members.read(STACK_MEMBER, MAX_STACK_BYTES), self.fail)

    def layer_pixels(self, info: OraLayerInfo) -> np.ndarray:
        """The layer's own pixels, decoded: ``uint8 (h, w, 4)`` straight RGBA (place them at ``info.x, info.y``)."""
        cap = layer_pixel_cap(self.stack.width, self.stack.height)
        data = self.members.read(info.src, max_layer_bytes(cap, 1, 9))
        return decode_png(self.members, info.src, data, cap)

    def layer_canvas(self, info: OraLayerInfo) -> np.ndarray:
        """The layer placed on the canvas: ``uint8 (H, W, 4)``, transparent where it is not."""
        return _place(self.layer_pixels(info), info.x, info.y, self.stack.width, self.stack.height)


def _on_canvas(array: np.ndarray, x: int, y: int, width: int, height: int) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The part of ``array`` (top-left corner at ``x, y``) inside a ``width`` x ``height`` canvas:
    ``(box (x0, y0, x1, y1), that part)``, or None when none of it is."""
    h, w = array.shape[:2]
    y0, y1, x0, x1 = max(0, y), min(height, y + h), max(0, x), min(width, x + w)
    if y0 >= y1 or x0 >= x1:
        return None
    return (x0, y0, x1, y1), array[y0 - y:y1 - y, x0 - x:x1 - x]


def _place(array: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """``array`` (``(h, w)`` or ``(h, w, C)``) with its top-left corner at ``x, y`` on a zero-filled
    ``width`` x ``height`` canvas, cropped to it."""
    canvas = np.zeros((height, width) + array.shape[2:], array.dtype)
    part = _on_canvas(array, x, y, width, height)
    if part is not None:
        (x0, y0, x1, y1), pixels = part
        canvas[y0:y1, x0:x1] = pixels
    return canvas


@contextmanager
def _open(path: str | os.PathLike[str]) -> Iterator[_OraReader]:
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    with opening_archive(name, "an OpenRaster file"):
        check_regular_file(path, name)
        with zipfile.ZipFile(path) as archive:
            yield _OraReader(archive, name)


def read_stack(path: str | os.PathLike[str]) -> OraStack:
    """The canvas size and the raster layers of an OpenRaster file (no pixels decoded).

    Raises:
        ProjectError: see the module docstring.
    """
    with _open(path) as reader:
        return reader.stack


def read_layers(path: str | os.PathLike[str], indices: Sequence[int] | None = None) -> tuple[OraStack, list[np.ndarray]]:
    """The stack and the pixels of its layers ``indices`` (default: all), each placed on the canvas.

    Returns:
        ``(stack, arrays)``: one ``uint8 (H, W, 4)`` straight RGBA array per index, in that order.

    Raises:
        ProjectError: see the module docstring; also when the layers asked for would take more than
            :data:`MAX_DECODED_BYTES` of memory, or an index is out of range.
    """
    with _open(path) as reader:
        stack = reader.stack
        chosen = list(range(len(stack.layers)) if indices is None else indices)
        if any(not 0 <= index < len(stack.layers) for index in chosen):
            raise reader.fail(f"it has no layer number {chosen}")
        if len(chosen) * stack.width * stack.height * 4 > MAX_DECODED_BYTES:
            raise reader.fail(f"its {len(chosen)} layers of {stack.width}x{stack.height} pixels would not fit in memory")
        return stack, [reader.layer_canvas(stack.layers[index]) for index in chosen]


def _role_of(name: str) -> str | None:
    if name.lower().startswith(EDIT_PREFIX.strip()):
        return "edit"
    key = " ".join(name.lower().replace("_", " ").replace("-", " ").split())
    return next((role for role, names in ROLE_NAMES.items() if key in names or key.replace(" ", "") in names), None)


def guess_roles(stack: OraStack) -> tuple[dict[str, int], bool]:
    """Which layer becomes the photo, the mask and the label map, from the layer names.

    The first (topmost) layer named for a role takes it (:data:`ROLE_NAMES`). Without a layer named
    ``photo``, the bottom-most layer that no role names becomes the photo (a flat picture's one
    layer, GIMP's "Background").

    Returns:
        ``(roles, certain)``: role (``photo``, ``mask``, ``labels``) -> layer index, and whether the
        names settled it: False when the photo had to be guessed among several unnamed layers, or when
        unnamed layers remain while the mask or the label map found no layer (then ask the user).
    """
    roles: dict[str, int] = {}
    unnamed = []
    for index, layer in enumerate(stack.layers):
        role = _role_of(layer.name)
        if role is None:
            unnamed.append(index)
        elif role in IMPORT_ROLES and role not in roles:
            roles[role] = index
    certain = True
    if "photo" not in roles and unnamed:
        roles["photo"] = unnamed.pop()
        certain = not unnamed
    if unnamed and not ("mask" in roles and "labels" in roles):
        certain = False
    return roles, certain and "photo" in roles


def _mask_from(rgba: np.ndarray) -> np.ndarray:
    """A layer's own pixels ``uint8 (h, w, 4)`` as a mask ``uint8 (h, w)``: its alpha when it has any
    transparency (what :func:`export_document` writes), else its luminance (a black-and-white layer:
    white is the hole)."""
    alpha = rgba[..., 3]
    if (alpha < 255).any():
        return alpha.copy()
    return np.array(Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB").convert("L"))


def _labels_from(rgba: np.ndarray, labelset: LabelSet, name: str, snap: bool) -> np.ndarray:
    """A layer of palette colours as class ids; transparent pixels take the lowest class id."""
    rgb = rgba[..., :3].copy()
    lowest = min(labelset.labels, key=lambda label: label.id)
    rgb[rgba[..., 3] == 0] = lowest.color
    return labels_from_colors(rgb, labelset, name, snap)


def _flatten(photo: np.ndarray, edits: Sequence[tuple[OraLayerInfo, np.ndarray]]) -> np.ndarray:
    """``photo`` with the edit layers (bottom to top, own RGBA pixels) blended over it exactly as the
    studio composites its edit layers (:func:`~ganpaint.document.layers.composite_region`)."""
    if not edits:
        return photo
    height, width = photo.shape[:2]
    stack = []
    for info, rgba in edits:
        part = _on_canvas(rgba, info.x, info.y, width, height)
        if part is not None:
            box, pixels = part
            stack.append(EditLayer(info.name, box, np.ascontiguousarray(pixels[..., :3]),
                                   np.ascontiguousarray(pixels[..., 3]), opacity=info.opacity))
    return composite_region(photo, stack, (0, 0, width, height))


def load_document(path: str | os.PathLike[str], labelset: LabelSet, roles: Mapping[str, int] | None = None,
                  snap: bool = False) -> Document:
    """A new Document from the layers of an OpenRaster file.

    Args:
        path: the ``.ora`` file.
        labelset: the classes the label-map layer's colours are read with.
        roles: role (``photo``, ``mask``, ``labels``) -> layer index; default :func:`guess_roles`.
            A photo is required; without a mask or label map those start empty (0).
        snap: map label colours that are not in the palette to the nearest class colour.

    Returns:
        A document (no history, not dirty, no ``path``: saving asks where) whose photo is the photo
        layer composited over white with the visible ``edit: ...`` layers above it blended in, mask the
        mask layer (:func:`_mask_from`), labels the label map.

    Raises:
        ProjectError: an unreadable or hostile file (module docstring), or no photo layer.
        ImageLoadError: label colours not in ``labelset`` (unless ``snap``).
        ValueError: an unknown role name.
    """
    if roles is None:
        roles = guess_roles(read_stack(path))[0]
    unknown = set(roles) - set(IMPORT_ROLES)
    if unknown:
        raise ValueError(f"unknown layer roles {sorted(unknown)}; expected {IMPORT_ROLES}")
    name = os.path.basename(os.fspath(path))
    if "photo" not in roles:
        raise ProjectError(f"cannot open '{name}': no layer was chosen as the photo.")
    with _open(path) as reader:
        stack = reader.stack
        if any(not 0 <= index < len(stack.layers) for index in roles.values()):
            raise reader.fail(f"it has no layer number {sorted(roles.values())}")
        layers = {role: stack.layers[index] for role, index in roles.items()}
        own = {role: reader.layer_pixels(info) for role, info in layers.items()}
        edits = [(info, reader.layer_pixels(info)) for info in reversed(stack.layers[:roles["photo"]])
                 if info.visible and _role_of(info.name) == "edit"]  # bottom to top
    size = (stack.width, stack.height)
    photo = layers["photo"]
    doc = Document(_flatten(_composite_over_white(_place(own["photo"], photo.x, photo.y, *size)), edits))
    if "mask" in own:
        doc.mask = _place(_mask_from(own["mask"]), layers["mask"].x, layers["mask"].y, *size)
    if "labels" in own:
        placed = _place(own["labels"], layers["labels"].x, layers["labels"].y, *size)
        doc.labels = _labels_from(placed, labelset, f"{name}: {layers['labels'].name}", snap)
        doc.settings["labels_source"] = "user"
    doc.settings["source_name"] = name
    return doc


# --------------------------------------------------------------------------- validation


def _png_problems(reader: BoundedZipReader, member: str, limit: int) -> tuple[list[str], Image.Image | None]:
    """Problems of a PNG member (missing, not a PNG, not 8 bits per channel, interlaced), and its header."""
    if member not in reader.members:
        return [f"'{member}' is missing"], None
    try:
        image = Image.open(io.BytesIO(reader.read(member, limit)), formats=["PNG"])
    except (OSError, ProjectError) as exc:
        return [f"'{member}' is not a readable PNG ({exc})"], None
    problems = []
    if image.mode not in ("RGBA", "RGB", "L", "LA", "P"):
        problems.append(f"'{member}' is not 8 bits per channel (mode {image.mode})")
    if image.info.get("interlace"):
        problems.append(f"'{member}' is interlaced")
    return problems, image


def validate(path: str | os.PathLike[str]) -> list[str]:
    """Check an OpenRaster file against the spec's file-layout and layer-stack rules (strictly).

    Checks: ``mimetype`` is the first member, stored uncompressed, and holds exactly
    ``image/openraster``; ``stack.xml`` is UTF-8 XML whose ``<image>`` has ``version`` and positive
    integer ``w``/``h`` and holds exactly one ``<stack>``; stacks hold only ``stack``, ``layer``,
    ``text`` and ``filter`` elements; each layer's ``src`` is a member, ``x``/``y`` are integers,
    ``opacity`` is in [0, 1], ``visibility`` is ``visible``/``hidden``, ``composite-op`` is one of
    :data:`COMPOSITE_OPS`; ``Thumbnails/thumbnail.png`` is a non-interlaced 8-bit PNG of at most 256 x 256
    that ``stack.xml`` does not reference; ``mergedimage.png`` is an 8-bit RGBA PNG of the canvas size;
    every ``data/`` member is referenced.

    Returns:
        One sentence per problem; empty when the file follows the rules.
    """
    problems: list[str] = []
    name = os.path.basename(os.fspath(path))
    try:
        with opening_archive(name, "an OpenRaster file"), zipfile.ZipFile(path) as archive:
            reader = BoundedZipReader(archive, name, MAX_MEMBERS, MAX_TOTAL_BYTES)
            infos = archive.infolist()
            first = infos[0] if infos else None
            if first is None or first.filename != "mimetype":
                problems.append("'mimetype' is not the first member")
            if "mimetype" in reader.members:
                info = reader.members["mimetype"]
                if info.compress_type != zipfile.ZIP_STORED:
                    problems.append("'mimetype' is compressed (it must be stored)")
                if reader.read("mimetype", 256) != MIMETYPE:
                    problems.append("'mimetype' does not hold exactly 'image/openraster'")
            else:
                problems.append("'mimetype' is missing")
            if STACK_MEMBER not in reader.members:
                return problems + ["'stack.xml' is missing"]
            data = reader.read(STACK_MEMBER, MAX_STACK_BYTES)
            if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                return problems + ["'stack.xml' declares a DTD or entities"]
            root = ET.fromstring(data.decode("utf-8"))
            problems += _stack_problems(root, reader)
            referenced = {element.get("src") for element in root.iter() if element.get("src")}
            thumb_problems, thumb = _png_problems(reader, THUMBNAIL_MEMBER, MAX_STACK_BYTES)
            problems += thumb_problems
            if thumb is not None and max(thumb.size) > THUMBNAIL_SIZE:
                problems.append(f"the thumbnail is {thumb.size[0]}x{thumb.size[1]}, larger than 256x256")
            if THUMBNAIL_MEMBER in referenced:
                problems.append("'stack.xml' references the thumbnail")
            width, height = root.get("w", ""), root.get("h", "")
            merged_problems, merged = _png_problems(reader, MERGED_MEMBER, max_layer_bytes(MAX_PIXELS, 1, 5))
            problems += merged_problems
            if merged is not None:
                if merged.mode != "RGBA":
                    problems.append(f"'mergedimage.png' is {merged.mode}, not RGBA")
                if (str(merged.size[0]), str(merged.size[1])) != (width, height):
                    problems.append(f"'mergedimage.png' is {merged.size[0]}x{merged.size[1]}, not the canvas's {width}x{height}")
            problems += [f"'{member}' is not referenced by 'stack.xml'" for member in reader.members
                         if member.startswith("data/") and not member.endswith("/") and member not in referenced]
    except (ProjectError, ET.ParseError, UnicodeDecodeError) as exc:
        problems.append(str(exc))
    return problems


def _stack_problems(root: ET.Element, reader: BoundedZipReader) -> list[str]:
    """Problems of a parsed ``stack.xml`` (see :func:`validate`)."""
    problems = []
    if root.tag != "image":
        return [f"the root element is <{root.tag}>, not <image>"]
    if not root.get("version"):
        problems.append("<image> has no 'version'")
    for key in ("w", "h"):
        if not (root.get(key) or "").isdigit() or int(root.get(key)) < 1:
            problems.append(f"<image> {key}={root.get(key)!r} is not a positive integer")
    children = list(root)
    if len(children) != 1 or children[0].tag != "stack":
        problems.append(f"<image> must hold exactly one <stack>, not {[child.tag for child in children]}")
    for stack in root.iter("stack"):
        for child in stack:
            if child.tag not in ("stack", "layer", "text", "filter"):
                problems.append(f"<stack> holds an unknown <{child.tag}>")
    for layer in root.iter("layer"):
        label = f"layer {layer.get('name', '')!r}"
        src = layer.get("src")
        if not src:
            problems.append(f"{label} has no 'src'")
        elif src not in reader.members:
            problems.append(f"{label} src {src!r} is not in the file")
        for key in ("x", "y"):
            value = layer.get(key, "0")
            if not value.lstrip("-").isdigit():
                problems.append(f"{label} {key}={value!r} is not an integer")
        try:
            opacity = float(layer.get("opacity", "1"))
            if not 0.0 <= opacity <= 1.0:
                problems.append(f"{label} opacity {opacity} is outside [0, 1]")
        except ValueError:
            problems.append(f"{label} opacity {layer.get('opacity')!r} is not a number")
        if layer.get("visibility", "visible") not in ("visible", "hidden"):
            problems.append(f"{label} visibility {layer.get('visibility')!r} is not visible/hidden")
        if layer.get("composite-op", "svg:src-over") not in COMPOSITE_OPS:
            problems.append(f"{label} composite-op {layer.get('composite-op')!r} is unknown")
    return problems
