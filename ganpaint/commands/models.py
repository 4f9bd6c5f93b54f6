"""``ganpaint models list`` and ``ganpaint models verify``."""

from __future__ import annotations

import argparse


def _list(args: argparse.Namespace) -> int:
    from ganpaint.engines.registry import ModelRegistry

    registry = ModelRegistry.default()
    cards = registry.cards()
    rows = [("NAME", "TASK", "ARCHITECTURE", "RES", "WEIGHTS")]
    for card in cards:
        present = "ok" if card.weights_path.is_file() else "MISSING"
        rows.append((card.name, card.task, card.architecture, str(card.resolution), f"{card.weights} ({present})"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not cards:
        print("(no models installed)")
    for problem in registry.problems:
        print(f"problem: {problem}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ganpaint.engines.registry import ModelRegistry

    registry = ModelRegistry.default()
    failures = 0
    for card in registry.cards():
        ok, message = registry.verify(card.name)
        failures += not ok
        print(f"{'OK  ' if ok else 'FAIL'}  {card.name}: {message}")
    for problem in registry.problems:
        failures += 1
        print(f"FAIL  {problem}")
    if failures:
        print(f"{failures} model(s) failed verification")
        return 1
    print("all models verified")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list and verify installed models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list the models of every task").set_defaults(func=_list)
    actions.add_parser("verify", help="check the sha256 of every model's weights").set_defaults(func=_verify)
