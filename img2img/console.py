"""Messages to the user on stderr, so stdout stays clean for --json and pipes."""

from __future__ import annotations

import os
import sys
import time


def report(message: str) -> None:
    print(f"img2img: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    report(f"warning: {message}")


_IMPORTED = time.time()


def seconds_since_start() -> float:
    """Seconds since this process started (Linux /proc), else since img2img was imported."""
    try:
        with open("/proc/self/stat") as handle:
            start_ticks = float(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time() - _IMPORTED


_started_a_run = False


def start_up_clock() -> tuple[float, str]:
    """Where a run's start-up time counts from (a ``time.monotonic()`` reading) and how to name it.

    A process's first run counts from the process's start, since the imports are part of what a user
    waits for; a later run in the same process (a benchmark's loop, a notebook) counts from its own start,
    or it would be charged every earlier run's time."""
    global _started_a_run
    if _started_a_run:
        return time.monotonic(), "the run's start"
    _started_a_run = True
    return time.monotonic() - seconds_since_start(), "start"
