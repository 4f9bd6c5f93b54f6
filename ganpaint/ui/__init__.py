"""The Qt user interface (PySide6): main window, canvas, panels and the studio controller."""
