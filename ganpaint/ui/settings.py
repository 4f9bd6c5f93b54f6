"""The studio's stored settings: one INI file (QSettings) in the user's config folder.

``$GANPAINT_CONFIG_DIR`` replaces the folder (tests point it at a temporary one); otherwise it is
platformdirs' ``user_config_dir("ganpaint", "GANPaint")``. Stored there: the window's geometry and
dock layout, the tool settings, the recent files, the last folder, and the Preferences (device,
threads, autosave interval, user models folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from ganpaint.tools import ToolSettings

if TYPE_CHECKING:  # pragma: no cover
    from ganpaint.ui.preferences import Preferences

MAX_RECENT = 10
"""Most files listed in File > Open Recent."""
TOOL_FIELDS = ("size", "hardness", "opacity", "color", "label", "tolerance", "gap")
"""ToolSettings fields kept between sessions (the fill target follows the mode instead)."""


def settings_file() -> Path:
    """Path of the INI file (not created here)."""
    folder = os.environ.get("GANPAINT_CONFIG_DIR")
    if not folder:
        import platformdirs

        folder = platformdirs.user_config_dir("ganpaint", "GANPaint")
    return Path(folder) / "studio.ini"


def app_settings() -> QSettings:
    """The studio's QSettings (INI format, see :func:`settings_file`)."""
    return QSettings(str(settings_file()), QSettings.Format.IniFormat)


def _list(value) -> list[str]:
    """A QSettings list value (None, one string or a list) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def recent_files(settings: QSettings) -> list[str]:
    """The recent files, newest first; files that no longer exist are dropped (and forgotten)."""
    stored = _list(settings.value("recent_files"))
    existing = [path for path in stored if Path(path).is_file()]
    if existing != stored:
        settings.setValue("recent_files", existing)
    return existing


def add_recent(settings: QSettings, path: str) -> None:
    """Put ``path`` first in the recent files (at most :data:`MAX_RECENT`)."""
    path = str(Path(path).resolve())
    files = [path] + [p for p in _list(settings.value("recent_files")) if p != path]
    settings.setValue("recent_files", files[:MAX_RECENT])


def clear_recent(settings: QSettings) -> None:
    settings.setValue("recent_files", [])


def save_tool_settings(settings: QSettings, tools: ToolSettings) -> None:
    """Store the :data:`TOOL_FIELDS` of ``tools``."""
    for name in TOOL_FIELDS:
        value = getattr(tools, name)
        settings.setValue(f"tools/{name}", list(value) if isinstance(value, tuple) else value)


def restore_tool_settings(settings: QSettings, tools: ToolSettings) -> None:
    """Read back what :func:`save_tool_settings` stored; missing or malformed values keep the defaults."""
    for name in TOOL_FIELDS:
        raw = settings.value(f"tools/{name}")
        if raw is None:
            continue
        default = getattr(tools, name)
        try:
            if isinstance(default, tuple):
                value = tuple(int(v) for v in _list(raw))
                if len(value) != len(default) or not all(0 <= v <= 255 for v in value):
                    continue
            else:
                value = type(default)(float(raw)) if isinstance(default, int) else type(default)(raw)
        except (TypeError, ValueError):
            continue
        setattr(tools, name, value)
    tools.size = float(min(max(tools.size, ToolSettings.MIN_SIZE), ToolSettings.MAX_SIZE))
    tools.hardness = float(min(max(tools.hardness, 0.0), 1.0))
    tools.opacity = float(min(max(tools.opacity, 0.01), 1.0))


def load_preferences(settings: QSettings) -> "Preferences":
    """The stored :class:`~ganpaint.ui.preferences.Preferences`, defaults for what is missing or malformed."""
    import torch

    from ganpaint.engines.registry import user_models_dir
    from ganpaint.ui.preferences import AUTOSAVE_MINUTES, Preferences

    def number(key: str, default: int, low: int, high: int) -> int:
        try:
            return min(max(int(settings.value(key, default)), low), high)
        except (TypeError, ValueError):
            return default

    return Preferences(device=str(settings.value("device", "auto")),
                       threads=number("threads", torch.get_num_threads(), 1, 1024),
                       autosave_minutes=number("autosave_minutes", 1, *AUTOSAVE_MINUTES),
                       models_dir=str(settings.value("models_dir", str(user_models_dir()))))


def save_preferences(settings: QSettings, prefs: "Preferences") -> None:
    settings.setValue("device", prefs.device)
    settings.setValue("threads", prefs.threads)
    settings.setValue("autosave_minutes", prefs.autosave_minutes)
    settings.setValue("models_dir", prefs.models_dir)


def model_dirs(settings: QSettings) -> list[Path]:
    """The folders the model registry reads: ``registry.default_model_dirs()``, with the user models
    folder chosen in the Preferences (``$GANPAINT_MODELS_DIR`` still replaces the whole list)."""
    from ganpaint.engines.registry import default_model_dirs, shipped_models_dir

    chosen = settings.value("models_dir")
    if os.environ.get("GANPAINT_MODELS_DIR") is not None or not chosen:
        return default_model_dirs()
    return [shipped_models_dir(), Path(str(chosen)).expanduser()]
