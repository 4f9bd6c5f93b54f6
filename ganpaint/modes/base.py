"""The studio mode base class: what one engine tab reads, the request it builds, its tools.

A *mode* (inpainting, semantic synthesis, colorization, latent projection...) is one class. It knows
which document layers feed its engine, builds the request for the current document, consumes the
engine's results (including intermediate ones, such as the segmenter's reading of a photo), turns the
result into an edit when the user applies it, and says what "before" means in before/after views. The
controller (:class:`ganpaint.ui.controller.StudioController`) keeps only the generic work: revisions,
latest-wins submission, stale results, progress and notices; the main window builds one tab per mode
from a ``{mode name: panel class}`` table.

Modes are Qt-free: they receive a small :class:`ModeContext` (registry, chosen models, seed, style,
notice callback), never the controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

import numpy as np

from ganpaint.document.layers import EditLayer, layer_from_result

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.model import Document
    from ganpaint.engines.registry import ModelCard, ModelRegistry
    from ganpaint.inference.requests import Request, Result
    from ganpaint.labelsets import LabelSet

#: ``notice(message, level)`` with level ``"info"``, ``"warning"`` or ``"error"``; an empty ``"info"`` message
#: takes down the info notice on show (a step it announced is over), warnings and errors stay.
NoticeCallback = Callable[[str, str], None]


@dataclass
class ModeContext:
    """What a mode may use besides the document.

    Attributes:
        registry: the model registry (cards and engines).
        models: chosen model name per task (``"inpaint"``, ``"synthesize"``...), shared by all modes;
            None when no model of that task is installed.
        notice: shows a message in the notice bar.
        seed: the random seed of stochastic engines (int >= 0).
        style_image: a reference picture (RGB ``uint8 (h, w, 3)``) for style-aware engines, or None.
        style_name: where ``style_image`` came from (a file path), remembered by edit layers; or None.
        replace_document: opens a new document in the studio (the GAN dice opens a sample as a picture).
    """

    registry: "ModelRegistry"
    models: dict[str, Optional[str]]
    notice: NoticeCallback = lambda message, level="info": None
    seed: int = 0
    style_image: Optional[np.ndarray] = field(default=None, repr=False)
    style_name: Optional[str] = None
    replace_document: Callable[["Document"], None] = lambda doc: None

    def card(self, task: str) -> "Optional[ModelCard]":
        """The card of the model chosen for ``task``, or None."""
        name = self.models.get(task)
        return self.registry.get(name) if name else None


class Mode:
    """One studio mode. Subclasses set the class attributes and override the hooks they need.

    Class attributes:
        name: identifier stored in projects (``doc.settings["mode"]``); title: tab text; icon: qtawesome name.
        tasks: model tasks whose model the mode's panel lets the user choose; ``tasks[0]`` is the main one.
        inputs: document layers whose edits change what the engine sees (a new result is requested).
        tools: names of the canvas tools this mode uses (others are disabled while it is active).
        default_tool: the tool chosen when the mode becomes active and the current tool is not usable.
        fill_target: the layer the fill and the eyedropper act on in this mode.
        labels_overlay: label-map overlay opacity (0..1) to show when the mode becomes active.
        apply_text, apply_tip: the apply action's text (button, menu and tool bar) and tool tip.
        layer_title: the start of the names of the edit layers the mode's *Apply* adds ("Fill" -> "Fill 3").
        shows_partials: whether streamed partial pictures of a running request are shown.
        vector_layers: vector layers (``"hints"``, ``"strokes"``) the canvas draws over the picture.
        debounce_while_editing: wait for a pause before computing while a stroke or drag is in progress
            (False for fast engines whose result should follow the pointer, e.g. a dragged colour hint).
        switches: ``(attribute, title, tool tip)`` of the mode's on/off settings: bool attributes, True
            when the mode is made; the panel shows a check box for each (disabled while
            :meth:`switch_applies` says it changes nothing), an edit layer stores the ones that are off in
            its settings, and re-edit restores them.
        preview_while_editing: compute at all while a stroke is in progress (False for slow engines,
            which run when the stroke is finished).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    icon: ClassVar[str] = "fa5s.question"
    tasks: ClassVar[tuple[str, ...]] = ()
    inputs: ClassVar[frozenset[str]] = frozenset()
    tools: ClassVar[tuple[str, ...]] = ()
    default_tool: ClassVar[str] = ""
    fill_target: ClassVar[str] = "mask"
    labels_overlay: ClassVar[float] = 0.0
    apply_text: ClassVar[str] = "Apply"
    apply_tip: ClassVar[str] = "Keep the result as a new edit layer (Ctrl+Return)"
    layer_title: ClassVar[str] = "Edit"
    shows_partials: ClassVar[bool] = True
    vector_layers: ClassVar[frozenset[str]] = frozenset()
    debounce_while_editing: ClassVar[bool] = True
    preview_while_editing: ClassVar[bool] = True

    switches: tuple[tuple[str, str, str], ...] = ()

    def __init__(self, ctx: ModeContext) -> None:
        self.ctx = ctx
        for attribute, _, _ in self.switches:
            setattr(self, attribute, True)

    # ------------------------------------------------------------------ models
    @property
    def model(self) -> Optional[str]:
        """The model chosen for the main task, or None."""
        return self.ctx.models.get(self.tasks[0]) if self.tasks else None

    @property
    def stochastic(self) -> bool:
        """Whether the main model's card says its output depends on the seed (the panel shows the seed only then)."""
        card = self.ctx.card(self.tasks[0]) if self.tasks else None
        return bool(card is not None and card.stochastic)

    @property
    def labelset(self) -> "Optional[LabelSet]":
        """The label set the mode paints with, or None when it does not use label maps."""
        return None

    def model_changed(self, task: str, doc: "Optional[Document]") -> None:
        """The model of ``task`` changed (``ctx.models`` already holds the new name): drop caches."""

    # ------------------------------------------------------------------ document
    def reset(self, doc: "Document") -> None:
        """A new document was opened (or the engine's reading of it must be redone): drop caches."""

    def document_changed(self, doc: "Document", layers: set[str], stroking: bool) -> None:
        """Called for every edit of ``layers`` before a new request is considered."""

    def invalidates(self, layers: set[str]) -> bool:
        """Whether an edit of ``layers`` needs a new result (default: it touches :attr:`inputs`)."""
        return bool(layers & self.inputs)

    def start_blank(self, doc: "Document", settings: Any) -> None:
        """Set up a new blank canvas for this mode (``settings``: the shared tool settings)."""

    @property
    def blank_canvas_title(self) -> str:
        """What *New canvas* makes in this mode (for the dialog)."""
        return "a white canvas"

    # ------------------------------------------------------------------ inference
    def build_request(self, doc: "Document", revision: int) -> "Optional[Request]":
        """The request for the current inputs, or None when there is nothing to compute (the photo is
        shown). A missing model is reported with ``ctx.notice`` and gives None."""
        raise NotImplementedError

    def take_result(self, doc: "Document", result: "Result") -> bool:
        """Consume a finished result for the submitted revision. Return True to show it (see
        :meth:`present`) as the document's result; False when the mode used it itself (an intermediate
        step, e.g. a segmentation) and a new request should be built."""
        return True

    def present(self, doc: "Document", result: "Result") -> Optional[np.ndarray]:
        """The picture to show for a final result: RGB ``uint8 (H, W, 3)`` at the document's size, or None
        to show nothing. Default: ``result.image`` itself (engines that return a smaller picture, such as
        a GAN's, paste it into the document here)."""
        return result.image

    def present_partial(self, doc: "Document", picture: np.ndarray) -> Optional[np.ndarray]:
        """The preview to show for a streamed partial picture (same rules as :meth:`present`)."""
        return picture

    # ------------------------------------------------------------------ apply, re-edit and views
    def apply(self, doc: "Document") -> Optional[EditLayer]:
        """Keep the current (final) result as a new edit layer above the photo, as one undo step.

        Default: :meth:`add_edit_layer` with :meth:`edit_region` and :meth:`edit_inputs`. Returns the
        layer, or None when the result changes nothing."""
        return self.add_edit_layer(doc, self.edit_region(doc), self.edit_inputs(doc))

    def edit_region(self, doc: "Document") -> Optional[np.ndarray]:
        """``bool (H, W)`` pixels the current request is about (kept in the layer even where the result
        equals the picture), or None."""
        return None

    def edit_inputs(self, doc: "Document") -> dict[str, np.ndarray]:
        """The document layers (``uint8 (H, W)``) that made the current result, stored in the edit layer
        (inside its box) so :meth:`reedit` can restore them."""
        return {}

    def layer_settings(self, doc: "Document") -> dict[str, Any]:
        """JSON-able extras stored with an edit layer (e.g. the style reference)."""
        return {}

    def switch_applies(self, attribute: str, doc: "Optional[Document]") -> bool:
        """Whether switch ``attribute`` (of :attr:`switches`) changes what the engine paints for ``doc``
        (default True); the panel disables its check box while it does not."""
        return True

    def add_edit_layer(self, doc: "Document", region: Optional[np.ndarray], inputs: dict[str, np.ndarray],
                       description: Optional[str] = None) -> Optional[EditLayer]:
        """Add the edit layer that turns the current composite into ``doc.result`` (the shared part of
        every mode's :meth:`apply`): named after :attr:`layer_title`, remembering this mode, its model,
        the seed, ``inputs`` (copied) and :meth:`layer_settings`. Returns it, or None when the result
        changes nothing (no undo step)."""
        number = int(doc.settings.get("layer_count", 0)) + 1
        layer = layer_from_result(doc.composite(), doc.result, region, name=f"{self.layer_title} {number}",
                                  mode=self.name, model=self.model, seed=self.ctx.seed,
                                  inputs={key: np.array(value) for key, value in inputs.items()},
                                  settings={**self.layer_settings(doc),
                                            **{a: False for a, _, _ in self.switches if not getattr(self, a)}})
        if layer is not None:
            doc.settings["layer_count"] = number
            doc.add_edit_layer(layer, description or self.apply_text)
        return layer

    def reedit(self, doc: "Document", index: int) -> None:
        """Take edit layer ``index`` out of the stack and restore the inputs that made it, as one undo
        step, so the live engine computes it again (the caller restores model and seed first)."""
        layer = doc.edits[index]
        with doc.group(f"Re-edit {layer.name}"):
            doc.remove_edit_layer(index, f"Re-edit {layer.name}")
            for attribute, _, _ in self.switches:
                setattr(self, attribute, layer.settings.get(attribute, True) is not False)
            self.restore_inputs(doc, layer)

    def restore_inputs(self, doc: "Document", layer: EditLayer) -> None:
        """Write ``layer.inputs`` back into the document inside the layer's box (default: its ``mask``
        and ``labels``; what the user painted elsewhere since stays)."""
        for name in ("mask", "labels"):
            if name in layer.inputs:
                doc.set_layer(name, pasted(getattr(doc, name), layer.inputs[name], layer.box), f"Re-edit {layer.name}")

    def frame(self, doc: "Document") -> Optional[tuple[int, int, int, int]]:
        """A rectangle ``(x0, y0, x1, y1)`` (image pixels) the canvas outlines, e.g. the region a GAN
        projects; None for none."""
        return None

    def before(self, doc: "Document", y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The "before" picture of before/after and split views inside rows ``y0:y1``, columns
        ``x0:x1``: RGB ``uint8 (y1 - y0, x1 - x0, 3)``. Default: the original photo, without edit layers."""
        return doc.photo[y0:y1, x0:x1]

    def settings_for_project(self) -> dict[str, Any]:
        """Mode-specific settings saved with the document (merged into ``doc.settings``)."""
        return {}


def apply_and_clear(mode: Mode, doc: "Document", vector: str) -> Optional[EditLayer]:
    """``mode``'s :meth:`Mode.apply` plus emptying the vector layer ``vector`` (``"hints"`` or ``"strokes"``)
    that made the result, as one undo step; returns the new edit layer (or None)."""
    with doc.group(mode.apply_text):
        layer = Mode.apply(mode, doc)
        getattr(doc, f"set_{vector}")([], mode.apply_text)
    return layer


def restore_vector(doc: "Document", layer: EditLayer, vector: str) -> None:
    """Put back the ``vector`` items (``"hints"`` / ``"strokes"``, stored as JSON in ``layer.settings``) that
    made ``layer``; a damaged item of an old project is skipped, the others come back."""
    from ganpaint.document.vectors import ColorHint, SketchStroke

    kind = {"hints": ColorHint, "strokes": SketchStroke}[vector]
    items = []
    for item in layer.settings.get(vector, []):
        try:
            items.append(kind.from_json(item))
        except ValueError:
            continue
    getattr(doc, f"set_{vector}")(items, f"Re-edit {layer.name}")


def pasted(full: np.ndarray, crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A copy of ``full`` (``(H, W)`` array) with ``crop`` written into ``box`` = ``(x0, y0, x1, y1)``."""
    out = np.array(full, copy=True)
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = crop
    return out


def missing_model(ctx: ModeContext, what: str) -> None:
    """Report that no model for ``what`` is installed (returns None for ``build_request``)."""
    ctx.notice(f"No {what} model is installed: see 'ganpaint models list'.", "warning")
    return None
