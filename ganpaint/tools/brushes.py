"""Stroke tools: paint brush, mask brush, eraser (mask eraser) and label brush."""

from __future__ import annotations

import numpy as np

from ganpaint.tools.base import BrushStrokeTool


class PaintBrushTool(BrushStrokeTool):
    """Paints ``settings.color`` into the photo at ``settings.opacity`` (B)."""

    name, title, shortcut, icon = "brush", "Paint brush", "B", "fa5s.paint-brush"
    uses_opacity = True
    layer = "photo"

    def blend(self, base, coverage):
        alpha = (coverage * float(self.settings.opacity))[..., None]
        color = np.asarray(self.settings.color, np.float32)
        return np.rint(base * (1.0 - alpha) + color * alpha).astype(np.uint8)


class MaskBrushTool(BrushStrokeTool):
    """Marks holes for the inpainting engine (M). Soft brush edges give a feathered mask; > 127 is a hole."""

    name, title, shortcut, icon = "mask", "Mask brush", "M", "fa5s.highlighter"
    layer = "mask"

    def blend(self, base, coverage):
        return np.maximum(base, np.rint(coverage * 255.0).astype(np.uint8))


class EraserTool(BrushStrokeTool):
    """Erases the mask (E): removes holes where it passes, in proportion to its coverage."""

    name, title, shortcut, icon = "eraser", "Eraser (mask)", "E", "fa5s.eraser"
    layer = "mask"

    def blend(self, base, coverage):
        return np.rint(base * (1.0 - coverage)).astype(np.uint8)


class LabelBrushTool(BrushStrokeTool):
    """Paints class ``settings.label`` into the label map (L). Labels are discrete: coverage >= 0.5 paints."""

    name, title, shortcut, icon = "labels", "Label brush", "L", "fa5s.tags"
    layer = "labels"

    def blend(self, base, coverage):
        return np.where(coverage >= 0.5, np.uint8(self.settings.label), base)
