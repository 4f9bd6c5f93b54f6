"""``python -m ganpaint``: same as the ``ganpaint`` command."""

from ganpaint.cli import main

raise SystemExit(main())
