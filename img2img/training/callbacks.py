"""Keras callbacks that make a run safe to stop, resume and look at."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from img2img.console import report
from img2img.data.images import save_png
from img2img.runs import RunDirectory
from img2img.startup import resume_collection


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first non-finite metric and remember where, so no bad state is checkpointed."""

    def __init__(self) -> None:
        super().__init__()
        self.diverged: tuple[int, str, float] | None = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            number = float(value)
            if not math.isfinite(number):
                self.diverged = (self.model.step, key, number)
                self.model.stop_training = True
                return


class FirstStepTimer(keras.callbacks.Callback):
    """Say once how long start-up took (imports, data scan, tracing, the first step itself), counted from
    ``since`` (a ``time.monotonic()`` reading, named ``since_name``); ``quiet`` (verbose=0) says nothing."""

    def __init__(self, since: float, since_name: str = "start", quiet: bool = False, steps: int = 1) -> None:
        super().__init__()
        self.since = since
        self.since_name = since_name
        self.quiet = quiet
        self.steps = steps  # per call into TensorFlow: the first batch end comes after that many
        self.done = False

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.done:
            self.done = True
            if not self.quiet:
                what = "first step" if self.steps == 1 else f"first {self.steps} steps (one call)"
                report(f"{what} done {time.monotonic() - self.since:.1f} s after {self.since_name}")
            resume_collection()  # start-up is over (see img2img.startup)


class StopAtStep(keras.callbacks.Callback):
    """End training after exactly ``last_step`` generator updates, also mid-epoch."""

    def __init__(self, last_step: int) -> None:
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.model.step >= self.last_step:
            self.model.stop_training = True


class RunCheckpoint(keras.callbacks.Callback):
    """At each epoch end: checkpoint (atomic), sample grid from the fixed inputs, exported networks.

    Skips everything once the NaN guard has fired, so 'latest' always names a finite state.
    """

    def __init__(self, run: RunDirectory, guard: NaNGuard, grid_inputs: Callable[[], dict[str, np.ndarray]],
                 keep: int) -> None:
        super().__init__()
        self.run = run
        self.guard = guard
        self.keep = keep
        self._grid_source = grid_inputs  # drawn at the first grid, not before the first step: start-up time
        self._grid_inputs: dict[str, np.ndarray] | None = None
        self.saved: dict[str, Any] | None = None

    @property
    def grid_inputs(self) -> dict[str, np.ndarray]:
        if self._grid_inputs is None:
            self._grid_inputs = self._grid_source()
        return self._grid_inputs

    def state(self, epoch: int, logs: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "step": self.model.step,
            "rng_state": np.asarray(self.model.seed_generator.state.numpy()).tolist(),
            "rng_states": self.model.rng_states(),  # the model's and its layers' (rng_state: older readers)
            "metrics": {k: float(v) for k, v in (logs or {}).items()},
        }

    def save(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.guard.diverged is not None:
            return
        self.saved = self.run.save_checkpoint(self.model, self.state(epoch, logs), self.keep)
        for name, network in self.model.exported_networks().items():
            self.run.export_network(name, network)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.guard.diverged is not None:
            return
        self.save(epoch + 1, logs)
        self.write_grid(self.run.samples / f"epoch-{epoch + 1:04d}.png")

    def write_grid(self, path: Path) -> None:
        save_png(self.model.render_grid(self.grid_inputs), path)


class RunPage(keras.callbacks.Callback):
    """The run's index.html, rewritten after each epoch's metrics row and samples (and at the end)."""

    def __init__(self, run: RunDirectory, config: dict[str, Any]) -> None:
        super().__init__()
        self.run, self.config = run, config

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from img2img.pages import write_run_page

        write_run_page(self.run.path, self.config)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.on_epoch_end(-1, logs)


class MetricsCSV(keras.callbacks.CSVLogger):
    """Keras' CSVLogger without the empty ``val_*`` columns it adds when a run has no validation data."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.keys is None and logs:
            self.keys = sorted(logs)
        super().on_epoch_end(epoch, logs)


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback at its default, one write per epoch, without its per-batch work.

    With ``update_freq="epoch"`` Keras sets no writer for batches, yet still builds a summary for every metric
    after every batch and throws it away: Python work on every step, which a sampling profile of ``img2img
    train toy-mlp`` showed as a visible share of a small model's step. Profiling a batch range or other update
    frequencies keep Keras' behaviour.
    """

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.update_freq == "epoch" and not self._should_trace and not self.write_steps_per_second:
            return
        super().on_train_batch_end(batch, logs)

