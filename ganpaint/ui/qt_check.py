"""Refuse a Qt binding that corrupts reference counts (the studio would abort mid-session).

PySide6-Essentials 6.12.0 on Python 3.10/3.11 returns ``None`` (and ``True``/``False``) from every
void / bool Qt method without taking a reference. From Python 3.12 those objects are immortal and
nothing happens; before, each call drops one reference to ``None``, and after a few thousand calls
(a few minutes of painting) the interpreter aborts with "Fatal Python error: none_dealloc", taking
the unsaved picture with it. ``pyproject.toml`` keeps that release off Python < 3.12; this check
catches a binding installed by hand, before any window opens.
"""

from __future__ import annotations

import sys

from ganpaint.errors import GanpaintError

CALLS = 64


def binding_leaks_references() -> bool:
    """True when calling a void Qt method ``CALLS`` times lowers ``sys.getrefcount(None)`` (always False
    on Python 3.12+, where ``None`` is immortal). Needs PySide6; no QApplication."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        probe.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    for _ in range(max(0, lost)):  # give back what the probe took, so the check itself costs nothing
        _keep.append(None)
    return lost >= CALLS // 2


_keep: list = []


class BindingError(GanpaintError):
    """The installed Qt binding would abort the studio (see the module docstring)."""


def require_sound_binding() -> None:
    """Raise :class:`BindingError` (with the message of :func:`problem`) when the binding leaks references."""
    message = problem()
    if message is not None:
        raise BindingError(message)


def problem() -> str | None:
    """A message for the user when the installed binding is unusable, else None."""
    if not binding_leaks_references():
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} has a "
            f"reference-counting bug that makes the studio abort after a few minutes of painting. Install "
            f"another release, e.g. pip install \"PySide6-Essentials>=6.7,<6.12\", or use Python 3.12 or newer.")
