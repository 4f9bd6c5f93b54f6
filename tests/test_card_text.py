"""``NAME.md`` texts made from model cards (``ganpaint.training.card_text``)."""

import json

from ganpaint.training.card_text import card_markdown, write_card_text


def _card():
    return {"name": "toy", "task": "colorize", "architecture": "lite-siggraph17", "resolution": 256,
            "config": {"mode": "photo", "net": {"widths": [8, 16]}}, "dataset": "blobs (train split)",
            "licence": "research only", "training": {"command": "ganpaint train colorize --mode photo", "steps": 3,
                                                     "phases": [{"from_step": 0, "lr": 0.001}]},
            "metrics": {"eval": {"psnr_db": {"0": {"model": 19.5, "levin": 23.2}, "5": {"model": 24.0, "levin": 26.5}}},
                        "samples": "toy-samples.jpg"},
            "weights": "toy.safetensors", "sha256": "ab" * 32}


def test_every_section_and_a_metrics_table():
    text = card_markdown(_card())
    for part in ("# toy", "## Network", "- architecture: lite-siggraph17", "- widths: [8, 16]",
                 "- data: blobs (train split)", "- licence: research only", "- command: `ganpaint train colorize --mode photo`",
                 "- steps: 3", "| | model | levin |", "| 5 | 24 | 26.5 |", "![samples](toy-samples.jpg)", "ab" * 32):
        assert part in text, part


def test_written_beside_the_card(tmp_path):
    card = tmp_path / "toy.json"
    card.write_text(json.dumps({**_card(), "metrics": {}}))
    out = write_card_text(card)
    assert out == tmp_path / "toy.md" and "- not evaluated yet" in out.read_text()
