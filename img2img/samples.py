"""Writing what an exported generator draws: ``img2img generate`` and ``translate --prompt`` share it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from img2img.errors import Img2ImgError

BATCH = 64  # samples per generator call: any count fits in memory


def write_images(generator: Any, model_cls: Any, z: np.ndarray, conditions: np.ndarray | None,
                 targets: Sequence[Path]) -> None:
    """Run the exported generator in batches (with labels or text embeddings) and save one PNG per target."""
    from img2img.data.images import from_unit_range, save_png

    for start in range(0, len(targets), BATCH):
        part = slice(start, start + BATCH)
        inputs = model_cls.generator_inputs(z[part], conditions[part] if conditions is not None else None)
        images = from_unit_range(np.asarray(generator(inputs, training=False)))
        for pixels, path in zip(images, targets[part], strict=True):
            save_png(pixels, path)


def refuse_existing(targets: Sequence[Path], out: Path) -> None:
    """Nothing the user has is replaced unless they pass --overwrite."""
    existing = [p for p in targets if p.exists()]
    if existing:
        raise Img2ImgError(f"--out {out}: {len(existing)} file(s) would be replaced (e.g. {existing[0]}); "
                           "pass --overwrite or choose another --out")
