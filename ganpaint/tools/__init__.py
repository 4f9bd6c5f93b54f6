"""Canvas tools: one class per tool, turning pointer events (image pixels) into document edits."""

from ganpaint.tools.base import Tool, ToolSettings
from ganpaint.tools.brushes import EraserTool, LabelBrushTool, MaskBrushTool, PaintBrushTool
from ganpaint.tools.fill import EyedropperTool, FillTool
from ganpaint.tools.hints import ColorHintTool

#: every tool of the current toolbar, in order (the colour-hint tool belongs to the Colorize mode, not listed).
TOOL_CLASSES: tuple[type[Tool], ...] = (PaintBrushTool, EraserTool, MaskBrushTool, LabelBrushTool, FillTool, EyedropperTool)

__all__ = ["TOOL_CLASSES", "ColorHintTool", "Tool", "ToolSettings", "PaintBrushTool", "EraserTool", "MaskBrushTool", "LabelBrushTool", "FillTool", "EyedropperTool"]
