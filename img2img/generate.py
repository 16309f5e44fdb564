"""``img2img generate``: sample images from a run's exported generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from img2img.atomic import replacing
from img2img.data.images import from_unit_range, save_png
from img2img.errors import Img2ImgError
from img2img.locking import FolderLock
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory, latent_vectors, load_generator

BATCH = 64


def generate_images(model: Path, count: int, out: Path, *, seed: int, label: str | None, overwrite: bool,
                    plugins: PluginManager) -> list[Path]:
    run = RunDirectory.open(model, option="--model")
    config = run.read_config()
    model_cls = plugins.models.get(config["model"]["name"])
    if model_cls.translations:
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
    vectors = model_cls.data_kind == "vectors"
    if vectors:
        targets = [out / "samples.csv"]
    elif labels is not None and label is None:
        targets = [out / f"{i:04d}-{class_names[int(k)]}.png" for i, k in enumerate(labels)]
    else:
        targets = [out / f"{i:04d}.png" for i in range(count)]
    with FolderLock(out, "generate"):  # also refuses an --out that is a file, by name
        if not overwrite:
            refuse_existing(targets, out)
        generator = load_generator(run)
        z = latent_vectors(config, count, seed)
        if vectors:  # toy models sample points, not pictures: one CSV row per sample
            samples = np.asarray(generator(model_cls.generator_inputs(z, labels), training=False))
            with replacing(targets[0]) as tmp:
                np.savetxt(tmp, samples.reshape(count, -1), delimiter=",", fmt="%.6g")
            return targets
        write_images(generator, model_cls, z, labels, targets)
    return targets


def refuse_existing(targets: list[Path], out: Path) -> None:
    existing = [p for p in targets if p.exists()]
    if existing:
        raise Img2ImgError(f"--out {out}: {len(existing)} file(s) would be replaced (e.g. {existing[0]}); "
                           "pass --overwrite or choose another --out")


def write_images(generator: Any, model_cls: Any, z: np.ndarray, conditions: np.ndarray | None,
                 targets: list[Path]) -> None:
    """Run the exported generator in batches (with labels or text embeddings) and save one PNG per target."""
    for start in range(0, len(targets), BATCH):
        part = slice(start, start + BATCH)
        inputs = model_cls.generator_inputs(z[part], conditions[part] if conditions is not None else None)
        images = from_unit_range(np.asarray(generator(inputs, training=False)))
        for pixels, path in zip(images, targets[part], strict=True):
            save_png(pixels, path)
