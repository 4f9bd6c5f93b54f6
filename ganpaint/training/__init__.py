"""Datasets, procedural masks, losses, training loops and evaluation (Qt-free)."""
