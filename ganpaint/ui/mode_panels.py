"""The engine dock's tabs: one panel class per studio mode (see :mod:`ganpaint.modes`).

:data:`PANEL_CLASSES` maps a mode's name to its panel; the main window loops over the modes and builds
each tab from this table, so a new mode adds a panel class here and nothing in the window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QCheckBox, QComboBox

from ganpaint.document.imageio import load_rgb
from ganpaint.errors import GanpaintError
from ganpaint.modes.synthesize import is_blank_canvas
from ganpaint.paths import SAMPLES
from ganpaint.ui.panels import EnginePanel


def sample_styles() -> tuple[tuple[str, str | None], ...]:
    """The style choices of semantic synthesis: (title, sample photo path), the photo's own / the seed's first."""
    samples = sorted(p for p in SAMPLES.glob("*.*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return (("Photo's own / seed", None), *((f"Like {p.stem}", str(p)) for p in samples))


class ModePanel(EnginePanel):
    """A mode's panel: model picker for the mode's main task, live preview, seed (only for stochastic
    models), apply button, plus what :meth:`build_extras` adds. :meth:`bind` connects it to the controller."""

    def __init__(self, mode, registry, controller) -> None:
        names = [card.name for card in registry.cards(mode.tasks[0])] if mode.tasks else []
        super().__init__(names, mode.apply_text, mode.apply_tip, f"(no {mode.title.lower()} model installed)")
        self.mode = mode
        self.controller = controller
        self.switches: list[tuple[QCheckBox, str]] = []  # (check box, mode attribute), see add_switch
        for attribute, title, tip in mode.switches:
            self.add_switch(title, tip, attribute)
        self.build_extras()
        self.finish()
        if mode.model in names:
            self.model_combo.setCurrentText(mode.model)
        self.sync()
        self.model_changed.connect(lambda name: controller.set_model(mode.tasks[0], name))
        self.live_changed.connect(lambda on: setattr(controller, "live_preview", on))
        self.seed_changed.connect(controller.set_seed)
        self.apply_clicked.connect(controller.apply_result)
        controller.model_changed.connect(lambda task, name: self.sync())
        controller.seed_changed.connect(lambda seed: self.sync())
        controller.history_changed.connect(self.sync)  # a new document or an applied layer

    def build_extras(self) -> None:
        """Add the mode's own widgets (override)."""

    def switch(self, attribute: str) -> QCheckBox:
        """The check box of the mode's switch ``attribute`` (:attr:`ganpaint.modes.base.Mode.switches`)."""
        return next(box for box, name in self.switches if name == attribute)

    def add_switch(self, title: str, tip: str, attribute: str) -> QCheckBox:
        """A check box bound to the mode's bool ``attribute`` (one per ``mode.switches``, added before the
        mode's own widgets): toggling it sets the attribute and computes again; :meth:`sync` shows the
        attribute (a re-edited layer may restore another choice) and whether it applies to the document."""
        box = QCheckBox(title)
        box.setToolTip(tip)
        box.setChecked(bool(getattr(self.mode, attribute)))
        self.form.addRow(box)

        def toggled(on: bool) -> None:
            setattr(self.mode, attribute, bool(on))
            self.controller.mode_inputs_changed()

        box.toggled.connect(toggled)
        self.switches.append((box, attribute))
        return box

    def sync(self) -> None:
        """Show the controller's model, seed and the mode's switches (disabled where
        :meth:`~ganpaint.modes.base.Mode.switch_applies` says they change nothing); hide the seed for
        deterministic models."""
        model = self.mode.model
        if model is not None and self.model_combo.currentText() != model and self.model_combo.findText(model) >= 0:
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentText(model)
            self.model_combo.blockSignals(False)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(self.controller.seed)
        self.seed_spin.blockSignals(False)
        self.set_seed_visible(self.mode.stochastic)
        for box, attribute in self.switches:
            box.setEnabled(self.mode.switch_applies(attribute, self.controller.doc))
            if box.isChecked() != bool(getattr(self.mode, attribute)):
                box.blockSignals(True)
                box.setChecked(bool(getattr(self.mode, attribute)))
                box.blockSignals(False)


class InpaintPanel(ModePanel):
    """Inpainting: model, the photo-texture switch, apply fill, grow mask (by *Grow by*), clear mask."""

    def build_extras(self) -> None:
        from PySide6.QtWidgets import QSpinBox

        self.grow_spin = QSpinBox()
        self.grow_spin.setRange(1, 64)
        self.grow_spin.setSuffix(" px")
        self.grow_spin.setValue(self.controller.grow_pixels)
        self.grow_spin.setToolTip("How far Grow mask grows the holes")
        self.grow_spin.valueChanged.connect(lambda value: setattr(self.controller, "grow_pixels", int(value)))
        self.form.addRow("Grow by", self.grow_spin)
        self.grow_mask_button = self.add_button("fa5s.expand-arrows-alt", "Grow mask",
                                                "Grow every hole by the amount above, so an object's fringe is "
                                                "filled too (Ctrl+Shift+G)")
        self.grow_mask_button.clicked.connect(lambda: self.controller.grow_mask())
        self.clear_mask_button = self.add_button("fa5s.times", "Clear mask", "Remove every hole (Delete)")
        self.clear_mask_button.clicked.connect(self.controller.clear_mask)


class SemanticPanel(ModePanel):
    """Semantic synthesis: model (label set), style reference, the match-photo switch, re-read the photo's
    regions."""

    def build_extras(self) -> None:
        self.style_combo = QComboBox()
        self.style_combo.setToolTip("Style of the generated content: the photo's own, the seed's, or a sample picture's")
        for title, path in sample_styles():
            self.style_combo.addItem(title, path)
        self.form.addRow("Style", self.style_combo)
        self.resegment_button = self.add_button("fa5s.magic", "Read regions from photo",
                                                "Replace the label map by the segmenter's reading of the photo")
        self.resegment_button.clicked.connect(self.controller.adopt_segmentation)
        self.style_combo.currentIndexChanged.connect(self._on_style_changed)
        self.controller.style_changed.connect(self.show_style)

    def sync(self) -> None:
        """:meth:`ModePanel.sync`; *Read regions from photo* is disabled on a blank canvas (there is no photo
        to read, so it does nothing there)."""
        super().sync()
        self.resegment_button.setEnabled(not is_blank_canvas(self.controller.doc))

    def use_style(self, path: str | None) -> None:
        """Choose style reference ``path`` (None: the photo's own / the seed), as if picked in the box."""
        self.show_style(path)
        self._on_style_changed(self.style_combo.currentIndex())

    def _on_style_changed(self, index: int) -> None:
        path = self.style_combo.itemData(index)
        if path is None:
            self.controller.set_style_image(None)
            return
        try:
            self.controller.set_style_image(load_rgb(path), path)
        except GanpaintError as error:
            self.controller.notice.emit(str(error), "error")

    def show_style(self, path) -> None:
        """Show style reference ``path`` (None: the photo's own / the seed) without emitting a change."""
        index = self.style_combo.findData(path) if path is not None else 0
        if index < 0:
            self.style_combo.addItem(f"Like {Path(path).stem}", path)
            index = self.style_combo.count() - 1
        self.style_combo.blockSignals(True)
        self.style_combo.setCurrentIndex(index)
        self.style_combo.blockSignals(False)






class ColorizePanel(ModePanel):
    """Colorization: model (photo or line art), hint tool mode (add / move or erase), the gamut-aware colour
    picker with the network's suggestions, recent colours and a palette (also a global hint), a reference
    picture as global hint, and whether a colour photo is recoloured or coloured anew."""

    RECOLOR_CHOICES = (("Automatic", None), ("Recolour: keep other colours", True), ("Colour the whole picture", False))

    def build_extras(self) -> None:
        from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

        from ganpaint.ui.color_picker import ColorPicker

        self.hint_tool = self.controller.tools["hint"]
        self.mode.selection = lambda: self.hint_tool.selected
        row = QWidget()
        buttons = QHBoxLayout(row)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.add_button_ = QPushButton("Add / move")
        self.erase_button = QPushButton("Erase")
        for button, mode in ((self.add_button_, "paint"), (self.erase_button, "erase")):
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.clicked.connect(lambda checked=False, m=mode: self._set_hint_mode(m))
            buttons.addWidget(button)
        self.add_button_.setChecked(True)
        self.form.addRow("Hints", row)
        self.recolor_combo = QComboBox()
        self.recolor_combo.setToolTip("On a colour photo, keep its colours where the hints do not reach, or colour the "
                                      "whole picture from its lightness (automatic: recolour colour photos)")
        for title, value in self.RECOLOR_CHOICES:
            self.recolor_combo.addItem(title, value)
        self.form.addRow("Photo", self.recolor_combo)
        self.picker = ColorPicker()
        self.buttons.addWidget(self.picker)
        self.reference_button = self.add_button("fa5s.image", "Colours of a picture...",
                                                "Global hint: follow the colours of a reference picture")
        self.clear_global_button = self.add_button("fa5s.times", "No global hint", "Forget the reference picture")
        self.delete_hint_button = self.add_button("fa5s.trash", "Delete hint", "Remove the selected hint")
        self.clear_hints_button = self.add_button("fa5s.broom", "Clear hints", "Remove every hint (one undo step)")
        self.picker.colorPicked.connect(self._color_picked)
        self.picker.globalPaletteChanged.connect(self._palette_changed)
        self.recolor_combo.currentIndexChanged.connect(self._recolor_changed)
        self.reference_button.clicked.connect(self._choose_reference)
        self.clear_global_button.clicked.connect(lambda: self.set_reference(None))
        self.delete_hint_button.clicked.connect(self._delete_hint)
        self.clear_hints_button.clicked.connect(self._clear_hints)
        self.controller.result_ready.connect(lambda result: self.show_suggestions())

    # ------------------------------------------------------------------ actions
    def _set_hint_mode(self, mode: str) -> None:
        self.hint_tool.mode = mode
        if self.controller.tool is not self.hint_tool:
            self.controller.set_tool("hint")

    def _color_picked(self, rgb: tuple) -> None:
        """The picker's colour becomes the colour of new hints and of the selected hint."""
        self.controller.settings.color = tuple(rgb)
        doc = self.controller.doc
        if doc is not None:
            self.hint_tool.recolor_selected(doc, rgb)
        self.controller.tool_settings_changed.emit()

    def _palette_changed(self, colors: list) -> None:
        self.mode.palette = [tuple(c) for c in colors]
        self.controller.mode_inputs_changed()

    def _recolor_changed(self, index: int) -> None:
        self.mode.recolor = self.recolor_combo.itemData(index)
        self.controller.mode_inputs_changed()

    def _choose_reference(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from ganpaint.ui.files import IMAGE_FILTER

        path, _ = QFileDialog.getOpenFileName(self, "Reference picture", "", IMAGE_FILTER)
        if path:
            try:
                self.set_reference(load_rgb(path))
            except GanpaintError as error:
                self.controller.notice.emit(str(error), "error")

    def set_reference(self, image) -> None:
        """Use RGB ``uint8 (h, w, 3)`` ``image``'s colours as the global hint (None: no reference)."""
        self.mode.reference = image
        self.controller.mode_inputs_changed()

    def _delete_hint(self) -> None:
        doc = self.controller.doc
        if doc is not None:
            self.hint_tool.erase_selected(doc)

    def _clear_hints(self) -> None:
        doc = self.controller.doc
        if doc is not None and doc.hints:
            self.hint_tool.selected = None
            doc.set_hints([], "Clear hints")

    def show_suggestions(self) -> None:
        """Show the suggested colours (and the gamut at the lightness) of the hint being edited."""
        suggestions = self.mode.suggestions
        self.picker.set_lightness_editable(self.mode.lineart)
        if suggestions:
            self.picker.set_suggestions(suggestions[0])
            if not self.mode.lineart:
                self.picker.set_lightness(float(suggestions[0].lightness))
        else:
            self.picker.set_suggestions(None)
        self.picker.set_color(self.controller.settings.color)



class ManifoldPanel(ModePanel):
    """Latent projection and constrained editing (iGAN): the GAN picker, the region, *Project* (its error
    shown after), a random sample as a starting picture, the K candidates of the latest edit and a morph
    slider from the projection to the chosen candidate."""

    THUMB = 72

    def build_extras(self) -> None:
        from PySide6.QtCore import QSize, Qt
        from PySide6.QtWidgets import QLabel, QListView, QListWidget, QSlider, QSpinBox

        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(0, 2000)
        self.steps_spin.setValue(self.mode.steps)
        self.steps_spin.setToolTip("Optimisation steps after the encoder's guess (0: the encoder alone)")
        self.form.addRow("Projection steps", self.steps_spin)
        self.region_label = QLabel()
        self.region_label.setWordWrap(True)
        self.form.addRow("Region", self.region_label)
        self.project_button = self.add_button("fa5s.crosshairs", "Project",
                                              "Find the GAN picture closest to the region (encoder, then optimisation)")
        self.centre_button = self.add_button("fa5s.compress", "Centre square",
                                             "Project the largest centred square (forget the dragged region)")
        self.sample_button = self.add_button("fa5s.dice", "Random sample", "Open a random picture of the GAN to edit")
        self.error_label = QLabel("Project the photo (or a region dragged with R), then paint colour (C) and "
                                  "sketch (K) strokes.")
        self.error_label.setWordWrap(True)
        self.buttons.addWidget(self.error_label)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(self.THUMB, self.THUMB))
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMinimumHeight(2 * self.THUMB + 24)
        self.gallery.setToolTip("Candidates of the latest edit, best first: click one to use it")
        self.buttons.addWidget(QLabel("Candidates"))
        self.buttons.addWidget(self.gallery)
        self.morph_slider = QSlider(Qt.Orientation.Horizontal)
        self.morph_slider.setToolTip("Morph from the projection (left) to the chosen candidate (right)")
        self.morph_slider.setEnabled(False)
        self.buttons.addWidget(QLabel("Morph: projection -> edit"))
        self.buttons.addWidget(self.morph_slider)
        self.project_button.clicked.connect(self.project)
        self.centre_button.clicked.connect(self._centre)
        self.sample_button.clicked.connect(self.sample)
        self.gallery.currentRowChanged.connect(self._chosen)
        self.morph_slider.valueChanged.connect(self._morphed)
        self.steps_spin.valueChanged.connect(lambda v: setattr(self.mode, "steps", int(v)))
        self.controller.result_ready.connect(lambda result: self.refresh())
        self.controller.document_replaced.connect(lambda doc: self.refresh())
        self.controller.canvas_dirty.connect(lambda rect: self._show_region())

    # ------------------------------------------------------------------ actions
    def project(self) -> None:
        """Project the region (a long job: the status bar's Cancel or Esc stops it)."""
        self.mode.project()
        self.controller.mode_inputs_changed()

    def sample(self) -> None:
        """Open a random GAN picture (a new seed each time) as a new document."""
        import random

        self.mode.sample(random.randrange(0, 2**31 - 2))
        self.controller.mode_inputs_changed()

    def _centre(self) -> None:
        from ganpaint.tools.constraints import REGION_KEY

        doc = self.controller.doc
        if doc is not None and doc.settings.pop(REGION_KEY, None) is not None:
            doc.mark_changed({"region"}, None)

    def _chosen(self, row: int) -> None:
        if row >= 0 and self.mode.candidates is not None and row != self.mode.chosen:
            self.mode.choose(row)
            self._reset_slider()
            self.controller.mode_inputs_changed()

    def _morphed(self, value: int) -> None:
        if self.mode.morphs is None:
            return
        last = self.morph_slider.maximum()
        self.mode.choose(self.mode.chosen, None if value == last else value)
        self.controller.mode_inputs_changed()

    # ------------------------------------------------------------------ display
    def _show_region(self) -> None:
        doc = self.controller.doc
        if doc is None:
            return
        x0, y0, x1, y1 = self.mode.frame(doc)
        state = "projected" if self.mode.projected else "not projected yet"
        self.region_label.setText(f"{x1 - x0} x {y1 - y0} px at ({x0}, {y0}), {state}")

    def _reset_slider(self) -> None:
        frames = 0 if self.mode.morphs is None else self.mode.morphs.shape[1]
        self.morph_slider.blockSignals(True)
        self.morph_slider.setRange(0, max(frames - 1, 0))
        self.morph_slider.setValue(max(frames - 1, 0))
        self.morph_slider.setEnabled(frames > 1)
        self.morph_slider.blockSignals(False)

    def refresh(self) -> None:
        """Show the projection error, the candidates and the morph range of the mode's current state."""
        from PySide6.QtGui import QIcon, QImage, QPixmap
        from PySide6.QtWidgets import QListWidgetItem

        mode = self.mode
        self._show_region()
        if mode.errors:
            text = f"Projection: PSNR {mode.errors.get('psnr', float('nan')):.1f} dB"
            if "encoder_psnr" in mode.errors:
                text += f" (encoder alone {mode.errors['encoder_psnr']:.1f} dB)"
            self.error_label.setText(text + ". Paint colour (C) or sketch (K) strokes to edit it.")
        self.gallery.blockSignals(True)
        self.gallery.clear()
        if mode.candidates is not None:
            for k, picture in enumerate(mode.candidates):
                picture = np.ascontiguousarray(picture)
                image = QImage(picture.data, picture.shape[1], picture.shape[0], 3 * picture.shape[1],
                               QImage.Format.Format_RGB888).copy()
                icon = QIcon(QPixmap.fromImage(image).scaled(self.THUMB, self.THUMB))
                tip = f"candidate {k + 1}"
                if mode.edit_errors is not None and np.isfinite(mode.edit_errors[k]):
                    tip += f": colour error {float(mode.edit_errors[k]):.1f}"
                item = QListWidgetItem(icon, str(k + 1))
                item.setToolTip(tip)
                self.gallery.addItem(item)
            self.gallery.setCurrentRow(mode.chosen)
        self.gallery.blockSignals(False)
        if mode.morph_frame is None:
            self._reset_slider()

#: mode name -> panel class.
PANEL_CLASSES: dict[str, type[ModePanel]] = {"inpaint": InpaintPanel, "synthesize": SemanticPanel,
                                             "colorize": ColorizePanel, "manifold": ManifoldPanel}
