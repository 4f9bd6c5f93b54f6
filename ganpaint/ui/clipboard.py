"""Pictures between the studio and other programs: the clipboard (Ctrl+C / Ctrl+V) and dropped files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QColor, QImage, QPainter

from ganpaint.document.imageio import MAX_PIXELS
from ganpaint.errors import ImageLoadError
from ganpaint.ui.files import can_open


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """RGB ``uint8 (H, W, 3)`` copy of ``image``; transparency is composited over white (as for files).

    Raises:
        ImageLoadError: an empty image, or one above ``MAX_PIXELS``.
    """
    if image.isNull() or image.width() < 1 or image.height() < 1:
        raise ImageLoadError("the clipboard image is empty.")
    if image.width() * image.height() > MAX_PIXELS:
        raise ImageLoadError(f"a {image.width()}x{image.height()} image has more than the {MAX_PIXELS:,} pixels allowed.")
    flat = QImage(image.size(), QImage.Format.Format_RGB888)
    flat.fill(QColor(255, 255, 255))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    w, h = flat.width(), flat.height()
    rows = np.frombuffer(flat.constBits(), np.uint8, count=flat.bytesPerLine() * h).reshape(h, flat.bytesPerLine())
    return np.array(rows[:, : 3 * w].reshape(h, w, 3))


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of RGB ``uint8 (H, W, 3)``."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def openable_files(mime: QMimeData) -> list[str]:
    """Local files in ``mime`` (dropped or copied in a file manager) whose type the studio opens."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and can_open(url.toLocalFile())
            and Path(url.toLocalFile()).is_file()]


def mime_image(mime: QMimeData) -> QImage | None:
    """The image ``mime`` carries (copied from a browser or an image editor), or None."""
    if not mime.hasImage():
        return None
    data = mime.imageData()
    return data if isinstance(data, QImage) and not data.isNull() else None


def accepts(mime: QMimeData) -> bool:
    """Whether a drop of ``mime`` can be opened (a supported file or an image)."""
    return bool(openable_files(mime)) or mime_image(mime) is not None


__all__ = ["accepts", "mime_image", "openable_files", "qimage_to_rgb", "rgb_to_qimage"]
