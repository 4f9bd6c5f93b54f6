"""``ganpaint desktop-install [--uninstall]``: menu entry, icon and ``.ganpaint`` MIME type for this user."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from ganpaint import desktop

    home = Path(args.data_home) if args.data_home else None
    if args.uninstall:
        removed, problems = desktop.uninstall(home, refresh=not args.no_refresh)
        for path in removed:
            print(f"removed {path}")
        if not removed:
            print(f"nothing to remove: no GANPaint Studio desktop entry in {home or desktop.data_home()}")
    else:
        files, problems = desktop.install(home, refresh=not args.no_refresh)
        for path in files.all():
            print(f"wrote {path}")
        print(f"the menu entry runs: {' '.join(desktop.launcher_command())}")
    for problem in problems:
        print(f"warning: {problem}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "desktop-install", help="add GANPaint Studio to the desktop menu (and .ganpaint files to it)",
        description="Install the menu entry, the icon and the MIME type of .ganpaint files into the user's XDG data "
                    "folder ($XDG_DATA_HOME, default ~/.local/share), so that the desktop lists the studio and opens "
                    "projects with it. The entry runs this installation (bundle, venv or PATH).")
    parser.add_argument("--uninstall", action="store_true", help="remove what desktop-install wrote")
    parser.add_argument("--data-home", metavar="DIR", help="XDG data folder to use instead of $XDG_DATA_HOME")
    parser.add_argument("--no-refresh", action="store_true",
                        help="do not run update-mime-database / update-desktop-database afterwards")
    parser.set_defaults(func=_run)
