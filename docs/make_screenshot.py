"""Take the README screenshots: run the real studio window, paint, wait for the result, grab the screen.

Run under a display, e.g. ``xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshot.py [--semantic]``.
Default: it opens ``resources/samples/coffee.png``, paints a mask stroke over part of the cup, waits for
the inpainting result, applies it (an edit layer), paints a second hole, waits for its live fill, turns
on the split view (original photo | now) and saves the screen to ``docs/screenshot.png``.
``--semantic``: a blank landscape canvas of sky, doodled with the label brush (grass, mountain, water,
trees), waits for the SPADE picture, splits the view into label map | picture and saves
``docs/screenshot-semantic.png``; ``--seed N`` sets the style seed first (default 0).
``--colorize``: a grayscale copy of ``chelsea.png`` in the Colorize tab, a few colour hints dropped with the
hint tool, split view grayscale | colorized, saved to ``docs/screenshot-colorize.png``.
``--manifold``: a random flower from the GAN (dice), a colour stroke, the candidates gallery, split view
GAN picture | edited, saved to ``docs/screenshot-manifold.png``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ganpaint.ui.app import create_window

DOCS = Path(__file__).resolve().parent
SAMPLE = Path(__file__).resolve().parent.parent / "ganpaint" / "resources" / "samples" / "coffee.png"


# landscape label ids (models/spade-landscape.json): sky 0, tree 1, grass 3, water 4, mountain 6
DOODLE = [  # (class id, brush size, stroke points in canvas pixels)
    (6, 130, [(0, 300), (120, 235), (230, 290), (340, 215), (470, 285), (640, 250)]),
    (3, 170, [(0, 420), (200, 400), (420, 410), (640, 420)]),
    (4, 60, [(150, 400), (300, 392), (460, 402)]),
    (1, 70, [(40, 350), (55, 300), (75, 355)]),
    (1, 60, [(560, 350), (585, 305), (605, 355)]),
]

def paint_doodle(controller) -> None:
    """Paint :data:`DOODLE` with the label brush, one stroke per entry (each is one undo step)."""
    controller.set_tool("labels")
    for class_id, size, points in DOODLE:
        controller.settings.label = class_id
        controller.settings.size = size
        controller.pointer_pressed(*points[0])
        for a, b in zip(points, points[1:]):
            for t in range(1, 9):  # a dab every few pixels, as a mouse would send
                controller.pointer_moved(a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8)
        controller.pointer_released(*points[-1])


# colorize: (x, y, rgb) hints on chelsea.png (451x300): fur, eyes, background wall, the cat's nose
HINTS = [(150, 150, (196, 120, 62)), (260, 200, (176, 104, 54)), (40, 40, (92, 96, 110)),
         (420, 60, (104, 110, 120)), (232, 121, (160, 170, 60)), (321, 120, (160, 170, 60))]


def drop_hints(controller) -> None:
    """Click :data:`HINTS` with the colour-hint tool (each click a point hint, one undo step)."""
    controller.set_tool("hint")
    controller.settings.size = 6
    for x, y, rgb in HINTS:
        controller.settings.color = rgb
        controller.pointer_pressed(x, y)
        controller.pointer_released(x, y)


def main() -> int:
    args = sys.argv[1:]
    semantic = "--semantic" in args
    colorize, manifold = "--colorize" in args, "--manifold" in args
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 0
    name = "semantic" if semantic else "colorize" if colorize else "manifold" if manifold else ""
    out = DOCS / (f"screenshot-{name}.png" if name else "screenshot.png")
    app = QApplication(sys.argv[:1])
    app.setApplicationName("GANPaint Studio")
    window = create_window(None if semantic or manifold else str(SAMPLE.with_name("chelsea.png") if colorize else SAMPLE),
                           offer_recovery=False)
    window.confirm_discard = False
    window.resize(1360, 860)
    window.show()
    controller = window.controller
    deadline = time.monotonic() + 120

    def paint_semantic() -> None:
        window.set_mode("synthesize")
        controller.settings.label = 0  # sky
        doc = window.start_blank_canvas(640, 448)
        window.mode_panels["synthesize"].seed_spin.setValue(seed)  # as if typed into the Seed box
        paint_doodle(controller)
        window.set_tool("labels")
        window.canvas.fit_to_window()
        wait_for_result(doc)

    def paint_colorize() -> None:
        import numpy as np

        from ganpaint.document.model import Document

        photo = controller.doc.photo
        doc = Document(np.repeat(photo.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2))
        controller.set_document(doc)
        window.set_mode("colorize")
        drop_hints(controller)
        window.canvas.fit_to_window()
        wait_for_result(doc)

    def paint_manifold() -> None:
        window.set_mode("manifold")
        first = controller.doc
        window.mode_panels["manifold"].sample_button.click()  # the dice: a flower from the GAN, already projected
        QTimer.singleShot(300, lambda: wait_projected(first))

    def wait_projected(first) -> None:
        mode = controller.active
        if (controller.doc is first or not getattr(mode, "projected", False)) and time.monotonic() < deadline:
            QTimer.singleShot(100, lambda: wait_projected(first))
            return
        doc = controller.doc
        window.set_tool("gan-color")
        controller.settings.color = (150, 60, 200)  # purple petals across the middle
        controller.settings.size = 5
        h, w = doc.shape
        points = [(w * 0.3 + i * w * 0.04, h * 0.5) for i in range(11)]
        controller.pointer_pressed(*points[0])
        for point in points[1:]:
            controller.pointer_moved(*point)
        controller.pointer_released(*points[-1])
        window.canvas.fit_to_window()
        wait_for_result(doc)

    def paint() -> None:
        doc = controller.doc
        controller.set_tool("mask")
        controller.settings.size = 28
        points = [(330 + i * 6, 110 + i * 2) for i in range(20)]
        controller.pointer_pressed(*points[0])
        for point in points[1:]:
            controller.pointer_moved(*point)
        controller.pointer_released(*points[-1])
        wait_for_result(doc, then=apply_and_paint_more)

    def apply_and_paint_more() -> None:
        doc = controller.doc
        controller.apply_result()  # the fill becomes the edit layer "Fill 1" (Layers dock)
        controller.settings.size = 40
        controller.pointer_pressed(470, 330)  # a speck on the saucer, right of the split: its live fill
        controller.pointer_released(470, 330)
        window.set_tool("mask")
        window.canvas.fit_to_window()
        wait_for_result(doc)

    def wait_for_result(doc, then=None) -> None:
        ready = doc.result is not None and doc.result_revision == doc.revision and controller._result_is_current()
        if ready and then is not None:
            QTimer.singleShot(300, then)
        elif ready or time.monotonic() > deadline:
            window.split_action.trigger()  # semantic: label map | picture, as in the GauGAN demo
            window.canvas.set_split(0.42 if not name else 0.5)
            QTimer.singleShot(500, grab)
        else:
            QTimer.singleShot(100, lambda: wait_for_result(doc, then))

    def grab() -> None:
        screen = app.primaryScreen()
        geometry = window.frameGeometry()
        shot = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
        if shot.isNull() or shot.width() < 100:
            shot = window.grab()
        shot.save(str(out))
        print(f"wrote {out} ({shot.width()}x{shot.height()})")
        window.close()
        app.quit()

    start = paint_semantic if semantic else paint_colorize if colorize else paint_manifold if manifold else paint
    QTimer.singleShot(800, start)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
