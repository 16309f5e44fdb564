"""What ``--resume`` may change, and the check that holds a restarted command to it.

Job schedulers restart a preempted job with the very command that started it, so ``--resume`` compares only
what the user gave explicitly (never Click's defaults) against the run's stored, resolved config: an option
repeated with its stored value is accepted, one that would change the run is refused by name with both
values. What may change is what cannot alter the run's mathematics: where the data lives, how far to
train, which files to keep. Everything else is fixed for the run's lifetime; ``--warm-start`` starts a new
run from a checkpoint for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from img2img.errors import Img2ImgError
from img2img.options import parse_settings


@dataclass(frozen=True)
class ResumeRule:
    may_change: bool
    why: str

    @property
    def note(self) -> str:
        return f"[{'may change' if self.may_change else 'fixed'} on --resume: {self.why}]"


# Every `img2img train` option but MODEL, --out and --resume themselves; a test holds the command to this table.
TRAIN_OPTIONS: dict[str, ResumeRule] = {
    "data": ResumeRule(True, "the same images may have moved"),
    "data_b": ResumeRule(True, "the same images may have moved"),
    "loss": ResumeRule(False, "the objective"),
    "penalties": ResumeRule(False, "part of the objective"),
    "settings": ResumeRule(False, "except keys marked resumable in 'img2img models -v'"),
    "steps": ResumeRule(True, "train further"),
    "epochs": ResumeRule(True, "train further"),
    "steps_per_epoch": ResumeRule(False, "the LR schedule counts epochs in steps"),
    "batch_size": ResumeRule(False, "changes every step and the data order"),
    "image_size": ResumeRule(False, "the networks' shapes"),
    "seed": ResumeRule(False, "the data order and the latent draws"),
    "precision": ResumeRule(False, "the optimiser's loss-scale state"),
    "strategy": ResumeRule(True, "a checkpoint holds one copy of each variable"),
    "text_encoder": ResumeRule(False, "the embeddings the model learnt"),
    "warm_start": ResumeRule(False, "a warm start begins a new run; --resume continues one"),
}


def resume_note(option: str) -> str:
    return TRAIN_OPTIONS[option].note


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_resume(request: Any, explicit: set[str], config: dict[str, Any], model_cls: Any, plugins: Any,
                 resolve_penalties: Callable[[list[str], Any], list[dict[str, Any]]],
                 echo: Callable[[str], None]) -> None:
    """Refuse every explicitly given option whose value differs from the stored run, all at once; apply the
    ones that may change (data paths, resumable --set keys) to ``config``."""
    from img2img.losses import parse_loss_spec  # Keras: kept out of `img2img --help`, which reads TRAIN_OPTIONS
    training = config["training"]
    conflicts: list[str] = []

    def compare(option: str, given: Any, stored: Any, shown: str | None = None) -> None:
        if option in explicit and given != stored:
            conflicts.append(f"{shown or f'{_flag(option)} {given}'} (the run has {stored})")

    compare("batch_size", request.batch_size, training["batch_size"])
    compare("seed", request.seed, training["seed"])
    compare("precision", request.precision, training["precision"])
    compare("image_size", request.image_size, config["image_size"])
    compare("steps_per_epoch", request.steps_per_epoch, training.get("steps_per_epoch"))
    compare("text_encoder", request.text_encoder, (config.get("text_encoder") or {}).get("name"))
    if "warm_start" in explicit and request.warm_start is not None:
        conflicts.append(f"--warm-start {request.warm_start} (a warm start begins a new run; give it a new --out)")
    if "loss" in explicit and request.loss:
        given = parse_loss_spec(request.loss, plugins.losses).describe()
        stored = {key: value for key, value in config["loss"].items() if key != "plugin"}
        stored = plugins.losses.get(stored["name"]).configure(**stored.get("params", {})).describe() \
            if stored["name"] in plugins.losses else stored
        if given != stored:
            conflicts.append(f"--loss {request.loss} (the run has {_loss_text(stored)})")
    if "penalties" in explicit and request.penalties:
        given = resolve_penalties(list(request.penalties), config)
        if given != config["penalties"]:
            shown = ", ".join(f"{p['name']}:{p['weight']:g}" for p in config["penalties"]) or "none"
            conflicts.append(f"--penalty {' --penalty '.join(request.penalties)} (the run has {shown})")
    options = model_cls.all_options()
    changes: dict[str, Any] = {}
    if "settings" in explicit and request.settings:
        given = parse_settings(request.settings, options, f"model {config['model']['name']!r} (or the trainer)")
        for key, value in given.items():
            stored = config["settings"].get(key)
            if value == stored:
                continue
            if options[key].resumable:
                changes[key] = value
            else:
                conflicts.append(f"--set {key}={value} (the run has {key}={stored})")
    if conflicts:
        raise Img2ImgError(
            "--resume continues a run as it was configured, and these would change it: " + "; ".join(conflicts)
            + ". Drop them (or give the stored values), or start a new run from this one's checkpoint with "
            "--warm-start RUN --out NEW_RUN"
        )
    for key, value in changes.items():
        echo(f"--set {key}={value}: changed on resume (was {config['settings'].get(key)})")
        config["settings"][key] = value
    if request.data:
        config["data"]["source"] = request.data
    if request.data_b:
        config["data"]["source_b"] = request.data_b


def _loss_text(described: dict[str, Any]) -> str:
    params = ",".join(f"{k}={v}" for k, v in (described.get("params") or {}).items())
    return described["name"] + (f":{params}" if params else "")
