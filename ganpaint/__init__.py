"""GANPaint Studio: a painting application where generative networks paint with you, live."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganpaint")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
