"""Where the files shipped inside the package live (models, palettes, icons, sample photos).

Everything the studio ships is package data under ``ganpaint/`` so that an installed wheel, an
editable checkout and a PyInstaller bundle find it the same way, through :mod:`importlib.resources`:

* ``ganpaint/models/``: shipped model cards (``*.json``), weights (``*.safetensors``) and their texts;
* ``ganpaint/resources/palettes/``: label sets (``<name>.json``);
* ``ganpaint/resources/icons/``: the application icon;
* ``ganpaint/resources/samples/``: sample photos (licences in ``LICENSE.md``).

User data (imported checkpoints, own training runs) lives in the user's data folder instead
(:func:`ganpaint.engines.registry.user_models_dir`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_dir() -> Path:
    """The installed ``ganpaint`` package folder as a real file-system path."""
    root = resources.files("ganpaint")
    # Wheels, editable installs and PyInstaller bundles all unpack the package to disk, so the
    # traversable is a real path; a zip import would not be (and is not supported: weights are mmapped).
    return Path(str(root)).resolve()


#: shipped model cards and weights (read-only).
SHIPPED_MODELS = package_dir() / "models"
#: palettes, icons and sample photos (read-only).
RESOURCES = package_dir() / "resources"
#: sample photos offered at start-up and as style references.
SAMPLES = RESOURCES / "samples"
#: the application icon (SVG).
APP_ICON = RESOURCES / "icons" / "ganpaint.svg"
#: label-set palettes (``<name>.json``).
PALETTES = RESOURCES / "palettes"
