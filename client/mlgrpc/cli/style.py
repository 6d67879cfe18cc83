"""Terminal colours for the CLI, only when the output is a terminal."""

from __future__ import annotations

import os
import sys

PREFIX_COLOURS = ("36", "35", "33", "32")  # cyan, magenta, yellow, green


def paint(text: str, colour: str) -> str:
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return text
    return f"\033[{colour}m{text}\033[0m"
