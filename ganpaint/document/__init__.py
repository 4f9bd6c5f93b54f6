"""The document package (Qt-free): layers, undo history, image and project files, autosave.

Uses only the standard library, numpy, scipy (the edit layers' feathering), Pillow and platformdirs;
see docs/ARCHITECTURE.md.
"""

from .imageio import load_rgb, save_image
from .model import ColorHint, Document, SketchStroke
from .project import load_project, save_project

__all__ = [
    "ColorHint",
    "Document",
    "SketchStroke",
    "load_project",
    "load_rgb",
    "save_image",
    "save_project",
]
