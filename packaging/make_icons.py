"""Render the application icon (ganpaint/resources/icons/ganpaint.svg) to PNG and ICO for the bundle.

Usage: ``python packaging/make_icons.py OUT_DIR`` writes ``ganpaint.png`` (256 x 256) and
``ganpaint.ico`` (16..256 px). Qt's SVG renderer draws the picture (offscreen, no display needed);
Pillow writes the ICO. Run with the Python that builds the bundle (it has PySide6 and Pillow).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def render_png(svg: Path, png: Path, size: int = 256) -> None:
    """Draw ``svg`` into a transparent ``size`` x ``size`` PNG; SystemExit if Qt cannot read it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPainter needs one
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png)):
        raise SystemExit(f"make_icons: cannot write {png}")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    from PIL import Image

    from ganpaint.paths import APP_ICON

    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    png, ico = out / "ganpaint.png", out / "ganpaint.ico"
    render_png(APP_ICON, png)
    with Image.open(png) as image:
        image.save(ico, sizes=ICO_SIZES)
    print(f"wrote {png} and {ico}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
