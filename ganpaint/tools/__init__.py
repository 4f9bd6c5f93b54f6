"""Canvas tools: one class per tool, turning pointer events (image pixels) into document edits."""

from ganpaint.tools.base import Tool, ToolSettings
from ganpaint.tools.brushes import EraserTool, LabelBrushTool, MaskBrushTool, PaintBrushTool
from ganpaint.tools.fill import EyedropperTool, FillTool

#: every tool in toolbar order.
TOOL_CLASSES: tuple[type[Tool], ...] = (PaintBrushTool, EraserTool, MaskBrushTool, LabelBrushTool, FillTool, EyedropperTool)

__all__ = ["TOOL_CLASSES", "Tool", "ToolSettings", "PaintBrushTool", "EraserTool", "MaskBrushTool", "LabelBrushTool", "FillTool", "EyedropperTool"]
