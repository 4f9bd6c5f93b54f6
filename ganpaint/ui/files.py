"""File dialogs' details: the filters of the Open dialog and the file names Save and Export suggest."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""Photo files the studio opens."""
PROJECT_EXTENSION = ".ganpaint"
ORA_EXTENSION = ".ora"
"""OpenRaster layers (Krita, GIMP, MyPaint): opened through :mod:`ganpaint.ui.openraster_dialog`."""
OPEN_EXTENSIONS = IMAGE_EXTENSIONS + (PROJECT_EXTENSION, ORA_EXTENSION)
"""Every file the Open dialog, Open Recent and drag and drop accept."""
IMAGE_FILTER = "Images (" + " ".join(f"*{e}" for e in IMAGE_EXTENSIONS) + ")"
PROJECT_FILTER = f"GANPaint projects (*{PROJECT_EXTENSION})"
ORA_FILTER = f"OpenRaster layers (*{ORA_EXTENSION})"


def open_filters() -> str:
    """The Open dialog's filters, "All supported" (photos, projects, OpenRaster) first, so it is the default."""
    everything = " ".join(f"*{e}" for e in OPEN_EXTENSIONS)
    return f"All supported ({everything});;{PROJECT_FILTER};;{IMAGE_FILTER};;{ORA_FILTER};;All files (*)"


def can_open(path: str | Path) -> bool:
    """Whether ``path``'s extension is one the studio opens (case-insensitive)."""
    return Path(path).suffix.lower() in OPEN_EXTENSIONS


def document_stem(doc) -> str:
    """The document's name without extension: its project file's, else the opened photo's
    (``settings["source_name"]``), else "Untitled"."""
    if doc is not None and doc.path:
        return Path(doc.path).stem
    source = doc.settings.get("source_name") if doc is not None else None
    if isinstance(source, str) and Path(source).stem:
        return Path(source).stem
    return "Untitled"


def suggested_path(doc, folder: str, extension: str, suffix: str = "") -> str:
    """Where a Save or Export dialog starts: ``folder/<document stem><suffix><extension>``, or the
    project's own path when saving a project again ("cat.jpg" -> "cat.ganpaint", "cat-edited.png")."""
    if extension == PROJECT_EXTENSION and not suffix and doc is not None and doc.path:
        return doc.path
    return str(Path(folder) / f"{document_stem(doc)}{suffix}{extension}")
