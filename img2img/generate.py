"""``img2img generate``: sample from a run's exported generator. The model class names and writes the files
(``GAN.sample_files`` and ``GAN.write_samples``: PNGs by default, a CSV of points for the toy models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from img2img.errors import Img2ImgError
from img2img.locking import FolderLock
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory, latent_vectors, load_generator, run_model_class
from img2img.samples import refuse_existing


def generate_images(model: Path, count: int, out: Path, *, seed: int, label: str | None, overwrite: bool,
                    plugins: PluginManager) -> list[Path]:
    run = RunDirectory.open(model, option="--model")
    config = run.read_config()
    model_cls = run_model_class(run, config, plugins)
    if model_cls.translations and not model_cls.samples_prior:
        raise Img2ImgError(f"--model {model}: model {model_cls.name!r} translates images rather than sampling "
                           "them; use 'img2img translate INPUT... --model RUN'")
    class_names = config.get("class_names") or []
    labels = None
    if label is not None:
        if not model_cls.conditional:
            raise Img2ImgError(f"--label: model {model_cls.name!r} is unconditional; it cannot pick a class")
        if label not in class_names:
            raise Img2ImgError(f"--label {label!r}: not a class of this model; valid labels: {', '.join(class_names)}")
        labels = np.full((count,), class_names.index(label), np.int32)
    elif model_cls.conditional and class_names:  # no --label: go round the classes, and say which in the name
        labels = (np.arange(count) % len(class_names)).astype(np.int32)

    out = Path(out)
    named = [class_names[int(k)] for k in labels] if labels is not None and label is None else None
    targets = [out / name for name in model_cls.sample_files(count, named)]
    with FolderLock(out, "generate"):  # also refuses an --out that is a file, by name
        if not overwrite:
            refuse_existing(targets, out)
        generator = load_generator(run)
        model_cls.write_samples(generator, latent_vectors(config, count, seed), labels, targets)
    return targets
