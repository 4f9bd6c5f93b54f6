"""The engine dock's tabs: one panel class per studio mode (see :mod:`ganpaint.modes`).

:data:`PANEL_CLASSES` maps a mode's name to its panel; the main window loops over the modes and builds
each tab from this table, so a new mode adds a panel class here and nothing in the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox

from ganpaint.document.imageio import load_rgb
from ganpaint.errors import GanpaintError
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

    def build_extras(self) -> None:
        """Add the mode's own widgets (override)."""

    def sync(self) -> None:
        """Show the controller's model and seed; hide the seed for deterministic models."""
        model = self.mode.model
        if model is not None and self.model_combo.currentText() != model and self.model_combo.findText(model) >= 0:
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentText(model)
            self.model_combo.blockSignals(False)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(self.controller.seed)
        self.seed_spin.blockSignals(False)
        self.set_seed_visible(self.mode.stochastic)


class InpaintPanel(ModePanel):
    """Inpainting: model, apply fill, clear mask."""

    def build_extras(self) -> None:
        self.clear_mask_button = self.add_button("fa5s.times", "Clear mask", "Remove every hole (Delete)")
        self.clear_mask_button.clicked.connect(self.controller.clear_mask)


class SemanticPanel(ModePanel):
    """Semantic synthesis: model (label set), style reference, re-read the photo's regions."""

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


#: mode name -> panel class.
PANEL_CLASSES: dict[str, type[ModePanel]] = {"inpaint": InpaintPanel, "synthesize": SemanticPanel}
