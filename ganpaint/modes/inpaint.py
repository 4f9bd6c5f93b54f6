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

    Apply bakes the fill into the photo and clears the mask, so the next erasure builds on it.
    """

    name, title, icon = "inpaint", "Inpainting", "fa5s.highlighter"
    tasks = ("inpaint",)
    inputs = frozenset({"photo", "mask"})
    tools = ("brush", "eraser", "mask", "fill", "eyedropper")
    default_tool = "mask"
    fill_target = "mask"
    apply_text = "Apply fill"
    apply_tip = "Keep the fill and clear the mask (Ctrl+Return)"

    def build_request(self, doc: "Document", revision: int) -> Optional[InpaintRequest]:
        if not doc.mask.any():
            return None
        if self.model is None:
            return missing_model(self.ctx, "inpainting")
        return InpaintRequest.snapshot(revision, doc.photo, doc.mask, self.model, self.ctx.seed)

    def apply(self, doc: "Document") -> None:
        result = doc.result.copy()
        with doc.group(self.apply_text):
            doc.set_layer("photo", result, self.apply_text)
            doc.set_layer("mask", np.zeros_like(doc.mask), self.apply_text)
