"""Colorize mode: colour hints (points and strokes) colour a grayscale photo, recolour one object of a
colour photo, or fill line art with flat colours (:class:`ColorizeRequest`, Zhang et al. 2017's
user-guided colorization).

The hints are the document's ``hints`` vector layer (undoable, saved with the project, drawn over the
picture). Global hints (a palette or a reference picture's colours) and the recolour switch are the
mode's own state. The distribution head's 9 suggested colours at the hint being edited come back in
``Result.extras["suggestions"]`` and are kept in :attr:`ColorizeMode.suggestions` for the panel's picker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from ganpaint.document.vectors import as_rgb
from ganpaint.inference.requests import ColorizeRequest
from ganpaint.modes.base import Mode, ModeContext, apply_and_clear, missing_model, restore_vector

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.layers import EditLayer
    from ganpaint.document.model import Document
    from ganpaint.inference.requests import Result

#: largest per-pixel channel spread (0..255) of a photo still treated as grayscale.
GRAY_SPREAD = 3


def is_grayscale(image: np.ndarray, samples: int = 65536) -> bool:
    """Whether RGB ``uint8 (H, W, 3)`` ``image`` is (nearly) gray: R, G and B within :data:`GRAY_SPREAD` of
    each other on an even subsample of at most ``samples`` pixels."""
    flat = image.reshape(-1, 3)
    step = max(1, flat.shape[0] // samples)
    sub = flat[::step].astype(np.int16)
    return bool((sub.max(axis=1) - sub.min(axis=1)).max() <= GRAY_SPREAD)


class ColorizeMode(Mode):
    """Drop colour hints; the colorization network spreads them along objects (photo models) or inside
    the regions the lines bound (line-art models). Apply keeps the colours as an edit layer."""

    name, title, icon = "colorize", "Colorize", "fa5s.palette"
    tasks = ("colorize",)
    inputs = frozenset({"photo", "hints", "edits"})
    tools = ("hint", "eyedropper")
    default_tool = "hint"
    fill_target = "photo"
    vector_layers = frozenset({"hints"})
    apply_text = "Apply colours"
    apply_tip = "Keep the colours as a new layer (Ctrl+Return)"
    layer_title = "Colours"
    debounce_while_editing = False  # the result follows a dragged hint

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.palette: list[tuple[int, int, int]] = []  # global hint: colours the picture should use
        self.reference: Optional[np.ndarray] = None  # global hint: a picture whose colours to follow
        self.recolor: Optional[bool] = None  # None: automatic (recolour a colour photo, colour a gray one)
        #: index in ``doc.hints`` of the hint being edited (the hint tool's selection), or None; set by the panel
        self.selection: Callable[[], Optional[int]] = lambda: None
        self.suggestions: tuple = ()  # ColorSuggestions of the latest result
        self._gray: Optional[bool] = None

    # ------------------------------------------------------------------ state
    @property
    def lineart(self) -> bool:
        """Whether the chosen model colours line art (card ``config.mode == "lineart"``)."""
        card = self.ctx.card("colorize")
        return card is not None and (card.config or {}).get("mode") == "lineart"

    def photo_is_gray(self, doc: "Document") -> bool:
        """Whether the document's picture is grayscale (cached until the photo changes)."""
        if self._gray is None:
            self._gray = is_grayscale(doc.photo)
        return self._gray

    def recolors(self, doc: "Document") -> bool:
        """Recolour (keep the picture's own colours where the hints do not reach): the user's choice, else
        automatic: on for a colour photo with a photo model, off for a grayscale photo or line art."""
        if self.lineart:
            return False
        return self.recolor if self.recolor is not None else not self.photo_is_gray(doc)

    def reset(self, doc: "Document") -> None:
        self._gray = None
        self.suggestions = ()

    def document_changed(self, doc: "Document", layers: set[str], stroking: bool) -> None:
        if "photo" in layers:
            self._gray = None

    # ------------------------------------------------------------------ inference
    def build_request(self, doc: "Document", revision: int) -> Optional[ColorizeRequest]:
        if self.model is None:
            return missing_model(self.ctx, "colorization")
        recolor = self.recolors(doc)
        if recolor and not doc.hints and not self.palette and self.reference is None:
            return None  # recolouring with no hint changes nothing: show the photo
        query = self.query_points(doc)
        return ColorizeRequest.snapshot(revision, doc.composite(), self.model, doc.hints, recolor=recolor,
                                        palette=self.palette, reference=self.reference, query=query,
                                        seed=self.ctx.seed)

    def query_points(self, doc: "Document") -> list[tuple[float, float]]:
        """Where the picker wants the distribution head's suggestions: the first point of the hint being
        edited (else the newest hint); empty without hints."""
        if not doc.hints:
            return []
        index = self.selection()
        hint = doc.hints[index] if index is not None and 0 <= index < len(doc.hints) else doc.hints[-1]
        x, y = hint.path()[0]
        return [(min(max(x, 0.0), doc.width - 1.0), min(max(y, 0.0), doc.height - 1.0))]

    def take_result(self, doc: "Document", result: "Result") -> bool:
        self.suggestions = tuple(result.extras.get("suggestions", ()))
        return True

    # ------------------------------------------------------------------ apply and re-edit
    def layer_settings(self, doc: "Document") -> dict[str, Any]:
        settings: dict[str, Any] = {"hints": [hint.to_json() for hint in doc.hints]}
        if self.palette:
            settings["palette"] = [list(rgb) for rgb in self.palette]
        if self.recolor is not None:
            settings["recolor"] = self.recolor
        return settings

    def apply(self, doc: "Document"):
        """The colours become an edit layer remembering the hints; the hints are cleared (one undo step)."""
        return apply_and_clear(self, doc, "hints")

    def restore_inputs(self, doc: "Document", layer: "EditLayer") -> None:
        """Put the layer's hints (and palette / recolour choice) back, so the engine colours it again."""
        restore_vector(doc, layer, "hints")
        palette = layer.settings.get("palette")
        if isinstance(palette, list):
            self.palette = []
            for rgb in palette:
                try:
                    self.palette.append(as_rgb(rgb))
                except ValueError:
                    continue
        recolor = layer.settings.get("recolor")
        if isinstance(recolor, bool):
            self.recolor = recolor
