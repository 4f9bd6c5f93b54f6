"""Frozen request snapshots handed from the document to the worker thread.

A request copies what the engine needs out of the document at one revision and makes the arrays
read-only, so later edits in the GUI thread can never reach a running engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


def frozen_copy(array: np.ndarray) -> np.ndarray:
    """Return a C-contiguous, read-only copy of ``array`` (any shape and dtype)."""
    out = np.array(array, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Request:
    """Base of every request.

    Attributes:
        revision: document revision this snapshot was taken at (monotonic per document).
        task: engine task name, e.g. ``"inpaint"``; the worker routes on it.
        model: model name from the registry (a model card's ``name``).
        seed: random seed for stochastic engines.
    """

    revision: int
    task: str
    model: str
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class InpaintRequest(Request):
    """Fill the holes of a photo.

    Fields declared here (``task``, ``image``, ``mask``) are keyword-only, so the base class's
    positional ``model`` may follow the defaulted ``task``.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only.
        mask: ``uint8 (H, W)``, read-only; values > 127 are holes.
        texture: let engines that can (``texture`` in the model card) copy the photo's own grain into the
            fill; False asks for the network's smooth fill.
    """

    task: str = "inpaint"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    mask: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    texture: bool = True

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, mask: np.ndarray, model: str, seed: int = 0, *,
                 texture: bool = True) -> "InpaintRequest":
        """Build a request from live document arrays (copied and frozen)."""
        if image.shape[:2] != mask.shape[:2]:
            raise ValueError(f"mask {mask.shape[:2]} and image {image.shape[:2]} differ in size")
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image), mask=frozen_copy(mask),
                   texture=bool(texture))


@dataclass(frozen=True, kw_only=True)
class SegmentRequest(Request):
    """Label a photo with the classes of a segmentation model; the engine returns ``uint8 (H, W)`` class ids.

    Fields declared here (``task``, ``image``) are keyword-only, as in :class:`InpaintRequest`.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only.
    """

    task: str = "segment"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, model: str, seed: int = 0) -> "SegmentRequest":
        """Build a request from the live document photo (copied and frozen)."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an RGB (H, W, 3) photo, got shape {image.shape}")
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image))


@dataclass(frozen=True, kw_only=True)
class SynthesisRequest(Request):
    """Paint a picture from a label map with a semantic-synthesis (SPADE) model.

    Fields declared here are keyword-only, as in :class:`InpaintRequest`. Two modes:

    * blank canvas (``photo`` None): the whole picture is generated at the label map's size;
    * photo edit (``photo`` given): only ``region`` (the pixels whose labels the user changed) plus a
      thin feathered band around it is regenerated; every other pixel is exactly the photo's.
      ``region`` None with a photo means the whole picture.

    Attributes:
        labels: ``uint8 (H, W)`` class ids of the model's label set, read-only.
        style: RGB ``uint8 (h, w, 3)`` reference image (any size) for the style encoder, or None. With
            None the style comes from the photo in photo-edit mode, else from ``seed`` (``z ~ N(0, I)``);
            models without an encoder ignore it.
        photo: RGB ``uint8 (H, W, 3)`` or None, read-only.
        region: ``bool (H, W)`` or None, read-only (:meth:`snapshot` turns a ``uint8`` mask into bool with
            the document's convention: values > 127 are in the region).
        exemplar: photo edits: let photo editors that can (``exemplar`` in the model card) give each painted
            class the colour (and texture) of the same class elsewhere in the photo; False keeps the
            network's painting.
    """

    task: str = "synthesize"
    labels: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    style: Optional[np.ndarray] = field(default=None, repr=False)
    photo: Optional[np.ndarray] = field(default=None, repr=False)
    region: Optional[np.ndarray] = field(default=None, repr=False)
    exemplar: bool = True

    @classmethod
    def snapshot(cls, revision: int, labels: np.ndarray, model: str, seed: int = 0, style: Optional[np.ndarray] = None,
                 photo: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None,
                 exemplar: bool = True) -> "SynthesisRequest":
        """Build a request from live document arrays (copied and frozen).

        Raises:
            ValueError: ``labels`` not ``uint8 (H, W)``; ``style``/``photo`` not RGB ``uint8``; ``photo`` or
                ``region`` of another size than ``labels``; ``region`` without ``photo``.
        """
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.dtype != np.uint8:
            raise ValueError(f"labels must be a uint8 (H, W) label map, got {labels.dtype} {labels.shape}")
        for name, rgb in (("style", style), ("photo", photo)):
            if rgb is not None and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
                raise ValueError(f"{name} must be an RGB uint8 (H, W, 3) image, got {rgb.dtype} {rgb.shape}")
        if photo is not None and photo.shape[:2] != labels.shape:
            raise ValueError(f"photo {photo.shape[:2]} and labels {labels.shape} differ in size")
        if region is not None:
            if photo is None:
                raise ValueError("a region needs a photo (it marks the photo pixels to regenerate)")
            if region.shape != labels.shape:
                raise ValueError(f"region {region.shape} and labels {labels.shape} differ in size")
            region = region if region.dtype == np.bool_ else np.asarray(region) > 127
        return cls(revision=revision, model=model, seed=seed, labels=frozen_copy(labels),
                   style=None if style is None else frozen_copy(style),
                   photo=None if photo is None else frozen_copy(photo),
                   region=None if region is None else frozen_copy(region), exemplar=bool(exemplar))


def _rect(rect) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` as four ints (ValueError otherwise; the engine checks it against the photo)."""
    values = tuple(rect)
    if len(values) != 4 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"a region must be four integers (x0, y0, x1, y1), got {rect!r}")
    return tuple(int(v) for v in values)  # type: ignore[return-value]


def _rgb(name: str, image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{name} must be an RGB uint8 (H, W, 3) image, got {getattr(image, 'dtype', type(image))} "
                         f"{getattr(image, 'shape', '')}")
    return frozen_copy(image)


@dataclass(frozen=True, kw_only=True)
class ManifoldRequest(Request):
    """Base of the requests of a GAN's latent space (iGAN, :mod:`ganpaint.engines.manifold`): one engine per
    GAN model serves all of them (task ``"manifold"``) and dispatches on the request's class. Results are
    generator pictures ``uint8 (R, R, 3)`` (``R`` = the model's resolution), except for
    :class:`EditTransferRequest`, whose result is the whole photo."""

    task: str = "manifold"


@dataclass(frozen=True, kw_only=True)
class SampleRequest(ManifoldRequest):
    """A random picture of the GAN (the dice): ``z ~ N(0, I)`` from ``seed``, truncation ``psi`` in (0, 1].

    Result: the picture; extras ``latent`` (``float32 (w_dim,)``), which edit requests start from.
    """

    psi: float = 0.7


@dataclass(frozen=True, kw_only=True)
class ProjectRequest(ManifoldRequest):
    """Project a region of a photo onto the GAN's pictures (encoder guess + optimisation).

    Attributes:
        photo: RGB ``uint8 (H, W, 3)`` of any size, read-only.
        rect: region ``(x0, y0, x1, y1)`` in photo pixels, half-open; it is resized to ``R x R`` (pick a
            square, e.g. with :func:`ganpaint.engines.transfer.square_rect`, to avoid squeezing).
        steps: optimisation steps after the encoder's guess (0: the encoder alone).
        time_limit_s: stop optimising after this many seconds (None: run every step).

    Progress partials: the current projection ``uint8 (R, R, 3)``, the encoder's guess first. Result: the
    projection; extras ``latent`` (``float32 (w_dim,)``), ``target`` (the region at ``R x R``),
    ``encoder_image``, ``psnr`` and ``encoder_psnr`` (dB against ``target``), ``mse``, ``steps``, ``rect``.
    """

    photo: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    rect: tuple[int, int, int, int] = (0, 0, 0, 0)
    steps: int = 100
    time_limit_s: Optional[float] = None

    @classmethod
    def snapshot(cls, revision: int, photo: np.ndarray, rect, model: str, steps: int = 100,
                 time_limit_s: Optional[float] = None) -> "ProjectRequest":
        """Build a request from the live photo (copied and frozen). Raises ValueError for a bad photo or rect."""
        return cls(revision=revision, model=model, photo=_rgb("photo", photo), rect=_rect(rect), steps=int(steps),
                   time_limit_s=time_limit_s)


@dataclass(frozen=True, kw_only=True)
class LatentEditRequest(ManifoldRequest):
    """Edit a latent code with brush strokes as constraints, giving ``candidates`` results and morphs.

    Attributes:
        latent: ``float32 (w_dim,)`` start (a projection's or a sample's ``latent``), read-only.
        strokes: the strokes (copies of :class:`~ganpaint.document.vectors.SketchStroke`, ``kind``
            ``"color"`` or ``"sketch"``) in photo pixels.
        rect: the region the latent's picture stands for, ``(x0, y0, x1, y1)`` in the strokes' pixels (for a
            sample shown alone: ``(0, 0, R, R)``).
        candidates: K results, from different random starts (``seed``).
        steps: optimisation steps.
        closeness: weight of the term keeping each result close to ``latent`` (None: the model card's
            ``config.edit.closeness``).
        morph_frames: frames of each candidate's morph from ``latent``'s picture to the candidate.

    Progress partials: the best current candidate ``uint8 (R, R, 3)``. Result: the best candidate; extras
    ``candidates`` (``uint8 (K, R, R, 3)``, best first), ``latents`` (``float32 (K, w_dim)``), ``morphs``
    (``uint8 (K, morph_frames, R, R, 3)``, frame 0 = the start picture), ``losses`` and
    ``constraint_losses`` (``float32 (K,)``), ``color_error`` (mean RGB error 0..255 under the colour
    strokes per candidate, NaN without), ``start_image`` (``uint8 (R, R, 3)``), ``stroke_region``
    (``bool (R, R)``: pixels under strokes).
    """

    latent: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    strokes: tuple = ()
    rect: tuple[int, int, int, int] = (0, 0, 0, 0)
    candidates: int = 8
    steps: int = 40
    closeness: Optional[float] = None
    morph_frames: int = 8

    @classmethod
    def snapshot(cls, revision: int, latent: np.ndarray, strokes, rect, model: str, seed: int = 0,
                 candidates: int = 8, steps: int = 40, closeness: Optional[float] = None,
                 morph_frames: int = 8) -> "LatentEditRequest":
        """Build a request (latent and strokes copied). Raises ValueError for bad values."""
        from ganpaint.document.vectors import SketchStroke

        latent = np.asarray(latent, np.float32)
        if latent.ndim != 1:
            raise ValueError(f"latent must be a (w_dim,) vector, got shape {latent.shape}")
        if candidates < 1 or steps < 0 or morph_frames < 2:
            raise ValueError("need candidates >= 1, steps >= 0 and morph_frames >= 2")
        copies = tuple(SketchStroke.from_json(s.to_json()) for s in strokes)
        return cls(revision=revision, model=model, seed=seed, latent=frozen_copy(latent), strokes=copies,
                   rect=_rect(rect), candidates=int(candidates), steps=int(steps),
                   closeness=None if closeness is None else float(closeness),
                   morph_frames=int(morph_frames))


@dataclass(frozen=True, kw_only=True)
class EditTransferRequest(ManifoldRequest):
    """Carry an edit of a projected region back onto the full-resolution photo (iGAN section 5, see
    :func:`ganpaint.engines.transfer.transfer_edit`).

    Attributes:
        image: the photo, RGB ``uint8 (H, W, 3)``, read-only.
        rect: the projected region.
        projection, edit: ``uint8 (R, R, 3)`` the projection and the chosen candidate (or morph frame).

    Result: the photo with the edit inside ``rect``; every pixel outside ``rect`` is the photo's own.
    Extras: ``weight`` (``float32`` region-sized blend weight), ``rect``.
    """

    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    rect: tuple[int, int, int, int] = (0, 0, 0, 0)
    projection: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    edit: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, rect, projection: np.ndarray, edit: np.ndarray,
                 model: str) -> "EditTransferRequest":
        """Build a request (arrays copied and frozen). Raises ValueError for bad arrays or rect."""
        return cls(revision=revision, model=model, image=_rgb("image", image), rect=_rect(rect),
                   projection=_rgb("projection", projection), edit=_rgb("edit", edit))


@dataclass(frozen=True)
class HintSnapshot:
    """A frozen copy of one colour hint (:class:`ganpaint.document.vectors.ColorHint`).

    Attributes:
        points: ``((x, y), ...)`` image pixels: one point (a disc) or a stroke's polyline.
        rgb: ``(r, g, b)`` ints 0..255.
        radius: disc radius / stroke half-width in image pixels (>= 0).
    """

    points: tuple[tuple[float, float], ...]
    rgb: tuple[int, int, int]
    radius: float

    @classmethod
    def of(cls, hint: Any) -> "HintSnapshot":
        """Snapshot a :class:`~ganpaint.document.vectors.ColorHint` (or anything with ``path()``/``x, y``,
        ``rgb`` and ``radius``)."""
        path = hint.path() if hasattr(hint, "path") else ((hint.x, hint.y),)
        return cls(tuple((float(x), float(y)) for x, y in path), tuple(int(c) for c in hint.rgb),  # type: ignore[arg-type]
                   float(hint.radius))


@dataclass(frozen=True, kw_only=True)
class ColorizeRequest(Request):
    """Colour a grayscale photo, recolour a colour photo, or fill line art, guided by colour hints.

    Fields declared here are keyword-only, as in :class:`InpaintRequest`. What the engine does with
    ``image`` depends on the model (its card's ``config.mode``): ``"photo"`` models keep the photo's own
    full-resolution lightness (L of Lab) and predict ab; ``"lineart"`` models fill the regions the drawing's
    lines bound with flat colours and keep the lines.

    Attributes:
        image: RGB ``uint8 (H, W, 3)``, read-only: the photo (grayscale or colour) or the drawing.
        hints: local hints, later ones painted over earlier ones.
        recolor: photo models: keep ``image``'s own colours wherever the hints do not reach (recolour one
            object of a colour photo); False colours the whole picture from its lightness.
        palette: global hint: colours ``(r, g, b)`` the picture should use (empty: none).
        reference: global hint: RGB ``uint8 (h, w, 3)`` image whose colour histogram the picture should
            follow, read-only, or None. ``palette`` wins when both are given.
        query: image points ``(x, y)`` where the colour-distribution head's suggestions are wanted; the
            result's ``extras["suggestions"]`` has one entry per point (see the engine).
    """

    task: str = "colorize"
    image: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    hints: tuple[HintSnapshot, ...] = ()
    recolor: bool = False
    palette: tuple[tuple[int, int, int], ...] = ()
    reference: Optional[np.ndarray] = field(default=None, repr=False)
    query: tuple[tuple[float, float], ...] = ()

    @classmethod
    def snapshot(cls, revision: int, image: np.ndarray, model: str, hints: Any = (), *, recolor: bool = False,
                 palette: Any = (), reference: Optional[np.ndarray] = None, query: Any = (),
                 seed: int = 0) -> "ColorizeRequest":
        """Build a request from live document data (arrays copied and frozen, hints snapshotted).

        Args:
            hints: :class:`~ganpaint.document.vectors.ColorHint` objects (or :class:`HintSnapshot`).

        Raises:
            ValueError: ``image``/``reference`` not RGB ``uint8``, a palette colour not three ints 0..255.
        """
        from ganpaint.document.vectors import as_rgb

        for name, rgb in (("image", image), ("reference", reference)):
            if rgb is not None and (not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3
                                    or rgb.dtype != np.uint8):
                raise ValueError(f"{name} must be an RGB uint8 (H, W, 3) image")
        if image is None:
            raise ValueError("image must be an RGB uint8 (H, W, 3) image")
        snaps = tuple(h if isinstance(h, HintSnapshot) else HintSnapshot.of(h) for h in hints)
        return cls(revision=revision, model=model, seed=seed, image=frozen_copy(image), hints=snaps,
                   recolor=bool(recolor), palette=tuple(as_rgb(c) for c in palette),
                   reference=None if reference is None else frozen_copy(reference),
                   query=tuple((float(x), float(y)) for x, y in query))


@dataclass(frozen=True)
class Result:
    """What an engine returns for a request.

    Attributes:
        revision: the request's revision.
        task: the request's task.
        image: RGB ``uint8 (H, W, 3)`` at the request's image size.
        elapsed_ms: engine time in milliseconds (wall clock, excluding queueing).
        info: free-form details for the status bar (device, model, crop size...).
        extras: engine-specific outputs beside the picture (read-only arrays or plain values), e.g. the
            colour suggestions of a colorization engine or the latent code and candidates of a
            projection engine; empty for most engines (see :class:`~ganpaint.engines.base.EngineOutput`).
    """

    revision: int
    task: str
    image: np.ndarray
    elapsed_ms: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
