"""Vector layer items: colour hints and sketch strokes, with validation and JSON conversion.

Coordinates are image pixels (floats, x right, y down); colours are ``(r, g, b)`` ints 0..255.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STROKE_KINDS", "ColorHint", "SketchStroke", "as_rgb"]


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
    """A colour hint for colorization: a *point hint* (a disc of ``radius`` pixels around ``(x, y)``) or, when
    ``points`` holds two or more points, a *stroke hint* (the polyline through ``points``, ``radius`` pixels on
    each side, round ends), both asking for colour ``rgb``.

    Attributes:
        x, y: the hint's anchor in image pixels (float, x right, y down): the disc's centre, or a stroke's first
            point (``points[0]``, kept equal by :meth:`moved` and ``__post_init__``).
        rgb: colour, three ints 0..255.
        radius: disc radius / stroke half-width in image pixels (>= 0).
        points: ``((x, y), ...)`` of a stroke hint, empty for a point hint.

    Raises:
        ValueError: a non-finite coordinate, a negative radius, malformed points or an invalid colour.
    """

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float
    points: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        self.x = _real(self.x, "x")
        self.y = _real(self.y, "y")
        self.rgb = as_rgb(self.rgb)
        self.radius = _real(self.radius, "radius", 0.0)
        self.points = tuple(_points(self.points))
        if self.points:
            self.x, self.y = self.points[0]

    @property
    def is_stroke(self) -> bool:
        """Whether this is a stroke hint (two or more points)."""
        return len(self.points) >= 2

    def path(self) -> tuple[tuple[float, float], ...]:
        """The polyline the hint covers: ``points``, or ``((x, y),)`` for a point hint."""
        return self.points if self.points else ((self.x, self.y),)

    def moved(self, dx: float, dy: float) -> "ColorHint":
        """A copy translated by ``(dx, dy)`` image pixels (every point of a stroke)."""
        points = tuple((px + dx, py + dy) for px, py in self.points)
        return ColorHint(self.x + dx, self.y + dy, self.rgb, self.radius, points)

    def recolored(self, rgb: Any) -> "ColorHint":
        """A copy asking for colour ``rgb`` (ValueError for an invalid colour)."""
        return ColorHint(self.x, self.y, rgb, self.radius, self.points)

    def distance_to(self, x: float, y: float) -> float:
        """Distance in image pixels from ``(x, y)`` to the hint's path (its centre or stroke polyline)."""
        path = self.path()
        best = math.hypot(x - path[0][0], y - path[0][1])
        for (x0, y0), (x1, y1) in zip(path, path[1:]):
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((x - x0) * dx + (y - y0) * dy) / length2))
            best = min(best, math.hypot(x - (x0 + t * dx), y - (y0 + t * dy)))
        return best

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict ``{"x", "y", "rgb": [r, g, b], "radius"}`` plus ``"points": [[x, y], ...]`` for a stroke."""
        data: dict[str, Any] = {"x": self.x, "y": self.y, "rgb": list(self.rgb), "radius": self.radius}
        if self.points:
            data["points"] = [list(p) for p in self.points]
        return data

    @classmethod
    def from_json(cls, data: Any) -> ColorHint:
        """Inverse of :meth:`to_json` (``points`` optional). Raises ValueError for malformed data."""
        hint = _from_mapping(cls, data, ("x", "y", "rgb", "radius"))
        if "points" in data:
            hint = cls(hint.x, hint.y, hint.rgb, hint.radius, data["points"])
        return hint


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


#: Kinds of :class:`SketchStroke`: an outline (``"sketch"``: iGAN's sketch brush, an edge constraint) or a
#: colour stroke (``"color"``: iGAN's colour brush, the picture should take ``rgb`` under the stroke).
STROKE_KINDS = ("sketch", "color")


@dataclass
class SketchStroke:
    """A stroke of a brush: a polyline through ``points`` drawn in ``rgb``, ``width`` pixels wide.

    Attributes:
        points: ``[(x, y), ...]`` image pixels (floats); may be empty or a single point (a dot).
        rgb: colour, three ints 0..255.
        width: line width in image pixels (> 0).
        kind: one of :data:`STROKE_KINDS` (``"sketch"`` by default).

    Raises:
        ValueError: malformed points, non-finite numbers, width <= 0, an invalid colour or an unknown kind.
    """

    points: list[tuple[float, float]] = field(default_factory=list)
    rgb: tuple[int, int, int] = (0, 0, 0)
    width: float = 1.0
    kind: str = "sketch"

    def __post_init__(self) -> None:
        self.points = _points(self.points)
        self.rgb = as_rgb(self.rgb)
        self.width = _real(self.width, "width", 0.0)
        if self.width <= 0:
            raise ValueError(f"width must be > 0, not {self.width!r}")
        if self.kind not in STROKE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(STROKE_KINDS)}, not {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict ``{"points": [[x, y], ...], "rgb": [r, g, b], "width", "kind"}``."""
        return {"points": [list(p) for p in self.points], "rgb": list(self.rgb), "width": self.width,
                "kind": self.kind}

    @classmethod
    def from_json(cls, data: Any) -> SketchStroke:
        """Inverse of :meth:`to_json` (a missing ``kind`` means ``"sketch"``). Raises ValueError for malformed data."""
        if isinstance(data, Mapping) and "kind" not in data:
            data = {**data, "kind": "sketch"}
        return _from_mapping(cls, data, ("points", "rgb", "width", "kind"))
