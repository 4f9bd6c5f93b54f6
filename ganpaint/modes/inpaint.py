"""Inpainting mode: the mask's holes are filled by an inpainting GAN (:class:`InpaintRequest`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ganpaint.inference.requests import InpaintRequest
from ganpaint.modes.base import Mode, missing_model

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document


class InpaintMode(Mode):
    """Paint a mask (holes > 127) over what should go; the engine fills it, every other pixel kept.

    Apply keeps the fill as an edit layer (remembering the mask and the texture switch) and clears the
    mask; the engine reads the composite, so the next erasure builds on the fill. :attr:`texture` (the
    panel's *Photo texture* switch) asks the engine to copy the photo's own grain into the fill.
    """

    name, title, icon = "inpaint", "Inpainting", "fa5s.highlighter"
    tasks = ("inpaint",)
    inputs = frozenset({"photo", "mask", "edits"})
    tools = ("brush", "eraser", "mask", "fill", "lasso", "eyedropper")
    default_tool = "mask"
    fill_target = "mask"
    apply_text = "Apply fill"
    apply_tip = "Keep the fill as a new layer and clear the mask (Ctrl+Return)"
    layer_title = "Fill"
    switches = (("texture", "Photo texture",
                 "Copy the photo's own grain into the fill (models that support it); off: the network's smooth fill"),)

    def build_request(self, doc: "Document", revision: int) -> Optional[InpaintRequest]:
        if not doc.mask.any():
            return None
        if self.model is None:
            return missing_model(self.ctx, "inpainting")
        return InpaintRequest.snapshot(revision, doc.composite(), doc.mask, self.model, self.ctx.seed,
                                       texture=self.texture)

    def edit_region(self, doc: "Document") -> np.ndarray:
        return doc.mask > 0  # soft brush edges too, so the layer's box holds the whole mask

    def edit_inputs(self, doc: "Document") -> dict[str, np.ndarray]:
        return {"mask": doc.mask}

    def apply(self, doc: "Document"):
        with doc.group(self.apply_text):
            layer = super().apply(doc)
            doc.set_layer("mask", np.zeros_like(doc.mask), self.apply_text)
        return layer
