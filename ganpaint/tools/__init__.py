"""Canvas tools: one class per tool, turning pointer events (image pixels) into document edits."""

from ganpaint.tools.base import Tool, ToolSettings
from ganpaint.tools.brushes import EraserTool, LabelBrushTool, MaskBrushTool, PaintBrushTool
from ganpaint.tools.constraints import ColorStrokeTool, RegionTool, SketchStrokeTool
from ganpaint.tools.fill import EyedropperTool, FillTool
from ganpaint.tools.hints import ColorHintTool
from ganpaint.tools.lasso import LassoFillTool

#: every tool in toolbar order (each studio mode lists the ones it uses; choosing another switches modes).
TOOL_CLASSES: tuple[type[Tool], ...] = (PaintBrushTool, EraserTool, MaskBrushTool, LabelBrushTool, FillTool, LassoFillTool,
                                        ColorHintTool, ColorStrokeTool, SketchStrokeTool, RegionTool, EyedropperTool)

__all__ = ["TOOL_CLASSES", "ColorHintTool", "ColorStrokeTool", "RegionTool", "SketchStrokeTool", "Tool", "ToolSettings",
           "PaintBrushTool", "EraserTool", "MaskBrushTool", "LabelBrushTool", "FillTool", "LassoFillTool", "EyedropperTool"]
