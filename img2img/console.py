"""Messages to the user on stderr, so stdout stays clean for --json and pipes."""

from __future__ import annotations

import sys


def report(message: str) -> None:
    print(f"img2img: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    report(f"warning: {message}")
