"""Reading and writing image files as numpy arrays (Pillow based, Qt-free).

Conventions (see docs/ARCHITECTURE.md): RGB images are ``uint8 (H, W, 3)``, grayscale images and
masks ``uint8 (H, W)``; masks hold 0 (keep) or 255 (hole).

Size limit: images with more than :data:`MAX_PIXELS` pixels (width * height) are refused with
:class:`~ganpaint.errors.ImageLoadError` before any pixel is decoded. Importing this module also sets
Pillow's ``Image.MAX_IMAGE_PIXELS`` to the same value, so Pillow itself raises its
``DecompressionBombError`` at open time for anything above twice the limit; that error (and the
``DecompressionBombWarning`` when warnings are turned into errors) is reported as ``ImageLoadError``.

Every reading error is an ``ImageLoadError`` with one sentence naming the file (its base name) and the
reason, e.g. ``cannot read 'x.png': not an image file.`` Only regular files are opened (a FIFO or a
device is refused at once instead of blocking), and Pillow's ``DecompressionBombWarning`` is not
printed (the header check above refuses those images with its own sentence).
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ganpaint.errors import GanpaintError, ImageLoadError

from .atomic import atomic_writer

__all__ = [
    "MAX_PIXELS",
    "SAVE_FORMATS",
    "image_size",
    "load_gray",
    "load_mask",
    "load_with",
    "load_rgb",
    "require_regular_file",
    "save_image",
]

MAX_PIXELS = 100_000_000
"""Largest accepted image, in pixels (width * height); larger files are refused before decoding."""

Image.MAX_IMAGE_PIXELS = MAX_PIXELS

SAVE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
"""File extension (lower case) -> Pillow format name used by :func:`save_image`."""

MASK_THRESHOLD = 127
"""Mask source values strictly above this (after conversion to 8-bit gray) are holes."""

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_EXIF_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)

_T = TypeVar("_T")


def _file_name(path: str | os.PathLike[str]) -> str:
    """Base name of ``path`` as shown in error messages."""
    return os.path.basename(os.fspath(path)) or os.fspath(path)


@contextmanager
def _reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn every failure while opening/decoding ``path`` into an ``ImageLoadError`` sentence.

    ``ImageLoadError`` raised inside the block passes through unchanged.
    """
    name = _file_name(path)

    def fail(reason: str) -> ImageLoadError:
        return ImageLoadError(f"cannot read '{name}': {reason}.")

    try:
        yield
    except FileNotFoundError as exc:
        raise fail("the file does not exist") from exc
    except IsADirectoryError as exc:
        raise fail("it is a folder, not a file") from exc
    except PermissionError as exc:
        raise fail("permission denied") from exc
    except UnidentifiedImageError as exc:
        raise fail("not an image file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise fail(f"the image has more than the {MAX_PIXELS:,} pixels allowed") from exc
    except MemoryError as exc:
        raise fail("not enough memory to decode it") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error) as exc:
        raise fail("the file is damaged, truncated or in an unsupported variant of its format") from exc


def _check_pixel_count(image: Image.Image, path: str | os.PathLike[str]) -> None:
    """Raise ``ImageLoadError`` if the header of ``image`` declares more than ``MAX_PIXELS`` pixels."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"cannot read '{_file_name(path)}': it is {width}x{height} pixels, more than the "
            f"{MAX_PIXELS:,} allowed."
        )


def require_regular_file(path: str | os.PathLike[str], not_regular: Callable[[], Exception]) -> None:
    """Refuse anything but a regular file (a FIFO would block the open forever; a device never ends).

    Raises IsADirectoryError for a folder, the OSError of ``os.stat``, or ``not_regular()`` for a pipe,
    a device or a socket.
    """
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(info.st_mode):
        raise not_regular()


def _check_regular_file(path: str | os.PathLike[str]) -> None:
    """:func:`require_regular_file` with an ImageLoadError sentence (other OSErrors are mapped by :func:`_reading`)."""
    require_regular_file(path, lambda: ImageLoadError(
        f"cannot read '{_file_name(path)}': it is not a regular file (a pipe or a device?)."))


@contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[Image.Image]:
    """``Image.open(path)`` for a regular file, without Pillow's warnings while it is open: callers refuse
    an oversize image from its header themselves (:func:`_check_pixel_count`, whose sentence names the
    size), and a damaged file either decodes or fails with our own sentence, so a
    ``DecompressionBombWarning`` or "Truncated File Read" would only be printed before that message."""
    _check_regular_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        with Image.open(path) as image:
            yield image


def _load(path: str | os.PathLike[str], convert: Callable[[Image.Image], _T]) -> _T:
    """Open ``path``, check its size from the header, decode it fully, apply EXIF orientation, convert.

    ``convert`` receives the decoded, upright ``PIL.Image`` and returns the result; it runs inside the
    error mapping, so its own decoding/conversion failures also become ``ImageLoadError``.
    """
    with _reading(path):
        with _opened(path) as image:
            _check_pixel_count(image, path)
            image.load()  # truncated or corrupt data fails here, inside the error mapping
            upright = ImageOps.exif_transpose(image)
        return convert(upright)


def load_with(path: str | os.PathLike[str], convert: Callable[[Image.Image], _T]) -> _T:
    """Read ``path`` with this module's safe loading and hand the decoded Pillow image to ``convert``.

    For readers that need the image *unconverted* (its mode, palette...), e.g. label maps. The image is
    size-checked from its header (:data:`MAX_PIXELS`), fully decoded (truncated or damaged data fails)
    and EXIF-rotated before ``convert`` sees it, in whatever mode the file holds (``L``, ``P``, ``RGB``,
    ``I;16``...). ``convert`` runs inside the error mapping, so its own Pillow/numpy failures become
    ``ImageLoadError`` too; an ``ImageLoadError`` it raises passes through unchanged.

    Returns:
        Whatever ``convert`` returns (it must not keep the image beyond the call).

    Raises:
        ImageLoadError: the cases of :func:`load_rgb`, or raised by ``convert``.
    """
    return _load(path, convert)


def _wide_gray_to_uint8(image: Image.Image) -> np.ndarray:
    """Scale a 16-bit (``I;16*``), 32-bit integer (``I``) or float (``F``) image to ``uint8 (H, W)``.

    Integer images are taken to span 0..65535 (what decoders produce for 16-bit files; ``I`` values are
    clipped to that range) and scaled by 255/65535 with rounding, so 65535 -> 255 and 32768 -> 128.
    Float images are taken to span 0..1 if all finite values lie in [0, 1], else 0..255 (clipped);
    NaN becomes 0.
    """
    values = np.array(image)
    if image.mode == "F":
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if values.size and values.min() >= 0.0 and values.max() <= 1.0:
            values = values * 255.0
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    values = np.clip(values.astype(np.int64), 0, 65535)
    return ((values * 255 + 32767) // 65535).astype(np.uint8)


def _is_wide(image: Image.Image) -> bool:
    """True for single-channel images with more than 8 bits per pixel."""
    return image.mode in _SIXTEEN_BIT_MODES or image.mode in ("I", "F")


def _has_alpha(image: Image.Image) -> bool:
    """True if ``image`` has an alpha channel or a transparent palette entry / colour key."""
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _composite_over_white(rgba: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 4)`` straight-alpha RGBA -> ``uint8 (H, W, 3)`` RGB composited over white."""
    rgb = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:4].astype(np.uint32)
    return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any Pillow image -> ``uint8 (H, W, 3)`` RGB, alpha composited over white."""
    if _is_wide(image):
        return np.repeat(_wide_gray_to_uint8(image)[..., None], 3, axis=2)
    if _has_alpha(image):
        return _composite_over_white(np.array(image.convert("RGBA")))
    return np.array(image.convert("RGB"))


def _to_gray_array(image: Image.Image) -> np.ndarray:
    """Any Pillow image -> ``uint8 (H, W)`` luminance (ITU-R 601-2, Pillow's ``L``); alpha is ignored."""
    if _is_wide(image):
        return _wide_gray_to_uint8(image)
    return np.array(image.convert("L"))


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB.

    EXIF orientation is applied; CMYK, 16-bit and float grayscale (scaled, not clipped), palette,
    grayscale and 1-bit images are converted; transparency (alpha channel, transparent palette entries)
    is composited over white.

    Returns:
        ``uint8 (H, W, 3)`` array, values 0..255, H and W after EXIF rotation.

    Raises:
        ImageLoadError: missing/unreadable file, not an image, truncated or damaged data, or more than
            ``MAX_PIXELS`` pixels.
    """
    return _load(path, _to_rgb_array)


def load_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as 8-bit grayscale (luminance; alpha ignored; 16-bit/float scaled).

    Returns:
        ``uint8 (H, W)`` array, values 0..255, after EXIF rotation.

    Raises:
        ImageLoadError: same cases as :func:`load_rgb`.
    """
    return _load(path, _to_gray_array)


def load_mask(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """Read a mask file for an image of ``shape`` ``(H, W)``.

    The file is converted to 8-bit gray (RGB/RGBA via luminance, alpha ignored); values above
    :data:`MASK_THRESHOLD` (127) become holes.

    Returns:
        ``uint8 (H, W)`` array with values in {0 (keep), 255 (hole)}.

    Raises:
        ImageLoadError: the cases of :func:`load_rgb`, or the mask's size differs from ``shape``
            (message: ``mask 'm.png' is 640x480 but the image is 800x600``, width x height).
    """
    gray = _load(path, _to_gray_array)
    height, width = shape
    if gray.shape != (height, width):
        raise ImageLoadError(
            f"mask '{_file_name(path)}' is {gray.shape[1]}x{gray.shape[0]} but the image is "
            f"{width}x{height}."
        )
    return np.where(gray > MASK_THRESHOLD, np.uint8(255), np.uint8(0))


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` in pixels as :func:`load_rgb` would return it, read from the header only.

    Width and height are swapped when the EXIF orientation (5..8) rotates the image by 90 degrees
    (for PNG, only an eXIf chunk placed before the pixel data is seen).

    Raises:
        ImageLoadError: missing/unreadable file, not an image, or an absurd (bomb) size.
    """
    with _reading(path):
        with _opened(path) as image:
            width, height = image.size
            if _header_orientation(image) in _SWAPPING_ORIENTATIONS:
                width, height = height, width
    return width, height


def _header_orientation(image: Image.Image) -> int | None:
    """EXIF orientation found without decoding pixels (PNG: only an eXIf chunk before the image data)."""
    if image.format == "PNG":  # PngImageFile.getexif() would decode the whole image
        raw = image.info.get("exif")
        if not raw:
            return None
        exif = Image.Exif()
        exif.load(raw)
    else:
        exif = image.getexif()
    return exif.get(_EXIF_ORIENTATION)


def _to_pil(array: np.ndarray) -> Image.Image:
    """``uint8 (H, W, 3)`` -> RGB image, ``uint8 (H, W)`` -> L image; ValueError for anything else."""
    array = np.asarray(array)
    is_rgb = array.ndim == 3 and array.shape[2] == 3
    if array.dtype != np.uint8 or not (array.ndim == 2 or is_rgb):
        raise ValueError(f"expected uint8 (H, W) or (H, W, 3), got {array.dtype} {array.shape}")
    return Image.fromarray(np.ascontiguousarray(array))


def save_image(path: str | os.PathLike[str], array: np.ndarray, quality: int = 95) -> None:
    """Write ``array`` to ``path`` atomically, in the format given by the extension (``SAVE_FORMATS``).

    Args:
        path: destination; extension ``.png``, ``.jpg``/``.jpeg``, ``.webp``, ``.bmp``, ``.tif``/``.tiff``
            (case-insensitive).
        array: ``uint8 (H, W, 3)`` RGB or ``uint8 (H, W)`` grayscale, values 0..255.
        quality: JPEG/WebP quality 1..100 (ignored by lossless formats).

    Raises:
        GanpaintError: unknown extension, or the file cannot be written (the old file is then kept).
        ValueError: ``array`` is not uint8 with shape (H, W) or (H, W, 3) (a programming error).
    """
    name = _file_name(path)
    extension = os.path.splitext(os.fspath(path))[1].lower()
    image_format = SAVE_FORMATS.get(extension)
    if image_format is None:
        known = ", ".join(SAVE_FORMATS)
        raise GanpaintError(f"cannot save '{name}': unknown file extension (use one of {known}).")
    image = _to_pil(array)
    Image.init()
    if image_format not in Image.SAVE:
        raise GanpaintError(f"cannot save '{name}': this installation of Pillow cannot write {image_format}.")
    options = {"quality": int(quality)} if image_format in ("JPEG", "WEBP") else {}
    try:
        with atomic_writer(path) as handle:
            image.save(handle, format=image_format, **options)
    except OSError as exc:
        raise GanpaintError(f"cannot save '{name}': {exc.strerror or exc}.") from exc
