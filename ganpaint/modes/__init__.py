"""Studio modes: one class per engine tab (see :mod:`ganpaint.modes.base`). Qt-free."""

from ganpaint.modes.base import Mode, ModeContext
from ganpaint.modes.inpaint import InpaintMode
from ganpaint.modes.synthesize import SynthesizeMode

#: every mode in tab order.
MODE_CLASSES: tuple[type[Mode], ...] = (InpaintMode, SynthesizeMode)

__all__ = ["MODE_CLASSES", "InpaintMode", "Mode", "ModeContext", "SynthesizeMode"]
