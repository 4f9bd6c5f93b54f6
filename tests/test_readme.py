"""The README says what exists (#9.9): its shortcuts table covers every menu shortcut of the real
window, and it claims no engine the registry does not have."""

import re

import pytest
from PySide6.QtGui import QKeySequence

from tests.conftest import REPO

pytestmark = pytest.mark.gui


def _readme():
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_shortcuts_table_lists_every_menu_shortcut(window):
    table = _readme().split("### Shortcuts", 1)[1].split("\n## ", 1)[0]
    listed = {key.replace("\\\\", "\\") for key in re.findall(r"`([^`]+)`", table)}
    missing = []
    for menu in window.menuBar().findChildren(type(window.recent_menu)):
        for action in menu.actions():
            for shortcut in action.shortcuts():
                keys = shortcut.toString(QKeySequence.SequenceFormat.PortableText).replace("Del", "Delete")
                if keys and keys not in listed and keys.replace("Return", "Enter") not in listed:
                    missing.append(f"{action.text().replace('&', '')}: {keys}")
    # Ctrl+Enter is the keypad twin of Ctrl+Return, listed once
    assert [m for m in missing if not m.endswith("Ctrl+Enter")] == []


def test_readme_claims_only_engines_that_exist():
    from ganpaint.engines.registry import ModelRegistry

    tasks = {card.task for card in ModelRegistry.default().cards()}
    intro = _readme().split("## Using the studio", 1)[0]
    for word, task in (("coloriz", "colorize"), ("projection", "manifold")):
        if word in intro.lower() and task not in tasks:
            sentence = next(s for s in re.split(r"(?<=[.:])\s", intro) if word in s.lower())
            assert "none is there yet" in sentence or "not there yet" in sentence, sentence
