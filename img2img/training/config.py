"""What a run is: the train request, resolved into the config.json that rebuilds it, for a new run or a resumed one.

The core names no model or loss: everything comes from the plugin registries, and what was chosen is
written to config.json so the run can be resumed and its model rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from img2img import __version__
from img2img.data import domain_pair
from img2img.errors import Img2ImgError
from img2img.losses import parse_loss_spec
from img2img.options import parse_settings
from img2img.plugins import PluginManager
from img2img.resume import check_resume
from img2img.runs import RunDirectory, complete_settings

DEFAULT_EPOCHS = 10


@dataclass
class TrainRequest:
    model: str
    data: str | None = None
    data_b: str | None = None
    loss: str | None = None
    penalties: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    steps: int | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int = 64
    image_size: int | None = None
    out: Path | None = None
    resume: bool = False
    seed: int = 0
    precision: str = "auto"
    strategy: str = "auto"
    verbose: int | str = "auto"
    text_encoder: str | None = None
    warm_start: Path | None = None
    # The options the user gave (the CLI asks Click); None: those whose value differs from the default.
    explicit: frozenset[str] | None = None

    def given(self) -> set[str]:
        if self.explicit is not None:
            return set(self.explicit)
        return {f.name for f in fields(self) if f.name != "explicit"
                and getattr(self, f.name) != (f.default_factory() if callable(f.default_factory) else f.default)}


def parse_penalty(text: str, plugins: PluginManager) -> tuple[Any, float]:
    name, sep, weight_text = text.partition(":")
    penalty = plugins.penalties.get(name)
    if not sep:
        return penalty, float(penalty.default_weight)
    try:
        return penalty, float(weight_text)
    except ValueError:
        raise Img2ImgError(f"--penalty {text}: the weight after ':' must be a number") from None


def configured_loss(config: dict[str, Any], plugins: PluginManager) -> Any:
    """The run's loss with the parameters it was configured with."""
    entry = config["loss"]
    return plugins.losses.get(entry["name"]).configure(**entry.get("params", {}))


def default_run_dir(model: str) -> Path:
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def new_config(r: TrainRequest, plugins: PluginManager) -> dict[str, Any]:
    """The config of a new run: the request resolved through the registries, every default filled in."""
    model_cls = plugins.models.get(r.model)
    loss = parse_loss_spec(r.loss or model_cls.default_loss, plugins.losses)
    penalties = resolve_penalties(r.penalties, loss, plugins)
    user = parse_settings(r.settings, model_cls.all_options(), f"model {r.model!r} (or the trainer)")
    settings = {k: o.default for k, o in model_cls.all_options().items()}
    settings.update({k: v for k, v in model_cls.training_defaults.items() if k in settings})
    settings.update({k: v for k, v in loss.optimizer_defaults.items() if k in settings})
    settings.update(user)
    image_size = r.image_size or model_cls.default_image_size
    model_cls.check_image_size(image_size)
    if r.data is None:
        raise Img2ImgError("--data is required: a folder of images, tfds:NAME, or a plugin's scheme")
    data_a, data_b = r.data, r.data_b
    if data_b is not None and model_cls.domains < 2:
        raise Img2ImgError(f"--data-b: model {r.model!r} trains on one domain; drop --data-b")
    if data_b is None and model_cls.domains >= 2 and not model_cls.paired:  # paired: A|B side by side
        pair = domain_pair(r.data, plugins.datasets)
        if pair is None:
            raise Img2ImgError(
                f"model {r.model!r} translates between two domains: give --data A --data-b B, a folder "
                "holding trainA/ and trainB/, or tfds:NAME whose splits are trainA and trainB"
            )
        data_a, data_b = pair
    text_encoder = None
    if model_cls.text_conditional:
        name = r.text_encoder or model_cls.default_text_encoder
        encoder = plugins.text_encoders.get(name)
        text_encoder = {"name": encoder.name, "dimension": int(encoder.dimension),
                        "plugin": plugins.text_encoders.plugin_of(encoder.name)}
    elif r.text_encoder:
        raise Img2ImgError(f"--text-encoder: model {r.model!r} is not text-conditioned; drop --text-encoder")
    return {
        "img2img_version": __version__,
        "model": {"name": r.model, "plugin": plugins.models.plugin_of(r.model)},
        "settings": settings,
        "image_size": image_size,
        "loss": {**loss.describe(), "plugin": plugins.losses.plugin_of(loss.name)},
        "penalties": penalties,
        "data": {"source": data_a, "source_b": data_b},
        "text_encoder": text_encoder,
        "training": {"batch_size": r.batch_size, "seed": r.seed, "precision": r.precision},
        "plugins": {name: info.version for name, info in sorted(plugins.infos.items())},
    }


def resolve_penalties(texts: list[str], loss: Any, plugins: PluginManager) -> list[dict[str, Any]]:
    """--penalty NAME[:WEIGHT] values, then the loss's own default penalties that were not named."""
    penalties = [parse_penalty(p, plugins) for p in texts]
    named = {p.name for p, _ in penalties}
    penalties += [(plugins.penalties.get(name), weight)
                  for name, weight in loss.default_penalties if name not in named]
    return [{"name": p.name, "weight": w} for p, w in penalties]


def resumed_config(r: TrainRequest, run: RunDirectory, plugins: PluginManager,
                   echo: Callable[[str], None]) -> dict[str, Any]:
    """The stored config of the run in ``run``, with what ``r`` may change applied and what it may not refused."""
    config = run.read_config()
    if config["model"]["name"] != r.model:
        raise Img2ImgError(
            f"--resume: {run.path} was trained with model {config['model']['name']!r}, not {r.model!r}"
        )
    model_cls = plugins.models.get(r.model)
    complete_settings(config, model_cls)
    check_resume(r, r.given(), config, model_cls, plugins,
                 lambda texts, stored: resolve_penalties(texts, configured_loss(stored, plugins), plugins),
                 echo)
    return config


def checkpoints_to_keep(settings: dict[str, Any], model_cls: Any) -> int:
    """The run's keep_checkpoints; a run made before the option existed has none stored and gets its default."""
    return int(settings.get("keep_checkpoints", model_cls.all_options()["keep_checkpoints"].default))


def train_command(config: dict[str, Any], model_cls: Any, settings: dict[str, Any], steps: int) -> str:
    """The `img2img train` command that rebuilds ``config`` with ``settings`` changed (shell-quoted)."""
    import shlex

    defaults = {k: o.default for k, o in model_cls.all_options().items()}
    changed = {**{k: v for k, v in config["settings"].items() if k in defaults and v != defaults[k]}, **settings}
    data = config["data"]
    words = ["img2img", "train", config["model"]["name"], "--data", data["source"]]
    if data.get("source_b") and model_cls.domains >= 2:
        words += ["--data-b", data["source_b"]]
    loss = config["loss"]
    params = ",".join(f"{k}={v}" for k, v in (loss.get("params") or {}).items())
    words += ["--loss", loss["name"] + (f":{params}" if params else "")]
    words += [part for p in config["penalties"] for part in ("--penalty", f"{p['name']}:{p['weight']:g}")]
    words += ["--image-size", str(config["image_size"]), "--batch-size", str(config["training"]["batch_size"]),
              "--steps-per-epoch", str(config["training"]["steps_per_epoch"]), "--steps", str(steps)]
    words += [part for k, v in changed.items() for part in ("--set", f"{k}={_setting_text(v)}")]
    if config["training"].get("precision", "float32") != "float32":
        words += ["--precision", config["training"]["precision"]]
    if config.get("text_encoder"):
        words += ["--text-encoder", config["text_encoder"]["name"]]
    return shlex.join(words)


def _setting_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)
