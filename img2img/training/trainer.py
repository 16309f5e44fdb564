"""``img2img train``: a run's config, model and data assembled, then ``fit``, holding the run directory.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from img2img.checkpoints import reconcile_metrics
from img2img.console import start_up_clock
from img2img.data import ImageData
from img2img.errors import Img2ImgError, TrainingDiverged
from img2img.locking import FolderLock
from img2img.packing import check_pack_batch
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory, WriteFailed
from img2img.training.assembly import build_run_model, restore
from img2img.training.config import (
    DEFAULT_EPOCHS,
    TrainRequest,
    checkpoints_to_keep,
    default_run_dir,
    new_config,
    resumed_config,
    train_command,
)
from img2img.training.data import grid_inputs, load_training_data
from img2img.training.loop import distributed_fit
from img2img.training.warm_start import warm_start
from img2img.worker_sync import chief_values_in_one_collective

__all__ = ["TrainRequest", "TrainResult", "Trainer"]


@dataclass
class TrainResult:
    run: RunDirectory
    step: int
    epoch: int
    seconds: float
    history: dict[str, list[float]]


class Trainer:
    """Build everything a run needs from a TrainRequest (new run) or a run directory (resume)."""

    def __init__(self, request: TrainRequest, plugins: PluginManager, echo: Callable[[str], None]) -> None:
        self.request = request
        self.plugins = plugins
        self.echo = echo
        self.chief_run: Path | None = None  # set on a multi-worker run's non-chief workers

    # ----- the run ----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train while holding the run directory's lock: a second process on it is refused by name."""
        r = self.request
        self.start_up_clock = start_up_clock()
        if r.resume and r.out is None:
            raise Img2ImgError("--resume needs --out RUN_DIR: the run to continue")
        out = r.out or default_run_dir(r.model)
        import keras

        policy = keras.mixed_precision.global_policy().name
        scratch = self._worker_scratch()
        self.chief_run = out if scratch is not None else None
        try:
            with FolderLock(scratch or out, "train"):
                result = self._run(out, scratch)
            if scratch is not None:  # what this worker wrote is gone; the run is the chief's
                result.run = RunDirectory(out)
            return result
        finally:  # the run's policy is process-wide in Keras: models built after it get their own default again
            keras.mixed_precision.set_global_policy(policy)
            if scratch is not None:
                shutil.rmtree(scratch.parent, ignore_errors=True)

    def _worker_scratch(self) -> Path | None:
        """Where a multi-worker run's non-chief worker writes: every worker saves checkpoints (saving reads
        variables that all workers must reduce together), but only the chief writes the run directory; the
        others write to a temporary folder, deleted at the end (TensorFlow's multi-worker guide)."""
        from img2img.distribute import MULTI_WORKER, worker_role

        if self.request.strategy != MULTI_WORKER:
            return None
        role = worker_role()
        if role.chief:
            return None
        return Path(tempfile.mkdtemp(prefix=f"img2img-{role.task_type}-{role.task_index}-")) / "run"

    def _run(self, out: Path, scratch: Path | None = None) -> TrainResult:
        import keras
        import tensorflow as tf

        from img2img.devices import choose_policy, describe_devices, set_cpu_threads, set_policy, slow_policy_warning
        from img2img.distribute import describe as describe_strategy
        from img2img.distribute import (
            draw_dropout_for_global_batch,
            is_multi_worker,
            strategy_for,
            synchronise_batch_norm,
        )
        from img2img.xla import check_jit_compile, compiles_with_xla, describe_jit_compile

        r = self.request
        resume = r.resume
        if resume and RunDirectory.is_unstarted(out):  # one command for the first start and every restart
            self.echo(f"--resume: no run in {out} yet; starting one")
            resume = False
        if resume:
            run = RunDirectory.open(out)
            config = resumed_config(r, run, self.plugins, self.echo)
        else:
            config = new_config(r, self.plugins)
            RunDirectory.check_new(scratch or out)  # fail before loading data; create only once the run starts
        training = config["training"]
        model_cls = self.plugins.models.get(config["model"]["name"])

        # First: thread pools and a split CPU must be set before TensorFlow's runtime starts.
        threads = set_cpu_threads(str(config["settings"].get("cpu_threads", "auto")), model_cls.concurrent_branches)
        strategy = strategy_for(r.strategy)
        keras.utils.set_random_seed(training["seed"])
        # A resumed run keeps its policy: float16 runs hold loss-scale state in their checkpoints.
        stored = training.get("policy")
        policy = set_policy(stored or choose_policy(training["precision"]))
        training["policy"] = policy
        how = "" if stored or training["precision"] != "auto" else " (--precision auto on this hardware)"
        self.echo(f"Training on {describe_devices()}; precision {policy}{how}; {describe_strategy(strategy)}"
                  + (f"; {threads}" if threads else ""))
        check_replicas(strategy.num_replicas_in_sync, model_cls, training["batch_size"])
        jit_setting, multi_worker = str(config["settings"].get("jit_compile", "auto")), is_multi_worker(strategy)
        check_jit_compile(jit_setting, strategy.num_replicas_in_sync, multi_worker)
        check_pack_batch(int(config["settings"].get("pack", 1)), training["batch_size"], strategy.num_replicas_in_sync)
        slow = slow_policy_warning(policy) if stored else None
        if slow:
            self.echo(f"Warning: {slow}")

        latest = run.latest() if resume else None
        start_step = latest["step"] if latest else 0
        data = load_training_data(config, model_cls, self.plugins, start_step)
        self.echo(f"Data: {data.description}")
        if data.class_names and not model_cls.conditional:
            self.echo(f"Note: {model_cls.name} does not take class labels: it learns the {len(data.class_names)} "
                      "classes as one set of images (the models that draw a chosen class take generate --label; "
                      "see 'img2img models')")
        if data.count < training["batch_size"]:
            raise Img2ImgError(
                f"--batch-size {training['batch_size']} is larger than the {data.count} images in --data; "
                "lower --batch-size"
            )
        if resume and config.get("class_names") != data.class_names:
            raise Img2ImgError(
                f"--data {config['data']['source']}: has classes {_names(data.class_names)}, but the run was "
                f"trained on {_names(config.get('class_names'))}; resume it on data with the same sub-folders"
            )
        config["channels"] = data.channels
        config["class_names"] = data.class_names
        config["captions"] = data.captions[:1000] if data.captions else None  # what prompts it learnt from
        config["sample_shape"] = list(data.sample_shape) if data.sample_shape else None
        config["data"]["count"] = data.count

        plan = self.plan(data, training, resume)
        config["training"].update(plan)  # before the model: the LR schedule counts epochs in steps
        # Variables and optimiser slots mirrored on every replica; on several workers, the chief's initial
        # values reach the others in one collective (img2img.worker_sync).
        with strategy.scope(), chief_values_in_one_collective(strategy):
            model = build_run_model(config, self.plugins)
        xla = describe_jit_compile(jit_setting, compiles_with_xla(model, multi_worker),
                                   bool(tf.config.list_logical_devices("GPU")), strategy.num_replicas_in_sync,
                                   multi_worker)
        if xla:
            self.echo(xla)
        if strategy.num_replicas_in_sync > 1:
            draw_dropout_for_global_batch(model)
            if config["settings"].get("sync_batch_norm", True):
                synchronise_batch_norm(model)
        config["exports"] = {name: RunDirectory(out).network_path(name).name for name in model.exported_networks()}
        config["translate"] = {"directions": dict(model.translations), "size_multiple": model.size_multiple,
                               "minimum_size": model.translate_minimum or 4 * model.size_multiple,
                               "fixed_size": model.image_size if model.translate_fixed_size else 0}
        if latest:  # a checkpoint from any number of replicas: it holds one copy of each variable
            restore(model, run, latest)
            self.echo(f"Resuming {run.path} at step {latest['step']} (epoch {latest['epoch']})")
        if resume and scratch is None:  # one row per finished epoch, whatever a crash left (also when done)
            reconcile_metrics(run.metrics_csv, latest)
        elif r.warm_start is not None and not resume:
            config["warm_start"] = warm_start(model, r.warm_start, self.plugins, self.echo)
        if scratch is not None:  # a non-chief worker: it read the run (when resuming) and writes elsewhere
            run = RunDirectory.create(scratch)
        elif not resume:
            run = RunDirectory.create(out)
        try:
            run.write_config(config)
        except WriteFailed:
            if not resume:
                run.discard_if_unstarted()  # an empty skeleton must not block the next attempt
            raise
        if start_step >= plan["steps"]:
            missing = {name: network for name, network in model.exported_networks().items()
                       if not run.network_path(name).is_file()}
            for name, network in missing.items():
                run.export_network(name, network)
            if missing:
                self.echo(f"Exported {', '.join(f'{name}.keras' for name in missing)} again (it was missing)")
            self.echo(f"{run.path} is already at step {start_step} of {plan['steps']}; "
                      "pass a larger --steps or --epochs to train further")
            return TrainResult(run, start_step, latest["epoch"] if latest else 0, 0.0, {})
        with strategy.scope():
            return self.fit(model, data, run, config, latest)

    def plan(self, data: ImageData, training: dict[str, Any], resume: bool) -> dict[str, int]:
        """Steps per epoch defaults to one pass over the data; --steps may end mid-epoch."""
        r = self.request
        batches = max(1, data.count // training["batch_size"])
        per_epoch = training.get("steps_per_epoch") or r.steps_per_epoch or batches
        if r.steps is not None:
            total = r.steps
        elif r.epochs is not None:
            total = r.epochs * per_epoch
        else:
            total = training.get("steps") or DEFAULT_EPOCHS * per_epoch
        if r.steps is not None and r.steps_per_epoch is None and not resume:
            per_epoch = min(per_epoch, total)
        return {"steps": int(total), "steps_per_epoch": int(per_epoch)}

    def fit(self, model: Any, data: ImageData, run: RunDirectory, config: dict[str, Any],
            latest: dict[str, Any] | None) -> TrainResult:
        """Train as the config's training section plans it: seed, batch_size, steps and steps_per_epoch."""
        import tensorflow as tf

        from img2img.distribute import is_multi_worker
        from img2img.training.callbacks import (
            EpochTensorBoard,
            FirstStepTimer,
            MetricsCSV,
            NaNGuard,
            RunCheckpoint,
            RunPage,
            StopAtStep,
        )

        plan = config["training"]
        guard = NaNGuard()
        # The grid reads its own stream: iterating the training dataset here would advance its seeded
        # shuffle, and a resumed run (which reads the stored grid instead) would then see other batches.
        model_cls = self.plugins.models.get(config["model"]["name"])
        checkpoint = RunCheckpoint(run, guard, lambda: grid_inputs(
            run, model, plan["seed"], lambda: load_training_data(config, model_cls, self.plugins, 0).dataset),
            keep=checkpoints_to_keep(config["settings"], model_cls))
        dataset = data.dataset.batch(plan["batch_size"], drop_remainder=True).prefetch(tf.data.AUTOTUNE)
        initial_epoch = latest["epoch"] if latest else 0
        epochs = initial_epoch + math.ceil((plan["steps"] - model.step) / plan["steps_per_epoch"])
        verbose = self.request.verbose
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        strategy = tf.distribute.get_strategy()
        multi_worker = is_multi_worker(strategy)
        per_call = steps_per_call(config["settings"], plan, model.step, multi_worker)
        asked = config["settings"].get("steps_per_execution", 1)
        if per_call != asked:
            why = ("one per call under --strategy multi-worker" if multi_worker else
                   f"the largest count that divides both the epoch ({plan['steps_per_epoch']}) and the steps "
                   f"left ({plan['steps'] - model.step})")
            self.echo(f"--set steps_per_execution={asked}: {per_call} step(s) per call into TensorFlow, {why}")
        model.steps_per_execution = per_call  # read when fit builds its train function
        timer, stop, page = FirstStepTimer(*self.start_up_clock, quiet=verbose == 0, steps=per_call), \
            StopAtStep(plan["steps"]), RunPage(run, config)

        def callbacks(append: bool) -> list[Any]:
            # The writers of metrics and logs open their files at the start of each fit: fresh ones append.
            return [timer, guard, stop, checkpoint,
                    MetricsCSV(str(run.metrics_csv), append=append),  # reconciled with latest in _run
                    page,  # after the metrics row it plots
                    EpochTensorBoard(log_dir=str(run.logs), write_graph=False)]

        def fit_epochs(first: int, last: int, append: bool) -> dict[str, list[Any]]:
            if multi_worker:  # fit fails there (img2img.training.loop)
                return distributed_fit(model, dataset, strategy, epochs=last, steps_per_epoch=plan["steps_per_epoch"],
                                       initial_epoch=first, callbacks=callbacks(append), verbose=verbose).history
            return model.fit(dataset, epochs=last, steps_per_epoch=plan["steps_per_epoch"], initial_epoch=first,
                             callbacks=callbacks(append), verbose=verbose, shuffle=False).history
        where = str(run.path) if self.chief_run is None else (
            f"{self.chief_run}, written by the chief (this worker writes to {run.path}, deleted at the end)")
        self.echo(f"Run directory: {where}  (steps {model.step} -> {plan['steps']}, "
                  f"{plan['steps_per_epoch']} per epoch)")
        started = time.perf_counter()
        try:
            history = fit_epochs(initial_epoch, epochs, append=latest is not None)
            top_ups = 0
            while (model.step < plan["steps"] and not model.stop_training and guard.diverged is None
                   and not multi_worker and top_ups < MAX_TOP_UPS):
                # Every planned batch ran, yet fewer generator updates were applied: float16 loss scaling
                # drops a step whose gradients overflow (while its scale settles), and a model may gate its
                # updates. --steps counts updates, so train on.
                if top_ups == 0:
                    why = ("float16 loss scaling drops steps whose gradients overflow while its scale settles"
                           if config["training"].get("policy") == "mixed_float16" else "the model gates its updates")
                    self.echo(f"{plan['steps'] - model.step} generator update(s) were skipped ({why}); "
                              f"training on to step {plan['steps']}")
                top_ups += 1
                per_call = steps_per_call(config["settings"], plan, model.step, multi_worker)
                if per_call != model.steps_per_execution:
                    model.steps_per_execution, model.train_function = per_call, None  # traced again
                first, epochs = epochs, epochs + math.ceil((plan["steps"] - model.step) / plan["steps_per_epoch"])
                more = fit_epochs(first, epochs, append=True)
                history = {key: [*history.get(key, []), *more.get(key, [])] for key in {*history, *more}}
        except OSError as exc:  # a sample grid, the metrics file or the logs could not be written (disk full)
            raise run.write_failed(Path(exc.filename) if exc.filename else run.path, exc) from None
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM (img2img.termination) between compiled steps: the model is consistent, so keep
            # the partial epoch's work.
            if guard.diverged is None and model.step > (latest or {}).get("step", 0) and not (
                    checkpoint.saved and checkpoint.saved["step"] == model.step):
                epoch_now = (checkpoint.saved or latest or {"epoch": initial_epoch})["epoch"]
                checkpoint.save(epoch_now)
                self.echo(f"\nInterrupted: saved step {model.step} to {run.path}; continue with --resume")
            raise
        seconds = time.perf_counter() - started
        if guard.diverged is not None:
            step, key, value = guard.diverged
            last = checkpoint.saved or latest
            if last:
                lower = {"lr": config["settings"]["lr"] / 2}
                retry = train_command(config, model_cls, lower, steps=plan["steps"] - last["step"])
                advice = (f"the last good checkpoint is step {last['step']} in {run.checkpoints}. To go on from it "
                          f"with half the learning rate (or another --loss), start a new run from it: {retry} "
                          f"--warm-start {run.path} --out {run.path}-warm")
            else:
                advice = "no checkpoint was written. Try a lower --set lr=... or another --loss"
            raise TrainingDiverged(f"training stopped at step {step}: {key} became {value}; {advice}")
        if checkpoint.saved is None or checkpoint.saved["step"] != model.step:
            checkpoint.save(initial_epoch)
        epoch = checkpoint.saved["epoch"] if checkpoint.saved else initial_epoch
        return TrainResult(run, model.step, epoch, seconds, {k: list(v) for k, v in history.items()})


MAX_TOP_UPS = 20  # further fits when updates were skipped; loss scaling settles within a few dozen steps


def steps_per_call(settings: dict[str, Any], plan: dict[str, int], step: int, multi_worker: bool) -> int:
    """Keras runs ``steps_per_execution`` steps per call whatever the epoch's length, so the count must divide
    the epoch and the steps left for a run to end, checkpoint and resume at exactly the steps it would with
    one step per call. Our multi-worker loop (img2img.training.loop) runs one step per call."""
    asked = int(settings.get("steps_per_execution", 1))
    if multi_worker:
        return 1
    return math.gcd(asked, plan["steps_per_epoch"], max(plan["steps"] - step, 0)) or 1


def _names(class_names: list[str] | None) -> str:
    return ", ".join(class_names) if class_names else "(no classes)"


def check_replicas(replicas: int, model_cls: Any, batch_size: int) -> None:
    """Refuse, by name, what N replicas cannot train as one device would."""
    if replicas == 1:
        return
    if not model_cls.replicas_supported:
        raise Img2ImgError(f"--strategy: model {model_cls.name!r} does not train on several replicas yet "
                           f"({replicas} here); use --strategy one")
    if batch_size % replicas:
        raise Img2ImgError(f"--batch-size {batch_size} does not split evenly over {replicas} replicas; use a "
                           f"multiple of {replicas}")
