"""The ``ganpaint`` command line.

``ganpaint [FILE] [--device D]`` opens the studio (FILE: a photo or a ``.ganpaint`` project);
``ganpaint COMMAND ...`` runs a command (``models``, ``bench``, ``inpaint``, ``colorize``, ``train``, ``eval``,
``desktop-install``...).
A :class:`~ganpaint.errors.GanpaintError`, and any usage error of the options, becomes one line
``ganpaint: error: ...`` on stderr and exit status 2, never a traceback. A first word that is neither a
command nor something that looks like a file (it exists, or has a folder or an extension) is an
unknown command, not a file for the studio. Output never fails on file names that are not valid text:
stdout and stderr replace what they cannot encode.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from typing import Sequence

from ganpaint import __version__
from ganpaint.errors import GanpaintError

#: subcommand name -> module exposing ``register(subparsers)``.
COMMAND_MODULES: dict[str, str] = {
    "models": "ganpaint.commands.models",
    "bench": "ganpaint.commands.bench",
    "inpaint": "ganpaint.commands.inpaint",
    "synthesize": "ganpaint.commands.synthesize",
    "segment": "ganpaint.commands.segment",
    "colorize": "ganpaint.commands.colorize",
    "project": "ganpaint.commands.manifold",
    "igan": "ganpaint.commands.manifold",
    "train": "ganpaint.commands.tasks",
    "eval": "ganpaint.commands.tasks",
    "desktop-install": "ganpaint.commands.desktop",
}


class UsageError(GanpaintError):
    """A command line that does not parse (unknown command or option, bad value)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one-line :class:`UsageError` s (subparsers inherit the class)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _command_parser(only: str | None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ganpaint",
        description="GANPaint Studio: paint with generative networks. "
        "Run 'ganpaint [FILE]' to open the studio, or one of the commands below.",
    )
    parser.add_argument("--version", action="version", version=f"ganpaint {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.add_parser("gui", help="open the studio (same as 'ganpaint [FILE]')").add_argument("file", nargs="?")
    registered = set()
    for name, module_name in COMMAND_MODULES.items():
        if (only is not None and name != only) or module_name in registered:
            continue
        registered.add(module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name or only is not None:
                raise
            continue  # an optional command that is not installed: leave it out of --help
        module.register(subparsers)
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganpaint", description="Open GANPaint Studio.")
    parser.add_argument("file", nargs="?", help="a photo (PNG, JPEG...) or a .ganpaint project to open")
    parser.add_argument("--device", default=None, help="inference device: auto, cpu, cuda, cuda:N or mps")
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from ganpaint.ui.app import run_app  # Qt is imported only for the GUI

    return run_app(file=args.file, device=getattr(args, "device", None))


def prefer_passive_openmp_wait() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy, so that waiting OpenMP threads sleep
    instead of spinning (a busy machine then slows inference a little, not 8x; measurements in
    :mod:`ganpaint.inference.device`). OpenMP reads it once, when torch loads it, so this only works before
    the first ``import torch``; returns whether it is in force for this process."""
    # the name is ganpaint.inference.device.WAIT_POLICY_ENV; not imported from there, which would load torch
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"


def _looks_like_a_file(word: str) -> bool:
    """Whether a first word that is no command names a file for the studio (rather than a typo'd command)."""
    return os.path.lexists(word) or os.sep in word or "/" in word or bool(os.path.splitext(word)[1])


def _unknown_command(word: str) -> UsageError:
    names = sorted({*COMMAND_MODULES, "gui"})
    known = {**{name: name for name in names}, "list": "models list", "verify": "models verify",
             "import": "models import"}
    close = difflib.get_close_matches(word, list(known), n=1)
    hint = f"; did you mean 'ganpaint {known[close[0]]}'?" if close else ""
    shown = word if len(word) <= 40 else word[:37] + "..."
    return UsageError(f"unknown command '{shown}' (commands: {', '.join(names)}){hint}")


def _tolerant_streams() -> None:
    """Make stdout and stderr replace characters they cannot encode (e.g. a file name that is not valid
    UTF-8, printed to a strict stream) instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a closed or detached stream
                pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ganpaint`` command; returns the process exit status (2 on a user error)."""
    prefer_passive_openmp_wait()
    _tolerant_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    first = argv[0] if argv else None
    if argv == ["--version"]:  # answered before any command module (and torch) is imported
        print(f"ganpaint {__version__}")
        return 0
    try:
        if first is None or (first not in COMMAND_MODULES and first not in ("gui", "-h", "--help", "--version")):
            if first is not None and not first.startswith("-") and not _looks_like_a_file(first):
                raise _unknown_command(first)
            return _run_gui(_gui_parser().parse_args(argv))
        if first == "gui":
            return _run_gui(_gui_parser().parse_args(argv[1:]))
        parser = _command_parser(first if first in COMMAND_MODULES else None)
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except GanpaintError as error:
        message = " ".join(str(error).split())  # one line, whatever the message held
        print(f"ganpaint: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganpaint: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
