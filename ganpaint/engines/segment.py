"""Semantic segmentation engine: photo -> label map of class ids (``compact-segmenter`` models).

Pipeline of :meth:`Segmenter.segment` (also used by the trainer's validation, so the reported metrics
measure exactly what the app does):

1. the photo is resized (Pillow, bilinear with antialiasing) so its **short side** is the model's
   ``resolution`` (from the card), keeping the aspect ratio; the long side is capped at
   ``MAX_ASPECT * resolution`` (extreme panoramas then run a little smaller). Very large photos are
   therefore always downscaled first, and the network never sees more than a few hundred pixels a side;
2. the network returns logits at that working size; channels whose id is not a class of the model's
   label set are set to :data:`MASKED_LOGIT` (they can never win);
3. the logits are upsampled **bilinearly to the photo's full size before the argmax**, which gives
   ``uint8 (H, W)`` class ids. For big photos only the pixels near class boundaries are interpolated
   (:func:`upsample_argmax`; same result), so a 12-megapixel photo never needs a ``C x H x W`` float
   buffer.

Model cards of this engine have ``task: "segment"``, ``architecture: "compact-segmenter"``,
``resolution`` (working short side, pixels), ``labels`` (the predicted classes, ids index the logit
channels) and ``config`` (the network's hyperparameters, see
:class:`ganpaint.nets.segmenter.CompactSegmenter`; ``num_classes`` is required, ``label_set`` names the
label set and ``ignore_index`` records the don't-care id of the training data, if any).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np

from ganpaint.engines.base import Engine, ProgressCallback
from ganpaint.engines.progress import stage_progress
from ganpaint.errors import EngineError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.engines.registry import ModelCard, ModelRegistry
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import SegmentRequest
    from ganpaint.labelsets import LabelSet

ARCHITECTURE = "compact-segmenter"

#: The working size's long side is at most this many times ``resolution``.
MAX_ASPECT = 4
#: Logit given to channels whose id is not a class of the label set (never wins an argmax).
MASKED_LOGIT = -1e9
#: Largest number of float elements (channels x rows x width) upsampled at once.
BAND_ELEMENTS = 1 << 23


# ----------------------------------------------------------------------------------- geometry


def working_size(height: int, width: int, resolution: int, max_aspect: float = MAX_ASPECT) -> tuple[int, int]:
    """``(h, w)`` the network runs at for a ``height x width`` photo: short side ``resolution``, aspect
    kept (rounded), long side at most ``max_aspect * resolution``; both at least 1."""
    if height < 1 or width < 1:
        raise ValueError(f"empty image {width}x{height}")
    scale = resolution / min(height, width)
    scale = min(scale, max_aspect * resolution / max(height, width))
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def resize_rgb(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """``uint8 (H, W, 3)`` -> ``uint8 (height, width, 3)`` with Pillow's antialiased bilinear filter
    (the input itself when the size already matches)."""
    if rgb.shape[:2] == (height, width):
        return rgb
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb))
    return np.asarray(img.resize((width, height), Image.BILINEAR, reducing_gap=3.0))


def _source_index(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's bilinear (``align_corners=False``) source taps for one axis: ``(i0, i1, lam)`` with
    ``value = (1 - lam) * v[i0] + lam * v[i1]`` for each of the ``out_size`` output positions."""
    src = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    lam = (src - i0).astype(np.float32)
    return i0, i1, lam


def upsample_argmax(logits: "torch.Tensor", height: int, width: int, band_elements: int = BAND_ELEMENTS) -> np.ndarray:
    """Argmax over channels of ``logits`` bilinearly upsampled (``align_corners=False``) to
    ``height x width``, without materialising the upsampled logits of a big photo.

    Small outputs (``C * height * width <= band_elements``) use one ``F.interpolate``. Otherwise: a
    bilinear value is a convex combination of its 4 source pixels, so where those 4 share one argmax
    class the upsampled argmax is that class too (ties aside). Only output pixels whose 4 sources
    disagree (near class boundaries) get their logits interpolated, ``band_elements // C`` pixels at a
    time; every other pixel copies its source's class. The result equals the argmax of one full-size
    ``F.interpolate`` (up to exact ties), at a fraction of its time and memory.

    Args:
        logits: ``float (C, h, w)`` on any device, ``C <= 256``.
        height, width: output size.
        band_elements: most float elements interpolated at once.

    Returns:
        ``uint8 (height, width)`` channel indices.
    """
    import torch
    import torch.nn.functional as F

    c, h, w = logits.shape
    logits = logits.detach().float()
    if (h, w) == (height, width):
        return logits.argmax(0).to(torch.uint8).cpu().numpy()
    if c * height * width <= band_elements:
        up = F.interpolate(logits[None], size=(height, width), mode="bilinear", align_corners=False)[0]
        return up.argmax(0).to(torch.uint8).cpu().numpy()
    values = logits.cpu().numpy()  # (C, h, w), small
    low = values.argmax(0).astype(np.uint8)
    edge = np.pad(low, ((0, 1), (0, 1)), mode="edge")
    mixed = (edge[:-1, :-1] != edge[1:, :-1]) | (edge[:-1, :-1] != edge[:-1, 1:]) | (edge[:-1, :-1] != edge[1:, 1:])
    y0, y1, ly = _source_index(height, h)
    x0, x1, lx = _source_index(width, w)
    out = np.empty((height, width), np.uint8)
    rows = max(1, (1 << 22) // max(1, width))  # bound the temporaries of the gathers below
    chunk = max(1, band_elements // max(1, c))
    flat = np.ascontiguousarray(values.reshape(c, h * w).T)  # (h * w, C): one source pixel per row
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        band_y0 = y0[r0:r1]
        out[r0:r1] = np.take(np.take(low, band_y0, axis=0), x0, axis=1)
        ys, xs = np.nonzero(np.take(np.take(mixed, band_y0, axis=0), x0, axis=1))
        for k in range(0, ys.size, chunk):
            yy, xx = ys[k:k + chunk] + r0, xs[k:k + chunk]
            a0, a1, b0, b1 = y0[yy] * w, y1[yy] * w, x0[xx], x1[xx]
            wy, wx = ly[yy][:, None], lx[xx][:, None]
            top = flat[a0 + b0] * (1.0 - wx) + flat[a0 + b1] * wx
            bottom = flat[a1 + b0] * (1.0 - wx) + flat[a1 + b1] * wx
            out[yy, xx] = (top * (1.0 - wy) + bottom * wy).argmax(1)
    return out


# ------------------------------------------------------------------------------------- labels


def _rgb(color: Union[str, Sequence[int]]) -> tuple[int, int, int]:
    if isinstance(color, str):
        text = color.lstrip("#")
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    r, g, b = (int(c) for c in color)
    return r, g, b


def labelset_from_card(card: "ModelCard") -> "LabelSet":
    """The label set a segmentation card predicts (``labels`` of the card; colours ``[r, g, b]`` or
    ``"#rrggbb"``), named ``config["label_set"]`` or the model's name.

    Raises:
        ModelError: the card has no labels.
    """
    from ganpaint.labelsets import Label, LabelSet

    if not card.labels:
        raise ModelError(f"model card '{card.card_path}' of segmentation model '{card.name}' lists no labels")
    name = str((card.config or {}).get("label_set", card.name))
    labels = tuple(Label(int(e["id"]), str(e["name"]), _rgb(e["color"])) for e in card.labels)
    return LabelSet(name, labels)


# ---------------------------------------------------------------------------------- segmenter


class Segmenter:
    """A loaded segmentation network with its label set, ready to label photos.

    Attributes:
        card: the model card.
        net: the :class:`~ganpaint.nets.segmenter.CompactSegmenter` (eval mode, no gradients).
        labelset: the classes the model predicts (ids are logit channels).
        resolution: working short side in pixels.
        device, half: where and in which precision the network runs.
    """

    def __init__(self, card: "ModelCard", net: "torch.nn.Module", labelset: "LabelSet", resolution: int,
                 device: "torch.device", half: bool = False) -> None:
        import torch

        self.card = card
        self.net = net
        self.labelset = labelset
        self.resolution = int(resolution)
        self.device = torch.device(device)
        self.half = bool(half)
        self.num_classes = int(net.num_classes)
        valid = torch.zeros(self.num_classes, dtype=torch.bool)
        for label in labelset.labels:
            if 0 <= label.id < self.num_classes:
                valid[label.id] = True
        self._invalid = ~valid

    @property
    def dtype(self) -> "torch.dtype":
        import torch

        return torch.float16 if self.half else torch.float32

    def to(self, device: "torch.device | str", half: bool = False) -> "Segmenter":
        """Move the network (fp16 only on CUDA); returns ``self``."""
        import torch

        device = torch.device(device)
        self.half = bool(half) and device.type == "cuda"
        self.net = self.net.to(device=device, dtype=self.dtype)
        self.device = device
        return self

    def logits(self, rgb: np.ndarray) -> "torch.Tensor":
        """Logits ``float32 (C, h, w)`` at the working size (:func:`working_size`) of ``rgb``
        (``uint8 (H, W, 3)``); channels of ids outside the label set are :data:`MASKED_LOGIT`."""
        import torch

        _check_rgb(rgb)
        h, w = working_size(rgb.shape[0], rgb.shape[1], self.resolution)
        small = resize_rgb(rgb, h, w)
        with torch.inference_mode():
            x = torch.from_numpy(np.array(small, dtype=np.uint8)).to(self.device).permute(2, 0, 1)[None].contiguous()
            x = x.to(self.dtype).div_(127.5).sub_(1.0)
            out = self.net(x)[0].float()
            if bool(self._invalid.any()):
                # a large finite value, not -inf: bilinear weights of 0 times -inf would give NaN
                out[self._invalid.to(out.device)] = MASKED_LOGIT
        return out

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """Label a photo.

        Args:
            rgb: ``uint8 (H, W, 3)`` photo (read-only arrays are fine), any size.

        Returns:
            ``uint8 (H, W)`` class ids, each an id of :attr:`labelset`.

        Raises:
            EngineError: ``rgb`` is not an RGB ``uint8`` image.
        """
        import torch

        logits = self.logits(rgb)
        with torch.inference_mode():
            return upsample_argmax(logits, rgb.shape[0], rgb.shape[1])

    def features(self, batch: "torch.Tensor") -> "torch.Tensor":
        """Pooled deepest features for a Frechet distance.

        Args:
            batch: ``float (N, 3, H, W)`` in ``[-1, 1]`` (on any device; moved to the engine's).

        Returns:
            ``float32 (N, D)`` on the engine's device, ``D`` = the network's ``feature_dim``
            (:meth:`ganpaint.nets.segmenter.CompactSegmenter.features`). No resizing is done: feed
            every batch at the same size (a multiple of 32) for comparable statistics.
        """
        import torch

        if not isinstance(batch, torch.Tensor) or batch.dim() != 4 or batch.shape[1] != 3:
            raise EngineError(f"features() expects a float (N, 3, H, W) tensor, got {getattr(batch, 'shape', type(batch))}")
        with torch.inference_mode():
            return self.net.features(batch.to(device=self.device, dtype=self.dtype).contiguous()).float()


def _check_rgb(rgb: object) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 \
            or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise EngineError("the photo to segment must be an RGB uint8 (H, W, 3) array")


def build_segmenter_from_card(card: "ModelCard", state: Optional[dict] = None) -> Segmenter:
    """Build (on the CPU, fp32) the network of ``card`` and load ``state`` (default: the card's
    verified weights).

    Raises:
        ModelError: wrong task or architecture, no labels, invalid config, missing/corrupt/mismatching
            weights, or weights that do not fit the architecture.
    """
    import torch

    from ganpaint.engines.registry import load_frozen_network, load_state_dict
    from ganpaint.nets.segmenter import build_segmenter

    if card.task != "segment":
        raise ModelError(f"model '{card.name}' is a '{card.task}' model, not a segmentation model")
    if card.architecture != ARCHITECTURE:
        raise ModelError(f"model '{card.name}' has architecture '{card.architecture}', not '{ARCHITECTURE}'")
    labelset = labelset_from_card(card)
    if state is None:
        state = load_state_dict(card)  # sha256-verified before any network is built
    try:
        net = build_segmenter(dict(card.config or {}))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model card '{card.card_path}' has an invalid segmenter config ({exc})") from exc
    too_big = [label.id for label in labelset.labels if label.id >= net.num_classes]
    if too_big:
        raise ModelError(f"model card '{card.card_path}' lists label ids {too_big} but the network has only "
                         f"{net.num_classes} classes")
    load_frozen_network(net, card, state)
    return Segmenter(card, net, labelset, card.resolution, torch.device("cpu"))


def load_segmenter(card_or_name: Union["ModelCard", str], device: "torch.device | str" = "cpu",
                   registry: Optional["ModelRegistry"] = None, half: bool = False) -> Segmenter:
    """Load a segmentation model for scripts, evaluation and other engines.

    Args:
        card_or_name: a :class:`~ganpaint.engines.registry.ModelCard` or a model name looked up in
            ``registry`` (default: :meth:`ModelRegistry.default`).
        device: torch device (``"cpu"``, ``"cuda"``...).
        half: fp16 weights (CUDA only; ignored elsewhere).

    Raises:
        ModelError: unknown model, not a segmentation model, bad weights (see
            :func:`build_segmenter_from_card`).
    """
    from ganpaint.engines.registry import ModelCard, ModelRegistry

    if isinstance(card_or_name, ModelCard):
        card = card_or_name
    else:
        card = (registry or ModelRegistry.default()).get(str(card_or_name))
    return build_segmenter_from_card(card).to(device, half)


# ------------------------------------------------------------------------------------- engine


class SegmentEngine(Engine):
    """Serves :class:`~ganpaint.inference.requests.SegmentRequest`: returns ``uint8 (H, W)`` class ids
    at the request image's size (see the module docstring)."""

    task = "segment"
    architectures = (ARCHITECTURE,)
    supports_half = True
    config_limits = {"num_classes": (1, 256), "channels": (1, 512), "blocks": (1, 16), "separable_from": (0, 5),
                     "decoder_channels": (1, 512), "dropout": (0, 1)}

    def __init__(self, card: "ModelCard") -> None:
        super().__init__(card)
        self.segmenter: Optional[Segmenter] = None

    @property
    def labelset(self) -> "LabelSet":
        """The classes this engine predicts (available before :meth:`load`)."""
        return labelset_from_card(self.card)

    def load(self, device: "torch.device", half: bool = False) -> None:
        import torch

        device = torch.device(device)
        if self.segmenter is None:
            self.segmenter = build_segmenter_from_card(self.card)
        self.segmenter.to(device, half)
        self.device = device
        self.half = self.segmenter.half

    def run(self, request: "SegmentRequest", cancel: "CancelToken", progress: ProgressCallback) -> np.ndarray:
        """Label ``request.image``; returns a new ``uint8 (H, W)`` label map.

        Raises:
            Cancelled: ``cancel`` was set (checked before, inside, after the network).
            EngineError: not loaded, or the image is not RGB ``uint8 (H, W, 3)``.
        """
        if self.segmenter is None:
            raise EngineError("the segmentation engine was used before its model was loaded")
        _check_rgb(request.image)
        cancel.raise_if_cancelled()
        net = self.segmenter.net
        # the encoder's stages in run order; each halves the side, so it works on a quarter of the pixels
        stages = [(net.stem, 1.0)] + [(stage, 4.0 ** -(i + 1)) for i, stage in enumerate(net.stages)] + [(net.context, 4.0 ** -4)]
        with stage_progress(stages, progress, 0.0, 0.8, cancel):
            logits = self.segmenter.logits(request.image)
        cancel.raise_if_cancelled()
        out = upsample_argmax(logits, request.image.shape[0], request.image.shape[1])
        progress(1.0, None)
        return out


def segment_array(engine: Union[SegmentEngine, Segmenter], image: np.ndarray) -> np.ndarray:
    """Convenience for scripts: label ``image`` (``uint8 (H, W, 3)``) with a loaded engine or segmenter."""
    if isinstance(engine, SegmentEngine):
        if engine.segmenter is None:
            raise EngineError("the segmentation engine was used before its model was loaded")
        engine = engine.segmenter
    return engine.segment(image)


__all__: Sequence[str] = (
    "ARCHITECTURE", "SegmentEngine", "Segmenter", "build_segmenter_from_card", "labelset_from_card",
    "load_segmenter", "resize_rgb", "segment_array", "upsample_argmax", "working_size",
)
