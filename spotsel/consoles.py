"""The CLI's two consoles: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["err", "out"]

# Tables are wide: when output is piped (no terminal width to respect), do not squeeze them.
PIPE_WIDTH = 200
out = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err = Console(stderr=True, highlight=False)
