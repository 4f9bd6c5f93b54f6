"""The studio controller: connects the document, the active tool, the canvas and the inference worker.

Data flows one way: canvas pointer signals -> tool -> document (+ history) -> request snapshot ->
:class:`~ganpaint.inference.worker.InferenceWorker` -> result -> document result layer -> canvas.
Worker events arrive on the worker thread and are re-posted to the GUI thread through a queued signal.

Two modes (the engine dock's tabs):

* ``"inpaint"``: the mask's holes are filled (:class:`InpaintRequest`);
* ``"synthesize"``: a SPADE model paints from the label map (:class:`SynthesisRequest`). On a photo the
  label map starts as the segmenter's reading of it, and only pixels whose labels the user changed are
  regenerated; on a blank canvas (``doc.settings["canvas"] == "blank"``) the whole picture is generated.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from ganpaint.document.model import Document
from ganpaint.errors import GanpaintError
from ganpaint.inference import events
from ganpaint.inference.requests import InpaintRequest, SegmentRequest, SynthesisRequest
from ganpaint.inference.worker import InferenceWorker
from ganpaint.labelsets import LabelSet, default_labelset
from ganpaint.tools import TOOL_CLASSES, Tool, ToolSettings
from ganpaint.tools.base import BrushStrokeTool

log = logging.getLogger(__name__)

MODES = ("inpaint", "synthesize")
#: layers whose edits change what each mode's engine sees.
MODE_INPUTS = {"inpaint": {"photo", "mask"}, "synthesize": {"photo", "labels"}}


class StudioController(QObject):
    """Owns the open document, the tools and the worker; the main window only wires widgets to it.

    Signals (all on the GUI thread):
        document_replaced(Document): a new or opened document.
        canvas_dirty(object): rectangle (x0, y0, x1, y1) to recompose, or None for everything.
        result_ready(object): the ``Result`` just applied to the document.
        progress(float): running request's completion in [0, 1]; -1 when idle.
        notice(str, str): message and level ("info", "warning", "error") for the notice bar.
        device_changed(str): device label for the status bar.
        history_changed(): undo/redo availability or texts changed.
        labelset_changed(object): the :class:`LabelSet` of the active synthesis model.
    """

    document_replaced = Signal(object)
    canvas_dirty = Signal(object)
    result_ready = Signal(object)
    progress = Signal(float)
    notice = Signal(str, str)
    device_changed = Signal(str)
    history_changed = Signal()
    labelset_changed = Signal(object)
    _worker_event = Signal(object)

    def __init__(self, registry, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.settings = ToolSettings()
        self.tools: dict[str, Tool] = {cls.name: cls(self.settings) for cls in TOOL_CLASSES}
        self.tool: Tool = self.tools["mask"]
        self.doc: Document | None = None
        self.mode = "inpaint"
        self.live_preview = True
        self.seed = 0
        self.models: dict[str, str | None] = {}
        for task in ("inpaint", "synthesize", "segment"):
            card = registry.default_for(task)
            self.models[task] = card.name if card is not None else None
        self.labelset: LabelSet = self._labelset_for(self.models["synthesize"])
        self.style_image: np.ndarray | None = None  # reference picture for the style encoder
        self.last_elapsed_ms: float | None = None
        self._submitted_revision = -1  # request revision (see _request_revision) last submitted, or -1
        # Requests carry base + doc.revision; each new document's base lies above every revision the
        # previous one reached, so a late result for a replaced document can never match the open one.
        self._revision_base = 0
        self._segmentation: np.ndarray | None = None  # the segmenter's reading of the current photo
        self._segmenting = False
        self._worker_event.connect(self._on_worker_event, Qt.ConnectionType.QueuedConnection)
        try:
            self.worker = InferenceWorker(registry, device=device, on_event=self._worker_event.emit)
        except GanpaintError as error:  # e.g. --device cuda on a machine without CUDA
            self.worker = InferenceWorker(registry, device="auto", on_event=self._worker_event.emit)
            self._worker_event.emit(events.Notice(f"{error}; using {self.worker.device_label} instead.", "warning"))
        self.worker.start()

    # ----------------------------------------------------------------- lifecycle
    def shutdown(self) -> None:
        """Stop the worker thread (called when the window closes)."""
        self.worker.stop(timeout=5.0)

    def set_document(self, doc: Document) -> None:
        """Make ``doc`` the open document (replacing any other) and schedule its first inference."""
        if self.doc is not None:
            self.doc.remove_listener(self._on_document_changed)
            self._revision_base += self.doc.revision + 1  # document revisions only grow
        self.doc = doc
        doc.add_listener(self._on_document_changed)
        self.seed = int(doc.settings.get("seed", self.seed))
        for task in ("inpaint", "synthesize"):
            name = doc.settings.get(f"{task}_model")
            if name in self.registry.names():
                self.models[task] = name
        self._segmentation = None
        self._submitted_revision = -1
        self.worker.cancel()
        self.document_replaced.emit(doc)
        self.history_changed.emit()
        self.request_inference()

    @property
    def blank_canvas(self) -> bool:
        """True for a canvas started from a label map (no photo to keep)."""
        return self.doc is not None and self.doc.settings.get("canvas") == "blank"

    # ----------------------------------------------------------------- modes and models
    def set_mode(self, mode: str) -> None:
        """Switch between ``"inpaint"`` and ``"synthesize"``; the result is recomputed for the new mode."""
        if mode not in MODES or mode == self.mode:
            return
        self.mode = mode
        self._submitted_revision = -1
        if self.doc is not None:
            self.doc.set_result(None)
        self.request_inference()

    def set_model(self, task: str, name: str) -> None:
        """Use model ``name`` for ``task`` (stored in the document's settings)."""
        if name not in self.registry.names():
            return
        self.models[task] = name
        if task == "synthesize":
            self.labelset = self._labelset_for(name)
            self.labelset_changed.emit(self.labelset)
            self._segmentation = None
        if self.doc is not None:
            self.doc.settings[f"{task}_model"] = name
            self._submitted_revision = -1
            self.request_inference()

    def _labelset_for(self, model: str | None) -> LabelSet:
        if model is None:
            return default_labelset()
        from ganpaint.engines.segment import labelset_from_card

        return labelset_from_card(self.registry.get(model))

    def segmenter_for_labelset(self) -> str | None:
        """The segmentation model for the synthesis model's classes (see ``find_segmenter_card``), else
        the default segmenter; None when no segmenter is installed."""
        from ganpaint.engines.synthesis import find_segmenter_card

        synth = self.models["synthesize"]
        card = find_segmenter_card(self.registry, self.registry.get(synth)) if synth else self.registry.default_for("segment")
        return card.name if card is not None else None

    def set_style_image(self, image: np.ndarray | None) -> None:
        """Style reference for synthesis (None: the photo's own style, or the seed on a blank canvas)."""
        self.style_image = image
        self._submitted_revision = -1
        self.request_inference()

    # ----------------------------------------------------------------- tools
    def set_tool(self, name: str) -> None:
        """Activate the tool called ``name`` (see ``ganpaint.tools.TOOL_CLASSES``)."""
        if self.doc is not None and isinstance(self.tool, BrushStrokeTool) and self.tool.active:
            self.tool.cancel(self.doc)
        self.tool = self.tools[name]

    @Slot(float, float)
    def pointer_pressed(self, x: float, y: float) -> None:
        if self.doc is not None:
            self._dirty(self.tool.press(self.doc, x, y))

    @Slot(float, float)
    def pointer_moved(self, x: float, y: float) -> None:
        if self.doc is not None:
            self._dirty(self.tool.move(self.doc, x, y))

    @Slot(float, float)
    def pointer_released(self, x: float, y: float) -> None:
        if self.doc is None:
            return
        self._dirty(self.tool.release(self.doc, x, y))
        self.history_changed.emit()
        self.request_inference()

    @Slot()
    def pointer_cancelled(self) -> None:
        if self.doc is not None:
            self.tool.cancel(self.doc)
            self.canvas_dirty.emit(None)

    def cancel(self) -> None:
        """Escape: abandon the stroke in progress, else stop the running inference."""
        if self.stroking:
            self.pointer_cancelled()
        elif self.worker.busy:
            self.worker.cancel()
            self._submitted_revision = -1  # the next edit (or a re-request) computes again
            self._segmenting = False
            self.progress.emit(-1.0)
            self.notice.emit("Inference cancelled.", "info")

    def _dirty(self, rect) -> None:
        if rect is not None:
            self.canvas_dirty.emit(rect)

    @property
    def stroking(self) -> bool:
        return isinstance(self.tool, BrushStrokeTool) and self.tool.active

    # ----------------------------------------------------------------- document edits
    def _on_document_changed(self, layers: set[str], rect) -> None:
        if "photo" in layers and not self.stroking:
            self._segmentation = None
        relevant = bool(layers & MODE_INPUTS[self.mode])
        if self.stroking:
            if self.live_preview and relevant:
                self.request_inference(debounce=True)
            return
        self.canvas_dirty.emit(rect)
        self.history_changed.emit()
        if relevant:
            self.request_inference()

    def undo(self) -> None:
        if self.doc is not None and not self.stroking:
            self.doc.undo()

    def redo(self) -> None:
        if self.doc is not None and not self.stroking:
            self.doc.redo()

    def clear_mask(self) -> None:
        """Remove every hole (one undo step)."""
        if self.doc is not None and self.doc.mask.any():
            self.doc.set_layer("mask", np.zeros_like(self.doc.mask), "Clear mask")

    def apply_result(self) -> bool:
        """Bake the current result into the photo (one undo step).

        Inpainting: the fill goes into the photo and the mask is cleared, so the next erasure builds on
        it. Synthesis: the picture becomes the photo, and the current label map its reading, so further
        label edits regenerate only what they change. Returns False when there is no up-to-date result.
        """
        doc = self.doc
        if doc is None or doc.result is None:
            self.notice.emit("Nothing to apply yet: edit the picture and wait for the result.", "info")
            return False
        if not self._result_is_current():
            self.notice.emit("The result is still being computed; apply again when it appears.", "info")
            return False
        result = doc.result.copy()
        with doc.group("Apply result"):
            doc.set_layer("photo", result, "Apply result")
            if self.mode == "inpaint":
                doc.set_layer("mask", np.zeros_like(doc.mask), "Apply result")
        if self.mode == "synthesize":
            doc.settings.pop("canvas", None)
            self._segmentation = doc.labels.copy()
            self._submitted_revision = self._request_revision()
            doc.set_result(None)
        return True

    def adopt_segmentation(self) -> None:
        """Replace the label map by a fresh reading of the photo (undoable)."""
        self._segmentation = None
        if self.doc is not None:
            self.doc.settings.pop("labels_source", None)
            self._submitted_revision = -1
            self.request_inference()

    # ----------------------------------------------------------------- inference
    def _request_revision(self) -> int:
        """The open document's revision in request space: unique across every document of this session."""
        return self._revision_base + self.doc.revision

    def _result_is_current(self) -> bool:
        """True when the document's result is the final one for its current inputs (not a preview)."""
        doc = self.doc
        return (doc is not None and doc.result is not None and doc.result_revision is not None
                and doc.result_revision >= 0 and self._revision_base + doc.result_revision == self._submitted_revision)

    def request_inference(self, debounce: bool = False) -> None:
        """Snapshot the document into a request for the active mode and submit it (latest wins)."""
        doc = self.doc
        if doc is None or self._request_revision() == self._submitted_revision:
            return
        request = self._inpaint_request() if self.mode == "inpaint" else self._synthesis_request()
        if request is None:
            return
        self._submitted_revision = request.revision
        self.worker.submit(request, debounce=debounce and not isinstance(request, SegmentRequest))

    def _no_result(self) -> None:
        """Nothing to compute for the current inputs: show the photo and stop any work."""
        doc = self.doc
        self.worker.cancel()
        self._submitted_revision = self._request_revision()
        if doc.result is not None:
            doc.set_result(None, doc.revision)

    def _inpaint_request(self):
        doc, model = self.doc, self.models["inpaint"]
        if not doc.mask.any():
            return self._no_result()
        if model is None:
            self.notice.emit("No inpainting model is installed: see 'ganpaint models list'.", "warning")
            return self._no_result()
        return InpaintRequest.snapshot(self._request_revision(), doc.photo, doc.mask, model, self.seed)

    def _synthesis_request(self):
        doc, model = self.doc, self.models["synthesize"]
        if self._segmentation is None and not self.blank_canvas:
            segmenter = self.segmenter_for_labelset()
            if segmenter is None:
                self.notice.emit(f"No segmenter for the {self.labelset.name} classes is installed.", "warning")
                return self._no_result()
            self._segmenting = True
            self.notice.emit("Reading the photo's regions...", "info")
            return SegmentRequest.snapshot(self._request_revision(), doc.photo, segmenter)
        if model is None:
            self.notice.emit("No semantic synthesis model is installed: see 'ganpaint models list'.", "warning")
            return self._no_result()
        if self.blank_canvas:
            return SynthesisRequest.snapshot(self._request_revision(), doc.labels, model, self.seed, style=self.style_image)
        region = doc.labels != self._segmentation
        if not region.any():
            return self._no_result()
        return SynthesisRequest.snapshot(self._request_revision(), doc.labels, model, self.seed, style=self.style_image,
                                         photo=doc.photo, region=region)

    def _on_segmentation(self, labels: np.ndarray) -> None:
        """The segmenter read the photo: it becomes the reference, and the label map if none was painted."""
        doc = self.doc
        self._segmenting = False
        self._segmentation = np.array(labels)
        if doc.settings.get("labels_source") is None:
            doc.labels[...] = self._segmentation  # the starting point, not an edit: no undo step
            doc.settings["labels_source"] = "segmenter"
            self._submitted_revision = -1
            doc.mark_changed({"labels"})  # repaints; labels now equal the reading, so nothing to regenerate
        else:
            self._submitted_revision = -1
            self.request_inference()

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        if self.doc is not None:
            self.doc.settings["seed"] = self.seed
            self._submitted_revision = -1
            self.request_inference()

    def set_device(self, preference: str) -> None:
        try:
            self.worker.set_device(preference)
        except GanpaintError as error:
            self.notice.emit(str(error), "error")

    @Slot(object)
    def _on_worker_event(self, event) -> None:
        doc = self.doc
        if isinstance(event, events.Finished):
            result = event.result
            if doc is None or result.revision != self._submitted_revision or result.image.shape[:2] != doc.shape:
                return  # a result for inputs the user has changed since: stale
            self.progress.emit(-1.0)
            if result.task == "segment":
                self._on_segmentation(result.image)
                return
            self.last_elapsed_ms = result.elapsed_ms
            doc.set_result(np.array(result.image), result.revision - self._revision_base)  # listeners repaint the canvas
            self.result_ready.emit(result)
        elif isinstance(event, events.Progress):
            self.progress.emit(event.fraction)
            partial = event.partial
            if partial is not None and doc is not None and event.revision == self._submitted_revision and partial.shape[:2] == doc.shape and partial.ndim == 3:
                doc.set_result(np.array(partial), -1)  # a preview: "apply" waits for the final result
        elif isinstance(event, events.Started):
            self.progress.emit(0.0)
        elif isinstance(event, events.Failed):
            self.progress.emit(-1.0)
            self._segmenting = False
            self.notice.emit(event.message, "error")
        elif isinstance(event, events.Dropped):
            if not self.worker.busy:
                self.progress.emit(-1.0)
        elif isinstance(event, events.Notice):
            self.notice.emit(event.message, event.level)
        elif isinstance(event, events.DeviceChanged):
            self.device_changed.emit(event.label)
