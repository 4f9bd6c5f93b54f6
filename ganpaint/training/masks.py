"""Procedural hole masks for inpainting training and evaluation (numpy + Pillow drawing only).

Every generator takes a seeded ``np.random.Generator`` and returns a ``uint8 (H, W)`` array with values
in ``{0, 255}`` (255 = hole), the document's mask convention; ``mask > 127`` (or ``mask / 255``) gives
the float ``{0, 1}`` hole map used by the networks.

Kinds and hole coverage (fraction of the image that is hole; enforced by re-drawing, see
:data:`COVERAGE`):

* ``free_form_brush_mask``: DeepFill v2 random brush strokes (Yu et al. 2019, supplementary
  algorithm: 1-3 poly-lines of 4-12 vertices with alternating angles and round joints), 5-50 %.
* ``thin_stroke_mask``: LaMa-style (Suvorov et al. 2022) "thin" irregular masks, many short narrow
  strokes (width 3-12 px at 256 px), 2-25 %.
* ``thick_stroke_mask``: LaMa-style "thick" irregular masks, a few long wide strokes (width 20-60 px
  at 256 px), 10-45 %.
* ``box_mask``: one axis-aligned rectangle, 10-30 % by default (``min_cover``/``max_cover``).
* ``object_blob_mask``: an object-shaped blob, what a user paints over a thing to remove it: a
  star-shaped outline with a smooth random radius (a few Fourier harmonics), sometimes with a second
  overlapping lobe (a person with a bag, a cup with its saucer), dilated by a small safety margin as
  users paint generously; 5-30 %.

Stroke widths and lengths are given for a 256 px image and scaled with ``min(h, w) / 256``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

#: Accepted hole coverage ``(low, high)`` per kind (boxes: the defaults of :func:`box_mask`).
COVERAGE: dict[str, tuple[float, float]] = {
    "free_form": (0.05, 0.50),
    "thin": (0.02, 0.25),
    "thick": (0.10, 0.45),
    "box": (0.10, 0.30),
    "blob": (0.05, 0.30),
}

EVAL_KINDS = ("thin", "thick", "box", "blob")
_MAX_TRIES = 200


def coverage(mask: np.ndarray) -> float:
    """Fraction of hole pixels (``mask > 127``)."""
    return float(np.count_nonzero(mask > 127)) / float(mask.size)


def _to_array(img: Image.Image) -> np.ndarray:
    return (np.asarray(img, dtype=np.uint8) > 0).astype(np.uint8) * 255


def _draw_polyline(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int) -> None:
    pts = [(int(round(x)), int(round(y))) for x, y in points]
    if len(pts) > 1:
        draw.line(pts, fill=255, width=width)
    r = width / 2.0
    for x, y in pts:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _until_in_range(rng: np.random.Generator, kind: str, draw_once, h: int, w: int) -> np.ndarray:
    low, high = COVERAGE[kind]
    best = None
    for _ in range(_MAX_TRIES):
        m = draw_once()
        c = coverage(m)
        if low <= c <= high:
            return m
        if best is None or abs(c - (low + high) / 2) < abs(coverage(best) - (low + high) / 2):
            best = m
    # Practically unreachable for sane sizes; fall back to a box in range so the contract holds.
    return box_mask(rng, h, w, min_cover=low, max_cover=high)


def free_form_brush_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """DeepFill v2 free-form brush strokes; ``uint8 (h, w)`` in {0, 255}, coverage 5-50 %."""
    scale = min(h, w) / 256.0
    min_vertex, max_vertex = 4, 12
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    min_width, max_width = 12 * scale, 40 * scale
    avg_radius = math.sqrt(h * h + w * w) / 8

    def once() -> np.ndarray:
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(min_vertex, max_vertex + 1))
            a_min = mean_angle - rng.uniform(0, angle_range)
            a_max = mean_angle + rng.uniform(0, angle_range)
            angles = [2 * math.pi - rng.uniform(a_min, a_max) if i % 2 == 0 else rng.uniform(a_min, a_max) for i in range(n)]
            pts = [(float(rng.integers(0, w)), float(rng.integers(0, h)))]
            for i in range(n):
                r = float(np.clip(rng.normal(avg_radius, avg_radius / 2), 0, 2 * avg_radius))
                x = float(np.clip(pts[-1][0] + r * math.cos(angles[i]), 0, w - 1))
                y = float(np.clip(pts[-1][1] + r * math.sin(angles[i]), 0, h - 1))
                pts.append((x, y))
            _draw_polyline(draw, pts, max(1, int(rng.uniform(min_width, max_width))))
        m = _to_array(img)
        if rng.random() > 0.5:
            m = m[:, ::-1]
        if rng.random() > 0.5:
            m = m[::-1, :]
        return np.ascontiguousarray(m)

    return _until_in_range(rng, "free_form", once, h, w)


def _lama_irregular(rng: np.random.Generator, h: int, w: int, *, max_angle: float, max_len: float, min_width: float,
                    max_width: float, min_times: int, max_times: int) -> np.ndarray:
    """LaMa's irregular mask: ``times`` random walks of 1-5 straight segments with round caps."""
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(min_times, max_times + 1))):
        x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
        pts = [(x, y)]
        width = max(1, int(round(rng.uniform(min_width, max_width))))
        for j in range(1 + int(rng.integers(0, 5))):
            angle = 0.01 + rng.uniform(0, max_angle)
            if j % 2 == 0:
                angle = 2 * math.pi - angle
            length = max_len * (0.25 + 0.75 * rng.random())
            x = float(np.clip(x + length * math.sin(angle), 0, w - 1))
            y = float(np.clip(y + length * math.cos(angle), 0, h - 1))
            pts.append((x, y))
        _draw_polyline(draw, pts, width)
    return _to_array(img)


def thin_stroke_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """LaMa-style thin strokes (many, 3-12 px wide at 256 px); ``uint8 (h, w)`` {0, 255}, coverage 2-25 %."""
    s = min(h, w) / 256.0
    return _until_in_range(rng, "thin", lambda: _lama_irregular(
        rng, h, w, max_angle=4.0, max_len=60 * s, min_width=3 * s, max_width=12 * s, min_times=8, max_times=30), h, w)


def thick_stroke_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """LaMa-style thick strokes (1-5, 20-60 px wide at 256 px); ``uint8 (h, w)`` {0, 255}, coverage 10-45 %."""
    s = min(h, w) / 256.0
    return _until_in_range(rng, "thick", lambda: _lama_irregular(
        rng, h, w, max_angle=4.0, max_len=160 * s, min_width=20 * s, max_width=60 * s, min_times=1, max_times=5), h, w)


def box_mask(rng: np.random.Generator, h: int, w: int, min_cover: float = 0.1, max_cover: float = 0.3) -> np.ndarray:
    """One random rectangle covering ``min_cover``-``max_cover`` of the image (aspect 1:2 to 2:1 when it fits).

    Returns ``uint8 (h, w)`` in {0, 255}. The covered fraction lies in the range up to integer rounding
    (exactly in it for images of 32 px and more).
    """
    for _ in range(_MAX_TRIES):
        cover = rng.uniform(min_cover, max_cover)
        area = cover * h * w
        aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))  # box width / box height
        bh = int(round(math.sqrt(area / aspect)))
        bw = int(round(area / max(bh, 1)))
        if not (1 <= bh <= h and 1 <= bw <= w):
            continue
        if not (min_cover <= bh * bw / (h * w) <= max_cover):
            continue
        y0 = int(rng.integers(0, h - bh + 1))
        x0 = int(rng.integers(0, w - bw + 1))
        m = np.zeros((h, w), np.uint8)
        m[y0:y0 + bh, x0:x0 + bw] = 255
        return m
    # Tiny or extreme images: a centred box of the mid coverage, full width if needed.
    bw = w
    bh = max(1, int(round((min_cover + max_cover) / 2 * h)))
    m = np.zeros((h, w), np.uint8)
    m[(h - bh) // 2:(h - bh) // 2 + bh, :bw] = 255
    return m


def _blob_outline(rng: np.random.Generator, cx: float, cy: float, radius: float, n: int = 48) -> list[tuple[float, float]]:
    """Closed outline of a star-shaped blob: ``radius * (1 + sum_k a_k cos(k t + p_k))`` for k = 2..5,
    stretched along a random axis (aspect 1:2 to 2:1)."""
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += rng.uniform(0.0, 0.25 / (k - 1)) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
    aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
    theta = rng.uniform(0, math.pi)
    x, y = r * np.cos(t) * math.sqrt(aspect), r * np.sin(t) / math.sqrt(aspect)
    xr = x * math.cos(theta) - y * math.sin(theta)
    yr = x * math.sin(theta) + y * math.cos(theta)
    return list(zip((cx + radius * xr).tolist(), (cy + radius * yr).tolist()))


def object_blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Object-shaped blob (see the module docstring); ``uint8 (h, w)`` in {0, 255}, coverage 5-30 %."""
    low, high = COVERAGE["blob"]

    def once() -> np.ndarray:
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        area = rng.uniform(low, high) * h * w
        radius = math.sqrt(area / math.pi)
        cx = rng.uniform(0.15 * w, 0.85 * w)
        cy = rng.uniform(0.15 * h, 0.85 * h)
        lobes = 1 if rng.random() < 0.6 else 2
        for i in range(lobes):
            r = radius if i == 0 else radius * rng.uniform(0.4, 0.7)
            ox, oy = (0.0, 0.0) if i == 0 else (radius * rng.uniform(-1, 1), radius * rng.uniform(-1, 1))
            draw.polygon(_blob_outline(rng, cx + ox, cy + oy, r), fill=255)
        m = _to_array(img)
        margin = int(round(rng.uniform(1, 4) * min(h, w) / 256))
        if margin > 0:  # the safety margin users paint around an object
            m = _dilate(m, margin)
        return m

    return _until_in_range(rng, "blob", once, h, w)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation of a {0, 255} mask by ``radius`` pixels (a max filter)."""
    from scipy.ndimage import maximum_filter  # noqa: PLC0415

    return maximum_filter(mask, size=2 * radius + 1)


def random_training_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Training mixture: 25 % free-form brush, 20 % thin, 20 % thick, 15 % box, 20 % object blob;
    uint8 {0, 255}.

    One mask in five (of the non-box kinds) is additionally unioned with a small box (5-15 %), as in
    DeepFill v2's mixed box + free-form training; the union is capped at 60 % coverage.
    """
    u = rng.random()
    if u < 0.25:
        m = free_form_brush_mask(rng, h, w)
    elif u < 0.45:
        m = thin_stroke_mask(rng, h, w)
    elif u < 0.65:
        m = thick_stroke_mask(rng, h, w)
    elif u < 0.85:
        m = object_blob_mask(rng, h, w)
    else:
        return box_mask(rng, h, w)
    if rng.random() < 0.2:
        both = np.maximum(m, box_mask(rng, h, w, 0.05, 0.15))
        if coverage(both) <= 0.6:
            m = both
    return m


_KIND_FUNCS = {"thin": thin_stroke_mask, "thick": thick_stroke_mask, "box": box_mask, "free_form": free_form_brush_mask,
               "blob": object_blob_mask}
#: seed component of each kind (fixed, so adding a kind never changes another kind's masks)
_KIND_IDS = {"box": 0, "free_form": 1, "thick": 2, "thin": 3, "blob": 4}


def eval_mask(kind: str, seed: int, h: int, w: int) -> np.ndarray:
    """Deterministic evaluation mask of ``kind`` (``"thin"``, ``"thick"``, ``"box"``, ``"blob"``; also ``"free_form"``).

    The same ``(kind, seed, h, w)`` always gives the same ``uint8 (h, w)`` {0, 255} mask, on every platform
    (numpy's PCG64 stream + Pillow drawing). Coverage ranges: see :data:`COVERAGE`.
    """
    if kind not in _KIND_FUNCS:
        raise ValueError(f"unknown mask kind {kind!r}; expected one of {sorted(_KIND_FUNCS)}")
    kind_id = _KIND_IDS[kind]
    rng = np.random.default_rng([int(seed), kind_id, 2024])
    return _KIND_FUNCS[kind](rng, h, w)
