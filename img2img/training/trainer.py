"""``img2img train``: resolve model, loss, penalties and data through the registries, then ``fit``.

The core names no model or loss: everything comes from the plugin registries, and what was chosen is
written to config.json so the run can be resumed and its model rebuilt.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from img2img import __version__
from img2img.atomic import replacing
from img2img.data import DataRequest, ImageData, domain_pair, load_source
from img2img.devices import set_graph_optimizer
from img2img.errors import Img2ImgError, TrainingDiverged
from img2img.locking import FolderLock
from img2img.losses import parse_loss_spec
from img2img.options import parse_settings
from img2img.plugins import PluginManager
from img2img.resume import check_resume
from img2img.training.checkpoints import reconcile_metrics
from img2img.training.run_dir import RunDirectory, WriteFailed
from img2img.training.schedules import learning_rate
from img2img.training.warm_start import warm_start

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
    precision: str = "float32"
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


@dataclass
class TrainResult:
    run: RunDirectory
    step: int
    epoch: int
    seconds: float
    history: dict[str, list[float]]


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


def make_optimizer(settings: dict[str, Any], lr: Any, policy: str) -> Any:
    import keras

    from img2img.optimizers import FusedAdam

    if settings["optimizer"] == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=lr)
    else:
        optimizer = FusedAdam(learning_rate=lr, beta_1=settings["beta_1"], beta_2=settings["beta_2"])
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class Trainer:
    """Build everything a run needs from a TrainRequest (new run) or a run directory (resume)."""

    def __init__(self, request: TrainRequest, plugins: PluginManager, echo: Callable[[str], None]) -> None:
        self.request = request
        self.plugins = plugins
        self.echo = echo

    # ----- configuration ----------------------------------------------------------------------
    def new_config(self) -> dict[str, Any]:
        r = self.request
        model_cls = self.plugins.models.get(r.model)
        loss = parse_loss_spec(r.loss or model_cls.default_loss, self.plugins.losses)
        penalties = self.resolve_penalties(r.penalties, loss)
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
        if data_b is None and model_cls.domains >= 2:
            pair = domain_pair(r.data, self.plugins.datasets)
            if pair is None:
                raise Img2ImgError(
                    f"model {r.model!r} translates between two domains: give --data A --data-b B, a folder "
                    "holding trainA/ and trainB/, or tfds:NAME whose splits are trainA and trainB"
                )
            data_a, data_b = pair
        text_encoder = None
        if model_cls.text_conditional:
            name = r.text_encoder or model_cls.default_text_encoder
            encoder = self.plugins.text_encoders.get(name)
            text_encoder = {"name": encoder.name, "dimension": int(encoder.dimension),
                            "plugin": self.plugins.text_encoders.plugin_of(encoder.name)}
        elif r.text_encoder:
            raise Img2ImgError(f"--text-encoder: model {r.model!r} is not text-conditioned; drop --text-encoder")
        return {
            "img2img_version": __version__,
            "model": {"name": r.model, "plugin": self.plugins.models.plugin_of(r.model)},
            "settings": settings,
            "image_size": image_size,
            "loss": {**loss.describe(), "plugin": self.plugins.losses.plugin_of(loss.name)},
            "penalties": penalties,
            "data": {"source": data_a, "source_b": data_b},
            "text_encoder": text_encoder,
            "training": {"batch_size": r.batch_size, "seed": r.seed, "precision": r.precision},
            "plugins": {name: info.version for name, info in sorted(self.plugins.infos.items())},
        }

    def resolve_penalties(self, texts: list[str], loss: Any) -> list[dict[str, Any]]:
        """--penalty NAME[:WEIGHT] values, then the loss's own default penalties that were not named."""
        penalties = [parse_penalty(p, self.plugins) for p in texts]
        named = {p.name for p, _ in penalties}
        penalties += [(self.plugins.penalties.get(name), weight)
                      for name, weight in loss.default_penalties if name not in named]
        return [{"name": p.name, "weight": w} for p, w in penalties]

    def resumed_config(self, run: RunDirectory) -> dict[str, Any]:
        r = self.request
        config = run.read_config()
        if config["model"]["name"] != r.model:
            raise Img2ImgError(
                f"--resume: {run.path} was trained with model {config['model']['name']!r}, not {r.model!r}"
            )
        model_cls = self.plugins.models.get(r.model)
        complete_settings(config, model_cls)
        check_resume(r, r.given(), config, model_cls, self.plugins,
                     lambda texts, stored: self.resolve_penalties(texts, configured_loss(stored, self.plugins)),
                     self.echo)
        return config

    # ----- the run ----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train while holding the run directory's lock: a second process on it is refused by name."""
        r = self.request
        if r.resume and r.out is None:
            raise Img2ImgError("--resume needs --out RUN_DIR: the run to continue")
        out = r.out or default_run_dir(r.model)
        with FolderLock(out, "train"):
            return self._run(out)

    def _run(self, out: Path) -> TrainResult:
        import keras

        from img2img.devices import choose_policy, describe_devices, set_policy

        r = self.request
        resume = r.resume
        if resume and RunDirectory.is_unstarted(r.out):  # one command for the first start and every restart
            self.echo(f"--resume: no run in {r.out} yet; starting one")
            resume = False
        if resume:
            run = RunDirectory.open(r.out)
            config = self.resumed_config(run)
        else:
            config = self.new_config()
            RunDirectory.check_new(out)  # fail before loading data; create only once the run starts
        training = config["training"]
        model_cls = self.plugins.models.get(config["model"]["name"])

        keras.utils.set_random_seed(training["seed"])
        # A resumed run keeps its policy: float16 runs hold loss-scale state in their checkpoints.
        policy = set_policy(training.get("policy") or choose_policy(training["precision"]))
        training["policy"] = policy
        self.echo(f"Training on {describe_devices()}; precision {policy}")

        latest = run.latest() if resume else None
        start_step = latest["step"] if latest else 0
        data = load_training_data(config, model_cls, self.plugins, start_step)
        self.echo(f"Data: {data.description}")
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
        model = build_run_model(config, self.plugins)
        config["exports"] = {name: f"{name}.keras" for name in model.exported_networks()}
        config["translate"] = {"directions": dict(model_cls.translations), "size_multiple": model_cls.size_multiple}
        if latest:
            restore(model, run, latest)
            self.echo(f"Resuming {run.path} at step {latest['step']} (epoch {latest['epoch']})")
        if resume:  # one row per finished epoch, whatever a crash left (also when the run is already done)
            reconcile_metrics(run.metrics_csv, latest)
        elif r.warm_start is not None:
            config["warm_start"] = warm_start(model, r.warm_start, self.plugins, self.echo)
        if not resume:
            run = RunDirectory.create(out)
        try:
            run.write_config(config)
        except WriteFailed:
            if not resume:
                run.discard_if_unstarted()  # an empty skeleton must not block the next attempt
            raise
        if start_step >= plan["steps"]:
            missing = {name: network for name, network in model.exported_networks().items()
                       if not (run.path / f"{name}.keras").is_file()}
            for name, network in missing.items():
                run.export_network(name, network)
            if missing:
                self.echo(f"Exported {', '.join(f'{name}.keras' for name in missing)} again (it was missing)")
            self.echo(f"{run.path} is already at step {start_step} of {plan['steps']}; "
                      "pass a larger --steps or --epochs to train further")
            return TrainResult(run, start_step, latest["epoch"] if latest else 0, 0.0, {})
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
        import keras
        import tensorflow as tf

        from img2img.training.callbacks import FirstStepTimer, MetricsCSV, NaNGuard, RunCheckpoint, StopAtStep

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
        callbacks = [
            FirstStepTimer(),
            guard,
            StopAtStep(plan["steps"]),
            checkpoint,
            MetricsCSV(str(run.metrics_csv), append=latest is not None),  # reconciled with latest in _run
            keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False),
        ]
        verbose = self.request.verbose
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        self.echo(f"Run directory: {run.path}  (steps {model.step} -> {plan['steps']}, "
                  f"{plan['steps_per_epoch']} per epoch)")
        started = time.perf_counter()
        try:
            history = model.fit(
                dataset, epochs=epochs, steps_per_epoch=plan["steps_per_epoch"],
                initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False,
            )
        except OSError as exc:  # a sample grid, the metrics file or the logs could not be written (disk full)
            where = Path(exc.filename) if exc.filename else run.path
            raise WriteFailed(f"cannot write {where} ({exc.strerror or exc}); {run.kept_note()}. Free some space "
                              "and continue with --resume") from None
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM (img2img.termination) between compiled steps: the model is consistent, so keep
            # the partial epoch's work.
            if guard.diverged is None and model.step > (latest or {}).get("step", 0):
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
        return TrainResult(run, model.step, epoch, seconds, {k: list(v) for k, v in history.history.items()})


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


def _names(class_names: list[str] | None) -> str:
    return ", ".join(class_names) if class_names else "(no classes)"


def grid_inputs(run: RunDirectory, model: Any, seed: int, stream: Callable[[], Any]) -> dict[str, np.ndarray]:
    """What every sample grid is drawn from, stored once so grids stay comparable across resumes.
    ``stream()`` gives a fresh, unbatched training stream, for models that show translations of real data."""
    path = run.samples / "grid-inputs.npz"
    if path.is_file():
        with np.load(path) as stored:
            return {key: stored[key] for key in stored.files}
    inputs = model.grid_inputs(seed, stream)
    with replacing(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **inputs)
    return inputs


def load_training_data(config: dict[str, Any], model_cls: Any, plugins: PluginManager, start_step: int) -> ImageData:
    """The training stream: one source, or two domains zipped into (a, b) pairs, with the model's
    augmentation. ``start_step`` batches are skipped, so a resumed run sees what an uninterrupted one would."""
    import tensorflow as tf

    from img2img.data.augment import random_crop_flip

    training = config["training"]
    size = config["image_size"]
    load_size, flip = model_cls.data_augmentation(config["settings"], size)
    skip = start_step * training["batch_size"]

    def load(source: str, channels: int | None, seed: int) -> ImageData:
        request = DataRequest(image_size=load_size, channels=channels, seed=seed, skip=skip,
                              captions=model_cls.text_conditional)
        data = load_source(source, request, plugins.datasets)
        if data.kind != model_cls.data_kind:
            raise Img2ImgError(f"--data {source}: gives {data.kind}, but model {model_cls.name!r} trains on "
                               f"{model_cls.data_kind}")
        if data.kind == "images":
            model_cls.check_channels(data.channels)
        if data.kind == "images" and (load_size != size or flip):
            data.dataset = random_crop_flip(data.dataset, size, data.channels, seed, flip, offset=skip)
        return data

    first = load(config["data"]["source"], config.get("channels"), training["seed"])
    if model_cls.text_conditional:
        return with_caption_embeddings(first, config, plugins)
    if model_cls.domains < 2:
        return first
    # Domain B in A's channels, shuffled with another seed so that equal folders are not paired in order.
    second = load(config["data"]["source_b"], first.channels, training["seed"] + 1)

    def images_only(data: ImageData) -> Any:
        return data.dataset.map(lambda image, label: image) if data.class_names else data.dataset

    pairs = tf.data.Dataset.zip((images_only(first), images_only(second)))
    return ImageData(pairs, max(first.count, second.count), first.channels, None,
                     f"A: {first.description}; B: {second.description}")


_embedding_cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}


def run_text_encoder(config: dict[str, Any], plugins: PluginManager, option: str = "--model") -> Any:
    """The encoder a run was trained with, checked to give embeddings of the stored size."""
    stored = config.get("text_encoder") or {}
    name = stored.get("name")
    if not name:
        raise Img2ImgError(f"{option}: this run has no text encoder; it was not trained on captions")
    if name not in plugins.text_encoders:
        raise Img2ImgError(f"{option}: the run was trained with text encoder {name!r} from plugin "
                           f"{stored.get('plugin')!r}, which is not installed; install it with 'img2img install'")
    encoder = plugins.text_encoders.get(name)
    if int(encoder.dimension) != int(stored["dimension"]):
        raise Img2ImgError(f"{option}: text encoder {name!r} now gives {encoder.dimension}-d embeddings, but the "
                           f"run was trained on {stored['dimension']}-d ones; install the version it was trained with")
    return encoder


def encode_texts(encoder: Any, texts: list[str]) -> np.ndarray:
    """Embeddings [n, dimension] as float32, checked for shape and finiteness (a plugin's output)."""
    key = (encoder.name, tuple(texts))
    if key not in _embedding_cache:
        vectors = np.asarray(encoder(list(texts)), dtype=np.float32)
        if vectors.shape != (len(texts), int(encoder.dimension)) or not np.isfinite(vectors).all():
            raise Img2ImgError(f"text encoder {encoder.name!r} returned an array of shape {vectors.shape} (or "
                               f"non-finite values) for {len(texts)} texts; expected "
                               f"({len(texts)}, {encoder.dimension})")
        _embedding_cache.clear()  # one caption set per process is what training needs; do not hoard
        _embedding_cache[key] = vectors
    return _embedding_cache[key]


def with_caption_embeddings(data: ImageData, config: dict[str, Any], plugins: PluginManager) -> ImageData:
    """(image, caption id) becomes (image, embedding). Without caption files a labelled source's class
    names serve as captions (e.g. tfds:fashion_mnist -> "Sneaker")."""
    import tensorflow as tf

    captions = data.captions
    if captions is None:
        if not data.class_names:
            raise Img2ImgError(f"--data {config['data']['source']}: model {config['model']['name']!r} learns from "
                               "captions: put NAME.txt (one caption per line) beside each image NAME.png, or use "
                               "labelled data (sub-folders or a labelled tfds set), whose class names become captions")
        captions = list(data.class_names)
        data.description += "; class names as captions"
    table = tf.constant(encode_texts(run_text_encoder(config, plugins, "--text-encoder"), captions))
    data.dataset = data.dataset.map(lambda image, caption: (image, tf.gather(table, caption)))
    data.captions = captions
    data.class_names = None
    return data


def restore(model: Any, run: RunDirectory, state: dict[str, Any]) -> None:
    """Load networks, both optimisers' slots and step, then the latent RNG state."""
    model.load_weights(run.checkpoints / state["weights"])
    model.seed_generator.state.assign(np.asarray(state["rng_state"], dtype=model.seed_generator.state.dtype))


def complete_settings(config: dict[str, Any], model_cls: Any) -> None:
    """Give a stored run the defaults of options its model or the trainer gained after the run was made. A
    new option's default keeps the behaviour it had before, so older runs resume and load as they trained."""
    config["settings"] = {**{k: o.default for k, o in model_cls.all_options().items()}, **config["settings"]}


def checkpoints_to_keep(settings: dict[str, Any], model_cls: Any) -> int:
    """The run's keep_checkpoints; a run made before the option existed has none stored and gets its default."""
    return int(settings.get("keep_checkpoints", model_cls.all_options()["keep_checkpoints"].default))


def build_run_model(config: dict[str, Any], plugins: PluginManager) -> Any:
    """The model a config describes, compiled with its loss, penalties and optimisers (slots built, so a
    checkpoint can be loaded into it). The optimiser structure follows the stored precision policy."""
    model_cls = plugins.models.get(config["model"]["name"])
    settings = config["settings"]
    for key, option in model_cls.all_options().items():  # a config edited by hand is held to the same ranges
        if key in settings:
            option.check(key, settings[key])
    policy = config["training"].get("policy", "float32")
    model = model_cls(
        image_size=config["image_size"], channels=config["channels"],
        num_classes=len(config.get("class_names") or []), seed=config["training"]["seed"],
        sample_shape=config.get("sample_shape"), text_dim=int((config.get("text_encoder") or {}).get("dimension", 0)),
        **{k: settings[k] for k in model_cls.options},
    )
    per_epoch = int(config["training"].get("steps_per_epoch") or 1)
    d_lr = learning_rate(settings["d_lr"] or settings["lr"], settings, per_epoch, settings["n_critic"])
    jit = {"true": True, "false": False}.get(settings.get("jit_compile", "auto"), "auto")
    set_graph_optimizer(settings.get("grappler", "auto"))
    model.compile(
        d_optimizer=make_optimizer(settings, d_lr, policy),
        g_optimizer=make_optimizer(settings, learning_rate(settings["lr"], settings, per_epoch), policy),
        loss=configured_loss(config, plugins),
        penalties=[(plugins.penalties.get(p["name"]), p["weight"]) for p in config["penalties"]],
        n_critic=settings["n_critic"],
        jit_compile=jit,
    )
    model.build_optimizers()
    return model


def run_model_class(run: RunDirectory, config: dict[str, Any], plugins: PluginManager) -> Any:
    """The model class a run was trained with; a clear error when its plugin is not installed (the plugin
    also registers any custom layers its exported networks need)."""
    name = config["model"]["name"]
    if name not in plugins.models:
        raise Img2ImgError(
            f"{run.path} was trained with model {name!r} from plugin {config['model'].get('plugin')!r}, "
            f"which is not installed; install it with 'img2img install'"
        )
    return plugins.models.get(name)


def load_run_model(run: RunDirectory, plugins: PluginManager) -> Any:
    """Rebuild a run's model from config.json and its latest checkpoint (needs the model's plugin)."""
    config = run.read_config()
    complete_settings(config, run_model_class(run, config, plugins))
    model = build_run_model(config, plugins)
    state = run.latest()
    if state is None:
        raise Img2ImgError(f"{run.path}: has no checkpoint yet")
    restore(model, run, state)
    return model
