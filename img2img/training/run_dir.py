"""A run directory holds everything needed to resume a run and to use its model.

Layout::

    config.json               model, settings, loss, penalties, data, training plan (rebuilds the run)
    checkpoints/latest.json   points at the newest complete checkpoint; written last, atomically
    checkpoints/step-000040.weights.h5 / .json   networks + both optimisers + step; RNG state and epoch
    samples/epoch-0001.png    a grid from the same fixed inputs every epoch (samples/grid-inputs.npz)
    logs/                     TensorBoard
    metrics.csv               one row per epoch
    generator.keras           the exported generator (loads with safe_mode on); two-domain models also
                              export generator-b2a.keras (config.json "exports" lists them)

Every file is written to a temporary name in the same folder and renamed into place, so a crash never
leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from img2img.atomic import replacing
from img2img.errors import Img2ImgError
from img2img.locking import LOCK_NAME

CONFIG = "config.json"


def write_json_atomic(path: Path, data: Any) -> None:
    with replacing(path) as tmp, tmp.open("w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_json(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


def _holds_files(folder: Path) -> bool:
    """Anything in ``folder`` but the lock the current process holds on it."""
    return any(entry.name != LOCK_NAME for entry in folder.iterdir())


class RunDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.samples = self.path / "samples"
        self.logs = self.path / "logs"
        self.metrics_csv = self.path / "metrics.csv"
        self.config_path = self.path / CONFIG

    @staticmethod
    def check_new(path: Path) -> None:
        """Refuse a folder that already holds files, so nothing of the user's is overwritten."""
        path = Path(path)
        if path.exists() and (not path.is_dir() or _holds_files(path)):
            what = "a run" if (path / CONFIG).exists() else "files"
            raise Img2ImgError(
                f"--out {path}: already holds {what}; add --resume to continue it, or choose another --out"
            )

    @staticmethod
    def is_unstarted(path: Path) -> bool:
        """No run here yet: the folder does not exist or is empty."""
        path = Path(path)
        return not path.exists() or (path.is_dir() and not _holds_files(path))

    @classmethod
    def create(cls, path: Path) -> RunDirectory:
        """A new run directory; call once the run is known to start, so a failed start leaves nothing."""
        cls.check_new(path)
        run = cls(Path(path))
        for folder in (run.path, run.checkpoints, run.samples, run.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def open(cls, path: Path, option: str = "--out") -> RunDirectory:
        run = cls(Path(path))
        if not run.config_path.is_file():
            raise Img2ImgError(f"{option} {path}: not a run directory (no {CONFIG}); train one with 'img2img train'")
        return run

    def read_config(self) -> dict[str, Any]:
        try:
            return read_json(self.config_path)
        except (OSError, ValueError) as exc:
            raise Img2ImgError(f"{self.config_path}: cannot read the run's config ({exc})") from None

    def write_config(self, config: dict[str, Any]) -> None:
        write_json_atomic(self.config_path, config)

    # ----- checkpoints -------------------------------------------------------------------------
    def latest(self) -> dict[str, Any] | None:
        pointer = self.checkpoints / "latest.json"
        if not pointer.is_file():
            return None
        state = read_json(pointer)
        if not (self.checkpoints / state["weights"]).is_file():
            raise Img2ImgError(f"{pointer}: names {state['weights']}, which is missing; the run cannot resume")
        return state

    def save_checkpoint(self, model: Any, state: dict[str, Any], keep: int) -> dict[str, Any]:
        """Weights and optimiser slots first, then the state that names them, then the pointer; then all but
        the newest ``keep`` checkpoints go (0 keeps every one, to score or pick any epoch afterwards)."""
        stem = f"step-{state['step']:06d}"
        final = self.checkpoints / f"{stem}.weights.h5"
        with replacing(final) as tmp:
            model.save_weights(tmp)
        state = {**state, "weights": final.name}
        write_json_atomic(self.checkpoints / f"{stem}.json", state)
        write_json_atomic(self.checkpoints / "latest.json", state)
        if keep > 0:
            self._prune(final.name, keep)
        return state

    def _prune(self, newest: str, keep: int) -> None:
        weights = sorted(self.checkpoints.glob("step-*.weights.h5"))
        for old in weights[:-keep]:
            if old.name != newest:
                old.unlink(missing_ok=True)
                old.with_name(old.name.replace(".weights.h5", ".json")).unlink(missing_ok=True)

    def export_network(self, name: str, network: Any) -> None:
        with replacing(self.path / f"{name}.keras") as tmp:
            network.save(tmp)
