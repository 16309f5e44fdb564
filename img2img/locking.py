"""One img2img process per folder: a run directory, or a translate output folder.

Two trainings resuming one run would interleave checkpoints and duplicate metrics rows; two translates into
one folder would silently overwrite each other. The lock is an OS file lock (``flock``) on a file inside the
folder, so it dies with the process that holds it, however that process ends: a SIGKILLed holder never
blocks the next start. The lock file names its holder's PID and command, for the one-line refusal a second
process gets. Holding the lock also makes it safe to delete temporary files a killed process left behind:
nobody else can be writing them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from img2img.atomic import TEMPORARY_PREFIX
from img2img.errors import Img2ImgError

LOCK_NAME = ".img2img.lock"


class FolderInUse(Img2ImgError):
    """Another live process holds the folder."""


class FolderLock:
    """``with FolderLock(folder, "train"):`` holds ``folder`` (created if missing) for this process.

    On release the lock file goes, and so does the folder when this lock created it and nothing else was
    written there, so a start that fails early leaves nothing behind."""

    def __init__(self, folder: Path, command: str, option: str = "--out") -> None:
        self.folder = Path(folder)
        self.command = command
        self.option = option
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self._created: list[Path] = []

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise Img2ImgError(f"{self.option} {self.folder}: is a file, not a folder; choose another {self.option}")
        missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Img2ImgError(f"{self.option} {self.folder}: cannot create the folder ({exc.strerror})") from None
        self._created = missing  # deepest first: removed in this order if left empty
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise Img2ImgError(f"{self.option} {self.folder}: cannot write there ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise FolderInUse(f"{self.option} {self.folder}: in use by {holder}; wait for it to finish, "
                                  f"or choose another {self.option}") from None
            # The holder we waited on may have removed the file between our open and our lock: then we hold
            # a lock on a file nobody else can see, so take the lock again on whatever is there now.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"img2img {self.command} (PID {os.getpid()})".encode())
        self._fd = fd
        remove_stale_temporaries(self.folder)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        for folder in self._created:
            try:
                folder.rmdir()  # only when empty: anything written there stays
            except OSError:
                break


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that killed img2img processes left under ``folder`` (only ours: they carry
    img2img's prefix). Call only while holding the folder's lock."""
    removed = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(TEMPORARY_PREFIX):
                path = Path(root) / name
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed
