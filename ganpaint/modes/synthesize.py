"""Semantic synthesis mode: a SPADE model paints from the label map (:class:`SynthesisRequest`).

On a photo the label map starts as the segmenter's reading of it (a :class:`SegmentRequest` first),
and only the pixels whose labels the user changed are regenerated; on a blank canvas
(``doc.settings["canvas"] == "blank"`` and no edit layer yet) the whole picture is generated from the
label map. The photo read is always the composite (photo and visible edit layers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ganpaint.inference.requests import SegmentRequest, SynthesisRequest
from ganpaint.labelsets import LabelSet, default_labelset
from ganpaint.modes.base import Mode, ModeContext, missing_model, pasted

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document
    from ganpaint.inference.requests import Request, Result


def is_blank_canvas(doc: "Optional[Document]") -> bool:
    """True for a canvas started from a label map (no photo to keep) on which nothing was applied yet."""
    return doc is not None and doc.settings.get("canvas") == "blank" and not doc.edits


class SynthesizeMode(Mode):
    """Paint classes into the label map; the SPADE generator turns them into pixels."""

    name, title, icon = "synthesize", "Semantic", "fa5s.tree"
    tasks = ("synthesize",)
    inputs = frozenset({"photo", "labels", "edits"})
    tools = ("brush", "labels", "fill", "lasso", "eyedropper")
    default_tool = "labels"
    fill_target = "labels"
    labels_overlay = 0.45
    apply_text = "Apply result"
    apply_tip = "Keep the generated picture as a new layer (Ctrl+Return)"
    layer_title = "Synthesis"
    switches = (("exemplar", "Match photo",
                 "Photo edits: painted classes take the colour, and trees the texture, of the same class elsewhere in "
                 "the photo (editors that support it); off: the network's painting"),)

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.reading: Optional[np.ndarray] = None  # the segmenter's reading of the current photo
        self._labelset = self._labelset_for(self.model)
        self._applying = False

    # ------------------------------------------------------------------ label set and models
    @property
    def labelset(self) -> LabelSet:
        return self._labelset

    def _labelset_for(self, model: Optional[str]) -> LabelSet:
        if model is None:
            return default_labelset()
        from ganpaint.engines.segment import labelset_from_card

        return labelset_from_card(self.ctx.registry.get(model))

    def model_changed(self, task: str, doc: "Optional[Document]") -> None:
        if task == "synthesize":
            self._labelset = self._labelset_for(self.model)
            self.reading = None

    def segmenter(self) -> Optional[str]:
        """The segmentation model for the synthesis model's classes (see ``find_segmenter_card``), else
        the default segmenter; None when no segmenter is installed."""
        from ganpaint.engines.synthesis import find_segmenter_card

        registry = self.ctx.registry
        card = find_segmenter_card(registry, registry.get(self.model)) if self.model else registry.default_for("segment")
        return card.name if card is not None else None

    def switch_applies(self, attribute: str, doc: "Optional[Document]") -> bool:
        """*Match photo* needs a photo: it changes nothing on a blank canvas."""
        return not (attribute == "exemplar" and is_blank_canvas(doc))

    # ------------------------------------------------------------------ document
    def reset(self, doc: "Document") -> None:
        self.reading = None

    def document_changed(self, doc: "Document", layers: set[str], stroking: bool) -> None:
        if layers & {"photo", "edits"} and not stroking and not self._applying:
            self.reading = None  # the picture changed: read it again

    def adopt_segmentation(self, doc: "Document") -> None:
        """Replace the label map by a fresh reading of the photo (the next request reads it)."""
        self.reading = None
        doc.settings.pop("labels_source", None)

    def start_blank(self, doc: "Document", settings: Any) -> None:
        doc.settings["canvas"] = "blank"
        doc.settings["labels_source"] = "user"
        doc.labels[...] = settings.label

    @property
    def blank_canvas_title(self) -> str:
        return "a label map of one class, painted into a picture"

    # ------------------------------------------------------------------ inference
    def build_request(self, doc: "Document", revision: int) -> "Optional[Request]":
        ctx = self.ctx
        blank = is_blank_canvas(doc)
        if self.reading is None and not blank:
            segmenter = self.segmenter()
            if segmenter is None:
                ctx.notice(f"No segmenter for the {self.labelset.name} classes is installed.", "warning")
                return None
            ctx.notice("Reading the photo's regions...", "info")
            return SegmentRequest.snapshot(revision, doc.composite(), segmenter)
        if self.model is None:
            return missing_model(ctx, "semantic synthesis")
        if blank:
            return SynthesisRequest.snapshot(revision, doc.labels, self.model, ctx.seed, style=ctx.style_image)
        region = doc.labels != self.reading
        if not region.any():
            return None
        return SynthesisRequest.snapshot(revision, doc.labels, self.model, ctx.seed, style=ctx.style_image,
                                         photo=doc.composite(), region=region, exemplar=self.exemplar)

    def take_result(self, doc: "Document", result: "Result") -> bool:
        if result.task != "segment":
            return True
        # The segmenter read the photo: it becomes the reference, and the label map if none was painted.
        self.ctx.notice("", "info")  # "Reading the photo's regions..." is over
        self.reading = np.array(result.image)
        if doc.settings.get("labels_source") is None:
            doc.labels[...] = self.reading  # the starting point, not an edit: no undo step
            doc.settings["labels_source"] = "segmenter"
        return False

    # ------------------------------------------------------------------ apply and views
    def edit_region(self, doc: "Document") -> np.ndarray:
        if is_blank_canvas(doc) or self.reading is None:
            return np.ones(doc.shape, bool)
        return doc.labels != self.reading

    def edit_inputs(self, doc: "Document") -> dict[str, np.ndarray]:
        inputs = {"labels": doc.labels}
        if self.reading is not None and not is_blank_canvas(doc):
            inputs["reading"] = self.reading
        return inputs

    def layer_settings(self, doc: "Document") -> dict[str, Any]:
        settings: dict[str, Any] = {"canvas": "blank"} if is_blank_canvas(doc) else {}
        if self.ctx.style_name:
            settings["style"] = self.ctx.style_name
        return settings

    def apply(self, doc: "Document"):
        """The picture becomes an edit layer, and the current label map the reading of the new composite,
        so further label edits regenerate only what they change."""
        region, inputs = self.edit_region(doc), self.edit_inputs(doc)
        self._applying = True
        try:
            self.reading = doc.labels.copy()  # set first: the new layer then needs no new result
            return self.add_edit_layer(doc, region, inputs)
        finally:
            self._applying = False

    def reedit(self, doc: "Document", index: int) -> None:
        """Restore the label map and the reading the layer was computed against, so exactly its region
        is regenerated (a blank-canvas layer that was alone makes the canvas blank again)."""
        layer = doc.edits[index]
        self._applying = True
        try:
            if "reading" in layer.inputs:
                # outside the layer the current labels count as read, so only its region is regenerated
                self.reading = pasted(doc.labels, layer.inputs["reading"], layer.box)
            super().reedit(doc, index)
        finally:
            self._applying = False

    def before(self, doc: "Document", y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        if is_blank_canvas(doc):
            return self.labelset.colorize(doc.labels[y0:y1, x0:x1])
        return doc.photo[y0:y1, x0:x1]
