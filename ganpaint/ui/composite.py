"""What the canvas shows, computed with numpy (no Qt): picture plus mask and label-map overlays.

Kept apart from the widget so the compositing rules are testable headless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


MASK_COLOR = np.array([255, 40, 60], np.float32)


@dataclass
class OverlayState:
    """Display options. Opacities are in [0, 1].

    Attributes:
        show_result: show the engine result instead of the photo (the "after" view).
        mask_opacity / labels_opacity: overlay opacities; 0 hides the overlay.
        mask_outline_only: draw just the hole outline (used once a fill for the current mask is shown).
    """

    show_result: bool = True
    mask_opacity: float = 0.5
    labels_opacity: float = 0.0
    mask_outline_only: bool = False


def hole_outline(mask: np.ndarray) -> np.ndarray:
    """bool (H, W): hole pixels (mask > 127) with at least one 4-neighbour outside the hole."""
    holes = mask > 127
    inner = holes.copy()
    inner[1:, :] &= holes[:-1, :]
    inner[:-1, :] &= holes[1:, :]
    inner[:, 1:] &= holes[:, :-1]
    inner[:, :-1] &= holes[:, 1:]
    return holes & ~inner


def compose(picture: np.ndarray, mask: np.ndarray, labels_rgb: np.ndarray | None, state: OverlayState) -> np.ndarray:
    """Blend overlays over ``picture``.

    Args:
        picture: RGB uint8 (h, w, 3), the photo or result crop being shown.
        mask: uint8 (h, w) hole mask (0..255) for the same crop.
        labels_rgb: RGB uint8 (h, w, 3) colourised label map, or None.
        state: overlay options.

    Returns:
        RGB uint8 (h, w, 3).

    The blend runs in bands of about :data:`BAND_PIXELS` pixels, so a 12-megapixel view needs a few MiB
    of float temporaries rather than several copies of the whole picture in float32.
    """
    h, w = picture.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, BAND_PIXELS // max(w, 1))
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        band = slice(y0, y1)
        outline = None
        if state.mask_outline_only:  # with one row of context each side, so band edges are not outlines
            c0 = max(0, y0 - 1)
            outline = hole_outline(mask[c0:min(h, y1 + 1)])[y0 - c0:y1 - c0]
        out[band] = _compose_band(picture[band], mask[band], None if labels_rgb is None else labels_rgb[band], state,
                                  outline)
    return out


#: pixels blended at a time by :func:`compose`.
BAND_PIXELS = 1 << 18


def _compose_band(picture: np.ndarray, mask: np.ndarray, labels_rgb: np.ndarray | None, state: OverlayState,
                  outline: np.ndarray | None) -> np.ndarray:
    out = picture.astype(np.float32)
    if labels_rgb is not None and state.labels_opacity > 0:
        out += (labels_rgb.astype(np.float32) - out) * state.labels_opacity
    if state.mask_opacity > 0 and mask.any():
        if state.mask_outline_only:
            alpha = outline.astype(np.float32)[..., None] * 0.9
        else:
            alpha = (mask.astype(np.float32) / 255.0)[..., None] * state.mask_opacity
        out += (MASK_COLOR - out) * alpha
    return np.rint(out).astype(np.uint8)
