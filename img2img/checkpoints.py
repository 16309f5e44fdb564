"""A run's checkpoints: which to trust, which to keep whole, and how the metrics file agrees with them.

Each checkpoint is ``step-N.weights.h5`` (networks, optimisers, pools) with ``step-N.json`` (step, epoch,
RNG state, metrics); ``latest.json`` names the newest. Full state costs about three times the networks'
weights with Adam, so only the two newest checkpoints stay full: the newest to resume from, and one exact
fallback should the newest be damaged. Older kept epochs are demoted to their networks' weights, which is
what scoring or picking an epoch afterwards needs.

A crash can leave a truncated newest file, or a ``latest.json`` cut short. Resuming then falls back to the
newest intact full checkpoint, with a warning, instead of refusing to start.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

from img2img.atomic import replacing, write_bytes_atomic, write_json_atomic
from img2img.console import warn

FULL_KEPT = 2  # the newest checkpoints that keep optimiser state
STATE_KEYS = ("step", "epoch", "weights", "rng_state")


def optimizer_groups(model: Any) -> list[str]:
    """The names under which a model's optimisers are saved (its attributes holding one)."""
    import keras

    return sorted(name for name, value in vars(model).items() if isinstance(value, keras.optimizers.Optimizer))


def read_state(path: Path) -> dict[str, Any] | None:
    """A checkpoint's json, or None when it is unreadable or not a checkpoint state."""
    try:
        with path.open() as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or any(key not in state for key in STATE_KEYS):
        return None
    return state


def damage(folder: Path, state: dict[str, Any]) -> str | None:
    """Why a full checkpoint cannot be resumed from (missing, truncated, weights only), or None."""
    import h5py

    path = folder / str(state["weights"])
    if not path.is_file():
        return f"{path.name} is missing"
    try:
        with h5py.File(path, "r") as handle:
            if state.get("full", True) and not any(name.endswith("optimizer") for name in handle):
                return f"{path.name} holds no optimiser state"
    except Exception as exc:  # h5py: OSError for a truncated file, others for worse
        return f"{path.name} is damaged ({str(exc).splitlines()[0]})"
    return None


def newest_intact(folder: Path) -> dict[str, Any] | None:
    """The state to resume from: latest.json's when it is intact, else the newest intact full checkpoint
    (with a warning naming what was wrong). None when the run has no checkpoint at all."""
    pointer = folder / "latest.json"
    states = sorted((s for p in folder.glob("step-*.json") if (s := read_state(p))), key=lambda s: -s["step"])
    if not pointer.exists() and not states:
        return None
    latest = read_state(pointer) if pointer.exists() else None
    problem = "latest.json is unreadable" if latest is None else damage(folder, latest)
    if problem is None:
        return latest
    for state in states:
        if state.get("full", True) and damage(folder, state) is None:
            warn(f"{folder}: {problem}; resuming from step {state['step']}, the newest intact checkpoint")
            return state
    from img2img.errors import Img2ImgError

    raise Img2ImgError(f"{folder}: no intact checkpoint to resume from ({problem}); start a new run, or "
                       "--warm-start from another")


def demote_old(folder: Path, optimizers: list[str], keep_full: int = FULL_KEPT) -> None:
    """Strip optimiser state from every full checkpoint older than the newest ``keep_full``."""
    states = sorted(((p, s) for p in folder.glob("step-*.json") if (s := read_state(p))), key=lambda x: -x[1]["step"])
    for path, state in states[keep_full:]:
        if not state.get("full", True):
            continue
        # The state says "weights only" before the file is: a crash between leaves a full file marked as
        # weights only (harmless), never a stripped file that claims to be resumable.
        write_json_atomic(path, {**state, "full": False})
        _strip(folder / state["weights"], optimizers)


def _strip(weights: Path, optimizers: list[str]) -> None:
    import h5py

    if not weights.is_file():
        return
    buffer = io.BytesIO()
    with h5py.File(weights, "r") as source, h5py.File(buffer, "w") as target:
        for key, value in source.attrs.items():
            target.attrs[key] = value
        for name in source:
            if name not in optimizers:
                source.copy(source[name], target, name=name)
    write_bytes_atomic(weights, buffer.getvalue())


def reconcile_metrics(path: Path, state: dict[str, Any] | None) -> None:
    """Make metrics.csv hold exactly one row per epoch the resumed checkpoint finished: rows of epochs it did
    not reach (a fallback to an older checkpoint, or a crash after the row but before the checkpoint) go,
    a half-written last line goes, and the row of its own epoch comes back from the checkpoint's metrics
    when a crash fell between the checkpoint and the row."""
    finished = int(state["epoch"]) if state else 0
    metrics = (state or {}).get("metrics") or {}
    header: list[str] = []
    rows = []
    if path.is_file():
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            for row in reader:
                with contextlib.suppress(TypeError, ValueError):
                    if None not in row.values() and int(row["epoch"]) < finished:
                        rows.append(row)
    if not header and metrics:  # killed before the first row (bench/crash_safety.py): the columns MetricsCSV writes
        header = ["epoch", *sorted(metrics)]
    by_epoch = {int(r["epoch"]): r for r in rows}
    if finished and finished - 1 not in by_epoch and metrics and header and set(header) - {"epoch"} <= set(metrics):
        by_epoch[finished - 1] = {"epoch": str(finished - 1), **{k: repr(metrics[k]) for k in header if k != "epoch"}}
    ordered = [by_epoch[e] for e in sorted(by_epoch)]
    if not path.is_file() and not ordered:
        return
    with replacing(path) as tmp, tmp.open("w", newline="") as handle:
        if header:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(ordered)
