"""The human-readable text (``NAME.md``) of a model card (``NAME.json``): what the network is, how it was
trained (data, licence, command, compute, wall time), how it scored and which weights file it checks.

Run ``python -m ganpaint.training.card_text ganpaint/models/NAME.json [...]`` after an export or after an
eval stored its metrics in the card; it writes ``NAME.md`` beside each card. Nested metrics are rendered as
nested lists, so every trainer's and every eval's fields appear without a per-task template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: Card fields shown in their own section, in this order, not again under "Configuration".
_TRAINING_KEYS = ("command", "steps", "batch", "size", "compute", "wall_time", "exported")


def _table(value: Any) -> list[str] | None:
    """A dict of rows that all have the same scalar fields (``{"0": {"model": 19.5, "levin": 23.2}, ...}``)
    as a Markdown table, else None."""
    if not isinstance(value, dict) or len(value) < 2 or not all(isinstance(v, dict) and v for v in value.values()):
        return None
    columns = list(next(iter(value.values())))
    if any(list(row) != columns or any(isinstance(x, (dict, list)) for x in row.values()) for row in value.values()):
        return None
    out = ["", "| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    out += [f"| {key} | " + " | ".join(_inline(row[c]) for c in columns) + " |" for key, row in value.items()]
    return out + [""]


def _lines(value: Any, indent: int = 0) -> list[str]:
    """``value`` (JSON data) as Markdown list lines: dicts as ``- key: ...``, short lists inline, uniform
    rows as tables."""
    pad = "  " * indent
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            table = _table(item)
            if table is not None:
                out.append(f"{pad}- {key}:")
                out.extend(table)
            elif isinstance(item, (dict, list)) and not _is_short(item):
                out.append(f"{pad}- {key}:")
                out.extend(_lines(item, indent + 1))
            else:
                out.append(f"{pad}- {key}: {_inline(item)}")
        return out
    if isinstance(value, list):
        if _is_short(value):
            return [f"{pad}- {_inline(value)}"]
        out = []
        for i, item in enumerate(value):
            out.append(f"{pad}- [{i}]" + ("" if isinstance(item, (dict, list)) else f" {_inline(item)}"))
            if isinstance(item, (dict, list)):
                out.extend(_lines(item, indent + 1))
        return out
    return [f"{pad}- {_inline(value)}"]


def _is_short(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value) and len(value) <= 12


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and value.startswith(("ganpaint ", "python ")):
        return f"`{value}`"  # a command line
    return str(value)


def card_markdown(card: dict) -> str:
    """The ``NAME.md`` text of ``card`` (a parsed model card).

    Raises:
        KeyError: the card lacks ``name``, ``task`` or ``architecture``.
    """
    name, task, arch = card["name"], card["task"], card["architecture"]
    training = dict(card.get("training") or {})
    out = [f"# {name}", "", f"{card.get('description', '')}".strip(), "",
           "## Network", f"- task: {task}", f"- architecture: {arch}"]
    if card.get("resolution"):
        out.append(f"- working resolution: {card['resolution']} px")
    labels = [str(label.get("name", label)) if isinstance(label, dict) else str(label) for label in card.get("labels") or []]
    if labels:
        out.append(f"- labels: {', '.join(labels)}")
    out += ["", "### Configuration"] + _lines(card.get("config") or {})
    out += ["", "## Data and licence", f"- data: {card.get('dataset', 'not stated')}",
            f"- licence: {card.get('licence', 'not stated')}"]
    out += ["", "## Training"]
    for key in _TRAINING_KEYS:
        if key in training:
            out.append(f"- {key.replace('_', ' ')}: {_inline(training.pop(key))}")
    out += _lines(training)
    metrics = dict(card.get("metrics") or {})
    samples = metrics.pop("samples", None)
    out += ["", "## Evaluation"] + (_lines(metrics) if metrics else ["- not evaluated yet"])
    if samples:
        out += ["", f"![samples]({samples})"]
    out += ["", "## Weights", f"- file: `{card.get('weights', '')}`", f"- sha256: `{card.get('sha256', '')}`", ""]
    return "\n".join(out)


def write_card_text(card_path: str | Path) -> Path:
    """Write ``NAME.md`` beside the card ``card_path`` (``NAME.json``); returns its path.

    Raises:
        OSError: the card cannot be read or the text written; ValueError: the card is not JSON.
    """
    path = Path(card_path)
    text = card_markdown(json.loads(path.read_text(encoding="utf-8")))
    out = path.with_suffix(".md")
    out.write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m ganpaint.training.card_text CARD.json [...]``."""
    for arg in argv if argv is not None else sys.argv[1:]:
        print(f"wrote {write_card_text(arg)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["card_markdown", "write_card_text"]
