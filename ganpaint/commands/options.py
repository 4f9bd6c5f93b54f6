"""Shared command-line option types and checks: seeds, positive counts, output files and ``--force``.

Argument types raise ``argparse.ArgumentTypeError`` (the CLI turns it into one ``ganpaint: error:`` line);
:func:`check_output` raises :class:`~ganpaint.errors.GanpaintError` before any model is loaded, so a typo
in an output path costs no computation.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterable, Iterator

from ganpaint.document.atomic import overwriting_read_only, resolve_target
from ganpaint.errors import GanpaintError

__all__ = ["SEED_MAX", "add_force", "check_output", "int_range", "non_negative_int", "positive_int", "seed", "writing"]

SEED_MAX = 2**64 - 1
"""Largest seed accepted on the command line (torch and numpy seeds are 64-bit)."""


def _integer(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None


def seed(text: str) -> int:
    """An argparse type: a random seed from 0 to :data:`SEED_MAX` (64 bits)."""
    value = _integer(text)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"a seed must be from 0 to {SEED_MAX} (64 bits), not {text[:40]}")
    return value


def int_range(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high`` (None: no upper bound)."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text[:40]}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


positive_int = int_range(1)
"""An argparse type: a whole number >= 1."""
non_negative_int = int_range(0)
"""An argparse type: a whole number >= 0."""


def add_force(parser: argparse.ArgumentParser) -> None:
    """Add ``--force``: overwrite output files even when they are read-only."""
    parser.add_argument("--force", action="store_true", help="overwrite output files even if they are read-only")


def check_output(path: str, *, suffixes: Iterable[str] | None = None, force: bool = False) -> None:
    """Check that ``path`` can be written, before any work is done.

    Args:
        path: the output file (a symbolic link is followed).
        suffixes: accepted extensions (lower case, with the dot), or None for any.
        force: a read-only existing file may be replaced (``--force``).

    Raises:
        GanpaintError: an unsupported extension, a folder that does not exist or is not writable, a path
            that is a folder or another non-file, or a read-only file without ``force``.
    """
    name = os.path.basename(path) or path
    target = resolve_target(path)
    if suffixes is not None:
        allowed = tuple(suffixes)
        if os.path.splitext(target)[1].lower() not in allowed:
            raise GanpaintError(f"cannot write '{name}': use one of the extensions {', '.join(allowed)}.")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise GanpaintError(f"cannot write '{name}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GanpaintError(f"cannot write '{name}': the folder '{folder}' is not writable.")
    if os.path.lexists(target):
        if os.path.isdir(target):
            raise GanpaintError(f"cannot write '{name}': it is a folder.")
        if not os.path.isfile(target):
            raise GanpaintError(f"cannot write '{name}': it is not a regular file.")
        read_only = not os.access(target, os.W_OK) or not os.stat(target).st_mode & 0o222
        if read_only and not force:
            raise GanpaintError(f"'{name}' is read-only; use --force to overwrite it.")


@contextlib.contextmanager
def writing(force: bool) -> Iterator[None]:
    """Write outputs inside this block; with ``force``, read-only files may be replaced."""
    with overwriting_read_only() if force else contextlib.nullcontext():
        yield
