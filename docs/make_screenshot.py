"""Take the README screenshot: run the real studio window, paint a mask, wait for the fill, grab the screen.

Run under a display, e.g. ``xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshot.py``.
It opens ``resources/samples/coffee.png``, paints a mask stroke over part of the cup, waits for the
inpainting result, turns on the split view and saves the screen to ``docs/screenshot.png``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ganpaint.ui.app import create_window

OUT = Path(__file__).resolve().parent / "screenshot.png"
SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "samples" / "coffee.png"


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("GANPaint Studio")
    window = create_window(str(SAMPLE), offer_recovery=False)
    window.confirm_discard = False
    window.resize(1360, 860)
    window.show()
    controller = window.controller
    deadline = time.monotonic() + 120

    def paint() -> None:
        doc = controller.doc
        controller.set_tool("mask")
        controller.settings.size = 28
        points = [(330 + i * 6, 110 + i * 2) for i in range(20)]
        controller.pointer_pressed(*points[0])
        for point in points[1:]:
            controller.pointer_moved(*point)
        controller.pointer_released(*points[-1])
        controller.settings.size = 40
        controller.pointer_pressed(150, 300)
        controller.pointer_released(150, 300)
        window.set_tool("mask")
        window.canvas.fit_to_window()
        wait_for_result(doc)

    def wait_for_result(doc) -> None:
        if doc.result is not None and doc.result_revision == doc.revision or time.monotonic() > deadline:
            window.split_action.trigger()
            window.canvas.set_split(0.42)
            QTimer.singleShot(500, grab)
        else:
            QTimer.singleShot(100, lambda: wait_for_result(doc))

    def grab() -> None:
        screen = app.primaryScreen()
        geometry = window.frameGeometry()
        shot = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
        if shot.isNull() or shot.width() < 100:
            shot = window.grab()
        shot.save(str(OUT))
        print(f"wrote {OUT} ({shot.width()}x{shot.height()})")
        window.close()
        app.quit()

    QTimer.singleShot(800, paint)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
