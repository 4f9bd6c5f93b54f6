"""The studio controller: connects the document, the active tool, the canvas and the inference worker.

Data flows one way: canvas pointer signals -> tool -> document (+ history) -> request snapshot ->
:class:`~ganpaint.inference.worker.InferenceWorker` -> result -> document result layer -> canvas.
Worker events arrive on the worker thread and are re-posted to the GUI thread through a queued signal.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from ganpaint.document.model import Document
from ganpaint.errors import GanpaintError
from ganpaint.inference import events
from ganpaint.inference.requests import InpaintRequest
from ganpaint.inference.worker import InferenceWorker
from ganpaint.tools import TOOL_CLASSES, Tool, ToolSettings
from ganpaint.tools.base import BrushStrokeTool

log = logging.getLogger(__name__)

#: layers whose edits change what the inpainting engine sees.
INPAINT_INPUTS = {"photo", "mask"}


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
    """

    document_replaced = Signal(object)
    canvas_dirty = Signal(object)
    result_ready = Signal(object)
    progress = Signal(float)
    notice = Signal(str, str)
    device_changed = Signal(str)
    history_changed = Signal()
    _worker_event = Signal(object)

    def __init__(self, registry, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.settings = ToolSettings()
        self.tools: dict[str, Tool] = {cls.name: cls(self.settings) for cls in TOOL_CLASSES}
        self.tool: Tool = self.tools["mask"]
        self.doc: Document | None = None
        self.live_preview = True
        self.seed = 0
        card = registry.default_for("inpaint")
        self.inpaint_model: str | None = card.name if card is not None else None
        self.last_elapsed_ms: float | None = None
        self._submitted_revision = -1
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
        self.doc = doc
        doc.add_listener(self._on_document_changed)
        self.seed = int(doc.settings.get("seed", self.seed))
        self.inpaint_model = doc.settings.get("inpaint_model", self.inpaint_model)
        self._submitted_revision = -1
        self.document_replaced.emit(doc)
        self.history_changed.emit()
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
        if self.stroking:
            if self.live_preview and layers & INPAINT_INPUTS:
                self.request_inference(debounce=True)
            return
        self.canvas_dirty.emit(rect)
        self.history_changed.emit()
        if layers & INPAINT_INPUTS:
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
        """Bake the current fill into the photo and clear the mask, so the next erasure builds on it.

        Undoable (one step per layer). Returns False when there is no up-to-date result to apply.
        """
        doc = self.doc
        if doc is None or doc.result is None:
            self.notice.emit("Nothing to apply: paint a mask and wait for the fill.", "info")
            return False
        if doc.result_revision != self._submitted_revision:
            self.notice.emit("The fill is still being computed; apply again when it appears.", "info")
            return False
        result = doc.result.copy()
        with doc.group("Apply fill"):
            doc.set_layer("photo", result, "Apply fill")
            doc.set_layer("mask", np.zeros_like(doc.mask), "Apply fill")
        return True

    # ----------------------------------------------------------------- inference
    def request_inference(self, debounce: bool = False) -> None:
        """Snapshot the document into a request for the active engine and submit it (latest wins)."""
        doc = self.doc
        if doc is None:
            return
        if not doc.mask.any() or self.inpaint_model is None:
            if doc.result is not None:
                doc.set_result(None, doc.revision)
                self.canvas_dirty.emit(None)
            self.worker.cancel()
            self._submitted_revision = doc.revision
            if self.inpaint_model is None and doc.mask.any():
                self.notice.emit("No inpainting model is installed: see 'ganpaint models list'.", "warning")
            return
        if doc.revision == self._submitted_revision:
            return
        request = InpaintRequest.snapshot(doc.revision, doc.photo, doc.mask, self.inpaint_model, self.seed)
        self._submitted_revision = doc.revision
        self.worker.submit(request, debounce=debounce)

    def set_inpaint_model(self, name: str) -> None:
        self.inpaint_model = name
        if self.doc is not None:
            self.doc.settings["inpaint_model"] = name
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
        if isinstance(event, events.Finished):
            result = event.result
            doc = self.doc
            if doc is None or result.revision != self._submitted_revision or result.image.shape[:2] != doc.shape:
                return  # a result for inputs the user has changed since: stale
            self.last_elapsed_ms = result.elapsed_ms
            doc.set_result(np.array(result.image), result.revision)  # listeners repaint the canvas
            self.result_ready.emit(result)
            self.progress.emit(-1.0)
        elif isinstance(event, events.Progress):
            self.progress.emit(event.fraction)
            doc = self.doc
            if event.partial is not None and doc is not None and event.revision == self._submitted_revision and event.partial.shape[:2] == doc.shape:
                doc.set_result(np.array(event.partial), -1)  # a preview: "apply" waits for the final result
        elif isinstance(event, events.Started):
            self.progress.emit(0.0)
        elif isinstance(event, events.Failed):
            self.progress.emit(-1.0)
            self.notice.emit(event.message, "error")
        elif isinstance(event, events.Dropped):
            if not self.worker.busy:
                self.progress.emit(-1.0)
        elif isinstance(event, events.Notice):
            self.notice.emit(event.message, event.level)
        elif isinstance(event, events.DeviceChanged):
            self.device_changed.emit(event.label)
