"""The studio controller: connects the document, the active tool, the canvas and the inference worker.

Data flows one way: canvas pointer signals -> tool -> document (+ history) -> request snapshot ->
:class:`~ganpaint.inference.worker.InferenceWorker` -> result -> document result layer -> canvas.
Worker events arrive on the worker thread and are re-posted to the GUI thread through a queued signal.

What each engine tab does lives in its mode class (:mod:`ganpaint.modes`): the layers it reads, the
request it builds, how it consumes results and applies them. The controller only does the generic work:
request revisions, latest-wins submission, stale results, progress and notices.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from ganpaint.document.model import Document
from ganpaint.errors import GanpaintError
from ganpaint.inference import events
from ganpaint.inference.worker import InferenceWorker
from ganpaint.labelsets import LabelSet, default_labelset
from ganpaint.modes import MODE_CLASSES, Mode, ModeContext
from ganpaint.modes.synthesize import is_blank_canvas
from ganpaint.tools import TOOL_CLASSES, Tool, ToolSettings

log = logging.getLogger(__name__)


class StudioController(QObject):
    """Owns the open document, the modes, the tools and the worker; the main window only wires widgets to it.

    Signals (all on the GUI thread):
        document_replaced(Document): a new or opened document.
        canvas_dirty(object): rectangle (x0, y0, x1, y1) to recompose, or None for everything.
        result_ready(object): the ``Result`` just applied to the document.
        progress(float): running request's completion in [0, 1]; -1 when idle.
        notice(str, str): message and level ("info", "warning", "error") for the notice bar.
        device_changed(str): device label for the status bar.
        history_changed(): undo/redo availability or texts changed.
        labelset_changed(object): the :class:`LabelSet` of the label-map modes changed.
        mode_changed(str): the active mode's name (also when a project restores its mode).
        model_changed(str, str): task and model name (also when a project restores its models).
        seed_changed(int): the seed changed outside the panels (a project or a re-edited layer restored it).
        style_changed(object): the style reference's name (a file path) or None, when a re-edited layer
            restored it.
        tool_settings_changed(): a panel changed the shared tool settings (the options bar shows them again).
    """

    document_replaced = Signal(object)
    canvas_dirty = Signal(object)
    result_ready = Signal(object)
    progress = Signal(float)
    notice = Signal(str, str)
    device_changed = Signal(str)
    history_changed = Signal()
    labelset_changed = Signal(object)
    mode_changed = Signal(str)
    model_changed = Signal(str, str)
    seed_changed = Signal(int)
    style_changed = Signal(object)
    tool_settings_changed = Signal()
    _worker_event = Signal(object)

    def __init__(self, registry, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.settings = ToolSettings()
        self.tools: dict[str, Tool] = {cls.name: cls(self.settings) for cls in TOOL_CLASSES}
        self.tool: Tool = self.tools["mask"]
        self.doc: Document | None = None
        self.live_preview = True
        #: how far :meth:`grow_mask` grows the holes, pixels (the Inpainting tab's *Grow by*)
        self.grow_pixels = 4
        self.models: dict[str, str | None] = {}
        for task in sorted({task for cls in MODE_CLASSES for task in cls.tasks} | {"segment"}):
            card = registry.default_for(task)
            self.models[task] = card.name if card is not None else None
        self.context = ModeContext(registry, self.models, notice=lambda message, level="info": self.notice.emit(message, level),
                                   replace_document=self.set_document)
        self.modes: dict[str, Mode] = {cls.name: cls(self.context) for cls in MODE_CLASSES}
        self.active: Mode = self.modes[MODE_CLASSES[0].name]
        self.last_elapsed_ms: float | None = None
        self.running_task: str | None = None  # task of the request the worker runs now
        self.running_loads: str | None = None  # the model it loads first, or None
        self._submitted_revision = -1  # request revision (see _request_revision) last submitted, or -1
        # Requests carry base + doc.revision; each new document's base lies above every revision the
        # previous one reached, so a late result for a replaced document can never match the open one.
        self._revision_base = 0
        self._shown_revision = -1  # request revision of the final result on show, -1 for none or a preview
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
        """Make ``doc`` the open document (replacing any other) and schedule its first inference.

        The document's saved mode, models and seed are restored together (so a project saved with the
        facades models reopens with the facades label set and palette).
        """
        if self.doc is not None:
            self.doc.remove_listener(self._on_document_changed)
            self._revision_base += self.doc.revision + 1  # document revisions only grow
        self.doc = doc
        doc.add_listener(self._on_document_changed)
        self.context.seed = _int_setting(doc.settings.get("seed"), self.context.seed)
        self.seed_changed.emit(self.context.seed)
        for task in list(self.models):
            name = doc.settings.get(f"{task}_model")
            if isinstance(name, str) and name in self.registry.names() and self.registry.get(name).task == task:
                self._use_model(task, name)
        for mode in self.modes.values():
            mode.reset(doc)
        saved_mode = doc.settings.get("mode")
        if isinstance(saved_mode, str) and saved_mode in self.modes:
            self._activate(saved_mode)
        self._submitted_revision = -1
        self.worker.cancel()
        self.progress.emit(-1.0)  # what was running was about the previous document
        self.document_replaced.emit(doc)
        self.history_changed.emit()
        self.request_inference()

    @property
    def blank_canvas(self) -> bool:
        """True for a canvas started from a label map (no photo to keep)."""
        return is_blank_canvas(self.doc)

    # ----------------------------------------------------------------- modes and models
    @property
    def mode(self) -> str:
        """The active mode's name (``"inpaint"``, ``"synthesize"``...)."""
        return self.active.name

    @property
    def labelset(self) -> LabelSet:
        """The label set of the label-map mode (the palette shown in the Labels dock)."""
        for mode in (self.active, *self.modes.values()):
            if mode.labelset is not None:
                return mode.labelset
        return default_labelset()

    @property
    def seed(self) -> int:
        return self.context.seed

    @property
    def style_image(self) -> np.ndarray | None:
        return self.context.style_image

    def set_mode(self, mode: str) -> None:
        """Activate the mode called ``mode``; the result is recomputed for it."""
        if mode not in self.modes or mode == self.mode:
            return
        self._activate(mode)
        if self.doc is not None:
            self.doc.settings["mode"] = mode
            self._invalidate()
            self.doc.set_result(None)
        self.request_inference()

    def _activate(self, mode: str) -> None:
        if mode == self.active.name:
            return
        self.active = self.modes[mode]
        self.settings.target = self.active.fill_target
        if self.tool.name not in self.active.tools:
            self.set_tool(self.active.default_tool)
        self.mode_changed.emit(mode)

    def set_model(self, task: str, name: str) -> None:
        """Use model ``name`` for ``task`` (stored in the document's settings)."""
        if name not in self.registry.names():
            return
        self._use_model(task, name)
        if self.doc is not None:
            self.doc.settings[f"{task}_model"] = name
            self._invalidate()
            self.request_inference()

    def _use_model(self, task: str, name: str) -> None:
        if self.models.get(task) == name:
            return
        old_labelset = self.labelset
        self.models[task] = name
        for mode in self.modes.values():
            mode.model_changed(task, self.doc)
        self.model_changed.emit(task, name)
        if self.labelset is not old_labelset:
            self.labelset_changed.emit(self.labelset)

    def set_style_image(self, image: np.ndarray | None, name: str | None = None) -> None:
        """Style reference for synthesis (None: the photo's own style, or the seed on a blank canvas);
        ``name`` (its file path) is remembered by the edit layers applied with it."""
        self.context.style_image = image
        self.context.style_name = name if image is not None else None
        self._invalidate()
        self.request_inference()

    def mode_inputs_changed(self) -> None:
        """A mode's own inputs changed (a global colour hint, the recolour switch...): compute again."""
        self._invalidate()
        self.request_inference()

    def adopt_segmentation(self) -> None:
        """Replace the label map by a fresh reading of the photo (undoable)."""
        mode = self.modes.get("synthesize")
        if self.doc is not None and mode is not None:
            mode.adopt_segmentation(self.doc)
            self._invalidate()
            self.request_inference()

    def start_blank_canvas(self, width: int, height: int) -> Document:
        """Replace the document with a white ``width`` x ``height`` canvas (pixels) set up by the active
        mode (in Semantic mode: a label map of the current class, doodled into a picture)."""
        doc = Document.blank(width, height)
        doc.settings["mode"] = self.mode
        self.active.start_blank(doc, self.settings)
        self.set_document(doc)
        return doc

    # ----------------------------------------------------------------- tools
    def set_tool(self, name: str) -> None:
        """Activate the tool called ``name`` (see ``ganpaint.tools.TOOL_CLASSES``).

        A tool the active mode does not use never records invisible edits: choosing it switches to the
        first mode that uses it, with a notice (the label brush in the Inpainting tab opens the Semantic tab).
        """
        if name not in self.active.tools:
            owner = next((mode for mode in self.modes.values() if name in mode.tools), None)
            if owner is not None:
                self.tool = self.tools[name]  # keep it through the switch
                self.set_mode(owner.name)
                self.notice.emit(f"The {self.tools[name].title.lower()} works in the {owner.title} tab: switched to it.", "info")
        if self.doc is not None and self.stroking:
            self.tool.cancel(self.doc)
        self.tool = self.tools[name]

    @Slot(float, float)
    def pointer_pressed(self, x: float, y: float) -> None:
        if self.doc is not None:
            self._warn_if_hidden(x, y)
            self._dirty(self.tool.press(self.doc, x, y))

    def _warn_if_hidden(self, x: float, y: float) -> None:
        """The paint brush and the photo fill change the photo, under the edit layers: say so when a
        layer hides the pressed pixel, rather than let the paint vanish silently."""
        if self.tool.target_layer() != "photo" or self.tool.name == "eyedropper":
            return
        layer = self.doc.covering_layer(int(x), int(y))
        if layer is not None:
            self.notice.emit(f"The {self.tool.title.lower()} changes the photo, under the edit layer "
                             f"'{layer.name}': hide it or merge it down (Layers dock) to paint over it.", "info")

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
            self._invalidate()  # the next edit (or a re-request) computes again
            self.progress.emit(-1.0)
            self.notice.emit("Inference cancelled.", "info")

    def _dirty(self, rect) -> None:
        if rect is not None:
            self.canvas_dirty.emit(rect)

    @property
    def stroking(self) -> bool:
        """True while a gesture of the active tool is in progress (a brush stroke, a dragged hint...)."""
        return bool(getattr(self.tool, "active", False))

    # ----------------------------------------------------------------- document edits
    def _on_document_changed(self, layers: set[str], rect) -> None:
        stroking = self.stroking
        for mode in self.modes.values():
            mode.document_changed(self.doc, layers, stroking)
        relevant = self.active.invalidates(layers)
        if stroking:
            if self.live_preview and relevant and self.active.preview_while_editing:
                self.request_inference(debounce=self.active.debounce_while_editing)
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

    def grow_mask(self, pixels: int | None = None) -> None:
        """Grow every hole by ``pixels`` (default :attr:`grow_pixels`) in every direction, soft edges kept
        (a disc-shaped maximum filter), as one undo step: a hole brushed tightly around an object also takes
        the object's fringe, which would otherwise show in the fill. Nothing happens without a hole."""
        import cv2

        radius = int(self.grow_pixels if pixels is None else pixels)
        if self.doc is None or radius <= 0 or not self.doc.mask.any():
            return
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        self.doc.set_layer("mask", cv2.dilate(self.doc.mask, disc), f"Grow mask by {radius} px")

    def apply_result(self) -> bool:
        """Keep the current result as a new edit layer (one undo step, see the mode's ``apply``).

        Returns False (with a notice) when there is no up-to-date result.
        """
        doc = self.doc
        if doc is None or doc.result is None:
            self.notice.emit("Nothing to apply yet: edit the picture and wait for the result.", "info")
            return False
        if not self._result_is_current():
            self.notice.emit("The result is still being computed; apply again when it appears.", "info")
            return False
        try:
            self.active.apply(doc)
        except GanpaintError as error:  # e.g. too many layers
            self.notice.emit(str(error), "warning")
            return False
        return True

    def reedit_layer(self, index: int) -> bool:
        """Take edit layer ``index`` (0 = bottom) out and restore what made it: its mode, model, seed,
        style and inputs (mask, label map...), so the live engine computes it again and the user can
        change the seed or the model and apply again (one undo step). False (with a notice) for a layer
        that cannot be re-run (a merged one) or whose mode or model is not available."""
        doc = self.doc
        if doc is None or not 0 <= index < len(doc.edits) or self.stroking:
            return False
        layer = doc.edits[index]
        mode = self.modes.get(layer.mode)
        if mode is None or not layer.rerunnable:
            self.notice.emit(f"'{layer.name}' cannot be re-edited: it does not remember the inputs that made it.", "info")
            return False
        if layer.model is not None and mode.tasks:
            if layer.model in self.registry.names():
                self._use_model(mode.tasks[0], layer.model)
                doc.settings[f"{mode.tasks[0]}_model"] = layer.model
            else:
                self.notice.emit(f"'{layer.name}' was made with model '{layer.model}', which is not installed; "
                                 f"using '{self.models.get(mode.tasks[0])}'.", "warning")
        self.context.seed = _int_setting(layer.seed, self.context.seed)
        doc.settings["seed"] = self.context.seed
        self._restore_style(layer.settings.get("style"))
        self._activate(mode.name)
        doc.settings["mode"] = mode.name
        mode.reedit(doc, index)
        # after the mode restored its inputs and its own settings (a switch, a palette): a live request the
        # restored layers started on the way is superseded, and the panels show the restored settings
        self._invalidate()
        self.seed_changed.emit(self.context.seed)
        self.request_inference()
        return True

    def _restore_style(self, name) -> None:
        """Use the style reference file ``name`` again (None: no reference); a missing file is reported."""
        image = None
        if isinstance(name, str):
            from ganpaint.document.imageio import load_rgb

            try:
                image = load_rgb(name)
            except GanpaintError as error:
                self.notice.emit(f"The layer's style reference is not available: {error}", "warning")
                name = None
        else:
            name = None
        self.context.style_image, self.context.style_name = image, name
        self.style_changed.emit(name)

    # ----------------------------------------------------------------- inference
    def _invalidate(self) -> None:
        """Inputs outside the document changed (mode, model, seed, style...): results of requests already
        submitted must never be shown, even for the same document revision, so the revision space moves on."""
        if self.doc is not None:
            self._revision_base += self.doc.revision + 1
        self._submitted_revision = -1

    def _request_revision(self) -> int:
        """The open document's revision in request space: unique across every document of this session."""
        return self._revision_base + self.doc.revision

    def _result_is_current(self) -> bool:
        """True when the document's result is the final one for its current inputs (not a preview)."""
        doc = self.doc
        return (doc is not None and doc.result is not None and doc.result_revision is not None
                and doc.result_revision >= 0 and self._shown_revision == self._submitted_revision)

    def request_inference(self, debounce: bool = False) -> None:
        """Ask the active mode for a request for the current inputs and submit it (latest wins)."""
        doc = self.doc
        if doc is None or self._request_revision() == self._submitted_revision:
            return
        request = self.active.build_request(doc, self._request_revision())
        if request is None:
            self._no_result()
            return
        self._submitted_revision = request.revision
        self.running_task, self.running_loads = request.task, None  # what the user now waits for
        self.worker.submit(request, debounce=debounce and request.task != "segment")

    def _no_result(self) -> None:
        """Nothing to compute for the current inputs: show the photo and stop any work."""
        doc = self.doc
        self.worker.cancel()
        self._submitted_revision = self._request_revision()
        if doc.result is not None:
            doc.set_result(None, doc.revision)

    def set_seed(self, seed: int) -> None:
        self.context.seed = int(seed)
        if self.doc is not None:
            self.doc.settings["seed"] = self.context.seed
            self._invalidate()
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
            if doc is None or result.revision != self._submitted_revision:
                return  # a result for inputs the user has changed since: stale
            if result.image.ndim == 2 and result.image.shape != doc.shape:
                return  # a label map for another picture
            self.progress.emit(-1.0)
            if not self.active.take_result(doc, result):
                if self.doc is doc:
                    self._submitted_revision = -1  # the mode used it as an intermediate step: ask again
                    doc.mark_changed(set(), None)  # repaint (e.g. the label map it filled in) and request again
                    self.request_inference()
                return
            picture = self.active.present(doc, result)
            if picture is None or picture.shape != (*doc.shape, 3):
                return
            self.last_elapsed_ms = result.elapsed_ms
            self._shown_revision = result.revision
            doc.set_result(np.array(picture), result.revision - self._revision_base)  # listeners repaint the canvas
            self.result_ready.emit(result)
        elif isinstance(event, events.Progress):
            if event.revision != self._submitted_revision:
                return  # a request the user has moved on from (it stops at its next cancel check)
            self.running_loads = None  # the engine is computing
            self.progress.emit(event.fraction)
            partial = event.partial
            if partial is not None and doc is not None and self.active.shows_partials and partial.ndim == 3:
                picture = self.active.present_partial(doc, partial)
                if picture is not None and picture.shape == (*doc.shape, 3):
                    doc.set_result(np.array(picture), -1)  # a preview: "apply" waits for the final result
        elif isinstance(event, events.Started):
            if event.revision == self._submitted_revision:
                self.running_task = event.task
                self.running_loads = event.model if event.loading else None
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


def _int_setting(value, default: int) -> int:
    """``value`` if it is a plain int in 0..2**31-2 (a project's seed), else ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**31 - 2 else default
