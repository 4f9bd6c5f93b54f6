"""Requests, cancellation, device choice and the background inference worker (Qt-free)."""
