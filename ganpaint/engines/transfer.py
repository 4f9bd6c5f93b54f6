"""Regions of a photo seen by a generator, and iGAN's edit transfer back onto the photo (Zhu et al. 2016,
section 5, "Edit transfer").

A region ``rect = (x0, y0, x1, y1)`` (photo pixels, half-open) of a photo of any size is resized to the
generator's ``R x R`` (:func:`crop_region`); a projection ``P`` and an edit ``E`` of it are generator
pictures. The edit goes back to the full-resolution photo without replacing its detail by the generator's
blurrier picture (:func:`transfer_edit`):

1. **Motion**: dense optical flow from ``E`` to ``P`` (OpenCV's DIS, Kroeger et al. 2016) at a working size
   of up to :data:`FLOW_SIZE` px, scaled to the region; the photo is warped by it (sampling the whole photo,
   so content may come from just outside the region).
2. **Colour**: a local affine colour transform per channel, ``E ~ a * P_warped + b``, fitted in boxes of
   radius :data:`COLOR_RADIUS` (a guided filter, He et al. 2010, regularised towards ``a = 1`` so flat
   areas get a colour shift instead of losing their texture), up-sampled and applied to the warped photo.
3. **Blend**: the result is mixed in with a weight that is 1 where the edit changed the picture (colour
   change or motion, smoothed) and 0 elsewhere, feathered to 0 at the region's border. Pixels outside the
   region, and inside it where the weight is 0, are the photo's own bytes.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganpaint.errors import EngineError

Rect = tuple[int, int, int, int]

#: Working size (px) of the optical flow and the colour transform.
FLOW_SIZE = 256
#: Box radius of the local colour transform, in working pixels.
COLOR_RADIUS = 8
#: Regulariser of the colour transform's gain towards 1 (variance units of [0, 1] colours).
COLOR_EPS = 1e-3
#: A change of this much (0..255, max over channels) or a motion of this many region pixels weighs 1.
CHANGE_FULL, MOTION_FULL = 24.0, 2.0
#: Changes below this (0..255) are ignored (the projection's own noise between optimisation runs).
CHANGE_FLOOR = 4.0


def _cv2():
    try:
        import cv2  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - a dependency
        raise EngineError("edit transfer needs OpenCV: pip install opencv-python-headless") from exc
    return cv2


def check_rect(shape: tuple[int, ...], rect: Rect) -> Rect:
    """``rect`` as ints, checked to be a non-empty rectangle inside an image of ``shape`` (H, W, ...).

    Raises:
        EngineError: empty, inverted or outside the image.
    """
    x0, y0, x1, y1 = (int(v) for v in rect)
    h, w = shape[:2]
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise EngineError(f"region {rect} is not a non-empty rectangle inside the {w}x{h} photo")
    return x0, y0, x1, y1


def square_rect(shape: tuple[int, ...], rect: Optional[Rect] = None) -> Rect:
    """The square region the generator should see: without ``rect`` the largest centred square of an image
    of ``shape``; with one, the smallest square containing it, centred on it and moved (not shrunk unless
    the image is too small) to lie inside the image."""
    h, w = shape[:2]
    if rect is None:
        side = min(h, w)
        return (w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side
    x0, y0, x1, y1 = check_rect(shape, rect)
    side = min(max(x1 - x0, y1 - y0), h, w)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    nx0 = min(max(cx - side // 2, 0), w - side)
    ny0 = min(max(cy - side // 2, 0), h - side)
    return nx0, ny0, nx0 + side, ny0 + side


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(H, W[, C])`` to ``size = (width, height)``: area averaging down, bicubic up (float kept)."""
    cv2 = _cv2()
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if size[0] < w and size[1] < h else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interp)


def crop_region(photo: np.ndarray, rect: Rect, resolution: int) -> np.ndarray:
    """``uint8 (resolution, resolution, 3)``: the photo's region resized (area-averaged when shrinking).

    Raises:
        EngineError: see :func:`check_rect`.
    """
    x0, y0, x1, y1 = check_rect(photo.shape, rect)
    return np.ascontiguousarray(_resize(np.ascontiguousarray(photo[y0:y1, x0:x1]), (resolution, resolution)))


def paste_region(photo: np.ndarray, rect: Rect, picture: np.ndarray) -> np.ndarray:
    """A copy of ``photo`` with ``picture`` (any size) resized into ``rect`` (previews; no blending)."""
    x0, y0, x1, y1 = check_rect(photo.shape, rect)
    out = photo.copy()
    out[y0:y1, x0:x1] = np.clip(_resize(picture, (x1 - x0, y1 - y0)), 0, 255)
    return out


def _flow(edit: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """``float32 (S, S, 2)`` DIS flow ``f`` with ``edit(x) ~ projection(x + f(x))`` (working pixels)."""
    cv2 = _cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    a = cv2.cvtColor(edit, cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(projection, cv2.COLOR_RGB2GRAY)
    return dis.calc(a, b, None)


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    cv2 = _cv2()
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def local_color_transform(source: np.ndarray, target: np.ndarray, radius: int = COLOR_RADIUS,
                          eps: float = COLOR_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel, per-channel gain and offset ``(a, b)``, each ``float32 (H, W, 3)``, such that
    ``target ~ a * source + b`` in boxes of ``radius`` (both ``float32 (H, W, 3)`` in [0, 1]); the gain is
    regularised towards 1 by ``eps`` and the coefficients are box-averaged (guided filter)."""
    m_s, m_t = _box(source, radius), _box(target, radius)
    var = _box(source * source, radius) - m_s * m_s
    cov = _box(source * target, radius) - m_s * m_t
    a = (cov + eps) / (np.maximum(var, 0.0) + eps)
    b = m_t - a * m_s
    return _box(a, radius), _box(b, radius)


def change_weight(projection: np.ndarray, edit: np.ndarray, flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``float32 (h, w)`` in [0, 1] at ``size = (w, h)``: how much the edit changed each place (colour change
    beyond :data:`CHANGE_FLOOR` or motion, each reaching 1 at :data:`CHANGE_FULL` / :data:`MOTION_FULL`),
    dilated and smoothed so the blend has no hard edge."""
    cv2 = _cv2()
    s = projection.shape[0]
    diff = np.abs(edit.astype(np.float32) - projection.astype(np.float32)).max(axis=2)
    colour = np.clip((diff - CHANGE_FLOOR) / (CHANGE_FULL - CHANGE_FLOOR), 0, 1)
    scale = max(size) / s
    motion = np.clip(np.linalg.norm(flow, axis=2) * scale / MOTION_FULL, 0, 1)
    weight = np.maximum(colour, motion).astype(np.float32)
    k = max(3, (s // 32) | 1)
    weight = cv2.dilate(weight, np.ones((k, k), np.uint8))
    weight = cv2.GaussianBlur(weight, (0, 0), sigmaX=k / 2)
    return np.clip(_resize(weight, size), 0, 1)


def border_feather(h: int, w: int, ramp_px: int) -> np.ndarray:
    """``float32 (h, w)``: 1 inside, ramping linearly to 0 over ``ramp_px`` pixels at each border."""
    ramp = max(int(ramp_px), 1)
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    xs = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    return np.clip(np.minimum(ys[:, None], xs[None, :]) / ramp, 0, 1)


def transfer_edit(photo: np.ndarray, rect: Rect, projection: np.ndarray, edit: np.ndarray,
                  feather_px: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Carry the change from ``projection`` to ``edit`` (``uint8 (R, R, 3)`` generator pictures of the region)
    onto ``photo`` (``uint8 (H, W, 3)``, any size) inside ``rect`` (module docstring).

    ``feather_px``: width of the fade at the region's border (default 1/16 of the region's short side).
    Returns ``(result uint8 (H, W, 3), weight float32 (y1 - y0, x1 - x0))``: a new photo and the blend
    weight used in the region. Pixels outside ``rect`` are bit-exact copies of ``photo``.

    Raises:
        EngineError: bad ``rect``, pictures of different or non-square shapes, or OpenCV missing.
    """
    cv2 = _cv2()
    x0, y0, x1, y1 = check_rect(photo.shape, rect)
    if projection.shape != edit.shape or projection.ndim != 3 or projection.shape[0] != projection.shape[1]:
        raise EngineError(f"projection {projection.shape} and edit {edit.shape} must be the same square RGB size")
    rw, rh = x1 - x0, y1 - y0
    s = int(min(FLOW_SIZE, max(rw, rh, projection.shape[0])))
    p_s, e_s = _resize(projection, (s, s)), _resize(edit, (s, s))
    flow = _flow(e_s, p_s)
    # warp the projection into the edit's geometry, then fit the colour change on aligned pictures
    gy, gx = np.mgrid[0:s, 0:s].astype(np.float32)
    p_warped = cv2.remap(p_s, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    a, b = local_color_transform(p_warped.astype(np.float32) / 255, e_s.astype(np.float32) / 255)
    weight = change_weight(p_s, e_s, flow, (rw, rh))
    weight *= border_feather(rh, rw, feather_px if feather_px is not None else max(2, min(rw, rh) // 16))

    out = photo.copy()
    touched = weight > 0
    if not touched.any():
        return out, weight
    # the photo warped by the flow scaled to the region (sampling the whole photo)
    flow_r = _resize(flow, (rw, rh)) * np.array([rw / s, rh / s], np.float32)
    ry, rx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    warped = cv2.remap(photo, rx + flow_r[..., 0], ry + flow_r[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    a_r, b_r = _resize(a, (rw, rh)), _resize(b, (rw, rh))
    moved = np.clip(a_r * (warped.astype(np.float32) / 255) + b_r, 0, 1) * 255
    region = out[y0:y1, x0:x1]
    mixed = region.astype(np.float32) * (1 - weight[..., None]) + moved * weight[..., None]
    region[touched] = np.clip(np.round(mixed[touched]), 0, 255).astype(np.uint8)
    return out, weight


__all__ = ["CHANGE_FLOOR", "CHANGE_FULL", "COLOR_EPS", "COLOR_RADIUS", "FLOW_SIZE", "MOTION_FULL", "border_feather",
           "change_weight", "check_rect", "crop_region", "local_color_transform", "paste_region", "square_rect",
           "transfer_edit"]
