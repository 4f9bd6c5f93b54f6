"""Parsing untrusted JSON (project files, model cards, autosave sidecars) with a nesting limit.

``json.loads`` recurses once per nesting level, so a file of a few kilobytes of ``[[[[...`` raises
``RecursionError`` (not a ``ValueError``), and a value that parses just below the interpreter's limit can
still overflow later recursive code (``dataclasses.asdict``, the pure-Python JSON encoder). Every reader
of untrusted JSON goes through :func:`loads_limited`, which turns both into ``ValueError``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "loads_limited", "nesting_ok"]

MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted by default."""


def nesting_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON ``value`` nests lists/objects at most ``limit`` levels deep (iterative)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


def loads_limited(data: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads(data)``, refusing nesting deeper than ``limit`` levels.

    Raises:
        ValueError: invalid JSON or UTF-8 (``json.JSONDecodeError`` and ``UnicodeDecodeError`` are
            ValueErrors), numbers beyond Python's digit limit, or nesting deeper than ``limit`` (message
            ``"nests deeper than N levels"``), including nesting too deep for the parser itself.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"nests deeper than {limit} levels") from None
    if not nesting_ok(value, limit):
        raise ValueError(f"nests deeper than {limit} levels")
    return value
