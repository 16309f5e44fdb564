"""A trained run: its directory, its config, the model class it needs, and loading its generators and latents.

Inference (translate, generate, prompts, a stage-II StackGAN reading its stage I) uses this module and never
the trainer. A run directory holds everything needed to resume the run and to use its model.

Layout::

    config.json               model, settings, loss, penalties, data, training plan (rebuilds the run)
    checkpoints/latest.json   points at the newest complete checkpoint; written last, atomically
    checkpoints/step-000040.weights.h5 / .json   networks + both optimisers + step; RNG state and epoch
                              (the two newest keep optimiser state; older kept ones only the networks)
    samples/epoch-0001.png    a grid from the same fixed inputs every epoch (samples/grid-inputs.npz)
    logs/                     TensorBoard
    metrics.csv               one row per epoch
    generator.keras           the exported generator (loads with safe_mode on); two-domain models also
                              export generator-b2a.keras (config.json "exports" lists them)

Every file is written to a temporary name in the same folder and renamed into place, so a crash never
leaves a half-written file where a good one was.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from img2img.atomic import replacing, write_json_atomic
from img2img.checkpoints import demote_old, newest_intact, optimizer_groups
from img2img.console import warn
from img2img.errors import Img2ImgError
from img2img.locking import LOCK_NAME
from img2img.plugins import PluginManager
from img2img.weights_io import save_weights

CONFIG = "config.json"


class WriteFailed(Img2ImgError):
    """A run file could not be written (a full disk, a quota, a file-size limit): the message names the file
    and the last complete checkpoint, which the failed write never touched."""


def read_json(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


_SKELETON = ("checkpoints", "samples", "logs")  # the empty folders a new run makes before its config.json


def _holds_files(folder: Path) -> bool:
    """Anything in ``folder`` but the lock the current process holds on it and the empty skeleton a run killed
    before writing its config left (nothing of anyone's is in either)."""
    for entry in folder.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.name in _SKELETON and entry.is_dir() and not entry.is_symlink() and not any(entry.iterdir()):
            continue
        return True
    return False


# The shape config.json must have for a run to be rebuilt: section -> its type and the keys it must hold.
_CONFIG_SHAPE: dict[str, tuple[type, tuple[str, ...]]] = {
    "model": (dict, ("name",)), "settings": (dict, ()), "image_size": (int, ()), "loss": (dict, ("name",)),
    "penalties": (list, ()), "data": (dict, ("source",)), "training": (dict, ("batch_size", "seed", "precision")),
}


def _config_problem(config: Any) -> str | None:
    if not isinstance(config, dict):
        return f"a JSON {type(config).__name__}, not an object"
    for section, (kind, keys) in _CONFIG_SHAPE.items():
        value = config.get(section)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"'{section}' should be a JSON {'object' if kind is dict else kind.__name__}"
        missing = [key for key in keys if key not in value]
        if missing:
            return f"'{section}' lacks {', '.join(repr(k) for k in missing)}"
    return None


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
        for folder in (run.path, *run.skeleton()):
            folder.mkdir(parents=True, exist_ok=True)
        return run

    def skeleton(self) -> list[Path]:
        """The folders a new run makes before anything is in them."""
        return [self.path / name for name in _SKELETON]

    @classmethod
    def open(cls, path: Path, option: str = "--out") -> RunDirectory:
        run = cls(Path(path))
        if not run.config_path.is_file():
            raise Img2ImgError(f"{option} {path}: not a run directory (no {CONFIG}); train one with 'img2img train'")
        return run

    def read_config(self) -> dict[str, Any]:
        try:
            config = read_json(self.config_path)
        except (OSError, ValueError) as exc:
            raise Img2ImgError(f"{self.config_path}: cannot read the run's config ({exc})") from None
        problem = _config_problem(config)
        if problem:
            raise Img2ImgError(f"{self.config_path}: not a run config img2img wrote ({problem}); restore it from a "
                               "backup, or train a new run")
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        try:
            write_json_atomic(self.config_path, config)
        except OSError as exc:
            raise self.write_failed(self.config_path, exc, kept=False) from None

    def discard_if_unstarted(self) -> None:
        """Remove the empty folders ``create`` made when the run could not start (its config not written), so
        the folder does not block the next attempt as 'already holds files'."""
        if self.config_path.exists():
            return
        for folder in self.skeleton():
            with contextlib.suppress(OSError):
                folder.rmdir()

    # ----- checkpoints -------------------------------------------------------------------------
    def latest(self) -> dict[str, Any] | None:
        """The checkpoint to resume from: the newest intact full one (see img2img.checkpoints)."""
        return newest_intact(self.checkpoints)

    def save_checkpoint(self, model: Any, state: dict[str, Any], keep: int) -> dict[str, Any]:
        """Weights and optimiser slots first, then the state that names them, then the pointer; then all but
        the newest ``keep`` checkpoints go (0 keeps every one, to score or pick any epoch afterwards). A write
        that fails (disk full) leaves the previous checkpoint as latest and raises WriteFailed naming both."""
        stem = f"step-{state['step']:06d}"
        final = self.checkpoints / f"{stem}.weights.h5"
        state = {**state, "weights": final.name, "full": True}
        try:
            save_weights(model, final)
            write_json_atomic(self.checkpoints / f"{stem}.json", state)
            write_json_atomic(self.checkpoints / "latest.json", state)
        except (OSError, RuntimeError, ValueError) as exc:  # h5py reports a failed write as any of these
            raise self.write_failed(final, exc) from None
        if keep > 0:
            self._prune(final.name, keep)
        try:
            demote_old(self.checkpoints, optimizer_groups(model))
        except (OSError, RuntimeError, ValueError) as exc:  # the new checkpoint is complete: only space is lost
            warn(f"could not strip optimiser state from older checkpoints in {self.checkpoints} ({exc})")
        return state

    def load_networks(self, model: Any, weights: Path) -> None:
        """Load a checkpoint's networks (a full one or an older, weights-only one) into ``model``; the
        optimisers keep whatever they hold. For scoring or picking an epoch, not for resuming."""
        model.load_weights(weights, objects_to_skip=[getattr(model, name) for name in optimizer_groups(model)])

    def _prune(self, newest: str, keep: int) -> None:
        weights = sorted(self.checkpoints.glob("step-*.weights.h5"))
        for old in weights[:-keep]:
            if old.name != newest:
                old.unlink(missing_ok=True)
                old.with_name(old.name.replace(".weights.h5", ".json")).unlink(missing_ok=True)

    def network_path(self, name: str) -> Path:
        """Where the run exports the network ``name`` (the model's exported_networks() names)."""
        return self.path / f"{name}.keras"

    def export_network(self, name: str, network: Any) -> None:
        from img2img.convolutions import save_portable

        path = self.network_path(name)
        try:
            with replacing(path) as tmp:
                save_portable(network, tmp)
        except (OSError, RuntimeError, ValueError) as exc:
            raise self.write_failed(path, exc) from None

    def write_failed(self, path: Path, exc: BaseException, kept: bool = True) -> WriteFailed:
        """The error for a run file that could not be written: the file, why, what to do, and (``kept``) the
        last complete checkpoint, which the failed write never touched."""
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0] or type(exc).__name__
        message = f"cannot write {path} ({reason}); free some space (or raise the quota) and continue with --resume"
        return WriteFailed(f"{message}; {self._kept_note()}" if kept else message)

    def _kept_note(self) -> str:
        try:
            latest = self.latest()
        except Img2ImgError:
            latest = None
        if latest is None:
            return "no checkpoint of this run was complete yet"
        return f"the last complete checkpoint, step {latest['step']}, is kept in {self.checkpoints}"


def complete_settings(config: dict[str, Any], model_cls: Any) -> None:
    """Give a stored run the defaults of options its model or the trainer gained after the run was made. A
    new option's default keeps the behaviour it had before, so older runs resume and load as they trained."""
    config["settings"] = {**{k: o.default for k, o in model_cls.all_options().items()}, **config["settings"]}


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


def load_generator(run: RunDirectory, name: str = "generator") -> Any:
    """An exported network (NAME.keras), loaded with Keras' safe mode on: a model file never runs code."""
    from img2img.devices import set_graph_optimizer

    set_graph_optimizer("auto")  # as in training: no Grappler pass on CPUs, where it only delays the first call
    path = run.network_path(name)
    if not path.is_file():
        raise Img2ImgError(f"{run.path}: no exported {name} ({path.name}) yet; train at least one epoch")
    return load_network(path)


def load_network(path: Path) -> Any:
    """A ``.keras`` network with safe mode on; a file that will not load is one clear error, never a traceback."""
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras reports a refused or damaged file as many exception types
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text:
            raise Img2ImgError(f"{path}: refused: it holds Python code (a Lambda layer), which img2img never runs "
                               "from a model file (Keras safe mode). Export the model without Lambda layers") from None
        import zipfile

        if isinstance(exc, zipfile.BadZipFile) or not zipfile.is_zipfile(path):
            raise Img2ImgError(f"{path}: damaged or incomplete (not a complete .keras archive); delete it and "
                               "run the same 'img2img train ... --resume' to export it again") from None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise Img2ImgError(f"{path}: cannot be loaded ({first}); the file may be damaged, or need a plugin "
                           "that registers its layers ('img2img plugins')") from None


def latent_vectors(config: dict[str, Any], count: int, seed: int) -> np.ndarray:
    """z for ``count`` samples: the same seed always draws the same vectors. Their size is the model's
    ``latent_dim`` option, which every model that samples from noise declares."""
    if "latent_dim" not in config["settings"]:
        raise Img2ImgError(f"model {config['model']['name']!r} has no latent_dim option, so it does not sample "
                           "from noise; use 'img2img translate' if it maps images")
    latent_dim = int(config["settings"]["latent_dim"])
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)
