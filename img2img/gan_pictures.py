"""What a model shows and writes: the sample grid a run saves each epoch, and the files ``img2img generate``
writes. A mixin of the base ``GAN``; each method is a hook a model plugin may override."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from keras import ops

GRID_SIZE = 64  # samples in each epoch's grid


class Pictures:
    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        """What every sample grid of a run is drawn from: fixed once (stored in the run), so grids stay
        comparable across epochs and resumes. ``stream()`` returns a fresh unbatched training stream."""
        z = np.random.default_rng(seed).standard_normal((GRID_SIZE, self.latent_dim)).astype(np.float32)
        inputs = {"z": z}
        if self.conditional and self.num_classes:
            inputs["labels"] = (np.arange(GRID_SIZE) % self.num_classes).astype(np.int32)
        return inputs

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        labels = inputs.get("labels")
        samples = ops.convert_to_numpy(self.generator(self.generator_inputs(inputs["z"], labels), training=False))
        return self.render_samples(samples, labels)

    def render_samples(self, samples: Any, labels: Any | None = None) -> Any:
        """The picture a run saves each epoch: a grid of images (one column per class when labelled)."""
        from img2img.render import image_grid

        columns = int(labels.max()) + 1 if labels is not None else None
        return image_grid(samples, columns)

    @classmethod
    def sample_files(cls, count: int, class_names: Sequence[str] | None) -> list[str]:
        """The files ``img2img generate`` writes ``count`` samples to: a PNG each, named by index (and by the
        sample's class, when ``class_names`` gives one per sample)."""
        if class_names:
            return [f"{i:04d}-{name}.png" for i, name in enumerate(class_names)]
        return [f"{i:04d}.png" for i in range(count)]

    @classmethod
    def write_samples(cls, generator: Any, z: np.ndarray, conditions: np.ndarray | None,
                      targets: Sequence[Any]) -> None:
        """Run the exported ``generator`` on ``z`` (and the conditions) and write its samples to ``targets``
        (paths named by ``sample_files``), each through a temporary file."""
        from img2img.samples import write_images

        write_images(generator, cls, z, conditions, targets)
