"""What ``img2img translate`` reads and writes: the files its inputs name (folders searched recursively, the
odd kinds of file named and skipped), and where each output goes, refused where it would replace a file or
land inside an input folder."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from img2img.data.images import is_image_path
from img2img.errors import Img2ImgError

FORMATS = ("png", "same")


@dataclass
class Job:
    source: Path
    output: Path




def _special(path: Path) -> str | None:
    """Why ``path`` is not a file to open (a FIFO would block the read forever), or None for a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link"
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return f"{kind}, not an image file; never opened"


def _walk(folder: Path, skipped: list[tuple[Path, str]]) -> Iterator[Path]:
    """Image files under ``folder``, following symbolic links once: a link back to a folder already being
    walked is named as a loop, and a sub-folder that cannot be listed is named, never silently skipped."""
    seen: set[tuple[int, int]] = set()

    def unlistable(exc: OSError) -> None:
        skipped.append((Path(exc.filename or folder), f"folder cannot be read ({exc.strerror}); skipped"))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=unlistable):
        here = Path(root)
        info = here.stat()
        if (info.st_dev, info.st_ino) in seen:
            skipped.append((here, "a symbolic link loop (a folder already being read); skipped"))
            dirs.clear()
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or not is_image_path(path):
                continue
            reason = _special(path)
            if reason:
                skipped.append((path, reason))
            else:
                yield path
        for name in list(dirs):
            reason = _special(here / name)
            if reason and "loop" in reason:
                skipped.append((here / name, f"{reason}; skipped"))
                dirs.remove(name)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def collect_jobs(inputs: list[Path], out: Path, output_format: str,
                 skipped: list[tuple[Path, str]] | None = None) -> list[Job]:
    """One job per input image. A folder's images keep their paths relative to it; a file goes to the top.
    Inputs that are not regular files (FIFOs, devices), symbolic link loops and unreadable folders are
    added to ``skipped`` with the reason, never opened."""
    skipped = [] if skipped is None else skipped
    out = out.expanduser().resolve()
    jobs: list[Job] = []
    for given in inputs:
        path = given.expanduser()
        if not path.exists():
            raise Img2ImgError(f"{given}: no such file or folder")
        folder = path.resolve() if path.is_dir() else path.resolve().parent
        if _is_within(out, folder):
            raise Img2ImgError(f"--out {out}: is inside the input folder {folder}; img2img never writes into "
                               "an input folder. Choose an --out outside it")
        if path.is_dir():
            jobs += [Job(p, out / p.relative_to(path)) for p in _walk(path, skipped)]
        elif reason := _special(path):
            skipped.append((path, reason))
        else:
            jobs.append(Job(path, out / path.name))
    if not jobs:
        why = f"; skipped: {describe_skipped(skipped)}" if skipped else ""
        raise Img2ImgError(f"no image files in {', '.join(map(str, inputs))} (looked recursively for .png, .jpg, "
                           f".jpeg, .bmp, .gif, .webp, .tif, .tiff){why}")
    for job in jobs:
        if output_format == "png":
            job.output = job.output.with_suffix(".png")
    _refuse_collisions(jobs)
    return jobs


def describe_skipped(skipped: list[tuple[Path, str]], shown: int = 10) -> str:
    text = "; ".join(f"{path} ({why})" for path, why in skipped[:shown])
    return text + (f"; and {len(skipped) - shown} more" if len(skipped) > shown else "")


def _refuse_collisions(jobs: list[Job]) -> None:
    seen: dict[Path, Path] = {}
    clashes: list[str] = []
    for job in jobs:
        if job.output in seen:
            clashes.append(f"{seen[job.output]} and {job.source} -> {job.output.name}")
        seen.setdefault(job.output, job.source)
    if clashes:
        raise Img2ImgError(f"{len(clashes)} output name(s) would be written twice ({'; '.join(clashes[:3])}); "
                           "keep each file's own format with --format same, or translate them separately")


def refuse_overwrites(jobs: list[Job], page: Path | None = None) -> None:
    """Nothing in --out is replaced without --overwrite: the outputs, nor the --html page."""
    existing = [job.output for job in jobs if job.output.exists()] + ([page] if page and page.exists() else [])
    if existing:
        shown = ", ".join(str(p) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise Img2ImgError(f"{len(existing)} output file(s) already exist ({shown}); add --overwrite to replace "
                           "them, or choose another --out")
