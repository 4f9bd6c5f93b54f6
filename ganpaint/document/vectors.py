"""Vector layer items: colour hints and sketch strokes, with validation and JSON conversion.

Coordinates are image pixels (floats, x right, y down); colours are ``(r, g, b)`` ints 0..255.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ColorHint", "SketchStroke", "as_rgb"]


def _real(value: Any, name: str, minimum: float | None = None) -> float:
    """``value`` as a finite float (ValueError if not a real number, not finite, or below ``minimum``)."""
    try:
        finite = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    except OverflowError:  # an int too large for a float, e.g. 10**400 from a JSON file
        finite = False
    if not finite:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"{name} must be a finite number, not {shown}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")
    return float(value)


def as_rgb(value: Any) -> tuple[int, int, int]:
    """``value`` as an ``(r, g, b)`` tuple of ints 0..255 (ValueError otherwise)."""
    try:
        channels = tuple(value)
    except TypeError:
        raise ValueError(f"rgb must be three integers 0..255, not {value!r}") from None
    if len(channels) != 3 or not all(
        isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c <= 255 for c in channels
    ):
        raise ValueError(f"rgb must be three integers 0..255, not {value!r}")
    return (int(channels[0]), int(channels[1]), int(channels[2]))


def _from_mapping(cls: type, data: Any, fields: tuple[str, ...]) -> Any:
    """Build ``cls`` from a JSON mapping holding each of ``fields`` (extra keys are ignored).

    Raises ValueError (never KeyError/TypeError) for a non-mapping, a missing key or a bad value
    (values are validated by the class's ``__post_init__``).
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} must be a JSON object, not {type(data).__name__}")
    missing = [name for name in fields if name not in data]
    if missing:
        raise ValueError(f"{cls.__name__} is missing {', '.join(missing)}")
    return cls(**{name: data[name] for name in fields})


@dataclass
class ColorHint:
    """A colour hint for colorization: paint ``rgb`` in a disc of ``radius`` pixels around ``(x, y)``.

    Attributes:
        x, y: centre in image pixels (float, x right, y down).
        rgb: colour, three ints 0..255.
        radius: disc radius in image pixels (>= 0).

    Raises:
        ValueError: a non-finite coordinate, a negative radius or an invalid colour.
    """

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float

    def __post_init__(self) -> None:
        self.x = _real(self.x, "x")
        self.y = _real(self.y, "y")
        self.rgb = as_rgb(self.rgb)
        self.radius = _real(self.radius, "radius", 0.0)

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict ``{"x", "y", "rgb": [r, g, b], "radius"}``."""
        return {"x": self.x, "y": self.y, "rgb": list(self.rgb), "radius": self.radius}

    @classmethod
    def from_json(cls, data: Any) -> ColorHint:
        """Inverse of :meth:`to_json`. Raises ValueError for malformed data."""
        return _from_mapping(cls, data, ("x", "y", "rgb", "radius"))


def _points(value: Any) -> list[tuple[float, float]]:
    """``value`` as a list of ``(x, y)`` float pairs (ValueError otherwise)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"points must be a list of [x, y] pairs, not {value!r}")
    points = []
    for point in value:
        pair = tuple(point) if isinstance(point, Iterable) and not isinstance(point, (str, bytes)) else ()
        if len(pair) != 2:
            raise ValueError(f"each point must be an [x, y] pair, not {point!r}")
        points.append((_real(pair[0], "point x"), _real(pair[1], "point y")))
    return points


@dataclass
class SketchStroke:
    """A sketch stroke: a polyline through ``points`` drawn in ``rgb``, ``width`` pixels wide.

    Attributes:
        points: ``[(x, y), ...]`` image pixels (floats); may be empty or a single point (a dot).
        rgb: colour, three ints 0..255.
        width: line width in image pixels (> 0).

    Raises:
        ValueError: malformed points, non-finite numbers, width <= 0 or an invalid colour.
    """

    points: list[tuple[float, float]] = field(default_factory=list)
    rgb: tuple[int, int, int] = (0, 0, 0)
    width: float = 1.0

    def __post_init__(self) -> None:
        self.points = _points(self.points)
        self.rgb = as_rgb(self.rgb)
        self.width = _real(self.width, "width", 0.0)
        if self.width <= 0:
            raise ValueError(f"width must be > 0, not {self.width!r}")

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict ``{"points": [[x, y], ...], "rgb": [r, g, b], "width"}``."""
        return {"points": [list(p) for p in self.points], "rgb": list(self.rgb), "width": self.width}

    @classmethod
    def from_json(cls, data: Any) -> SketchStroke:
        """Inverse of :meth:`to_json`. Raises ValueError for malformed data."""
        return _from_mapping(cls, data, ("points", "rgb", "width"))
