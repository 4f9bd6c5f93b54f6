"""Label sets: the classes of a label map, with their names and display colours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganpaint.errors import GanpaintError
from ganpaint.paths import PALETTES

#: the label set the studio and the commands prefer when no model is named.
DEFAULT_LABEL_SET = "landscape"


@dataclass(frozen=True)
class Label:
    """One class: ``id`` (0..255 in the label map), ``name`` and display ``color`` (RGB 0..255)."""

    id: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class LabelSet:
    """The classes of one model or palette file."""

    name: str
    labels: tuple[Label, ...]

    @classmethod
    def from_json(cls, data: dict, source: str = "label set") -> "LabelSet":
        """Build from ``{"name": str, "labels": [{"id", "name", "color"}]}``; raises GanpaintError."""
        try:
            labels = tuple(Label(int(e["id"]), str(e["name"]), tuple(int(c) for c in e["color"])) for e in data["labels"])
        except (KeyError, TypeError, ValueError) as error:
            raise GanpaintError(f"{source} is not a valid label set ({error})") from None
        return cls(str(data.get("name", "labels")), labels)

    @classmethod
    def load(cls, path: str | Path) -> "LabelSet":
        """Read a palette JSON file; raises GanpaintError when it cannot be read."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise GanpaintError(f"cannot read label set '{path}': {error}") from None
        return cls.from_json(data, f"'{path}'")

    def lut(self) -> np.ndarray:
        """Colour look-up table, uint8 (256, 3): row ``id`` is that class's colour, unknown ids are magenta."""
        table = np.tile(np.array([255, 0, 255], np.uint8), (256, 1))
        for label in self.labels:
            table[label.id] = label.color
        return table

    def colorize(self, label_map: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) picture of a label map uint8 (H, W)."""
        return self.lut()[label_map]

    def by_id(self, class_id: int) -> Label | None:
        return next((label for label in self.labels if label.id == class_id), None)


def default_labelset() -> LabelSet:
    """The landscape classes shipped in ``ganpaint/resources/palettes/landscape.json``."""
    return LabelSet.load(PALETTES / "landscape.json")
