"""Writing a file so that a crash never leaves a half-written one where a good one was."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Every temporary file img2img writes starts with this, so the next process holding the folder's lock can tell
# the leftovers of a killed one from the user's files (img2img.locking removes them).
TEMPORARY_PREFIX = ".img2img-tmp-"


def temporary_path(path: Path) -> Path:
    """A name beside ``path`` (same suffix) unique to the process and the call, which img2img.locking
    recognises as a leftover if the process dies holding it."""
    path = Path(path)
    return path.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, so writers that check it accept it); it is
    renamed over ``path`` only when the block succeeds, and removed when it fails. The name is unique to
    the process and the call, so two writers never share one temporary file."""
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``data``, flushed to the disk before it replaces ``path``; a full disk is an OSError naming the file."""
    with replacing(path) as tmp, tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, data: Any) -> None:
    """``data`` as indented JSON, written as ``write_bytes_atomic`` writes."""
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
