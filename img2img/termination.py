"""SIGTERM handled like Ctrl-C, so a run stopped by a cluster, ``timeout`` or ``kill`` keeps its work.

Schedulers and ``timeout`` end a job with SIGTERM, and Python's default for it is to die on the spot,
losing the epoch in progress. Raised as a KeyboardInterrupt subclass, it takes the path Ctrl-C takes: the
trainer saves a checkpoint at the step it reached, and the command exits 143 (128 + SIGTERM) as a
terminated process should.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_STATUS = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread (elsewhere signals cannot be caught)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
