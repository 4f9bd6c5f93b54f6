"""Semantic photo editing: repaint the relabelled region of a photo in the photo's light, colour and grain.

The network is the SESAME-style semantic inpainting generator (:mod:`ganpaint.nets.sesame`, inference
form :class:`~ganpaint.nets.sesame.FastSESAMEGenerator`): it sees the photo crop with the edited region
cut out, the hole mask and the new label map. Model cards: ``task: "semantic-edit"``, ``architecture:
"sesame"``, ``config.options`` (the decoder's :class:`~ganpaint.nets.spade.SPADEOptions`).

It is the photo-edit half of a label set's semantic synthesis: a synthesis (SPADE) model names its photo
editor in ``config["photo_editor"]`` (or one with the same labels is found, :func:`find_photo_editor_card`)
and :class:`~ganpaint.engines.synthesis.SynthesisEngine` hands photo-edit requests to
:meth:`SemanticEditEngine.edit`; blank-canvas requests stay with SPADE.

:meth:`SemanticEditEngine.edit` (``region`` = pixels whose labels changed):

1. the region is grown by ``paste_band`` pixels (default 8) and covered by crops with context margins
   (:func:`ganpaint.engines.synthesis.plan_edit`, as the SPADE path);
2. each crop (photo, grown region, new labels) is resized to at most ``card.resolution`` px on its
   longer side (never enlarged; photo bicubic, labels nearest, hole: any covered pixel is hole), padded
   by edge replication to a multiple of ``2**stages`` (the padding is context, not hole), and painted;
3. the painting is resized back to the crop (bicubic) and pasted with
   :func:`ganpaint.engines.inpaint.feather_weights` of the grown region (ramp of ``feather`` px, default
   ``paste_band``): weight 1 on the region, a ramp across the band, **0 (the photo's pixel, bit-exact)
   everywhere else**. The network painted the band itself, from the same context, so the ramp blends two
   versions of the same surroundings and leaves no seam;
4. with ``exemplar`` on (card config) and the request's ``exemplar`` switch, that picture is streamed to the
   caller at once; then every painted class (of ``exemplar_classes``, default all) that the photo also shows
   near the edit takes the colour of the photo's own pixels of that class, and the
   classes named in ``exemplar_texture`` (stochastic textures such as foliage) also their texture
   (:func:`ganpaint.nets.class_exemplar.exemplar_finish`), on the grown region's box widened by
   ``exemplar_context`` px or half its side (up to ``exemplar_max_pixels``). Pixels outside the grown region
   stay bit-exact.

Memory: a copy of the photo (the result), the grown region as a boolean image, and per crop at most a
``resolution``-px network pass; a 12-megapixel photo stays far below 1.5 GB (``ganpaint bench``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ganpaint.engines.base import Engine, ProgressCallback
from ganpaint.engines.synthesis import SPADE_CONFIG_LIMITS
from ganpaint.errors import EngineError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.inference.cancel import CancelToken

ARCHITECTURE = "sesame"
TASK = "semantic-edit"


def resize_hole(hole: np.ndarray, height: int, width: int) -> np.ndarray:
    """``bool (H, W)`` hole resized to ``height x width``: a pixel is hole when any part of its footprint is
    (box filter > 0), so shrinking never loses a thin edit."""
    from PIL import Image

    if hole.shape == (height, width):
        return hole.copy()
    img = Image.fromarray(hole.astype(np.uint8) * 255).resize((width, height), Image.BOX)
    return np.asarray(img) > 0


class SemanticEditEngine(Engine):
    """SESAME photo editing (module docstring). Serves no request type of its own: it is called through
    :meth:`edit` by :class:`~ganpaint.engines.synthesis.SynthesisEngine` (and by scripts and the evaluation).

    Model-card ``config``: ``options`` (SPADE options of the decoder), optional ``paste_band`` (8 px),
    ``feather`` (= paste_band), ``margin`` (32 px), ``margin_ratio`` (0.5); the class-exemplar stage:
    ``exemplar`` (false), ``exemplar_classes`` (label names the stage works on, default every class),
    ``exemplar_texture`` (label names whose texture is copied too, default none),
    ``exemplar_sigma`` (4 px: band split of the copied texture), ``exemplar_context`` (128 px),
    ``exemplar_max_pixels`` (4 000 000: larger boxes keep the network's picture).

    Raises (constructor):
        ModelError: no valid ``options``, or an ``exemplar_texture`` or ``exemplar_classes`` name that is not
            one of the card's labels.
    """

    task = TASK
    architectures = (ARCHITECTURE,)
    supports_half = True
    config_limits = {**SPADE_CONFIG_LIMITS, "exemplar_sigma": (0.5, 32), "exemplar_context": (0, 4096),
                     "exemplar_max_pixels": (0, 64_000_000)}

    def __init__(self, card) -> None:
        super().__init__(card)
        from ganpaint.engines.synthesis import MARGIN_RATIO, MIN_MARGIN, PASTE_BAND
        from ganpaint.nets.spade import SPADEOptions

        cfg = dict(card.config or {})
        try:
            self.opt = SPADEOptions.from_dict(cfg["options"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card '{card.card_path}' has no valid SESAME 'options' ({exc})") from None
        self.paste_band = int(cfg.get("paste_band", PASTE_BAND))
        self.feather = float(cfg.get("feather", self.paste_band))
        self.margin = int(cfg.get("margin", MIN_MARGIN))
        self.margin_ratio = float(cfg.get("margin_ratio", MARGIN_RATIO))
        self.resolution = int(card.resolution)
        self.exemplar = bool(cfg.get("exemplar", False))
        self.exemplar_sigma = float(cfg.get("exemplar_sigma", 4.0))
        self.exemplar_context = int(cfg.get("exemplar_context", 128))
        self.exemplar_max_pixels = int(cfg.get("exemplar_max_pixels", 4_000_000))
        self.exemplar_texture = [str(n) for n in cfg.get("exemplar_texture", []) or []]
        classes = cfg.get("exemplar_classes")
        self.exemplar_classes = None if classes is None else [str(n) for n in classes]
        self.exemplar_texture_ids()  # a name that is not a label fails here, when the engine is created
        self.exemplar_class_ids()
        self.net = None
        self.last_crops: list = []

    def load(self, device: "torch.device", half: bool = False) -> None:
        import torch

        from ganpaint.engines.registry import load_state_dict
        from ganpaint.nets.sesame import FastSESAMEGenerator, SESAMEGenerator
        from ganpaint.engines.spade_import import check_state_dict

        device = torch.device(device)
        if self.net is None:
            state = {k: v.float() if v.is_floating_point() else v for k, v in load_state_dict(self.card).items()}
            with torch.device("meta"):
                generator = SESAMEGenerator(self.opt)
            expected = {k: tuple(v.shape) for k, v in generator.state_dict().items()}
            check_state_dict(state, expected, f"weights of model '{self.card.name}' and its SESAME configuration")
            generator.load_state_dict(state, strict=True, assign=True)
            self.net = FastSESAMEGenerator.from_generator(generator.eval(), copy_weights=False)
        half = bool(half) and device.type == "cuda"
        self.net = self.net.to(device=device, dtype=torch.float16 if half else torch.float32)
        self.device, self.half = device, half

    def run(self, request, cancel: "CancelToken", progress: ProgressCallback) -> np.ndarray:
        """A :class:`~ganpaint.inference.requests.SynthesisRequest` with a photo: :meth:`edit`.

        Raises:
            EngineError: no photo (blank canvases are SPADE's), or the checks of :meth:`edit`.
        """
        photo = getattr(request, "photo", None)
        if photo is None:
            raise EngineError(f"model '{self.card.name}' edits photos; paint a blank canvas with a synthesis model")
        return self.edit(photo, request.labels, request.region, cancel, progress, exemplar=request.exemplar)

    def paint(self, photo: np.ndarray, hole: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One network pass: ``uint8 (h, w, 3)`` photo, ``bool (h, w)`` hole, ``uint8 (h, w)`` labels, sides
        multiples of ``2**stages`` -> ``float32 (h, w, 3)`` in 0..255 (the whole picture; composite it)."""
        import torch

        dtype = torch.float16 if self.half else torch.float32
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(photo)).to(self.device).permute(2, 0, 1)[None]
            x = x.to(dtype).div_(127.5).sub_(1.0)
            m = torch.from_numpy(np.ascontiguousarray(hole)).to(self.device)[None, None].to(dtype)
            lab = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)).to(self.device)[None]
            y = self.net(x, m, lab).float()
            return y[0].clamp_(-1.0, 1.0).add_(1.0).mul_(127.5).permute(1, 2, 0).contiguous().cpu().numpy()

    def edit(self, photo: np.ndarray, labels: np.ndarray, region: Optional[np.ndarray], cancel: "CancelToken",
             progress: ProgressCallback, exemplar: bool = True) -> np.ndarray:
        """Repaint ``region`` of ``photo`` with ``labels``; returns ``uint8 (H, W, 3)``, equal to ``photo``
        (bit-exact) outside the region grown by ``paste_band``.

        Args:
            photo: ``uint8 (H, W, 3)``.
            labels: ``uint8 (H, W)`` new label map (ids ``0 .. num_labels - 1``).
            region: ``bool (H, W)`` pixels whose labels changed; None = the whole picture.
            cancel: checked before and after every crop.
            progress: called after each crop (with the picture so far while crops remain) and, before the
                class-exemplar stage, with the network's picture.
            exemplar: run the class-exemplar stage when the card enables it (False: the network's picture).

        Raises:
            Cancelled: ``cancel`` was set.
            EngineError: not loaded, bad arrays or label ids.
        """
        from ganpaint.engines.synthesis import edit_in_crops, resize_labels, resize_rgb

        self._check(photo, labels, region)
        region = np.ones(labels.shape, bool) if region is None else np.asarray(region, bool)

        def paint(box, hole, size, padded, span):  # progress is reported per crop, not inside the network
            x0, y0, x1, y1 = box
            pad2 = ((0, padded[0] - size[0]), (0, padded[1] - size[1]))
            small_photo = np.pad(resize_rgb(photo[y0:y1, x0:x1], *size), pad2 + ((0, 0),), mode="edge")
            small_hole = np.pad(resize_hole(hole, *size), pad2)
            small_labels = np.pad(resize_labels(labels[y0:y1, x0:x1], *size), pad2, mode="edge")
            rgb = self.paint(small_photo, small_hole, small_labels)[:size[0], :size[1]]
            if size != (y1 - y0, x1 - x0):
                rgb = resize_rgb(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), y1 - y0, x1 - x0).astype(np.float32)
            return rgb

        box = self._exemplar_box(region) if self.exemplar and exemplar else None
        network_progress = progress if box is None else (lambda f, picture: progress(0.8 * f, picture))
        out, self.last_crops = edit_in_crops(photo, region, paint, self.paste_band, self.feather, self.margin,
                                             self.margin_ratio, self.resolution, self.opt.size_multiple, cancel,
                                             network_progress)
        if box is not None:
            from ganpaint.engines.synthesis import dilate
            from ganpaint.nets.class_exemplar import exemplar_finish

            progress(0.8, out)  # the network's picture at once; the exemplars' colour and texture follow
            x0, y0, x1, y1 = box
            sub = np.s_[y0:y1, x0:x1]
            out[sub] = exemplar_finish(photo[sub], out[sub], labels[sub], region[sub],
                                       dilate(region[sub], self.paste_band), self.exemplar_texture_ids(),
                                       classes=self.exemplar_class_ids(),
                                       sigma=self.exemplar_sigma, check=cancel.raise_if_cancelled)
            cancel.raise_if_cancelled()
        return out

    def exemplar_texture_ids(self) -> set[int]:
        """The label ids named in ``exemplar_texture`` (:meth:`label_ids`).

        Raises:
            ModelError: a name that is not one of the card's labels.
        """
        return self.label_ids(self.exemplar_texture, "exemplar_texture")

    def exemplar_class_ids(self) -> set[int] | None:
        """The label ids named in ``exemplar_classes``, None when the card names none (every class).

        Raises:
            ModelError: a name that is not one of the card's labels.
        """
        return None if self.exemplar_classes is None else self.label_ids(self.exemplar_classes, "exemplar_classes")

    def label_ids(self, names, key: str) -> set[int]:
        """The label ids of ``names`` (compared without case, ``_`` read as a space).

        Raises:
            ModelError: a name that is not one of the card's labels (``key`` names the setting).
        """
        from ganpaint.engines.synthesis import label_names

        ids = {name: i for i, name in label_names(self.card.labels)}
        wanted = set()
        for name in names:
            norm = name.strip().lower().replace("_", " ")
            if norm not in ids:
                raise ModelError(f"model '{self.card.name}': {key} names '{name}', which is not one of its labels "
                                 f"({', '.join(sorted(ids))})")
            wanted.add(ids[norm])
        return wanted

    def _exemplar_box(self, region: np.ndarray):
        """``(x0, y0, x1, y1)``: where the class-exemplar stage works, the region's bounding box grown by its
        paste band plus ``max(exemplar_context, half its longer side)`` and clipped to the image; None when the
        region is empty or the box exceeds ``exemplar_max_pixels``."""
        rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        if rows.size == 0:
            return None
        side = max(rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])
        pad = self.paste_band + max(self.exemplar_context, int(side) // 2)
        h, w = region.shape
        box = (max(0, int(cols[0]) - pad), max(0, int(rows[0]) - pad), min(w, int(cols[-1]) + 1 + pad),
               min(h, int(rows[-1]) + 1 + pad))
        return box if (box[2] - box[0]) * (box[3] - box[1]) <= self.exemplar_max_pixels else None

    def _check(self, photo, labels, region) -> None:
        if self.net is None:
            raise EngineError("the semantic photo-editing engine was used before its model was loaded")
        from ganpaint.engines.synthesis import check_label_map

        check_label_map(labels, self.opt.num_labels, self.card.name)
        if (not isinstance(photo, np.ndarray) or photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3
                or photo.shape[:2] != labels.shape):
            raise EngineError("the photo must be an RGB uint8 (H, W, 3) image of the label map's size")
        if region is not None and np.shape(region) != labels.shape:
            raise EngineError("the region and the label map must have the same size")


def find_photo_editor_card(registry, card):
    """The semantic photo-editing model of a synthesis model's label set: the card's
    ``config["photo_editor"]`` if that model is installed (task ``semantic-edit``), else the registry's
    first ``semantic-edit`` model (weights present first, then by name) whose labels (ids and names, case and
    ``_``/space ignored) are exactly ``card``'s; None if there is none or ``card`` has no labels."""
    from ganpaint.engines.synthesis import label_names

    wanted = (card.config or {}).get("photo_editor")
    if wanted and wanted in registry.names():
        found = registry.get(wanted)
        if found.task == TASK:
            return found
    if not card.labels:
        return None
    ours = label_names(card.labels)
    candidates = [c for c in registry.cards(TASK) if c.labels and label_names(c.labels) == ours]
    candidates.sort(key=lambda c: (not c.weights_path.is_file(), c.name))
    return candidates[0] if candidates else None


__all__ = ["ARCHITECTURE", "SemanticEditEngine", "TASK", "find_photo_editor_card", "resize_hole"]
