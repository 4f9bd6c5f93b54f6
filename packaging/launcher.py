"""Entry script of the PyInstaller bundle: the same as the ``ganpaint`` command."""

import sys

from ganpaint.cli import main

if __name__ == "__main__":
    sys.exit(main())
