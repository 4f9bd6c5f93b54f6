"""The Qt-free packages (document, modes, tools) must import with every Qt GUI binding unavailable."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    BLOCKED = ("PySide6.QtWidgets", "PySide6.QtGui", "PySide2", "PyQt5", "PyQt6", "qtpy", "qtawesome")

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    for name in BLOCKED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"blocker failed for {name}")

    import ganpaint.document, ganpaint.modes, ganpaint.tools
    names = []
    for package in (ganpaint.document, ganpaint.modes, ganpaint.tools):
        names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    for name in names:
        importlib.import_module(name)
    loaded = [m for m in sys.modules if m.startswith(BLOCKED)]
    assert not loaded, loaded
    print("OK", sorted(names))
    """
)


def test_document_imports_without_qt_gui():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK")
    for module in ("atomic", "autosave", "history", "imageio", "model", "project", "vectors"):
        assert f"ganpaint.document.{module}" in proc.stdout
    for module in ("base", "inpaint", "synthesize"):
        assert f"ganpaint.modes.{module}" in proc.stdout
