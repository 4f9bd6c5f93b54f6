"""The studio's main window: menus, tool bar, tool options, canvas, side panels and status bar."""

from __future__ import annotations

import logging
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
)

from ganpaint.document import autosave, labelmaps, openraster, project
from ganpaint.document.atomic import overwriting_read_only
from ganpaint.document.imageio import load_rgb
from ganpaint.document.model import Document
from ganpaint.errors import GanpaintError, ReadOnlyFileError
from ganpaint.inference.device import available_devices
from ganpaint.ui.canvas_area import CanvasArea
from ganpaint.ui.clipboard import accepts, mime_image, openable_files, qimage_to_rgb, rgb_to_qimage
from ganpaint.ui import openraster_dialog
from ganpaint.ui import settings as stored
from ganpaint.ui.controller import StudioController
from ganpaint.ui.files import (IMAGE_FILTER, ORA_EXTENSION, ORA_FILTER, PROJECT_EXTENSION, PROJECT_FILTER, open_filters,
                               suggested_path)
from ganpaint.ui.mode_panels import PANEL_CLASSES, sample_styles
from ganpaint.ui.new_canvas import NewCanvasDialog
from ganpaint.ui.layers_panel import LayersPanel
from ganpaint.ui.navigator import NavigatorView
from ganpaint.ui.panels import PalettePanel, ToolOptionsBar
from ganpaint.ui.preferences import Preferences, PreferencesDialog
from ganpaint.ui.progress import ProgressIndicator
from ganpaint.ui.shortcuts import ShortcutsDialog
from ganpaint.ui.space_pan import SpacePanFilter

log = logging.getLogger(__name__)

STATE_VERSION = 3
"""Version of the saved dock and tool bar layout (``saveState``); bump it when docks change."""


class MainWindow(QMainWindow):
    """GANPaint Studio's window. ``controller`` holds the document, tools and worker."""

    def __init__(self, registry, device: str | None = None) -> None:
        super().__init__()
        self.qsettings = stored.app_settings()
        self.preferences = stored.load_preferences(self.qsettings)
        device = device or self.preferences.device
        self.controller = StudioController(registry, device=device, parent=self)
        if self.qsettings.contains("threads"):
            self.controller.worker.set_threads(self.preferences.threads)
        stored.restore_tool_settings(self.qsettings, self.controller.settings)
        self.autosave = autosave.Autosave()
        self.confirm_discard = True  # tests turn the unsaved-changes question off
        self.setWindowTitle("GANPaint Studio")
        self.resize(1280, 820)

        self.canvas_area = CanvasArea()
        self.canvas = self.canvas_area.canvas
        self.notice_bar = self.canvas_area.notice_bar  # floats over the canvas: no layout jump
        self.setCentralWidget(self.canvas_area)
        self.progress = ProgressIndicator(self.controller, self.canvas, self)
        self.navigator = NavigatorView(self.canvas)

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
        self.space_pan = SpacePanFilter(self, self.canvas)
        QApplication.instance().installEventFilter(self.space_pan)
        for problem in registry.problems:
            self.notice_bar.show_message(problem, "warning")

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start(self.preferences.autosave_minutes * 60_000)
        self.setAcceptDrops(True)  # photos and projects dropped anywhere on the window (the canvas too)
        self._restore_layout()

    # ----------------------------------------------------------------- construction
    def _build_engine_panels(self, registry) -> None:
        """One tab per studio mode, each built from :data:`~ganpaint.ui.mode_panels.PANEL_CLASSES`."""
        from PySide6.QtWidgets import QFrame, QScrollArea

        self.engine_tabs = QTabWidget()
        self.engine_tabs.setUsesScrollButtons(True)
        self.mode_panels = {}
        for name, mode in self.controller.modes.items():
            panel = PANEL_CLASSES[name](mode, registry, self.controller)
            self.mode_panels[name] = panel
            scroll = QScrollArea()  # a tall panel (the colour picker, the candidates) scrolls: the window fits any screen
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.engine_tabs.addTab(scroll, qta.icon(mode.icon), mode.title)

    def _build_docks(self) -> None:
        """Navigator, Engine, then Labels and Layers as tabs of one dock area (the mode raises its tab)."""
        self.docks: dict[str, QDockWidget] = {}
        for title, widget in (("Navigator", self.navigator), ("Engine", self.engine_tabs),
                              ("Labels", self.palette_panel), ("Layers", self.layers_panel)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.docks[title] = dock
        self.tabifyDockWidget(self.docks["Labels"], self.docks["Layers"])
        self.docks["Layers"].raise_()

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
            ("export_layers", ("Export &layers (OpenRaster)...", self.export_layers, None, "fa5s.layer-group")),
            ("import_mask", ("&Import mask...", self.import_mask, None, None)),
            ("export_mask", ("Export &mask...", self.export_mask, None, None)),
            ("import_labels", ("Import &label map...", self.import_labels, None, None)),
            ("export_labels", ("Export label &map...", self.export_labels, None, None)),
            ("quit", ("&Quit", self.close, QKeySequence.StandardKey.Quit, None)),
        ):
            self.actions_by_name[name] = act(*args)
            file_menu.addAction(self.actions_by_name[name])
            if name == "open":
                self.recent_menu = file_menu.addMenu("Open &Recent")
                self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
            if name in ("save_as", "export_labels"):
                file_menu.addSeparator()

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = act("&Undo", self.controller.undo, "Ctrl+Z", "fa5s.undo")
        self.redo_action = act("&Redo", self.controller.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "fa5s.redo")
        self.undo_action.setProperty("shortcut_name", "Undo")
        self.redo_action.setProperty("shortcut_name", "Redo")
        self.apply_action = act("&Apply", self.controller.apply_result, ["Ctrl+Return", "Ctrl+Enter"], "fa5s.check")
        self.clear_action = act("&Clear mask", self.controller.clear_mask, "Delete", "fa5s.times")
        self.grow_action = act("&Grow mask", lambda: self.controller.grow_mask(), "Ctrl+Shift+G", "fa5s.expand-arrows-alt",
                               "Grow every hole by the Inpainting tab's Grow by (one undo step)")
        self.cancel_action = act("Ca&ncel stroke / inference", self._cancel, "Esc", "fa5s.stop-circle")
        self.copy_action = act("&Copy picture", self.copy_picture, QKeySequence.StandardKey.Copy, "fa5s.copy",
                               "Copy the picture as shown (photo, layers and live result) to the clipboard")
        self.paste_action = act("&Paste as new picture", self.paste_picture, QKeySequence.StandardKey.Paste, "fa5s.paste",
                                "Open the clipboard's image (or copied file) as a new picture")
        for action in (self.undo_action, self.redo_action, None, self.copy_action, self.paste_action, None,
                       self.apply_action, self.clear_action, self.grow_action, self.cancel_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        self.compare_action = act("&Before / after", self.toggle_before, "\\", "fa5s.adjust")
        self.compare_action.setCheckable(True)
        self.split_action = act("&Split view", self.toggle_split, "Shift+\\", "fa5s.columns")
        self.split_action.setCheckable(True)
        self.vectors_action = act("Show &hints and strokes", self.toggle_vectors, "Shift+H", "fa5s.dot-circle")
        self.vectors_action.setCheckable(True)
        self.vectors_action.setChecked(True)
        for action in (
            act("Zoom &in", lambda: self.canvas.zoom_by(1.25), ["Ctrl++", "Ctrl+="], "fa5s.search-plus"),
            act("Zoom &out", lambda: self.canvas.zoom_by(0.8), "Ctrl+-", "fa5s.search-minus"),
            act("&Fit in window", self.canvas.fit_to_window, ["Ctrl+0", "Ctrl+Shift+J"], "fa5s.expand"),
            act("&Actual size (100 %)", self.canvas.actual_size, "1", None),
            None,
            self.compare_action,
            self.split_action,
            self.vectors_action,
        ):
            view_menu.addSeparator() if action is None else view_menu.addAction(action)
        docks_menu = view_menu.addMenu("&Docks")  # a closed dock comes back from here
        for dock in self.docks.values():
            docks_menu.addAction(dock.toggleViewAction())

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
        settings_menu.addAction(act("&Preferences...", self.edit_preferences, "Ctrl+,", "fa5s.cog"))

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(act("&Keyboard shortcuts", self.show_shortcuts, "F1", "fa5s.keyboard"))

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
        self.progress_bar = self.progress.bar
        bar.addWidget(self.position_label)
        for widget in (self.progress.cancel_button, self.progress_bar, self.timing_label, self.model_label,
                       self.device_label, self.zoom_label):
            bar.addPermanentWidget(widget)
        self._update_model_label()

    def _connect(self) -> None:
        c, canvas = self.controller, self.canvas
        canvas.stroke_pressed.connect(c.pointer_pressed)
        canvas.outline_source = lambda: getattr(c.tool, "outline", None)  # the lasso's outline while dragged
        canvas.stroke_moved.connect(c.pointer_moved)
        canvas.stroke_released.connect(c.pointer_released)
        canvas.stroke_released.connect(lambda x, y: self._after_stroke())
        canvas.cursor_moved.connect(lambda x, y: self.position_label.setText(f"{int(x)}, {int(y)}"))
        canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.document_replaced.connect(self._on_document_replaced)
        c.canvas_dirty.connect(self._on_canvas_dirty)
        c.result_ready.connect(self._on_result)
        c.progress.connect(self.progress.show_progress)
        c.notice.connect(self.notice_bar.show_message)
        c.device_changed.connect(lambda label: self.device_label.setText(f"device: {label}"))
        c.history_changed.connect(self._update_history_actions)
        self.options_bar.changed.connect(self._on_options_changed)
        self.layers_panel.changed.connect(self._on_layers_changed)
        self.layers_panel.reedit_requested.connect(c.reedit_layer)
        self.engine_tabs.currentChanged.connect(self._on_mode_tab)
        self.palette_panel.class_chosen.connect(self._on_class_chosen)
        c.labelset_changed.connect(self._on_labelset_changed)
        c.tool_settings_changed.connect(self.options_bar.sync)
        c.mode_changed.connect(self._on_mode_changed)
        c.model_changed.connect(lambda task, name: self._update_model_label())
        self._update_history_actions()
        self._on_mode_changed(c.mode)

    # ----------------------------------------------------------------- tools and view
    def set_tool(self, name: str) -> None:
        """Activate a tool (a tool of another mode switches to that mode's tab, with a notice)."""
        self.controller.set_tool(name)
        self._show_tool()

    def _show_tool(self) -> None:
        tool = self.controller.tool
        self.tool_actions[tool.name].setChecked(True)
        self.options_bar.show_for(tool)
        self.options_bar.sync()
        self.canvas.brush_size = self.controller.settings.size if tool.uses_size else 0
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

    def toggle_vectors(self) -> None:
        """Show or hide the colour hints and strokes drawn over the picture (H)."""
        self.canvas.show_vectors = self.vectors_action.isChecked()
        self.canvas.update()

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

    def set_mode(self, mode: str) -> None:
        """Switch the studio to the mode called ``mode`` (the engine dock's tab)."""
        self.controller.set_mode(mode)

    def _on_mode_tab(self, index: int) -> None:
        self.controller.set_mode(list(self.mode_panels)[index])

    def _on_mode_changed(self, name: str) -> None:
        """The controller switched modes (a tab, a tool of another mode, or a reopened project)."""
        index = list(self.mode_panels).index(name)
        if self.engine_tabs.currentIndex() != index:
            self.engine_tabs.blockSignals(True)
            self.engine_tabs.setCurrentIndex(index)
            self.engine_tabs.blockSignals(False)
        mode = self.controller.active
        overlay = 0.0 if self.controller.blank_canvas else mode.labels_overlay  # a blank canvas' label map is the "before"
        self.layers_panel.labels_opacity.setValue(int(round(overlay * 100)))
        self.apply_action.setText(f"&{mode.apply_text}")  # menu, tool bar and panel button: one name
        self.apply_action.setToolTip(mode.apply_tip)
        self.apply_action.setStatusTip(mode.apply_tip)
        self.docks["Labels" if mode.labelset is not None else "Layers"].raise_()
        for tool_name, action in self.tool_actions.items():
            action.setToolTip(f"{self.controller.tools[tool_name].title} ({self.controller.tools[tool_name].shortcut})"
                              + ("" if tool_name in mode.tools else " - switches tab"))
        self.canvas.vector_layers = mode.vector_layers
        self.canvas.frame_source = mode.frame
        self._show_tool()
        self._update_model_label()
        self.canvas.refresh()

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
        """The "before" of before/after inside rows y0:y1, columns x0:x1 (the active mode decides)."""
        return self.controller.active.before(doc, y0, y1, x0, x1)

    def _update_model_label(self) -> None:
        self.model_label.setText(f"model: {self.controller.active.model or 'none'}")

    # ----------------------------------------------------------------- controller events
    def _on_document_replaced(self, doc: Document) -> None:
        self.notice_bar.dismiss_info()  # e.g. "Reading the photo's regions..." was about the previous photo
        self._on_mode_changed(self.controller.mode)  # e.g. a blank canvas hides the label overlay
        self.canvas.set_document(doc, self.controller.labelset.lut())
        self.layers_panel.set_document(doc)
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
        generator, model = result.info.get("generator"), result.info.get("model")
        if generator and generator != model:  # e.g. a photo edit painted by the SPADE model's SESAME editor
            self.model_label.setText(f"model: {generator} (editor of {model})")
        elif model and model == self.controller.active.model:
            self._update_model_label()
        device = result.info.get("device")
        if device:
            self.device_label.setText(f"device: {device}")

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
        """Open a photo, a ``.ganpaint`` project or an OpenRaster ``.ora``; a bad file shows a notice and
        keeps the current document."""
        try:
            if path.lower().endswith(PROJECT_EXTENSION):
                doc = project.load_project(path)
            elif path.lower().endswith(ORA_EXTENSION):
                doc = openraster_dialog.open_openraster(self, path, self.controller.labelset)
                if doc is None:
                    return False
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
        stored.add_recent(self.qsettings, path)
        return True

    def open_dialog(self) -> None:
        if not self._maybe_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._start_dir(), open_filters())
        if path:
            self.open_path(path)

    def _fill_recent_menu(self) -> None:
        """File > Open Recent: the recent files that still exist (missing ones are forgotten)."""
        self.recent_menu.clear()
        files = stored.recent_files(self.qsettings)
        for number, path in enumerate(files, 1):
            action = self.recent_menu.addAction(f"&{number % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_recent(p))
        if not files:
            self.recent_menu.addAction("(no recent files)").setEnabled(False)
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("&Clear list")
        clear.setEnabled(bool(files))
        clear.triggered.connect(lambda: stored.clear_recent(self.qsettings))

    def open_recent(self, path: str) -> bool:
        """Open a file of the Open Recent menu (asking about unsaved changes first)."""
        return self._maybe_discard() and self.open_path(path)

    def new_canvas(self) -> None:
        """File > New canvas: the dialog's size, and in the Semantic mode its class and style."""
        if not self._maybe_discard():
            return
        mode, panel = self.controller.active, self.mode_panels.get(self.controller.mode)
        labelset = mode.labelset
        style = getattr(panel, "style_combo", None)
        dialog = NewCanvasDialog(mode.blank_canvas_title, labelset, self.controller.settings.label,
                                 sample_styles(), style.currentData() if style is not None else None, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        if choice.label is not None:
            self.controller.settings.label = choice.label
            self.options_bar.sync()
            self.palette_panel.select(choice.label)
        if labelset is not None and hasattr(panel, "use_style"):
            panel.use_style(choice.style)
        self.start_blank_canvas(choice.width, choice.height)

    def start_blank_canvas(self, width: int, height: int) -> Document:
        """Replace the document with a ``width`` x ``height`` canvas (pixels) set up by the active mode
        (in Semantic mode a label map of the current class, doodled into a picture); returns it."""
        return self.controller.start_blank_canvas(width, height)

    def save(self) -> bool:
        doc = self.controller.doc
        if doc is None:
            return False
        if not doc.path:
            return self.save_as()
        return self._save_to(doc.path)

    def _save_name(self, title: str, extension: str, filters: str, suffix: str = "") -> str:
        """Ask for a file to write, suggesting the document's name (see ``files.suggested_path``); '' if cancelled."""
        start = suggested_path(self.controller.doc, self._start_dir(), extension, suffix)
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        return path

    def save_as(self) -> bool:
        doc = self.controller.doc
        if doc is None:
            return False
        path = self._save_name("Save project", PROJECT_EXTENSION, PROJECT_FILTER)
        if not path:
            return False
        if not path.lower().endswith(PROJECT_EXTENSION):
            path += PROJECT_EXTENSION
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
        stored.add_recent(self.qsettings, path)
        self.autosave.close_clean()  # saved: this session's recovery copy is obsolete
        self.statusBar().showMessage(f"Saved {path}", 4000)
        self._update_title()
        return True

    def export_result(self) -> None:
        if self.controller.doc is None:
            return
        path = self._save_name("Export result", ".png", "PNG (*.png);;JPEG (*.jpg *.jpeg)", "-edited")
        if path:
            self._run_file_action(lambda: project.export_result(self.controller.doc, path), f"Exported {path}")

    def export_layers(self) -> None:
        """Write photo, result, mask, label map and colour hints as layers of an OpenRaster file."""
        if self.controller.doc is None:
            return
        path = self._save_name("Export layers", ORA_EXTENSION, ORA_FILTER)
        if path:
            self.export_layers_to(path if path.lower().endswith(ORA_EXTENSION) else path + ORA_EXTENSION)

    def export_layers_to(self, path: str) -> bool:
        """Export the layers to ``path`` (labels in the active synthesis model's colours)."""
        doc, labelset = self.controller.doc, self.controller.labelset
        return self._run_file_action(lambda: openraster.export_document(doc, path, labelset), f"Exported layers {path}")

    def import_mask(self) -> None:
        if self.controller.doc is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import mask", self._start_dir(), IMAGE_FILTER)
        if path:
            self._run_file_action(lambda: project.import_mask(self.controller.doc, path), f"Imported mask {path}")

    def export_mask(self) -> None:
        if self.controller.doc is None:
            return
        path = self._save_name("Export mask", ".png", "PNG (*.png)", "-mask")
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
        path, chosen = QFileDialog.getSaveFileName(self, "Export label map",
                                                   suggested_path(doc, self._start_dir(), ".png", "-labels"),
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
    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts (generated from the menus' actions)."""
        ShortcutsDialog(self.menuBar(), self).exec()

    def edit_preferences(self) -> bool:
        """Settings > Preferences; applies and stores the choice. Returns True when OK was pressed."""
        dialog = PreferencesDialog(self.preferences, ["auto", *available_devices()], self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.apply_preferences(dialog.choice())
        return True

    def apply_preferences(self, prefs: Preferences) -> None:
        """Use ``prefs`` now (device, threads, autosave interval) and store them; a new models folder
        is read at the next start (a notice says so)."""
        old, self.preferences = self.preferences, prefs
        stored.save_preferences(self.qsettings, prefs)
        if prefs.device != old.device:
            self.controller.set_device(prefs.device)
        if prefs.threads != old.threads:
            self.controller.worker.set_threads(prefs.threads)
        self.autosave_timer.setInterval(prefs.autosave_minutes * 60_000)
        if Path(prefs.models_dir).expanduser() != Path(old.models_dir).expanduser():
            self.notice_bar.show_message(f"Models in '{prefs.models_dir}' are read after a restart of GANPaint Studio.", "info")

    # ----------------------------------------------------------------- clipboard, drag and drop, layout
    def copy_picture(self) -> None:
        """Ctrl+C: the picture as shown (the live result, else the photo with its layers) to the clipboard."""
        if self.controller.doc is not None:
            QApplication.clipboard().setImage(rgb_to_qimage(self.canvas.picture()))
            self.statusBar().showMessage("Copied the picture", 3000)

    def paste_picture(self) -> bool:
        """Ctrl+V: open the clipboard's image (or a copied photo or project file) as a new document,
        asking about unsaved changes first. Returns True if something was opened."""
        return self.open_mime(QApplication.clipboard().mimeData(), "The clipboard holds no picture or file to open.")

    def open_mime(self, mime, nothing: str) -> bool:
        """Open the first supported file of ``mime``, else its image (named "Pasted image"); ``nothing``
        is the notice when it has neither."""
        files, image = openable_files(mime), mime_image(mime)
        if not files and image is None:
            self.notice_bar.show_message(nothing, "info")
            return False
        if not self._maybe_discard():
            return False
        if files:
            return self.open_path(files[0])
        try:
            doc = Document(qimage_to_rgb(image))
        except GanpaintError as error:
            self.notice_bar.show_message(str(error), "error")
            return False
        doc.settings["source_name"] = "Pasted image.png"
        doc.dirty = True  # it exists nowhere else yet
        self.controller.set_document(doc)
        return True

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        if accepts(event.mimeData()):
            event.acceptProposedAction()
            self.open_mime(event.mimeData(), "Nothing in the drop can be opened.")

    def _restore_layout(self) -> None:
        """Window size and position, docks and tool bars as the user left them."""
        geometry, state = self.qsettings.value("window/geometry"), self.qsettings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is None or not self.restoreState(state, STATE_VERSION):
            # first start (or a layout of an older version): the Engine dock wide enough for every mode's tab
            self.resizeDocks([self.docks["Engine"]], [self.engine_tabs.tabBar().sizeHint().width() + 24],
                             Qt.Orientation.Horizontal)

    def _save_layout(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState(STATE_VERSION))
        stored.save_tool_settings(self.qsettings, self.controller.settings)
        self.qsettings.sync()

    def autosave_now(self) -> None:
        """Write a recovery copy when there are unsaved changes (by the timer, every
        ``preferences.autosave_minutes``)."""
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
        self._save_layout()
        QApplication.instance().removeEventFilter(self.space_pan)
        self.controller.shutdown()
        self.autosave.close_clean()
        super().closeEvent(event)
