"""The studio's main window: menus, tool bar, tool options, canvas, side panels and status bar."""

from __future__ import annotations

import logging
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ganpaint.document import autosave, labelmaps, project
from ganpaint.document.atomic import overwriting_read_only
from ganpaint.document.imageio import load_rgb
from ganpaint.document.model import Document
from ganpaint.errors import GanpaintError, ReadOnlyFileError
from ganpaint.inference.device import available_devices
from ganpaint.paths import SAMPLES
from ganpaint.ui.canvas import CanvasView
from ganpaint.ui.controller import StudioController
from ganpaint.ui.panels import EnginePanel, LayersPanel, NoticeBar, PalettePanel, ToolOptionsBar

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 60_000
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
PROJECT_FILTER = "GANPaint projects (*.ganpaint)"
STYLE_SAMPLES = SAMPLES


class MainWindow(QMainWindow):
    """GANPaint Studio's window. ``controller`` holds the document, tools and worker."""

    def __init__(self, registry, device: str | None = None) -> None:
        super().__init__()
        self.qsettings = QSettings()
        device = device or str(self.qsettings.value("device", "auto"))
        self.controller = StudioController(registry, device=device, parent=self)
        self.autosave = autosave.Autosave()
        self.confirm_discard = True  # tests turn the unsaved-changes question off
        self.setWindowTitle("GANPaint Studio")
        self.resize(1280, 820)

        self.canvas = CanvasView()
        self.notice_bar = NoticeBar()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.notice_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.options_bar = ToolOptionsBar(self.controller.settings, self.controller.labelset)
        self.layers_panel = LayersPanel()
        self.palette_panel = PalettePanel(self.controller.labelset)
        self._build_engine_panels(registry)
        self.canvas.before_source = self._before_picture
        self._build_docks()
        self._build_actions()
        self._build_status_bar()
        self._connect()
        self.set_tool("mask")
        for problem in registry.problems:
            self.notice_bar.show_message(problem, "warning")

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start(AUTOSAVE_INTERVAL_MS)

    # ----------------------------------------------------------------- construction
    def _build_engine_panels(self, registry) -> None:
        names = {task: [card.name for card in registry.cards(task)] for task in ("inpaint", "synthesize")}
        self.inpaint_panel = EnginePanel(names["inpaint"], "Apply fill", "Bake the fill into the photo and clear the mask (Ctrl+Return)",
                                         "(no inpainting model installed)")
        self.clear_mask_button = self.inpaint_panel.add_button("fa5s.times", "Clear mask", "Remove every hole (Delete)")
        self.inpaint_panel.finish()
        self.synth_panel = EnginePanel(names["synthesize"], "Apply result", "Make the generated picture the photo (Ctrl+Return)",
                                       "(no semantic synthesis model installed)")
        self.style_combo = QComboBox()
        self.style_combo.setToolTip("Style of the generated content: the photo's own, the seed's, or a sample picture's")
        self.style_combo.addItem("Photo's own / seed", None)
        for sample in sorted(STYLE_SAMPLES.glob("*.*")):
            if sample.suffix.lower() in (".png", ".jpg", ".jpeg"):
                self.style_combo.addItem(f"Like {sample.stem}", str(sample))
        self.synth_panel.form.addRow("Style", self.style_combo)
        self.resegment_button = self.synth_panel.add_button("fa5s.magic", "Read regions from photo", "Replace the label map by the segmenter's reading of the photo")
        self.synth_panel.finish()
        for task, panel in (("inpaint", self.inpaint_panel), ("synthesize", self.synth_panel)):
            if self.controller.models[task] in names[task]:
                panel.model_combo.setCurrentText(self.controller.models[task])
        self.engine_tabs = QTabWidget()
        self.engine_tabs.addTab(self.inpaint_panel, qta.icon("fa5s.highlighter"), "Inpainting")
        self.engine_tabs.addTab(self.synth_panel, qta.icon("fa5s.tree"), "Semantic")

    def _build_docks(self) -> None:
        for title, widget in (("Engine", self.engine_tabs), ("Labels", self.palette_panel), ("Layers", self.layers_panel)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _action(self, text: str, slot, shortcut=None, icon: str | None = None, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(qta.icon(icon))
        if shortcut:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        act = self._action
        self.actions_by_name: dict[str, QAction] = {}
        file_menu = self.menuBar().addMenu("&File")
        for name, args in (
            ("new", ("&New canvas...", self.new_canvas, QKeySequence.StandardKey.New, "fa5s.file")),
            ("open", ("&Open...", self.open_dialog, QKeySequence.StandardKey.Open, "fa5s.folder-open")),
            ("save", ("&Save", self.save, QKeySequence.StandardKey.Save, "fa5s.save")),
            ("save_as", ("Save &as...", self.save_as, "Ctrl+Shift+S", None)),
            ("export", ("&Export result...", self.export_result, "Ctrl+E", "fa5s.file-export")),
            ("import_mask", ("&Import mask...", self.import_mask, None, None)),
            ("export_mask", ("Export &mask...", self.export_mask, None, None)),
            ("import_labels", ("Import &label map...", self.import_labels, None, None)),
            ("export_labels", ("Export label &map...", self.export_labels, None, None)),
            ("quit", ("&Quit", self.close, QKeySequence.StandardKey.Quit, None)),
        ):
            self.actions_by_name[name] = act(*args)
            file_menu.addAction(self.actions_by_name[name])
            if name in ("save_as", "export_labels"):
                file_menu.addSeparator()

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = act("&Undo", self.controller.undo, "Ctrl+Z", "fa5s.undo")
        self.redo_action = act("&Redo", self.controller.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "fa5s.redo")
        self.apply_action = act("&Apply fill", self.controller.apply_result, ["Ctrl+Return", "Ctrl+Enter"], "fa5s.check")
        self.clear_action = act("&Clear mask", self.controller.clear_mask, "Delete", "fa5s.times")
        self.apply_action.setText("&Apply result")
        self.cancel_action = act("Ca&ncel stroke / inference", self._cancel, "Esc", "fa5s.stop-circle")
        for action in (self.undo_action, self.redo_action, None, self.apply_action, self.clear_action, self.cancel_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        self.compare_action = act("&Before / after", self.toggle_before, "\\", "fa5s.adjust")
        self.compare_action.setCheckable(True)
        self.split_action = act("&Split view", self.toggle_split, "Shift+\\", "fa5s.columns")
        self.split_action.setCheckable(True)
        for action in (
            act("Zoom &in", lambda: self.canvas.zoom_by(1.25), ["Ctrl++", "Ctrl+="], "fa5s.search-plus"),
            act("Zoom &out", lambda: self.canvas.zoom_by(0.8), "Ctrl+-", "fa5s.search-minus"),
            act("&Fit in window", self.canvas.fit_to_window, ["Ctrl+0", "Ctrl+Shift+J"], "fa5s.expand"),
            act("&Actual size (100 %)", self.canvas.actual_size, "1", None),
            None,
            self.compare_action,
            self.split_action,
        ):
            view_menu.addSeparator() if action is None else view_menu.addAction(action)

        tools_menu = self.menuBar().addMenu("&Tools")
        toolbar = QToolBar("Tools")
        toolbar.setObjectName("tools")
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, toolbar)
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, tool in self.controller.tools.items():
            action = act(f"{tool.title}", lambda checked=False, n=name: self.set_tool(n), tool.shortcut, tool.icon)
            action.setToolTip(f"{tool.title} ({tool.shortcut})")
            action.setCheckable(True)
            group.addAction(action)
            toolbar.addAction(action)
            tools_menu.addAction(action)
            self.tool_actions[name] = action
        tools_menu.addSeparator()
        tools_menu.addAction(act("Smaller brush", lambda: self.resize_brush(1 / 1.2), "[", None))
        tools_menu.addAction(act("Larger brush", lambda: self.resize_brush(1.2), "]", None))

        settings_menu = self.menuBar().addMenu("&Settings")
        settings_menu.addAction(act("Inference &device...", self.choose_device, None, "fa5s.microchip"))

        main_bar = QToolBar("Main")
        main_bar.setObjectName("main")
        for name in ("open", "save", "export"):
            main_bar.addAction(self.actions_by_name[name])
        main_bar.addSeparator()
        for action in (self.undo_action, self.redo_action, None, self.compare_action, self.split_action, None, self.apply_action):
            main_bar.addSeparator() if action is None else main_bar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, main_bar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        options = QToolBar("Tool options")
        options.setObjectName("tool-options")
        options.addWidget(self.options_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, options)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel()
        self.zoom_label = QLabel("100 %")
        self.device_label = QLabel("device: starting...")
        self.model_label = QLabel()
        self.timing_label = QLabel("last inference: -")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(120)
        self.progress_bar.setRange(0, 100)
        self.progress_bar.hide()
        bar.addWidget(self.position_label)
        for widget in (self.progress_bar, self.timing_label, self.model_label, self.device_label, self.zoom_label):
            bar.addPermanentWidget(widget)
        self._update_model_label()

    def _connect(self) -> None:
        c, canvas = self.controller, self.canvas
        canvas.stroke_pressed.connect(c.pointer_pressed)
        canvas.stroke_moved.connect(c.pointer_moved)
        canvas.stroke_released.connect(c.pointer_released)
        canvas.stroke_released.connect(lambda x, y: self._after_stroke())
        canvas.cursor_moved.connect(lambda x, y: self.position_label.setText(f"{int(x)}, {int(y)}"))
        canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.document_replaced.connect(self._on_document_replaced)
        c.canvas_dirty.connect(self._on_canvas_dirty)
        c.result_ready.connect(self._on_result)
        c.progress.connect(self._on_progress)
        c.notice.connect(self.notice_bar.show_message)
        c.device_changed.connect(lambda label: self.device_label.setText(f"device: {label}"))
        c.history_changed.connect(self._update_history_actions)
        self.options_bar.changed.connect(self._on_options_changed)
        self.layers_panel.changed.connect(self._on_layers_changed)
        for task, panel in (("inpaint", self.inpaint_panel), ("synthesize", self.synth_panel)):
            panel.model_changed.connect(lambda name, t=task: self._on_model_changed(t, name))
            panel.live_changed.connect(lambda on: setattr(c, "live_preview", on))
            panel.seed_changed.connect(self._on_seed_changed)
            panel.apply_clicked.connect(c.apply_result)
        self.clear_mask_button.clicked.connect(c.clear_mask)
        self.resegment_button.clicked.connect(c.adopt_segmentation)
        self.style_combo.currentIndexChanged.connect(self._on_style_changed)
        self.engine_tabs.currentChanged.connect(self._on_mode_tab)
        self.palette_panel.class_chosen.connect(self._on_class_chosen)
        c.labelset_changed.connect(self._on_labelset_changed)
        self._update_history_actions()

    # ----------------------------------------------------------------- tools and view
    def set_tool(self, name: str) -> None:
        self.controller.set_tool(name)
        self.tool_actions[name].setChecked(True)
        tool = self.controller.tool
        self.options_bar.show_for(tool)
        self.canvas.brush_size = self.controller.settings.size if tool.uses_size else 0
        if tool.layer == "labels" and self.layers_panel.labels_opacity.value() == 0 and not self.controller.blank_canvas:
            self.layers_panel.labels_opacity.setValue(60)
        self.canvas.update()

    def resize_brush(self, factor: float) -> None:
        self.controller.settings.resize(factor)
        self.options_bar.sync()
        self._on_options_changed()

    def _after_stroke(self) -> None:
        self.options_bar.sync()
        self.palette_panel.select(self.controller.settings.label)

    def _cancel(self) -> None:
        self.canvas.end_stroke()
        self.controller.cancel()

    def toggle_before(self) -> None:
        self.canvas.set_show_before(self.compare_action.isChecked())

    def toggle_split(self) -> None:
        self.canvas.set_split(0.5 if self.split_action.isChecked() else None)

    def _on_options_changed(self) -> None:
        tool = self.controller.tool
        self.canvas.brush_size = self.controller.settings.size if tool.uses_size else 0
        self.canvas.update()

    def _on_layers_changed(self) -> None:
        overlay = self.canvas.overlay
        overlay.show_result = self.layers_panel.show_result
        overlay.mask_opacity = self.layers_panel.mask_overlay
        overlay.labels_opacity = self.layers_panel.labels_overlay
        self.canvas.refresh()

    def _on_model_changed(self, task: str, name: str) -> None:
        self.controller.set_model(task, name)
        self._update_model_label()

    def _on_seed_changed(self, seed: int) -> None:
        for panel in (self.inpaint_panel, self.synth_panel):
            panel.seed_spin.blockSignals(True)
            panel.seed_spin.setValue(seed)
            panel.seed_spin.blockSignals(False)
        self.controller.set_seed(seed)

    def set_mode(self, mode: str) -> None:
        """Switch the studio to ``"inpaint"`` or ``"synthesize"`` (the engine dock's tab)."""
        self.engine_tabs.setCurrentIndex(0 if mode == "inpaint" else 1)

    def _on_mode_tab(self, index: int) -> None:
        mode = "inpaint" if index == 0 else "synthesize"
        self.controller.set_mode(mode)
        if mode == "synthesize":
            if self.layers_panel.labels_opacity.value() == 0 and not self.controller.blank_canvas:
                self.layers_panel.labels_opacity.setValue(45)
            if self.controller.tool.name in ("mask", "eraser"):
                self.set_tool("labels")
            self.controller.settings.target = "labels"
        else:
            self.layers_panel.labels_opacity.setValue(0)
            if self.controller.tool.name == "labels":
                self.set_tool("mask")
            self.controller.settings.target = "mask"
        self.options_bar.sync()
        self._update_model_label()

    def _on_style_changed(self, index: int) -> None:
        path = self.style_combo.itemData(index)
        if path is None:
            self.controller.set_style_image(None)
            return
        try:
            self.controller.set_style_image(load_rgb(path))
        except GanpaintError as error:
            self.notice_bar.show_message(str(error), "error")

    def _on_class_chosen(self, class_id: int) -> None:
        self.controller.settings.label = class_id
        self.options_bar.sync()
        if self.controller.tool.name not in ("labels", "fill", "eyedropper"):
            self.set_tool("labels")

    def _on_labelset_changed(self, labelset) -> None:
        self.palette_panel.set_labelset(labelset)
        self.options_bar.set_labelset(labelset)
        self.canvas.set_label_lut(labelset.lut())

    def _before_picture(self, doc, y0: int, y1: int, x0: int, x1: int):
        """The "before" of before/after inside rows y0:y1, columns x0:x1: the photo, or the label map's
        colours on a blank canvas."""
        if self.controller.blank_canvas:
            return self.controller.labelset.colorize(doc.labels[y0:y1, x0:x1])
        return doc.photo[y0:y1, x0:x1]

    def _update_model_label(self) -> None:
        task = self.controller.mode
        self.model_label.setText(f"model: {self.controller.models.get(task) or 'none'}")

    # ----------------------------------------------------------------- controller events
    def _on_document_replaced(self, doc: Document) -> None:
        self.notice_bar.dismiss_info()  # e.g. "Reading the photo's regions..." was about the previous photo
        if self.controller.blank_canvas:
            self.layers_panel.labels_opacity.setValue(0)  # the split view's "before" shows the label map
        self.canvas.set_document(doc, self.controller.labelset.lut())
        self._update_title()

    def _on_canvas_dirty(self, rect) -> None:
        doc = self.controller.doc
        if doc is not None:
            # once the fill for the current mask is shown, outline the holes instead of tinting them
            self.canvas.overlay.mask_outline_only = doc.result is not None and not self.controller.stroking
        self.canvas.refresh(rect)
        self._update_title()

    def _on_result(self, result) -> None:
        self.timing_label.setText(f"last inference: {result.elapsed_ms:.0f} ms")
        device = result.info.get("device")
        if device:
            self.device_label.setText(f"device: {device}")

    def _on_progress(self, fraction: float) -> None:
        if fraction < 0:
            self.progress_bar.hide()
        else:
            self.progress_bar.setValue(int(fraction * 100))
            self.progress_bar.show()

    def _update_history_actions(self) -> None:
        doc = self.controller.doc
        self.undo_action.setEnabled(bool(doc and doc.can_undo))
        self.redo_action.setEnabled(bool(doc and doc.can_redo))
        self.undo_action.setText(f"&Undo {doc.undo_text}" if doc and doc.can_undo else "&Undo")
        self.redo_action.setText(f"&Redo {doc.redo_text}" if doc and doc.can_redo else "&Redo")
        self._update_title()

    def _update_title(self) -> None:
        doc = self.controller.doc
        if doc is None:
            self.setWindowTitle("GANPaint Studio")
            return
        name = Path(doc.path).name if doc.path else doc.settings.get("source_name", "Untitled")
        self.setWindowTitle(f"{'*' if doc.dirty else ''}{name} - GANPaint Studio")

    # ----------------------------------------------------------------- files
    def _start_dir(self) -> str:
        return str(self.qsettings.value("last_dir", str(Path.home())))

    def _remember_dir(self, path: str) -> None:
        self.qsettings.setValue("last_dir", str(Path(path).parent))

    def _maybe_discard(self) -> bool:
        doc = self.controller.doc
        if not self.confirm_discard or doc is None or not doc.dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "Save your changes before closing this picture?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def open_path(self, path: str) -> bool:
        """Open a photo or a ``.ganpaint`` project; a bad file shows a notice and keeps the current document."""
        try:
            if path.lower().endswith(".ganpaint"):
                doc = project.load_project(path)
            else:
                doc = Document(load_rgb(path))
                doc.settings["source_name"] = Path(path).name
        except GanpaintError as error:
            self.notice_bar.show_message(str(error), "error")
            return False
        self.controller.set_document(doc)
        for notice in doc.notices:  # e.g. settings of the project file that were ignored
            self.notice_bar.show_message(notice, "warning")
        self._remember_dir(path)
        return True

    def open_dialog(self) -> None:
        if not self._maybe_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._start_dir(), f"{IMAGE_FILTER};;{PROJECT_FILTER};;All files (*)")
        if path:
            self.open_path(path)

    def new_canvas(self) -> None:
        if not self._maybe_discard():
            return
        size, ok = QInputDialog.getText(self, "New canvas", "Size (width x height):", text="512 x 512")
        if not ok:
            return
        try:
            width, height = (int(v) for v in size.lower().replace(" ", "").split("x"))
            if not (8 <= width <= 8192 and 8 <= height <= 8192):
                raise ValueError
        except ValueError:
            self.notice_bar.show_message(f"'{size}' is not a size between 8 x 8 and 8192 x 8192.", "error")
            return
        self.start_blank_canvas(width, height)

    def start_blank_canvas(self, width: int, height: int) -> Document:
        """Replace the document with a white ``width`` x ``height`` canvas (pixels). In Semantic mode it
        is a label map of the current class, doodled into a picture; returns the new document."""
        doc = Document.blank(width, height)
        if self.controller.mode == "synthesize":
            doc.settings["canvas"] = "blank"
            doc.settings["labels_source"] = "user"
            doc.labels[...] = self.controller.settings.label
        self.controller.set_document(doc)
        return doc

    def save(self) -> bool:
        doc = self.controller.doc
        if doc is None:
            return False
        if not doc.path:
            return self.save_as()
        return self._save_to(doc.path)

    def save_as(self) -> bool:
        doc = self.controller.doc
        if doc is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self, "Save project", self._start_dir(), PROJECT_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".ganpaint"):
            path += ".ganpaint"
        return self._save_to(path)

    def _overwrite_read_only(self, action) -> None:
        """Run the save ``action``; if it would replace a read-only file, ask first and, on yes, run it
        again allowed to (the file keeps its read-only mode). Raises what ``action`` raises, or the
        ReadOnlyFileError when the answer is no."""
        try:
            action()
        except ReadOnlyFileError as error:
            answer = QMessageBox.question(self, "Read-only file", f"{error}\n\nOverwrite it anyway?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                raise
            with overwriting_read_only():
                action()

    def _save_to(self, path: str) -> bool:
        try:
            self._overwrite_read_only(lambda: project.save_project(self.controller.doc, path))
        except (GanpaintError, OSError) as error:
            self.notice_bar.show_message(f"Could not save '{path}': {error}", "error")
            return False
        self._remember_dir(path)
        self.autosave.close_clean()  # saved: this session's recovery copy is obsolete
        self.statusBar().showMessage(f"Saved {path}", 4000)
        self._update_title()
        return True

    def export_result(self) -> None:
        if self.controller.doc is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export result", self._start_dir(), "PNG (*.png);;JPEG (*.jpg *.jpeg)")
        if path:
            self._run_file_action(lambda: project.export_result(self.controller.doc, path), f"Exported {path}")

    def import_mask(self) -> None:
        if self.controller.doc is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import mask", self._start_dir(), IMAGE_FILTER)
        if path:
            self._run_file_action(lambda: project.import_mask(self.controller.doc, path), f"Imported mask {path}")

    def export_mask(self) -> None:
        if self.controller.doc is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", self._start_dir(), "PNG (*.png)")
        if path:
            self._run_file_action(lambda: project.export_mask(self.controller.doc, path), f"Exported mask {path}")

    def import_labels(self) -> None:
        """Import a label map (class-id PNG or palette-colour PNG); unknown colours can be snapped."""
        doc = self.controller.doc
        if doc is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import label map", self._start_dir(), IMAGE_FILTER)
        if path:
            self.import_labels_from(path)

    def import_labels_from(self, path: str, snap: bool | None = None) -> bool:
        """Load ``path`` as the label map (one undo step). ``snap`` None asks before snapping colours."""
        doc, labelset = self.controller.doc, self.controller.labelset
        try:
            labels = labelmaps.load_label_map(path, labelset, shape=doc.shape, snap=bool(snap))
        except GanpaintError as error:
            if snap is None and "colour" in str(error):
                answer = QMessageBox.question(self, "Unknown colours", f"{error}\n\nMap them to the nearest class colour?")
                if answer == QMessageBox.StandardButton.Yes:
                    return self.import_labels_from(path, snap=True)
            self.notice_bar.show_message(str(error), "error")
            return False
        doc.settings["labels_source"] = "user"
        doc.set_layer("labels", labels, "Import label map")
        self.statusBar().showMessage(f"Imported label map {path}", 4000)
        return True

    def export_labels(self) -> None:
        doc = self.controller.doc
        if doc is None:
            return
        path, chosen = QFileDialog.getSaveFileName(self, "Export label map", self._start_dir(),
                                                   "Class ids (*.png);;Palette colours (*.png)")
        if path:
            mode = "color" if chosen.startswith("Palette") else "ids"
            self._run_file_action(lambda: labelmaps.save_label_map(path, doc.labels, self.controller.labelset, mode=mode),
                                  f"Exported label map {path}")

    def _run_file_action(self, action, done: str) -> bool:
        try:
            self._overwrite_read_only(action)
        except (GanpaintError, OSError) as error:
            self.notice_bar.show_message(str(error), "error")
            return False
        self.statusBar().showMessage(done, 4000)
        return True

    # ----------------------------------------------------------------- settings, autosave, recovery
    def choose_device(self) -> None:
        devices = ["auto", *available_devices()]
        current = str(self.qsettings.value("device", "auto"))
        choice, ok = QInputDialog.getItem(self, "Inference device", "Run the engines on:", devices, max(devices.index(current), 0) if current in devices else 0, False)
        if ok:
            self.qsettings.setValue("device", choice)
            self.controller.set_device(choice)

    def autosave_now(self) -> None:
        """Write a recovery copy when there are unsaved changes (every 60 s by the timer)."""
        doc = self.controller.doc
        if doc is not None and doc.dirty:
            try:
                self.autosave.write(doc)
            except (GanpaintError, OSError) as error:
                self.notice_bar.show_message(f"Autosave failed: {error}", "warning")

    def offer_recovery(self) -> bool:
        """After a crash, list every recoverable autosave (:class:`~ganpaint.ui.recovery.RecoveryDialog`)
        and open the one the user chooses. Returns True if one was opened.

        Autosaves older than 7 days are pruned first; those not chosen are kept (the dialog discards
        them only on request); the recovered one is kept until the picture is saved or discarded.
        """
        from ganpaint.ui.recovery import RecoveryDialog

        try:
            self.autosave.prune()
        except OSError as error:  # an unreadable autosave folder must not stop the studio
            log.warning("could not prune autosaves: %s", error)
        entries = self.autosave.pending()
        if not entries:
            return False
        dialog = RecoveryDialog(self.autosave, entries, self)
        dialog.exec()
        if dialog.chosen is None:
            return False
        try:
            doc = self.autosave.recover(dialog.chosen)
        except GanpaintError as error:
            self.notice_bar.show_message(f"Could not recover: {error}", "error")
            return False
        self.controller.set_document(doc)
        for notice in doc.notices:
            self.notice_bar.show_message(notice, "warning")
        return True

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._maybe_discard():
            event.ignore()
            return
        self.autosave_timer.stop()
        self.controller.shutdown()
        self.autosave.close_clean()
        super().closeEvent(event)
