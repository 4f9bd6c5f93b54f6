"""Fill tool (F): flood-fills the connected region under the pointer in the target layer; eyedropper (P).

- Label map: the clicked class's 8-connected region (diagonal steps included) becomes the chosen class,
  and the specks a segmentation or an anti-aliased import leaves along its boundary go with it: other
  classes' components of at most :data:`SPECK_PIXELS` pixels, and one-pixel-wide ones, that touch the
  region (:func:`label_fill_region`).
- Mask: the 4-connected region of the clicked hole state becomes a hole (an outline drawn with the mask
  brush holds even where it steps diagonally).
- Photo: the pixels within ``tolerance`` of the clicked colour, 4-connected; with ``gap`` > 0 a line-art
  fill like GIMP's: gaps of up to ``gap`` pixels in the lines are sealed before filling, and the fill
  goes under the lines' anti-aliased edges (:func:`line_art_fill`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ganpaint.tools.base import Tool

CONNECT_4 = ndimage.generate_binary_structure(2, 1)
CONNECT_8 = ndimage.generate_binary_structure(2, 2)
SPECK_PIXELS = 16
"""Components of another class up to this many pixels touching a filled label region are filled too."""
UNDER_EDGE = 2
"""Line pixels within this many pixels of a line-art fill get the colour under them (anti-aliased edges)."""


def connected_region(same: np.ndarray, x: int, y: int, eight: bool = False) -> np.ndarray:
    """Boolean (H, W) mask of the 4- (or 8-) connected component of ``same`` (bool (H, W)) containing (x, y)."""
    components, _ = ndimage.label(same, structure=CONNECT_8 if eight else CONNECT_4)
    return components == components[y, x]


def _window(region: np.ndarray, pad: int) -> tuple[slice, slice]:
    """Slices of the bounding box of ``region`` grown by ``pad`` pixels (clipped to the array)."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    h, w = region.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)))


def label_fill_region(labels: np.ndarray, x: int, y: int, speck_pixels: int = SPECK_PIXELS) -> np.ndarray:
    """The pixels a label-map fill at ``(x, y)`` changes.

    Args:
        labels: ``uint8 (H, W)`` class ids.
        x, y: the clicked pixel.
        speck_pixels: components of another class (8-connected) of at most this many pixels that touch
            the region are absorbed; then the pixels of one-pixel-wide components (no 2x2 block:
            anti-aliased seams) that touch the region or those specks; then the specks behind those seams.
            A seam is never followed along its length, so a seam between two other classes stays.

    Returns:
        ``bool (H, W)``: the clicked class's 8-connected region plus the absorbed specks and seam pixels.
    """
    region = connected_region(labels == labels[y, x], x, y, eight=True)
    rows, cols = _window(region, speck_pixels + 2)
    neighbours = _Neighbours(labels[rows, cols], region[rows, cols], speck_pixels)
    base = region[rows, cols].copy()
    base |= neighbours.touching(base)[0]
    base |= neighbours.touching(base)[1]
    base |= neighbours.touching(base)[0]
    region[rows, cols] = base
    return region


class _Neighbours:
    """The other classes' 8-connected components around a label region (computed once per class)."""

    def __init__(self, labels: np.ndarray, region: np.ndarray, speck_pixels: int) -> None:
        self.labels, self.region, self.speck_pixels = labels, region, speck_pixels
        self._classes: dict[int, tuple[np.ndarray, np.ndarray, list]] = {}

    def _components(self, cls: int) -> tuple[np.ndarray, np.ndarray, list]:
        if cls not in self._classes:
            components, _ = ndimage.label((self.labels == cls) & ~self.region, structure=CONNECT_8)
            self._classes[cls] = (components, np.bincount(components.ravel()), ndimage.find_objects(components))
        return self._classes[cls]

    def touching(self, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(specks, seam)``: the components touching ``base`` with at most ``speck_pixels`` pixels, and
        the pixels touching ``base`` of those that are one pixel wide (no 2x2 block)."""
        touching = ndimage.binary_dilation(base, CONNECT_8) & ~base
        specks, seam = np.zeros_like(base), np.zeros_like(base)
        for cls in np.unique(self.labels[touching]):
            components, sizes, boxes = self._components(int(cls))
            ids = np.unique(components[touching & (self.labels == cls)])
            ids = ids[ids > 0]
            specks |= np.isin(components, ids[sizes[ids] <= self.speck_pixels])
            for component in ids[sizes[ids] > self.speck_pixels]:
                box = boxes[component - 1]
                pixels = components[box] == component
                if not ndimage.binary_erosion(pixels, np.ones((2, 2), bool)).any():
                    seam[box] |= pixels & touching[box]
        return specks & ~base, seam & ~base


def line_art_fill(picture: np.ndarray, x: int, y: int, tolerance: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels a photo fill at ``(x, y)`` paints.

    With ``gap`` > 0 the lines are first grown by ``gap / 2`` pixels, which seals gaps of up to ``gap``
    pixels; the flood fill runs in what is left and is then grown back by the same distance inside the
    fillable pixels, so it reaches the lines again without passing the sealed gaps (a line's far side is
    at least one pixel further away).

    Args:
        picture: RGB ``uint8 (H, W, 3)``, what the user sees.
        x, y: the clicked pixel.
        tolerance: a pixel whose channels all lie within ``tolerance`` (0..255) of the clicked colour is
            fillable; others are "lines".
        gap: the widest line gap to seal, in pixels (0: a plain tolerance fill).

    Returns:
        ``(region, under)``: ``bool (H, W)`` pixels that take the colour, and ``bool (H, W)`` line pixels
        within :data:`UNDER_EDGE` pixels of the region (the lines' anti-aliased edges) that the colour goes
        under (multiplied, so the lines stay dark); ``under`` is empty when ``gap`` is 0.
    """
    distance = np.abs(picture.astype(np.int16) - picture[y, x].astype(np.int16)).max(axis=2)
    fillable = distance <= tolerance
    nothing = np.zeros(fillable.shape, bool)
    if gap <= 0 or not fillable[y, x]:
        return connected_region(fillable, x, y), nothing
    radius = gap / 2.0
    open_space = ndimage.distance_transform_edt(fillable) > radius  # farther than gap/2 from every line
    if not open_space[y, x]:  # clicked inside a gap or a narrow space: fill that colour alone
        return connected_region(fillable, x, y), nothing
    core = connected_region(open_space, x, y)
    rows, cols = _window(core, int(np.ceil(radius)) + UNDER_EDGE + 2)
    near = ndimage.distance_transform_edt(~core[rows, cols])
    region, under = nothing.copy(), nothing.copy()
    region[rows, cols] = (near <= radius + 0.5) & fillable[rows, cols]
    reach = ndimage.distance_transform_edt(~region[rows, cols]) <= UNDER_EDGE
    under[rows, cols] = reach & ~fillable[rows, cols]
    return region, under


class FillTool(Tool):
    """Flood fill of the layer in ``settings.target`` (see the module docstring)."""

    name, title, shortcut, icon = "fill", "Fill", "F", "fa5s.fill-drip"

    def press(self, doc, x, y):
        ix, iy = int(x), int(y)
        if not (0 <= ix < doc.width and 0 <= iy < doc.height):
            return None
        layer_name = self.target_layer()
        layer = getattr(doc, layer_name)
        doc.begin_edit(layer_name, f"Fill {layer_name}")
        if layer_name == "labels":
            layer[label_fill_region(layer, ix, iy)] = self.settings.label
        elif layer_name == "mask":
            holes = layer > 127
            layer[connected_region(holes == holes[iy, ix], ix, iy)] = 255
        else:
            # regions as the user sees them (edit layers included); the paint goes into the photo
            region, under = line_art_fill(doc.composite(), ix, iy, self.settings.tolerance, self.settings.gap)
            colour = np.asarray(self.settings.color, np.float32)
            layer[region] = self.settings.color
            if under.any():
                layer[under] = np.rint(layer[under].astype(np.float32) * colour / 255.0).astype(np.uint8)
        patch = doc.end_edit()
        return None if patch is None else tuple(patch.rect)


class EyedropperTool(Tool):
    """Eyedropper (P): picks the picture's colour (photo and edit layers), or the class id when the target
    is the label map."""

    name, title, shortcut, icon = "eyedropper", "Eyedropper", "P", "fa5s.eye-dropper"

    def press(self, doc, x, y):
        ix, iy = int(x), int(y)
        if 0 <= ix < doc.width and 0 <= iy < doc.height:
            if self.settings.target == "labels":
                self.settings.label = int(doc.labels[iy, ix])
            else:
                source = doc.composite()  # the colour as seen, edit layers included
                self.settings.color = tuple(int(v) for v in source[iy, ix])
        return None

    move = press
