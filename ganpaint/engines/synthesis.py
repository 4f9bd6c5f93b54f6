"""Semantic synthesis engine: paints a picture from a label map with a SPADE (GauGAN) generator.

Serves :class:`~ganpaint.inference.requests.SynthesisRequest` for model cards with ``architecture:
"spade"`` (our compact models and imported official checkpoints; see :mod:`ganpaint.engines.spade_import`
for the card format). The network is the :class:`~ganpaint.nets.spade_fast.FastSPADEGenerator` form of
:class:`~ganpaint.nets.spade.SPADEGenerator` (spectral and batch norm folded, SPADE by table look-up).

Style code ``z``:

* ``request.style`` given and the model has an encoder: ``z`` = the encoder's mean ``mu`` on the style
  image (resized to the encoder's input size);
* else, in photo-edit mode with an encoder: ``z`` = ``mu`` of the whole photo, downscaled, so the new
  content takes the photo's look (the code of the last style image is cached, keyed by its shape and the
  crc32 of its pixels, so successive edits of one photo encode it once);
* else ``z ~ N(0, I)`` drawn from ``torch.Generator().manual_seed(request.seed)`` (the same seed gives
  the same picture). Models without an encoder (the official releases) ignore style and seed.

Blank-canvas mode (``photo`` None): the label map is resized (nearest neighbour) to the network size
(:func:`~ganpaint.nets.spade.snap_size`: aspect kept, longer side near ``card.resolution``, sides
multiples of ``2**stages``), the picture is generated and resized (bicubic) to the label map's size.

Photo-edit mode (``photo`` given; ``region`` = pixels whose labels changed, None = all): when the label
set has a semantic photo editor (a ``semantic-edit`` model: the card's ``config["photo_editor"]``, else one
with the same labels, found through the registry that created this engine;
:func:`ganpaint.engines.semantic_edit.find_photo_editor_card`), the edit goes to it: SESAME-style semantic
inpainting that paints the region from the photo around it (:mod:`ganpaint.engines.semantic_edit`);
``last_generator`` names the model that painted. Without one (or with ``config["use_photo_editor"]``
false, or an engine built without a registry), SPADE paints the region on its own:

1. the region is dilated by ``paste_band`` pixels (default :data:`PASTE_BAND` = 8, chessboard distance);
2. the dilated region is split into crops with context margins by :func:`plan_edit`
   (:func:`ganpaint.engines.inpaint.plan_crops`: ``max(margin, margin_ratio * side)`` per side, overlapping
   crops merged), planned inside a window around the region's bounding box, so the work grows with the
   edited area, not with the photo (beyond one copy of the photo and one pass to find the region);
3. each crop's labels are resized to at most ``card.resolution`` on the longer side (never enlarged),
   padded (edge) to a multiple of ``2**stages`` and generated with the photo's style;
4. optionally (``color_match``, default on) the generated crop is shifted towards the photo's light and
   colours (:func:`match_colors`): the mean RGB difference between photo and generation is measured on the
   crop's pixels *outside* the region (unchanged labels, so both show the same classes there); its grey
   part (brightness) is added in full, its colour cast at half strength;
5. it is pasted with :func:`ganpaint.engines.inpaint.paste` and weights
   :func:`ganpaint.engines.inpaint.feather_weights` of the dilated region with a ramp of ``feather`` px
   (default = ``paste_band``): weight 1 on the region itself, a ramp across the band, **0 (pixel not
   written, bit-exact photo) everywhere outside region + band**.

Cancellation is checked before and after every crop and after every residual block of the generator;
progress is reported after each block (:mod:`ganpaint.engines.progress`) and each crop.

Speed (``torch.inference_mode``, ``torch.set_num_threads(2)``, fp32, 2-core AMD EPYC, idle machine):

* compact ``spade-landscape`` network: 256x256 in 0.09-0.12 s, 512x512 in 0.37-0.42 s; engine
  (``ganpaint bench``): 256 label map 81 ms, 512 label map 90 ms (network at 256, resized), 4000x3000
  photo with a 200 px relabelled region 136 ms;
* official ADE20K configuration (96.5 M parameters, 256x256): a label map of 3 regions in 0.92 s with the
  fast network against 3.97 s for the original NVlabs code; side by side with the original, the same
  outputs (to 2e-5) came 1.9x faster on a random label map (every pixel near a class boundary) and 2.4
  to 3.7x faster on realistic maps.

On a machine whose two cores are busy with other jobs, two intra-op threads that spin while waiting for
each other made the compact network 5-10x slower than one thread; the studio's passive OpenMP wait and
thread policy (:mod:`ganpaint.inference.device`) avoid that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ganpaint.engines.base import Engine, ProgressCallback
from ganpaint.errors import EngineError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import SynthesisRequest
    from ganpaint.labelsets import LabelSet

#: Pixels around the edited region that are regenerated too (and feathered), in pixels.
PASTE_BAND = 8
#: Minimum context margin of a photo-edit crop, in pixels, and its share of the region's size.
MIN_MARGIN = 32
MARGIN_RATIO = 0.5
#: Share of the photo's colour cast (beyond brightness) transferred to the generated content.
CHROMA_STRENGTH = 0.5


def resize_labels(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of a ``uint8 (H, W)`` label map (pixel centres, as PIL's NEAREST)."""
    h, w = labels.shape
    if (h, w) == (height, width):
        return labels
    ys = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    xs = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return labels[ys[:, None], xs[None, :]]


def resize_rgb(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize (antialiased when shrinking) of ``uint8 (H, W, 3)`` with Pillow."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return np.array(image, copy=True)
    # reducing_gap: shrink by an integer box filter first when the scale is large (a 12 MP photo to the
    # encoder's 128 px), then bicubic; visually the same, many times faster
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.BICUBIC, reducing_gap=3.0)
    return np.array(resized, np.uint8)


def dilate(region: np.ndarray, band: int) -> np.ndarray:
    """``bool (H, W)`` region grown by ``band`` pixels (chessboard distance), computed only around the
    region's components so a small region of a huge image stays cheap."""
    from scipy.ndimage import maximum_filter

    from ganpaint.engines.inpaint import component_boxes

    if band <= 0:
        return region.copy()
    out = np.zeros_like(region, dtype=bool)
    h, w = region.shape
    for x0, y0, x1, y1 in component_boxes(region):
        bx0, by0, bx1, by1 = max(0, x0 - 2 * band), max(0, y0 - 2 * band), min(w, x1 + 2 * band), min(h, y1 + 2 * band)
        grown = maximum_filter(region[by0:by1, bx0:bx1], size=2 * band + 1, mode="constant", cval=False)
        out[by0:by1, bx0:bx1] |= grown
    return out


def match_colors(generated: np.ndarray, photo: np.ndarray, sample: np.ndarray,
                 chroma: float = CHROMA_STRENGTH) -> np.ndarray:
    """Shift the generated crop towards the photo's light and colour cast.

    With ``d`` = per-channel mean of ``photo - generated`` over the ``sample`` pixels (``bool (h, w)``: pixels
    whose labels did not change, where both show the same classes), split into its grey part ``mean(d)``
    (brightness) and the rest (colour cast), the result is ``generated + grey + chroma * (d - grey)``,
    clipped to 0..255. The whole brightness difference is corrected, only ``chroma`` of the cast: a cast
    measured on one class (a grey sky) would otherwise repaint a new class (a green tree) too. No contrast
    gain is applied for the same reason. ``generated``: ``float32 (h, w, 3)`` in 0..255; ``photo``: ``uint8
    (h, w, 3)``. Returned unchanged when fewer than 16 pixels are sampled.
    """
    if int(sample.sum()) < 16:
        return generated
    diff = photo[sample].astype(np.float32).mean(0) - generated[sample].mean(0)
    grey = float(diff.mean())
    return np.clip(generated + (grey + chroma * (diff - grey)), 0.0, 255.0)


#: ``config_limits`` of SPADE-decoder cards (:class:`SynthesisEngine`, and the semantic photo editor's).
SPADE_CONFIG_LIMITS = {"options.label_nc": (1, 255), "options.ngf": (1, 128), "options.crop_size": (8, 2048),
                       "options.aspect_ratio": (0.1, 10), "options.z_dim": (1, 1024),
                       "options.spade_hidden": (1, 256), "options.ngf_E": (0, 128), "options.ndf": (1, 128),
                       "options.n_layers_D": (1, 8), "options.num_D": (1, 4), "paste_band": (0, 256),
                       "feather": (0, 256), "margin": (0, 4096), "margin_ratio": (0, 8)}

class SynthesisEngine(Engine):
    """Serves ``SynthesisRequest`` with a SPADE generator (see the module docstring).

    Model-card ``config``: ``options`` (the generator's :class:`~ganpaint.nets.spade.SPADEOptions`),
    ``has_encoder``, and optional engine settings ``paste_band`` (8 px), ``feather`` (= paste_band),
    ``margin`` (32 px), ``margin_ratio`` (0.5), ``color_match`` (true), ``photo_editor`` (the name of the
    label set's ``semantic-edit`` model) and ``use_photo_editor`` (true).
    """

    task = "synthesize"
    architectures = ("spade",)
    supports_half = True
    config_limits = SPADE_CONFIG_LIMITS

    def __init__(self, card) -> None:
        super().__init__(card)
        from ganpaint.engines.spade_import import options_from_card

        self.opt = options_from_card(card)
        cfg = dict(card.config or {})
        self.has_encoder = bool(cfg.get("has_encoder", self.opt.use_vae)) and self.opt.use_vae
        self.paste_band = int(cfg.get("paste_band", PASTE_BAND))
        self.feather = float(cfg.get("feather", self.paste_band))
        self.margin = int(cfg.get("margin", MIN_MARGIN))
        self.margin_ratio = float(cfg.get("margin_ratio", MARGIN_RATIO))
        self.color_match = bool(cfg.get("color_match", True))
        self.resolution = int(card.resolution)
        self.use_photo_editor = bool(cfg.get("use_photo_editor", True))
        self.net = None
        self.encoder = None
        self.editor = None  # the label set's SemanticEditEngine, which serves photo edits when installed
        self.last_crops: list = []
        self._style_cache: Optional[tuple] = None  # (fingerprint of the last style image, its code)

    # ------------------------------------------------------------------------------------ loading

    def load(self, device: "torch.device", half: bool = False) -> None:
        import torch

        from ganpaint.engines.registry import load_frozen_network, load_state_dict
        from ganpaint.engines.spade_import import check_state_dict, expected_shapes, split_state
        from ganpaint.nets.spade import ConvEncoder, SPADEGenerator
        from ganpaint.nets.spade_fast import FastSPADEGenerator, fast_encoder

        device = torch.device(device)
        if self.net is None:
            state = {k: v.float() if v.is_floating_point() else v for k, v in load_state_dict(self.card).items()}
            gen_state, enc_state = split_state(state)
            if not self.has_encoder:
                enc_state = {}
            check_state_dict(gen_state, expected_shapes(self.opt),
                             f"weights of model '{self.card.name}' and its SPADE configuration")
            with torch.device("meta"):  # no init work or memory for the 96 M-parameter official model
                generator = SPADEGenerator(self.opt)
            generator.load_state_dict(gen_state, strict=True, assign=True)
            self.net = FastSPADEGenerator.from_generator(generator.eval(), copy_weights=False)
            if self.has_encoder:
                if not enc_state:
                    raise ModelError(f"model '{self.card.name}' says it has a style encoder but its weights hold none")
                encoder = load_frozen_network(ConvEncoder(self.opt), self.card, enc_state)
                self.encoder = fast_encoder(encoder)
        half = bool(half) and device.type == "cuda"
        dtype = torch.float16 if half else torch.float32
        self.net = self.net.to(device=device, dtype=dtype)
        if self.encoder is not None:
            self.encoder = self.encoder.to(device=device, dtype=dtype)
        self.device, self.half = device, half
        self._style_cache = None
        self._load_photo_editor(device, half)

    def _load_photo_editor(self, device: "torch.device", half: bool) -> None:
        """Load (or move) the label set's semantic photo editor, found through :attr:`registry` with
        :func:`~ganpaint.engines.semantic_edit.find_photo_editor_card`; without a registry, with
        ``use_photo_editor`` off, or when none is installed, photo edits use this SPADE model."""
        if self.editor is None:
            if not self.use_photo_editor or self.registry is None:
                return
            from ganpaint.engines.semantic_edit import SemanticEditEngine, find_photo_editor_card

            card = find_photo_editor_card(self.registry, self.card)
            if card is None or not card.weights_path.is_file():
                return
            self.editor = SemanticEditEngine(card)
        self.editor.load(device, half)

    # ------------------------------------------------------------------------------------ helpers

    @property
    def dtype(self) -> "torch.dtype":
        import torch

        return torch.float16 if self.half else torch.float32

    def style_code(self, request: "SynthesisRequest") -> "torch.Tensor | None":
        """``(1, z_dim)`` style code (see the module docstring), or None for models without a VAE."""
        import zlib

        import torch

        if not self.opt.use_vae:
            return None
        reference = request.style if request.style is not None else request.photo
        if self.encoder is not None and reference is not None:
            # crc32 of every pixel (no copy for the requests' C-contiguous frozen arrays): a few ms for 12 MP
            key = (reference.shape, zlib.crc32(memoryview(np.ascontiguousarray(reference)).cast("B")),
                   str(self.device), self.half)
            if self._style_cache is not None and self._style_cache[0] == key:
                return self._style_cache[1]  # the same photo as the previous edit
            size = self.encoder.input_size
            small = resize_rgb(reference, size, size)
            x = torch.from_numpy(small).to(self.device).permute(2, 0, 1)[None].to(self.dtype).div(127.5).sub(1.0)
            with torch.inference_mode():
                mu, _ = self.encoder(x)
            self._style_cache = (key, mu)
            return mu
        gen = torch.Generator().manual_seed(int(request.seed) & 0xFFFF_FFFF_FFFF)
        return torch.randn(1, self.opt.z_dim, generator=gen).to(self.device, self.dtype)

    def stages(self) -> list[tuple["torch.nn.Module", float]]:
        """The generator's residual blocks in run order with the relative number of pixels each works
        on (x4 after every upsampling), for :func:`~ganpaint.engines.progress.stage_progress`."""
        stages, scale = [], 1.0
        for name in self.net.names:
            if self.net._ups[name]:
                scale *= 4.0
            stages.append((self.net.blocks[name], scale))
        return stages

    def generate(self, labels: np.ndarray, z: "torch.Tensor | None", progress: Optional[ProgressCallback] = None,
                 span: tuple[float, float] = (0.0, 1.0), cancel: "Optional[CancelToken]" = None) -> np.ndarray:
        """Run the network on a ``uint8 (h, w)`` label map whose sides are multiples of ``2**stages``;
        returns ``float32 (h, w, 3)`` in 0..255. With ``progress``, each residual block reports the
        fraction done within ``span`` and checks ``cancel`` (raising ``Cancelled``)."""
        import contextlib

        import torch

        from ganpaint.engines.progress import stage_progress

        watch = (stage_progress(self.stages(), progress, span[0], span[1], cancel) if progress is not None
                 else contextlib.nullcontext())
        with torch.inference_mode(), watch:
            lab = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)).to(self.device)[None]
            y = self.net(lab, z).float()
            return y[0].clamp_(-1.0, 1.0).add_(1.0).mul_(127.5).permute(1, 2, 0).contiguous().cpu().numpy()

    def _check(self, request: "SynthesisRequest") -> np.ndarray:
        if self.net is None:
            raise EngineError("the synthesis engine was used before its model was loaded")
        labels = request.labels
        check_label_map(labels, self.opt.num_labels, self.card.name)
        for name in ("photo", "style"):
            img = getattr(request, name)
            if img is not None and (not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3
                                    or img.shape[2] != 3 or 0 in img.shape):
                raise EngineError(f"the {name} must be an RGB uint8 (H, W, 3) image")
        if request.photo is not None and request.photo.shape[:2] != labels.shape:
            raise EngineError("the photo and the label map must have the same size")
        if request.region is not None and request.region.shape != labels.shape:
            raise EngineError("the region and the label map must have the same size")
        return labels

    # ---------------------------------------------------------------------------------------- run

    def run(self, request: "SynthesisRequest", cancel: "CancelToken", progress: ProgressCallback) -> np.ndarray:
        """Blank-canvas or photo-edit synthesis; returns ``uint8 (H, W, 3)`` at the label map's size.

        Raises:
            Cancelled: ``cancel`` was set (checked before and after each network run).
            EngineError: not loaded, bad arrays, or label ids outside the model's classes.
        """
        from ganpaint.nets.spade import snap_size

        labels = self._check(request)
        cancel.raise_if_cancelled()
        if request.photo is not None and self.editor is not None:
            self.last_generator = self.editor.card.name
            return self.editor.edit(request.photo, labels, request.region, cancel, progress,
                                    exemplar=request.exemplar)
        self.last_generator = self.card.name
        z = self.style_code(request)
        if request.photo is None:
            h, w = labels.shape
            nh, nw = snap_size(h, w, self.resolution, self.opt.size_multiple)
            rgb = self.generate(resize_labels(labels, nh, nw), z, progress, (0.0, 0.98), cancel)
            cancel.raise_if_cancelled()
            out = resize_rgb(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), h, w)
            progress(1.0, None)
            return out
        return self._edit_photo(request, labels, z, cancel, progress)

    def _edit_photo(self, request: "SynthesisRequest", labels: np.ndarray, z, cancel: "CancelToken",
                    progress: ProgressCallback) -> np.ndarray:
        photo = request.photo
        region = np.ones(labels.shape, bool) if request.region is None else np.asarray(request.region, bool)

        def paint(box, hole, size, padded, span):
            x0, y0, x1, y1 = box
            small = np.pad(resize_labels(labels[y0:y1, x0:x1], *size),
                           ((0, padded[0] - size[0]), (0, padded[1] - size[1])), mode="edge")
            rgb = self.generate(small, z, progress, span, cancel)[:size[0], :size[1]]
            if size != (y1 - y0, x1 - x0):
                rgb = resize_rgb(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), y1 - y0, x1 - x0).astype(np.float32)
            if self.color_match:
                rgb = match_colors(rgb, photo[y0:y1, x0:x1], ~region[y0:y1, x0:x1])
            return rgb

        out, self.last_crops = edit_in_crops(photo, region, paint, self.paste_band, self.feather, self.margin,
                                             self.margin_ratio, self.resolution, self.opt.size_multiple, cancel,
                                             progress)
        return out


def edit_in_crops(photo: np.ndarray, region: np.ndarray, paint, band: int, feather: float, margin: int,
                  margin_ratio: float, resolution: int, multiple: int, cancel: "CancelToken",
                  progress: ProgressCallback) -> tuple[np.ndarray, list]:
    """The crop loop of a photo edit, shared by the SPADE path and the semantic photo editor.

    The region grown by ``band`` px is covered by crops (:func:`plan_edit`); for each crop ``box``,
    ``paint(box, hole, (sh, sw), (ph, pw), span)`` returns ``float32 (h, w, 3)`` in 0..255 for the whole crop,
    where ``hole`` is the grown region inside the crop (``bool (h, w)``), ``(sh, sw)`` is the crop's network
    size (longer side at most ``resolution``, never enlarged), ``(ph, pw)`` that size padded up to a multiple
    of ``multiple`` (:func:`ganpaint.engines.inpaint.working_size`) and ``span`` the ``(start, end)``
    fractions of the whole edit this crop's network run covers (for in-network progress).
    It is pasted with :func:`ganpaint.engines.inpaint.feather_weights` of the grown region (ramp of
    ``feather`` px): pixels outside region + band are never written (bit-exact). ``cancel`` is checked
    around every crop and ``progress`` called after each (with the picture so far while crops remain).

    Returns ``(uint8 (H, W, 3) picture, crops)``.
    """
    from ganpaint.engines.inpaint import feather_weights, paste, working_size

    out = np.array(photo, copy=True, order="C")
    grown, crops = plan_edit(region, band, margin, margin_ratio)
    for i, crop in enumerate(crops):
        cancel.raise_if_cancelled()
        x0, y0, x1, y1 = crop.box
        sh, sw, ph, pw = working_size(y1 - y0, x1 - x0, resolution, multiple)
        hole = grown[y0:y1, x0:x1]
        rgb = paint(crop.box, hole, (sh, sw), (ph, pw), (i / len(crops), (i + 0.95) / len(crops)))
        cancel.raise_if_cancelled()
        paste(out, crop.box, rgb, feather_weights(hole, feather))
        # stream the picture with the crops done so far while more remain (the worker copies it)
        progress((i + 1) / len(crops), out if i + 1 < len(crops) else None)
    if not crops:
        progress(1.0, None)
    return out, crops


def check_label_map(labels, num_labels: int, model: str) -> None:
    """Raise :class:`~ganpaint.errors.EngineError` unless ``labels`` is a non-empty ``uint8 (H, W)`` array of ids
    below ``num_labels`` (the classes of model ``model``)."""
    if not isinstance(labels, np.ndarray) or labels.dtype != np.uint8 or labels.ndim != 2 or 0 in labels.shape:
        raise EngineError("the label map must be a non-empty uint8 (H, W) array of class ids")
    top = int(labels.max())
    if top >= num_labels:
        raise EngineError(f"label id {top} is not a class of model '{model}' (ids 0..{num_labels - 1})")


def plan_edit(region: np.ndarray, band: int, margin: int, margin_ratio: float) -> tuple[np.ndarray, list]:
    """Where a photo edit works: ``(grown, crops)``.

    ``grown`` (``bool (H, W)``) is ``region`` dilated by ``band`` pixels (the pixels that are repainted and
    feathered); ``crops`` the :class:`ganpaint.engines.inpaint.Crop` s that cover it with context margins
    (:func:`ganpaint.engines.inpaint.plan_crops`: ``max(margin, margin_ratio * side)`` per side, overlapping
    crops merged), in image coordinates. Planning happens inside a window around the region's bounding
    box, wide enough for the band and any margin, so the crops are those of the whole image while a small
    edit of a huge photo scans only its window. An empty region gives no crops.
    """
    import math

    from ganpaint.engines.inpaint import Crop, plan_crops

    grown = np.zeros(region.shape, bool)
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return grown, []
    side = max(rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]) + 2 * band
    pad = band + max(margin, int(math.ceil(margin_ratio * side))) + 1
    h, w = region.shape
    wy0, wx0 = max(0, int(rows[0]) - pad), max(0, int(cols[0]) - pad)
    wy1, wx1 = min(h, int(rows[-1]) + 1 + pad), min(w, int(cols[-1]) + 1 + pad)
    grown[wy0:wy1, wx0:wx1] = dilate(region[wy0:wy1, wx0:wx1], band)
    crops = [Crop(box=(c.box[0] + wx0, c.box[1] + wy0, c.box[2] + wx0, c.box[3] + wy0),
                  hole_box=(c.hole_box[0] + wx0, c.hole_box[1] + wy0, c.hole_box[2] + wx0, c.hole_box[3] + wy0))
             for c in plan_crops(grown[wy0:wy1, wx0:wx1], margin, margin_ratio)]
    return grown, crops


def labelset_of(card) -> "LabelSet":
    """The :class:`~ganpaint.labelsets.LabelSet` of a synthesis card (its ``labels``; colours ``[r, g, b]`` or
    ``"#rrggbb"``), named after the model.

    Raises:
        ModelError: the card lists no labels.
    """
    from ganpaint.engines.segment import labelset_from_card

    return labelset_from_card(card)


def label_names(labels) -> set[tuple[int, str]]:
    """``{(id, name)}`` of a card's ``labels`` with names lower-cased and ``_`` read as a space, to compare
    label sets."""
    return {(int(e["id"]), str(e["name"]).strip().lower().replace("_", " ")) for e in labels or []}


def find_segmenter_card(registry, card):
    """The segmentation model for a synthesis model's label set: the card's ``config["segmenter"]`` if that
    model is installed, else the registry's first ``segment`` model (by name, weights present first) whose
    every label (id and name, case and ``_``/space ignored) is one of ``card``'s labels; None if there is none."""
    wanted = (card.config or {}).get("segmenter")
    if wanted and wanted in registry.names():
        found = registry.get(wanted)
        if found.task == "segment":
            return found
    ours = label_names(card.labels)
    candidates = [c for c in registry.cards("segment") if c.labels and label_names(c.labels) <= ours]
    candidates.sort(key=lambda c: (not c.weights_path.is_file(), c.name))
    return candidates[0] if candidates else None


def bench_request(model: str, width: int, height: int, region: Optional[tuple[int, int, int, int]] = None,
                  seed: int = 0) -> "SynthesisRequest":
    """A benchmark request (:func:`ganpaint.bench.bench_cases`): a scene label map of ids 0 (top), 2 (bottom)
    and 1 (an ellipse), valid for any model with at least 3 classes. With ``region`` ``(x0, y0, x1, y1)``: a
    photo-edit request on a synthetic photo where an ellipse filling that box was relabelled (id 1), and
    the region is exactly the relabelled pixels."""
    from ganpaint.inference.requests import SynthesisRequest

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    labels = np.where(yy < height * 0.45, 0, 2).astype(np.uint8)
    cx, cy, r = width * 0.3, height * 0.6, min(width, height) * 0.15
    labels[((xx - cx) ** 2 + (yy - cy) ** 2) < r * r] = 1
    if region is None:
        return SynthesisRequest.snapshot(0, labels, model, seed)
    photo = np.stack([xx * (255.0 / width), yy * (255.0 / height), np.full(xx.shape, 128.0)], axis=-1)
    photo = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    x0, y0, x1, y1 = region
    ex, ey, ax, ay = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    changed = ((xx - ex) / ax) ** 2 + ((yy - ey) / ay) ** 2 < 1.0
    changed &= labels != 1
    labels[changed] = 1
    return SynthesisRequest.snapshot(0, labels, model, seed, photo=photo, region=changed)


def synthesize_array(engine: SynthesisEngine, labels: np.ndarray, seed: int = 0, style: Optional[np.ndarray] = None,
                     photo: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None) -> np.ndarray:
    """Convenience for scripts, the CLI and evaluation: run ``engine`` on arrays without a worker."""
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import SynthesisRequest

    request = SynthesisRequest.snapshot(0, labels, engine.card.name, seed, style=style, photo=photo, region=region)
    return engine.run(request, CancelToken(), lambda f, p: None)


__all__ = [
    "PASTE_BAND", "SynthesisEngine", "bench_request", "check_label_map", "dilate", "find_segmenter_card", "label_names", "labelset_of",
    "edit_in_crops", "match_colors", "plan_edit", "resize_labels", "resize_rgb", "synthesize_array",
]
