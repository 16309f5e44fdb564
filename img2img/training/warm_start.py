"""``train --warm-start RUN``: a new run that begins from another run's newest checkpoint.

``--resume`` refuses what would change a run (a lower learning rate after a NaN, another loss); a warm start
is how to get it anyway without losing the training done so far. The networks' weights are copied, which
needs the same architecture; each optimiser's moments are copied too where its variables still fit (the
same optimiser, the same shapes). The step counter is not: the new run starts at step 0, with its own
learning-rate schedule and seed, so its config and metrics describe it alone; the learning rate is not
copied either. With the counter at 0,
Adam's bias correction starts again, which shrinks the first updates; that errs on the side of caution.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from img2img.errors import Img2ImgError
from img2img.runs import RunDirectory

# Optimiser variables that belong to the run, not to what was learnt: the step counters (a new run counts from
# 0) and the learning rate (the new run's own, often the very thing the warm start is for).
_RUN_VARIABLES = {"iteration", "learning_rate"}


def _fits(target: list[Any], source: list[Any]) -> bool:
    return len(target) == len(source) and all(
        tuple(a.shape) == tuple(b.shape) for a, b in zip(target, source, strict=True))


def warm_start(model: Any, source_path: Path, plugins: Any, echo: Callable[[str], None]) -> dict[str, Any]:
    """Copy the source run's newest checkpoint into ``model``; returns what config.json records of it."""
    from img2img.training.assembly import load_run_model

    run = RunDirectory.open(source_path, "--warm-start")
    config = run.read_config()
    if config["model"]["name"].replace("-", "_") != model.name:  # the Keras model is named after the plugin's
        raise Img2ImgError(f"--warm-start {source_path}: a {config['model']['name']!r} run cannot start a "
                           f"{type(model).name!r} run; warm-start from a run of the same model")
    source = load_run_model(run, plugins)
    target_weights, source_weights = list(model.weights), list(source.weights)
    if not _fits(target_weights, source_weights):
        mismatch = next((f"{a.path} {tuple(a.shape)} here, {tuple(b.shape)} there"
                         for a, b in zip(target_weights, source_weights, strict=False)
                         if tuple(a.shape) != tuple(b.shape)),
                        f"{len(target_weights)} weights here, {len(source_weights)} there")
        raise Img2ImgError(f"--warm-start {source_path}: the networks differ ({mismatch}); a warm start keeps "
                           "the architecture: give the same --image-size and architecture --set options")
    for a, b in zip(target_weights, source_weights, strict=True):
        a.assign(b)
    copied = []
    for role in ("g_optimizer", "d_optimizer"):
        target, stored = getattr(model, role), getattr(source, role)
        if type(target) is type(stored) and _fits(target.variables, stored.variables):
            for a, b in zip(target.variables, stored.variables, strict=True):
                if a.name not in _RUN_VARIABLES:
                    a.assign(b)
            copied.append(role)
    step = source.step
    state = "and both optimisers' state" if len(copied) == 2 else (
        f"and the {copied[0].split('_')[0]} optimiser's state" if copied else "but no optimiser state (the "
        "optimisers differ)")
    echo(f"Warm start: weights {state} from {run.path} at step {step}; this run counts from step 0")
    return {"from": str(run.path), "step": step, "optimizers": copied}
