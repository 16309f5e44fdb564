"""What every benchmark shares: where results go, the CPU line it prints, timing, peak memory, tables.

A figure is only ever compared with one measured in the same run on the same machine, so each script
prints ``cpu_description()`` before its figures and writes it into the tables it keeps.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench-work"  # gitignored scratch space for long runs that resume

# Run in a child interpreter (python -c PEAK_RSS_CHILD + code): prints "PEAK_KB n" to stderr at exit.
PEAK_RSS_CHILD = """
import atexit, sys
def _peak():
    value = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
    print(f"PEAK_KB {value}", file=sys.stderr)
atexit.register(_peak)
"""


def cpu_description() -> str:
    """'model name (N cores; avx2, avx512f, avx512_bf16, amx_tile, amx_bf16)': machines of one kind are not
    one CPU, and the bfloat16 flags decide what --precision auto picks."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    extras = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]
    return f"{name} ({os.cpu_count()} cores; {', '.join(extras) or 'no AVX2'})"


def announce(title: str) -> str:
    """Print what runs, where, with which command; returns the line for a results file."""
    line = f"{title}: `python -m {command_of_caller()}` on {cpu_description()}, {time.strftime('%Y-%m-%d')}"
    print(line, flush=True)
    return line


def command_of_caller() -> str:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    module = spec.name if spec else Path(sys.argv[0]).stem
    return " ".join([module, *sys.argv[1:]])


def timed_value(fn: Callable[[], T]) -> tuple[T, float]:
    """What one call of ``fn`` returns, and the seconds it took."""
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    return timed_value(fn)[1]


def per_call(fn: Callable[[int], T], count: int, finish: Callable[[T], object] = lambda value: value) -> float:
    """Mean seconds of ``fn(0) .. fn(count - 1)``; ``finish`` takes the last result (e.g. to a number), so
    asynchronous work the calls queued is in the time."""
    def loop() -> None:
        value = None
        for i in range(count):
            value = fn(i)
        finish(value)  # type: ignore[arg-type]

    return timed(loop) / count


def add_seconds(tally: Path, fn: Callable[[], object]) -> float:
    """Run ``fn`` and add its seconds to the total kept in ``tally`` (also when it fails or is interrupted),
    so a run done in resumable pieces reports the time of all its pieces; returns the new total."""
    started = time.perf_counter()
    try:
        fn()
    finally:
        before = float(tally.read_text()) if tally.is_file() else 0.0
        tally.write_text(str(before + time.perf_counter() - started))
    return float(tally.read_text())


def peak_kb(stderr: str) -> int:
    """The ``PEAK_KB`` line a ``PEAK_RSS_CHILD`` process printed."""
    return int(next(line.split()[1] for line in stderr.splitlines() if line.startswith("PEAK_KB")))


def print_peak_table(counted: str, rows: list[tuple[int, float, float]]) -> None:
    """Rows of (count, peak MiB, items/s) for N and 10 N inputs, and the ratio of the peaks that the
    flat-memory claims are judged by."""
    print(f"| {counted} | peak RSS (MiB) | images/s |\n|---|---|---|")
    for count, peak, rate in rows:
        print(f"| {count} | {peak:.0f} | {rate:.1f} |")
    print(f"peak memory ratio for {rows[1][0] // rows[0][0]}x the {counted}: {rows[1][1] / rows[0][1]:.3f}")


def write_result(path: Path, lines: Iterable[str]) -> Path:
    """A results file (markdown), written whole; prints where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")
    return path


# The installed package names and the folders they come from (pyproject.toml's package-dir).
PACKAGE_FOLDERS = {"img2img": "img2img", "img2img_plugins": "plugins", "img2img_models": "models"}


def import_path(tree: Path, scratch: Path) -> str:
    """A folder that makes another checkout ``tree``'s packages (``git worktree add /tmp/before COMMIT``)
    shadow the installed ones, entry points included: put it on PYTHONPATH."""
    folder = scratch / f"path-{tree.name}"
    folder.mkdir()
    for package, source in PACKAGE_FOLDERS.items():
        (folder / package).symlink_to(tree / source)
    return str(folder)


def compared_trees(baseline: Path | None, scratch: Path) -> dict[str, str | None]:
    """Label -> PYTHONPATH of each img2img to run: the baseline checkout first (when given), then this one."""
    trees: dict[str, str | None] = {"this checkout": None}
    if baseline:
        trees = {f"baseline {baseline}": import_path(baseline.resolve(), scratch), **trees}
    return trees


RESULT_TAG = "RESULT "  # the line a child measurement prints its JSON result on


def print_result(value: object) -> None:
    """What a child measurement hands back to ``child_result``: one tagged JSON line on stdout."""
    import json

    print(RESULT_TAG + json.dumps(value), flush=True)


def child_result(command: list[str], what: str) -> Any:
    """Run a child measurement (a fresh interpreter: TensorFlow fixes its thread pools per process, and the
    PyTorch peers run in their own venv) and return the JSON it printed with ``print_result``; a failure
    stops the benchmark with the child's last words."""
    import json
    import subprocess

    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    line = next((x for x in reversed(result.stdout.splitlines()) if x.startswith(RESULT_TAG)), None)
    if result.returncode or line is None:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(line[len(RESULT_TAG):])


def scratch_torch_python(venv: Path, packages: Iterable[str] = ()) -> Path:
    """The Python of a scratch virtual environment with PyTorch (and ``packages``), created on first use.
    Peers and reference networks run there, never in img2img's own environment, which has no PyTorch."""
    import subprocess

    python = venv / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch", "numpy", *packages], check=True)
    return python


def trained_steps(run: Path) -> int:
    """The step a run directory's newest checkpoint holds (0 before its first): whether a piece is left."""
    import json

    pointer = run / "checkpoints" / "latest.json"
    return int(json.loads(pointer.read_text())["step"]) if pointer.is_file() else 0


def localhost_tf_configs(count: int) -> list[str]:
    """TF_CONFIG for ``count`` workers on free localhost ports, one JSON string per worker (the ports are
    free when chosen; a worker that starts much later could in principle find one taken)."""
    import json
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    workers = [f"localhost:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
            for i in range(count)]
