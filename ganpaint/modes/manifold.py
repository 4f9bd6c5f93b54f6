"""Manifold mode: edit a photo on a GAN's image manifold (iGAN, Zhu et al., ECCV 2016).

The mode walks through the stages of :mod:`ganpaint.engines.manifold` with ordinary requests, so the
controller's latest-wins machinery, progress and cancelling work as for every engine:

1. *Project* (a button): :class:`ProjectRequest` of the square region (``doc.settings["region"]``, drawn
   with the region tool; default the largest centred square). Partial projections are shown in the
   region while the latent code is optimised; the result is the projection, its latent and its error.
2. Colour and sketch strokes (``doc.strokes``) are constraints: :class:`LatentEditRequest` optimises K
   candidate codes from the projection (consumed by the mode: candidates, their morphs from the
   projection, errors).
3. The chosen candidate (or a morph frame of it) is carried back onto the full-resolution photo by
   :class:`EditTransferRequest` (dense flow + local colour transform, pixels outside the region kept):
   that picture is the mode's result, so *Apply* keeps exactly what is shown, as an edit layer.

The dice (*Random sample*) opens a GAN sample as a new picture, already "projected" (its latent is known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ganpaint.document.vectors import SketchStroke
from ganpaint.inference.requests import EditTransferRequest, LatentEditRequest, ProjectRequest, SampleRequest
from ganpaint.modes.base import Mode, ModeContext, apply_and_clear, missing_model, restore_vector
from ganpaint.tools.constraints import REGION_KEY, region_of

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.document.layers import EditLayer
    from ganpaint.document.model import Document
    from ganpaint.inference.requests import Request, Result

Rect = tuple[int, int, int, int]

#: candidates optimised per edit (iGAN shows a gallery of K results).
CANDIDATES = 8
#: side of a sample opened by the dice, as a multiple of the GAN's resolution.
SAMPLE_SCALE = 4


class ManifoldMode(Mode):
    """Project a square region of the photo onto a GAN, edit it with colour and sketch strokes that the
    latent code is optimised to satisfy, pick one of K candidates (or a frame of its morph), and carry it
    back onto the photo."""

    name, title, icon = "manifold", "Manifold", "fa5s.atom"
    tasks = ("manifold",)
    inputs = frozenset({"strokes", "region"})
    tools = ("gan-color", "gan-sketch", "region", "eyedropper")
    default_tool = "gan-color"
    fill_target = "photo"
    vector_layers = frozenset({"strokes"})
    apply_text = "Apply edit"
    apply_tip = "Keep the edited region as a new layer (Ctrl+Return)"
    layer_title = "GAN edit"
    preview_while_editing = False  # an edit optimises K codes: it runs when the stroke is finished

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.steps = 200  # projection optimisation steps
        self.time_limit_s: Optional[float] = 3.0
        self.candidate_count = CANDIDATES
        self._clear()
        self._adopt: Optional[tuple["Document", dict[str, Any]]] = None

    def _clear(self) -> None:
        self.want_projection = False
        self.want_sample: Optional[int] = None
        self.rect: Optional[Rect] = None  # the projected region
        self.latent: Optional[np.ndarray] = None
        self.projection: Optional[np.ndarray] = None  # uint8 (R, R, 3)
        self.errors: dict[str, float] = {}  # projection PSNR etc.
        self._clear_edit()

    def _clear_edit(self) -> None:
        self.candidates: Optional[np.ndarray] = None  # uint8 (K, R, R, 3), best first
        self.morphs: Optional[np.ndarray] = None  # uint8 (K, T, R, R, 3)
        self.edit_errors: Optional[np.ndarray] = None  # colour error per candidate
        self.edit_strokes: tuple = ()  # the strokes the candidates were optimised for
        self.chosen = 0
        self.morph_frame: Optional[int] = None  # morph frame (None: the candidate itself)

    # ------------------------------------------------------------------ state
    @property
    def projected(self) -> bool:
        """Whether a latent code stands for the region (after a projection or a sample)."""
        return self.latent is not None

    def region(self, doc: "Document") -> Rect:
        """The square region to project: the region tool's, made square inside the picture, else the largest
        centred square."""
        from ganpaint.engines.transfer import square_rect

        return square_rect(doc.photo.shape, region_of(doc))

    def frame(self, doc: "Document") -> Rect:
        """The region the canvas outlines: the projected one, else the one the next projection would take."""
        return self.rect if self.rect is not None else self.region(doc)

    def project(self) -> None:
        """Ask for a projection of the region at the next request (the panel's *Project*)."""
        self.want_projection = True

    def sample(self, seed: int) -> None:
        """Ask for a random picture of the GAN (the dice), opened as a new document."""
        self.want_sample = int(seed)

    def choose(self, index: int, frame: Optional[int] = None) -> None:
        """Show candidate ``index`` (best first), or frame ``frame`` of its morph from the projection."""
        self.chosen, self.morph_frame = int(index), frame

    def reset(self, doc: "Document") -> None:
        adopt, self._adopt = self._adopt, None
        self._clear()
        if adopt is not None and adopt[0] is doc:
            for key, value in adopt[1].items():
                setattr(self, key, value)

    def model_changed(self, task: str, doc: "Optional[Document]") -> None:
        if task == "manifold":
            self._clear()  # a latent code means nothing to another GAN

    def document_changed(self, doc: "Document", layers: set[str], stroking: bool) -> None:
        if "region" in layers and not stroking and self.rect is not None and self.region(doc) != self.rect:
            self._clear()
            self.ctx.notice("The region changed: press Project to project it.", "info")

    # ------------------------------------------------------------------ inference
    def _strokes(self, doc: "Document") -> tuple[SketchStroke, ...]:
        return tuple(doc.strokes)

    def build_request(self, doc: "Document", revision: int) -> "Optional[Request]":
        if self.model is None:
            return missing_model(self.ctx, "GAN")
        if self.want_sample is not None:
            return SampleRequest(revision=revision, model=self.model, seed=self.want_sample)
        if self.want_projection:
            return ProjectRequest.snapshot(revision, doc.composite(), self.region(doc), self.model, steps=self.steps,
                                           time_limit_s=self.time_limit_s)
        if not self.projected:
            return None
        strokes = self._strokes(doc)
        if not strokes:
            return None
        if self.candidates is None or strokes != self.edit_strokes:
            return LatentEditRequest.snapshot(revision, self.latent, strokes, self.rect, self.model, seed=self.ctx.seed,
                                              candidates=self.candidate_count)
        return EditTransferRequest.snapshot(revision, doc.composite(), self.rect, self.projection, self.chosen_picture(),
                                            self.model)

    def chosen_picture(self) -> np.ndarray:
        """The chosen candidate, or the chosen frame of its morph: ``uint8 (R, R, 3)``."""
        index = min(max(self.chosen, 0), len(self.candidates) - 1)
        if self.morph_frame is not None and self.morphs is not None:
            frames = self.morphs[index]
            return frames[min(max(self.morph_frame, 0), len(frames) - 1)]
        return self.candidates[index]

    def take_result(self, doc: "Document", result: "Result") -> bool:
        extras = result.extras
        if isinstance(extras.get("candidates"), np.ndarray):  # an edit: K candidates, then the transfer
            self.candidates, self.morphs = extras["candidates"], extras.get("morphs")
            self.edit_errors = extras.get("color_error")
            self.edit_strokes = self._strokes(doc)
            self.chosen, self.morph_frame = 0, None
            return False
        if self.want_sample is not None:
            self.want_sample = None
            self._open_sample(result)
            return False
        if self.want_projection:
            self.want_projection = False
            self.rect = tuple(int(v) for v in extras.get("rect", self.region(doc)))
            self.latent, self.projection = np.array(extras["latent"]), np.array(result.image)
            self.errors = {key: float(extras[key]) for key in ("psnr", "encoder_psnr") if key in extras}
            self._clear_edit()
            return True
        return True  # the transfer: the photo with the edit

    def _open_sample(self, result: "Result") -> None:
        """Open the dice's picture (scaled up :data:`SAMPLE_SCALE` times) as a new document whose region is
        the whole picture and whose latent code is the sample's."""
        from PIL import Image

        from ganpaint.document.model import Document

        picture = np.asarray(result.image)
        side = picture.shape[0] * SAMPLE_SCALE
        doc = Document(np.asarray(Image.fromarray(picture).resize((side, side), Image.Resampling.BICUBIC)))
        doc.settings.update({"mode": self.name, "source_name": "GAN sample", REGION_KEY: [0, 0, side, side],
                             f"{self.name}_model": self.model})
        self._adopt = (doc, {"rect": (0, 0, side, side), "latent": np.array(result.extras["latent"]),
                             "projection": picture.copy()})
        self.ctx.replace_document(doc)

    def present(self, doc: "Document", result: "Result") -> Optional[np.ndarray]:
        """A projection (R x R) is shown pasted into its region; the transfer is the whole photo already."""
        return self.present_partial(doc, result.image)

    def present_partial(self, doc: "Document", picture: np.ndarray) -> Optional[np.ndarray]:
        if picture.shape[:2] == doc.shape:
            return picture
        rect = self.rect if self.rect is not None else self.region(doc)
        from ganpaint.engines.transfer import paste_region

        return paste_region(doc.composite(), rect, picture)

    # ------------------------------------------------------------------ apply and re-edit
    def edit_region(self, doc: "Document") -> Optional[np.ndarray]:
        return None  # the transfer changes only the region; the layer keeps what differs

    def layer_settings(self, doc: "Document") -> dict[str, Any]:
        settings: dict[str, Any] = {"strokes": [stroke.to_json() for stroke in doc.strokes]}
        if self.rect is not None:
            settings["rect"] = list(self.rect)
        return settings

    def apply(self, doc: "Document"):
        """The transferred edit becomes an edit layer remembering the strokes; the strokes are cleared and a
        new projection is needed for the next edit (one undo step)."""
        layer = apply_and_clear(self, doc, "strokes")
        self._clear()
        return layer

    def restore_inputs(self, doc: "Document", layer: "EditLayer") -> None:
        """Put the layer's strokes and region back; press Project to edit it again."""
        restore_vector(doc, layer, "strokes")
        rect = layer.settings.get("rect")
        if isinstance(rect, list) and len(rect) == 4 and all(isinstance(v, int) for v in rect):
            doc.settings[REGION_KEY] = rect
        self.ctx.notice("Press Project to project the region again, then the strokes edit it.", "info")
