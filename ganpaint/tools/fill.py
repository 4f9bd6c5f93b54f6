"""Fill tool (F): flood-fills the connected region under the pointer in the target layer."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ganpaint.tools.base import Tool


def connected_region(same: np.ndarray, x: int, y: int) -> np.ndarray:
    """Boolean (H, W) mask of the 4-connected component of ``same`` (bool (H, W)) containing (x, y)."""
    components, _ = ndimage.label(same)
    return components == components[y, x]


class FillTool(Tool):
    """Flood fill of the layer in ``settings.target``.

    - labels: the connected region of the clicked class becomes ``settings.label``;
    - mask: the connected region of the clicked hole-state (hole / not hole) becomes a hole, so an
      outline drawn with the mask brush can be filled;
    - photo: connected pixels within ``settings.tolerance`` of the clicked colour become ``settings.color``.
    """

    name, title, shortcut, icon = "fill", "Fill", "F", "fa5s.fill-drip"

    def press(self, doc, x, y):
        ix, iy = int(x), int(y)
        if not (0 <= ix < doc.width and 0 <= iy < doc.height):
            return None
        layer_name = self.target_layer()
        layer = getattr(doc, layer_name)
        if layer_name == "labels":
            region, value = connected_region(layer == layer[iy, ix], ix, iy), self.settings.label
        elif layer_name == "mask":
            holes = layer > 127
            region, value = connected_region(holes == holes[iy, ix], ix, iy), 255
        else:
            distance = np.abs(layer.astype(np.int16) - layer[iy, ix].astype(np.int16)).max(axis=2)
            region, value = connected_region(distance <= self.settings.tolerance, ix, iy), self.settings.color
        doc.begin_edit(layer_name, f"Fill {layer_name}")
        layer[region] = value
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
