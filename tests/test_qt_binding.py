"""The installed Qt binding keeps Python's reference counts (PySide6 6.12.0 on Python < 3.12 does not:
every void call drops a reference to None and the studio aborts after a few thousand), and the studio
refuses to start on such a binding with a message instead of aborting later."""

import sys

import pytest

from ganpaint.errors import GanpaintError
from ganpaint.ui import qt_check


def test_installed_binding_keeps_reference_counts(qapp):
    from PySide6.QtWidgets import QLabel

    assert not qt_check.binding_leaks_references()
    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(200):
        label.setText("x")
        label.update()
    assert sys.getrefcount(None) >= before - 5


def test_studio_refuses_a_leaking_binding(monkeypatch):
    from ganpaint.ui import app

    monkeypatch.setattr(qt_check, "binding_leaks_references", lambda: True)
    monkeypatch.setenv(app.SMOKE_EXIT_ENV, "0")  # no modal message box in a test
    with pytest.raises(GanpaintError, match="reference-counting bug"):
        app.run_app()


def test_bench_studio_refuses_a_leaking_binding(monkeypatch):
    import os

    from ganpaint.ui.latency import studio_window

    monkeypatch.setattr(qt_check, "binding_leaks_references", lambda: True)
    before = os.environ.get("GANPAINT_CONFIG_DIR")
    with pytest.raises(GanpaintError, match="reference-counting bug"):
        with studio_window("unused.png"):
            pass
    assert os.environ.get("GANPAINT_CONFIG_DIR") == before  # the temporary settings folder is undone
