"""Colorization engine: user-guided colorization of photos and line art (Zhang et al., SIGGRAPH 2017).

Serves model cards of architecture ``lite-siggraph17`` (the studio's compact networks) and ``siggraph17`` (the
paper's network, imported with ``ganpaint models import CKPT --arch siggraph17``). Card ``config``::

    {"mode": "photo" | "lineart", "mask_center": 0 | 0.5, "net": {LiteSIGGRAPHGenerator kwargs},
     "pin_hints": bool (photo), "default": bool (the colorization model used when none is named),
     "guided_radius": float (photo, default 1/16; 0: plain bilinear), "guided_eps": float (photo, default 25),
     "auto_strength": float (photo, default 1: the share of the network's unhinted colours kept)}

Pipeline of :meth:`ColorizeEngine.run` for a :class:`~ganpaint.inference.requests.ColorizeRequest`:

1. The image is converted to Lab once and cached (the key is the pixels' CRC). The network works at its own
   resolution: the long side is the card's ``resolution`` (256), both sides multiples of the network's
   ``size_multiple`` (:func:`work_size`); L is resized with area averaging.
2. Hints are rasterised at that resolution (:func:`rasterize_hints`: discs and round-capped strokes, later hints
   over earlier ones) into the paper's inputs: ``(L - 50) / 100``, ``ab / 110`` and the hint mask (minus the
   card's ``mask_center``); line-art models also get the hints' L. A palette or reference image becomes the
   global hint, an ab histogram over the 529 bins (:func:`global_histogram`).
3. *Photo* models: colours that no hint asked for are scaled by the card's ``auto_strength``
   (:meth:`ColorizeEngine._temper`: a wrong guess costs more than grey); with the card's ``config.pin_hints``
   (the studio's models) the hints' colours are made exact where they are (:func:`pin_hints`, a
   joint-bilateral splat of the residual); the predicted ab is put on the **full-resolution L** of the input,
   so detail and edges are the original's: upsampled with a fast guided filter (:func:`guided_upsample`,
   guided by L, so colour boundaries follow the photo's edges instead of the network's coarse grid; plain
   bilinear with ``guided_radius`` 0). With ``recolor`` the input's own ab is kept wherever the hints do not
   change the prediction (:func:`recolor_weight`: the difference between the prediction with and without the
   local hints, the latter cached per image, :meth:`ColorizeEngine._hint_weight`), so one object changes
   colour and the rest stays as it was, bit for bit.
4. *Line-art* models: the drawing's lines are the pixels with L < 50 at full resolution and its regions the
   4-connected areas they bound (:mod:`ganpaint.engines.lineart_regions`). Each region is filled with one flat
   colour: the colour of the hint that covers most of it, else the mean of the predicted Lab over it. The
   drawing is then multiplied over the fills, so lines stay exactly as drawn (black stays black) at any size.
5. ``request.query`` points get the distribution head's suggestions (:class:`ColorSuggestions`, the 9 main
   modes of the predicted ab distribution there, found by weighted k-means as ideepcolor does), returned as
   ``EngineOutput(image, extras={"suggestions": (ColorSuggestions, ...)})``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

import cv2
import numpy as np

from ganpaint.engines.base import Engine, EngineOutput, ProgressCallback
from ganpaint.engines.lineart_regions import label_regions, line_mask, region_means
from ganpaint.errors import EngineError, ModelError
from ganpaint.lab import lab_to_rgb8, rgb8_to_lab

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import ColorizeRequest, HintSnapshot

MODES = ("photo", "lineart")
#: number of colours suggested per queried point (ideepcolor's palette shows 9).
SUGGESTIONS = 9
#: recolouring: ab change (Lab units) below which a pixel keeps its own colour, and the ramp above it.
RECOLOR_THRESHOLD, RECOLOR_RAMP = 2.0, 8.0


# ------------------------------------------------------------------------------- geometry / inputs


def work_size(height: int, width: int, resolution: int, multiple: int) -> tuple[int, int]:
    """The network's ``(h, w)`` for an image: long side ``resolution``, both sides multiples of ``multiple``."""
    scale = resolution / max(height, width)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    return h, w


def nearest_region(labels: np.ndarray, point: tuple[float, float], reach: int = 32) -> int:
    """The region label (``labels``: ``int (H, W)``, 0 on lines) nearest to ``point`` (``(x, y)`` image pixels)
    within ``reach`` pixels, so that a hint dropped on a line colours the region beside it; 0 if none."""
    h, w = labels.shape
    x, y = int(round(point[0])), int(round(point[1]))
    y0, y1, x0, x1 = max(0, y - reach), min(h, y + reach + 1), max(0, x - reach), min(w, x + reach + 1)
    ys, xs = np.nonzero(labels[y0:y1, x0:x1])
    if not len(ys):
        return 0
    k = int(np.argmin((ys + y0 - point[1]) ** 2 + (xs + x0 - point[0]) ** 2))
    return int(labels[ys[k] + y0, xs[k] + x0])


def rasterize_hints(hints: Sequence["HintSnapshot"], height: int, width: int, scale_x: float = 1.0,
                    scale_y: float = 1.0) -> np.ndarray:
    """Which hint covers each pixel of a ``height x width`` grid.

    Args:
        hints: hint snapshots in image pixels (``points``, ``radius``); a one-point hint is a disc, a longer one a
            stroke of half-width ``radius`` with round ends.
        scale_x, scale_y: grid pixels per image pixel (the grid may be the network's resolution).

    Returns:
        ``int32 (height, width)``: the index of the last hint covering each pixel, -1 where none does. A pixel is
        covered when its centre lies within ``radius`` (scaled) of the hint's point or polyline; a hint smaller
        than a grid pixel still covers the pixel under each of its points. Parts outside the grid are dropped.
    """
    index = np.full((height, width), -1, np.int32)
    scale = (scale_x + scale_y) / 2
    for i, hint in enumerate(hints):
        pts = np.array([(x * scale_x, y * scale_y) for x, y in hint.points], np.float64).reshape(-1, 2)
        r = hint.radius * scale
        segments = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
        for p0, p1 in segments:
            x0 = max(0, int(np.floor(min(p0[0], p1[0]) - r)))
            x1 = min(width, int(np.ceil(max(p0[0], p1[0]) + r)) + 1)
            y0 = max(0, int(np.floor(min(p0[1], p1[1]) - r)))
            y1 = min(height, int(np.ceil(max(p0[1], p1[1]) + r)) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            cy, cx = np.mgrid[y0:y1, x0:x1] + 0.5
            d = p1 - p0
            length2 = float(d @ d)
            t = 0.0 if length2 == 0 else np.clip(((cx - p0[0]) * d[0] + (cy - p0[1]) * d[1]) / length2, 0, 1)
            near = (cx - p0[0] - t * d[0]) ** 2 + (cy - p0[1] - t * d[1]) ** 2 <= r * r
            index[y0:y1, x0:x1][near] = i
        for px, py in pts:  # the pixel under each point, however small the hint
            cx, cy = int(np.floor(px)), int(np.floor(py))
            if 0 <= cx < width and 0 <= cy < height:
                index[cy, cx] = i
    return index


def hint_lab(hints: Sequence["HintSnapshot"]) -> np.ndarray:
    """``float32 (n, 3)``: each hint's colour in Lab."""
    if not hints:
        return np.zeros((0, 3), np.float32)
    return rgb8_to_lab(np.array([h.rgb for h in hints], np.uint8)).reshape(-1, 3)


def global_histogram(palette: Sequence[Sequence[int]] = (), reference: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """The global hint: an ab histogram over the 529 distribution bins, or None without palette and reference.

    Args:
        palette: RGB colours; each gets an equal share of the histogram (the palette wins over ``reference``).
        reference: RGB ``uint8 (h, w, 3)``; its pixels' ab (after reducing it to at most 64 px a side).

    Returns:
        ``float32 (529,)`` summing to 1, or None.
    """
    import torch

    from ganpaint.nets.colorization import AB_BINS, encode_ab_bins

    if palette:
        ab = rgb8_to_lab(np.array(palette, np.uint8))[:, 1:]
    elif reference is not None:
        h, w = reference.shape[:2]
        s = min(1.0, 64 / max(h, w))
        small = cv2.resize(np.ascontiguousarray(reference), (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA)
        ab = rgb8_to_lab(small).reshape(-1, 3)[:, 1:]
    else:
        return None
    bins = encode_ab_bins(torch.from_numpy(ab.T.copy())[None, :, :, None])[0, :, 0].numpy()
    hist = np.bincount(bins, minlength=AB_BINS).astype(np.float32)
    return hist / hist.sum()


def recolor_weight(ab_with: "torch.Tensor", ab_without: "torch.Tensor") -> "torch.Tensor":
    """How much of the network's colour to use when recolouring, ``(N, 1, h, w)`` in [0, 1]: 0 where the local
    hints change the predicted ab by less than :data:`RECOLOR_THRESHOLD`, ramping to 1 over :data:`RECOLOR_RAMP`
    Lab units. ``ab_with``/``ab_without``: ``(N, 2, h, w)`` in Lab units."""
    delta = (ab_with - ab_without).norm(dim=1, keepdim=True)
    return ((delta - RECOLOR_THRESHOLD) / RECOLOR_RAMP).clamp(0.0, 1.0)


def _box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_upsample(ab: np.ndarray, guide: np.ndarray, full_guide: np.ndarray, radius: int,
                    eps: float = 25.0) -> np.ndarray:
    """Upsample predicted chrominance so that its edges follow the lightness: the fast guided filter (He, Sun,
    Tang, "Guided Image Filtering", PAMI 2013; He and Sun, "Fast Guided Filter", 2015) with L as the guide.

    In each ``(2 radius + 1)^2`` window of the low-resolution grid, ab is fitted as a linear function of L
    (``ab = A L + B``, ridge ``eps``); the window-averaged ``A`` and ``B`` are upsampled (bilinear) and applied to
    the full-resolution L, so a colour boundary lands on the photo's own edge.

    Args:
        ab: ``float32 (h, w, 2)`` predicted ab (Lab units) on the network's grid.
        guide: ``float32 (h, w)`` L (0..100) on the same grid.
        full_guide: ``float32 (H, W)`` L at full resolution.
        radius: window radius in grid pixels (>= 1).
        eps: regulariser in L units squared: windows whose L varies less than about ``sqrt(eps)`` keep their
            mean ab (flat areas are not recoloured by noise).

    Returns:
        ``float32 (H, W, 2)``.
    """
    guide = np.ascontiguousarray(guide, np.float32)
    ab = np.ascontiguousarray(ab, np.float32)
    mean_l = _box_mean(guide, radius)
    mean_ab = _box_mean(ab, radius)
    var_l = _box_mean(guide * guide, radius) - mean_l * mean_l
    cov = _box_mean(guide[..., None] * ab, radius) - mean_l[..., None] * mean_ab
    a = cov / (np.maximum(var_l, 0.0) + eps)[..., None]
    b = mean_ab - a * mean_l[..., None]
    H, W = full_guide.shape
    a, b = _box_mean(a, radius), _box_mean(b, radius)
    full_guide = np.ascontiguousarray(full_guide, np.float32)
    planes = []  # per channel, in place: full-resolution planes are large, and (H, W, 2) broadcasting is slow
    for c in range(ab.shape[2]):
        plane = _resize(a[..., c], H, W)
        cv2.multiply(plane, full_guide, dst=plane)
        cv2.add(plane, _resize(b[..., c], H, W), dst=plane)
        planes.append(plane)
    return cv2.merge(planes)


def pin_hints(pred: np.ndarray, lightness: np.ndarray, index: np.ndarray, hint_ab: np.ndarray, sigma_s: float = 12.0,
              sigma_r: float = 10.0, prior: float = 0.05, max_pixels: int = 200) -> np.ndarray:
    """Make the predicted ab honour the hints exactly where they are, fading along the picture's structure.

    The residual ``hint - prediction`` at the hinted pixels is splatted with joint-bilateral weights
    ``exp(-d^2 / 2 sigma_s^2) exp(-(L - L_hint)^2 / 2 sigma_r^2)`` (``d`` in grid pixels, ``L`` lightness) and
    normalised as ``sum w r / (sum w + prior)``: at and next to a hint the colour is the hint's, a few pixels away
    or across an edge the network's prediction is kept.

    Args:
        pred: ``(h, w, 2)`` predicted ab (Lab units).
        lightness: ``(h, w)`` L at the same resolution.
        index: ``int (h, w)`` hint index per pixel, -1 where none (:func:`rasterize_hints` at that resolution).
        hint_ab: ``(n, 2)`` ab of each hint.
        max_pixels: at most this many hinted pixels are splatted (an even subsample of them).

    Returns:
        ``float32 (h, w, 2)``.
    """
    ys, xs = np.nonzero(index >= 0)
    if ys.size == 0:
        return pred
    if ys.size > max_pixels:
        keep = np.linspace(0, ys.size - 1, max_pixels).round().astype(int)
        ys, xs = ys[keep], xs[keep]
    h, w = index.shape
    residual = hint_ab[index[ys, xs]] - pred[ys, xs]
    num = np.zeros((h, w, 2), np.float64)
    den = np.zeros((h, w), np.float64)
    r = int(np.ceil(3 * sigma_s))
    for y, x, res in zip(ys, xs, residual):
        y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
        gy, gx = np.ogrid[y0 - y:y1 - y, x0 - x:x1 - x]
        wts = np.exp(-(gy * gy + gx * gx) / (2 * sigma_s ** 2)
                     - (lightness[y0:y1, x0:x1] - lightness[y, x]) ** 2 / (2 * sigma_r ** 2))
        num[y0:y1, x0:x1] += wts[..., None] * res
        den[y0:y1, x0:x1] += wts
    return (pred + num / (den + prior)[..., None]).astype(np.float32)


# ---------------------------------------------------------------------------------- suggestions


@dataclass(frozen=True)
class ColorSuggestions:
    """Colours the distribution head suggests at one image point (``extras["suggestions"]`` items).

    Attributes:
        x, y: the queried point in image pixels.
        lightness: L (0..100) the colours are shown at: the photo's own L there, or the predicted L of a fill.
        rgb: up to 9 ``(r, g, b)`` colours, most probable first.
        ab: their ``(a, b)`` in Lab units.
        weights: the probability mass of each (sums to at most 1).
    """

    x: float
    y: float
    lightness: float
    rgb: tuple[tuple[int, int, int], ...]
    ab: tuple[tuple[float, float], ...]
    weights: tuple[float, ...]


def suggest_ab(probabilities: np.ndarray, k: int = SUGGESTIONS, iterations: int = 10,
               min_separation: float = 15.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` main modes of a distribution over the 529 ab bins (weighted k-means over the bin centres).

    ideepcolor samples 25,000 colours from the distribution and clusters them with k-means; weighting the bin
    centres by their probability is the same objective without the sampling noise. Seeds are the most probable
    bins at least ``min_separation`` Lab units apart.

    Args:
        probabilities: ``(529,)`` non-negative, summing to about 1.

    Returns:
        ``(centres float32 (m, 2), weights float32 (m,))`` with ``m <= k``, sorted by weight, largest first.
    """
    from ganpaint.nets.colorization import ab_bin_centers

    pts = ab_bin_centers().numpy().astype(np.float64)
    p = np.clip(np.asarray(probabilities, np.float64).ravel(), 0, None)
    order = np.argsort(-p)
    seeds: list[int] = []
    for i in order:
        if p[i] <= 0 or len(seeds) == k:
            break
        if all(np.hypot(*(pts[i] - pts[j])) >= min_separation for j in seeds):
            seeds.append(int(i))
    if not seeds:
        return np.zeros((0, 2), np.float32), np.zeros((0,), np.float32)
    centres = pts[seeds].copy()
    for _ in range(iterations):
        assign = ((pts[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        mass = np.bincount(assign, weights=p, minlength=len(centres))
        for c in range(len(centres)):
            if mass[c] > 0:
                centres[c] = (pts[assign == c] * p[assign == c, None]).sum(0) / mass[c]
    assign = ((pts[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    mass = np.bincount(assign, weights=p, minlength=len(centres))
    keep = np.argsort(-mass)
    keep = keep[mass[keep] > 0]
    return centres[keep].astype(np.float32), mass[keep].astype(np.float32)


# -------------------------------------------------------------------------------------- engine


@dataclass
class _Prepared:
    """What the engine derives from one input image (cached across requests for the same pixels)."""

    key: tuple
    lab: np.ndarray               # (H, W, 3) float32 Lab at full resolution
    work: tuple[int, int]         # network input size (h, w)
    lightness: "torch.Tensor"     # (1, 1, h, w) L at the network's resolution, on the device
    labels: Optional[np.ndarray] = None  # line art: region labels (H, W), 0 on lines
    count: int = 0


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of ``(h, w)`` or ``(h, w, C)`` float32 to ``(height, width[, C])`` (half-pixel centres, as
    ``F.interpolate(..., align_corners=False)``)."""
    if array.shape[:2] == (height, width):
        return np.ascontiguousarray(array, dtype=np.float32)
    return cv2.resize(np.ascontiguousarray(array, dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


class ColorizeEngine(Engine):
    """See the module docstring. ``load`` builds the card's network; ``run`` serves a ``ColorizeRequest``.

    Full-resolution work (Lab conversion, upsampling, flat fills) is done with numpy and OpenCV on the CPU; only
    the network runs on the engine's device.
    """

    task = "colorize"
    architectures = ("lite-siggraph17", "siggraph17")
    supports_half = True
    config_limits = {"guided_radius": (0.0, 0.5), "guided_eps": (0.01, 10_000.0), "auto_strength": (0.0, 1.0)}

    def __init__(self, card) -> None:
        super().__init__(card)
        cfg = dict(card.config or {})
        self.mode = cfg.get("mode", "photo")
        if self.mode not in MODES:
            raise ModelError(f"model card '{card.card_path}' has an unknown colorization mode {self.mode!r}")
        self.mask_center = float(cfg.get("mask_center", 0.5 if card.architecture == "lite-siggraph17" else 0.0))
        self.net_config = dict(cfg.get("net", {}))
        #: photo: make the colour at the hints exactly the hints' (:func:`pin_hints`); card ``config.pin_hints``
        self.pin = bool(cfg.get("pin_hints", False))
        #: photo: :func:`guided_upsample` window radius as a share of the network grid's longer side (0: bilinear)
        self.guided_radius = float(cfg.get("guided_radius", 1 / 16))
        self.guided_eps = float(cfg.get("guided_eps", 25.0))
        #: photo: strength of the colours the hints did not ask for (:meth:`_temper`); card ``config.auto_strength``
        self.auto_strength = float(cfg.get("auto_strength", 1.0))
        self.net = None
        #: line art: fill each region with one colour (False shows the network's raw prediction, for evaluation)
        self.flat_fills = True
        self._prepared: Optional[_Prepared] = None
        self._baseline: Optional[tuple[tuple, np.ndarray]] = None

    def load(self, device: "torch.device", half: bool = False) -> None:
        import torch

        from ganpaint.engines.registry import load_frozen_network
        from ganpaint.nets.colorization import build_colorizer

        device = torch.device(device)
        if self.net is None:
            try:
                net = build_colorizer(self.card.architecture, self.net_config)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"model card '{self.card.card_path}' has an invalid network config ({exc})") from exc
            if self.mode == "lineart" and getattr(net, "out_channels", 2) != 3:
                raise ModelError(f"model card '{self.card.card_path}': a line-art model must predict L, a and b")
            self.net = load_frozen_network(net, self.card)
        half = bool(half) and device.type == "cuda"
        self.net = self.net.to(device=device, dtype=torch.float16 if half else torch.float32)
        self.device, self.half = device, half
        self._prepared, self._baseline = None, None

    @property
    def takes_global_hints(self) -> bool:
        """Whether the network has a global-hints branch (palette / reference image)."""
        return bool(getattr(self.net, "global_bins", 0))

    # ------------------------------------------------------------------------------------------

    def _prepare(self, image: np.ndarray) -> _Prepared:
        import torch

        key = (image.shape, zlib.crc32(np.ascontiguousarray(image).data))
        if self._prepared is not None and self._prepared.key == key:
            return self._prepared
        h, w = image.shape[:2]
        lab = rgb8_to_lab(image)
        work = work_size(h, w, self.card.resolution, self.net.size_multiple)
        interp = cv2.INTER_AREA if work[0] < h or work[1] < w else cv2.INTER_LINEAR
        small = cv2.resize(np.ascontiguousarray(lab[..., 0]), (work[1], work[0]), interpolation=interp)
        prep = _Prepared(key, lab, work, torch.from_numpy(small)[None, None].to(self.device))
        if self.mode == "lineart":
            prep.labels, prep.count = label_regions(line_mask(lab[..., 0]))
        self._prepared, self._baseline = prep, None
        return prep

    def _forward(self, prep: _Prepared, index: np.ndarray, colors: np.ndarray, ghist: Optional[np.ndarray]):
        """Run the network: ``(color float32 (C, h', w') numpy, class_features (1, F, h/4, w/4) tensor)``."""
        import torch

        from ganpaint.nets.colorization import network_inputs, normalize_inputs

        dtype = next(self.net.parameters()).dtype
        table = np.concatenate([np.zeros((1, 3), np.float32), colors])
        hint = torch.from_numpy(np.ascontiguousarray(table[index + 1].transpose(2, 0, 1)))[None].to(self.device)
        covered = torch.from_numpy(index >= 0)[None, None].to(self.device, torch.float32)
        inputs = network_inputs(self.net, *normalize_inputs(prep.lightness, hint[:, 1:], covered, self.mask_center,
                                                            hint_lightness=hint[:, :1]))
        g = None if ghist is None else torch.from_numpy(ghist)[None].to(self.device, dtype)
        with torch.inference_mode():
            out = self.net(*(t.to(dtype) for t in inputs), global_hint=g)
        return out.color[0].float().cpu().numpy(), out.class_features

    def _baseline_ab(self, prep: _Prepared, ghist: Optional[np.ndarray]) -> np.ndarray:
        """The prediction without local hints (same global hint), cached per image and global hint."""
        key = (prep.key, None if ghist is None else ghist.tobytes())
        if self._baseline is None or self._baseline[0] != key:
            color, _ = self._forward(prep, np.full(prep.work, -1, np.int32), np.zeros((0, 3), np.float32), ghist)
            self._baseline = (key, color)
        return self._baseline[1]

    def _temper(self, prep: _Prepared, ab: np.ndarray, hinted: bool) -> np.ndarray:
        """``ab`` (``(h, w, 2)``, Lab units) with the colours that no hint asked for scaled by ``auto_strength``.

        Where the local hints do not change the prediction (:func:`recolor_weight` of the prediction with and
        without them; everywhere when there are none) the network guesses, and a guess that is wrong costs
        more than a grey one: on the evaluation's held-out photos its automatic colours were 2-3 dB below the
        grey input. Where the hints change the colour (their object, the sky a blue hint is on) it stays whole.
        """
        keep = self._hint_weight(prep, ab, None)[..., None] if hinted else 0.0
        return ab * (self.auto_strength + (1.0 - self.auto_strength) * keep)

    def _hint_weight(self, prep: _Prepared, ab: np.ndarray, ghist: Optional[np.ndarray]) -> np.ndarray:
        """Where the local hints changed the prediction ``ab`` (``(h, w, 2)``, Lab units): :func:`recolor_weight`
        against the cached no-hint prediction with global hint ``ghist``, ``float32 (h, w)`` in [0, 1]."""
        import torch

        from ganpaint.nets.colorization import AB_NORM

        base = self._baseline_ab(prep, ghist).transpose(1, 2, 0) * AB_NORM
        as_tensor = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # noqa: E731
        return recolor_weight(as_tensor(ab), as_tensor(base))[0, 0].numpy()

    def run(self, request: "ColorizeRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        """Colour ``request.image`` as the module docstring says; returns ``EngineOutput(rgb uint8 (H, W, 3),
        {"suggestions": tuple of ColorSuggestions, one per request.query point})``.

        Raises:
            Cancelled: ``cancel`` was set.
            EngineError: not loaded, an image that is not RGB ``uint8``, or a global hint for a network that takes
                none.
        """
        from ganpaint.nets.colorization import AB_NORM, L_CENT, L_NORM

        if self.net is None:
            raise EngineError("the colorization engine was used before its model was loaded")
        image = request.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise EngineError("the image to colorize must be an RGB uint8 (H, W, 3) array")
        ghist = global_histogram(request.palette, request.reference)
        if ghist is not None and not self.takes_global_hints:
            raise EngineError(f"model '{self.card.name}' takes no global hints (palette or reference image)")
        cancel.raise_if_cancelled()
        prep = self._prepare(image)
        H, W = image.shape[:2]
        hn, wn = prep.work
        colors = hint_lab(request.hints)
        color, features = self._forward(prep, rasterize_hints(request.hints, hn, wn, wn / W, hn / H), colors, ghist)
        cancel.raise_if_cancelled()
        if self.mode == "photo":
            ab = color.transpose(1, 2, 0) * AB_NORM
            h2, w2 = ab.shape[:2]
            small_l = cv2.resize(prep.lab[..., 0], (w2, h2), interpolation=cv2.INTER_AREA)
            if self.auto_strength < 1.0 and not request.recolor and ghist is None:
                ab = self._temper(prep, ab, bool(request.hints))
            if self.pin and request.hints:
                ab = pin_hints(ab, small_l, rasterize_hints(request.hints, h2, w2, w2 / W, h2 / H), colors[:, 1:])
            if request.recolor and not request.hints:
                rgb = np.array(image, copy=True)  # nothing asked to change: the input, bit for bit
            else:
                lab = prep.lab.copy()
                radius = int(round(self.guided_radius * max(h2, w2)))
                full = (guided_upsample(ab, small_l, lab[..., 0], radius, self.guided_eps) if radius >= 1
                        else _resize(ab, H, W))
                if request.recolor:
                    weight = _resize(self._hint_weight(prep, ab, ghist), H, W)[..., None]
                    full = lab[..., 1:] * (1 - weight) + full * weight
                lab[..., 1:] = full
                rgb = lab_to_rgb8(lab)
                if request.recolor:  # untouched pixels stay bit-exact
                    rgb[weight[..., 0] <= 0] = image[weight[..., 0] <= 0]
            lightness = prep.lab[..., 0]
        else:
            pred = color.transpose(1, 2, 0) * np.array([L_NORM, AB_NORM, AB_NORM], np.float32)
            pred[..., 0] += L_CENT
            rgb, lightness = self._fill_lineart(image, prep, _resize(pred, H, W), request.hints, colors)
        cancel.raise_if_cancelled()
        suggestions = self._suggestions(request.query, features, lightness, W, H)
        progress(1.0, None)
        return EngineOutput(rgb, {"suggestions": suggestions})

    def _fill_lineart(self, image: np.ndarray, prep: _Prepared, pred: np.ndarray, hints, colors: np.ndarray):
        """Flat fills (hint colour or mean prediction per region) with the drawing multiplied on top:
        ``(rgb uint8 (H, W, 3), L of the fills (H, W))``."""
        labels, count = prep.labels, prep.count
        if not self.flat_fills:
            flat = pred.astype(np.float32)
            return cv2.multiply(lab_to_rgb8(flat), np.ascontiguousarray(image), scale=1.0 / 255.0), flat[..., 0]
        means = region_means(labels, pred, count)
        if hints:
            index = rasterize_hints(hints, *labels.shape)
            sel = (index >= 0) & (labels > 0)
            if sel.any():
                n = len(hints)
                pairs = labels[sel].astype(np.int64) * n + index[sel]
                uniq, counts = np.unique(pairs, return_counts=True)
                region, which = uniq // n, uniq % n
                order = np.lexsort((counts, region))
                last = np.r_[region[order][1:] != region[order][:-1], True]
                means[region[order][last]] = colors[which[order][last]]
            taken = set(np.unique(labels[sel]).tolist())
            for i in sorted(set(range(len(hints))) - set(np.unique(index[sel]).tolist())):
                region = nearest_region(labels, hints[i].points[0])  # a hint dropped on a line
                if region and region not in taken:
                    means[region] = colors[i]
                    taken.add(region)
        flat = means.astype(np.float32)[labels]
        line = labels == 0
        flat[line] = pred[line]
        fill = lab_to_rgb8(flat)
        rgb = cv2.multiply(fill, np.ascontiguousarray(image), scale=1.0 / 255.0)
        return rgb, flat[..., 0]

    def _suggestions(self, query, features, lightness: np.ndarray, width: int, height: int) -> tuple[ColorSuggestions, ...]:
        import torch
        import torch.nn.functional as F

        if not query:
            return ()
        grid = torch.tensor([[(2 * x / width - 1, 2 * y / height - 1) for x, y in query]], dtype=features.dtype,
                            device=features.device)[None]  # (1, 1, Q, 2)
        with torch.inference_mode():
            sampled = F.grid_sample(features, grid, mode="bilinear", align_corners=False)  # (1, F, 1, Q)
            probs = torch.softmax(self.net.class_logits(sampled).float(), dim=1)[0, :, 0].T.cpu().numpy()
        out = []
        for (x, y), p in zip(query, probs):
            px, py = int(np.clip(x, 0, width - 1)), int(np.clip(y, 0, height - 1))
            L = float(lightness[py, px])
            centres, weights = suggest_ab(p)
            lab = np.concatenate([np.full((len(centres), 1), L, np.float32), centres], axis=1)
            rgb = lab_to_rgb8(lab)
            out.append(ColorSuggestions(float(x), float(y), L, tuple(tuple(int(c) for c in r) for r in rgb),
                                        tuple((float(a), float(b)) for a, b in centres), tuple(float(v) for v in weights)))
        return tuple(out)


def bench_request(model: str, width: int, height: int, hints: int = 10, seed: int = 0) -> "ColorizeRequest":
    """A benchmark request (:func:`ganpaint.bench.bench_cases`): a synthetic grayscale photo (gradients, noise,
    a dark ellipse) of ``width x height`` with ``hints`` point hints of radius 3 px and one suggestion query."""
    from ganpaint.inference.requests import ColorizeRequest, HintSnapshot

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    gray = 60 + 120 * xx / width + 40 * yy / height + rng.normal(0, 10, xx.shape)
    gray[((xx - width * 0.4) / (width * 0.2)) ** 2 + ((yy - height * 0.5) / (height * 0.25)) ** 2 < 1] -= 50
    image = np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    snaps = tuple(HintSnapshot(((float(rng.uniform(0, width)), float(rng.uniform(0, height))),),
                               tuple(int(c) for c in rng.integers(0, 256, 3)), 3.0) for _ in range(hints))
    return ColorizeRequest.snapshot(0, image, model, snaps, query=[(width / 2, height / 2)])


def reference_engine(device: "torch.device", resolution: int = 256) -> ColorizeEngine:
    """The SIGGRAPH17 network with random weights behind a ColorizeEngine, for speed comparisons (``ganpaint
    bench``): same pipeline as an imported checkpoint, no weights file."""
    from pathlib import Path

    from ganpaint.engines.registry import ModelCard
    from ganpaint.nets.colorization import SIGGRAPHGenerator

    card = ModelCard(name="siggraph17 (random weights)", task="colorize", architecture="siggraph17",
                     resolution=resolution, weights="none.safetensors", sha256="0" * 64,
                     card_path=Path("siggraph17-reference.json"), config={"mode": "photo", "mask_center": 0.0})
    engine = ColorizeEngine(card)
    engine.net = SIGGRAPHGenerator().eval().requires_grad_(False)
    engine.load(device)
    return engine


def colorize_array(engine: ColorizeEngine, image: np.ndarray, hints: Sequence[Any] = (), **kwargs: Any) -> EngineOutput:
    """Convenience for scripts, the CLI and evaluation: run ``engine`` on an array without a worker.

    ``hints`` are ColorHint objects or HintSnapshots; ``kwargs`` go to ``ColorizeRequest.snapshot``
    (``recolor``, ``palette``, ``reference``, ``query``).
    """
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import ColorizeRequest

    request = ColorizeRequest.snapshot(0, image, engine.card.name, hints, **kwargs)
    return engine.run(request, CancelToken(), lambda f, p: None)


__all__: Sequence[str] = (
    "ColorSuggestions", "ColorizeEngine", "bench_request", "colorize_array", "reference_engine", "global_histogram",
    "guided_upsample", "hint_lab", "nearest_region", "pin_hints",
    "rasterize_hints", "recolor_weight", "suggest_ab", "work_size",
)
