"""Data sources: what ``--data SRC`` can name.

A source is a plugin object registered through ``register_datasets`` with a scheme ``name``
(``tfds:fashion_mnist``, ``toy:ring8``); a plain path is a folder of images. Sources stream through
tf.data so memory does not grow with the number of images. This module stays light: it imports
TensorFlow only in the sources that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from img2img.errors import Img2ImgError

if TYPE_CHECKING:
    from img2img.plugins import Registry

FOLDER_SCHEME = "folder"


@dataclass(frozen=True)
class DataRequest:
    """What the trainer needs from a source.

    ``channels`` None lets the source decide from the data. ``skip`` drops that many elements from the
    start of the (seeded, repeated) stream, so a resumed run sees the batches an uninterrupted one would.
    """

    image_size: int
    channels: int | None = None
    seed: int = 0
    shuffle: bool = True
    repeat: bool = True
    skip: int = 0
    # Held-out evaluation (img2img divergence): a seeded share of the data is kept apart, and ``part``
    # says which side to stream. Sources that draw fresh samples (toy) use another seed for "holdout".
    holdout_fraction: float = 0.0
    part: str = "train"
    # Text-conditioned models: stream (image, caption id) where the source has captions (a .txt file
    # beside each image); the id indexes ImageData.captions, drawn per element among the image's lines.
    captions: bool = False

    def order(self, dataset: Any, buffer: int) -> Any:
        """The seeded shuffle, repeat and skip every source applies to its elements, in this order, so that
        a resumed run (``skip``) sees exactly the elements an unbroken one would. ``buffer``: the shuffle's
        buffer size (the whole set where it fits in memory)."""
        if self.shuffle:
            dataset = dataset.shuffle(max(int(buffer), 1), seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            dataset = dataset.repeat()
        if self.skip:
            dataset = dataset.skip(self.skip)
        return dataset


@dataclass
class ImageData:
    """A stream of float32 images in [-1, 1] (with int32 labels when ``class_names`` is set, or int32
    caption ids into ``captions`` when that is set).

    Sources of plain vectors (toy distributions) set ``channels`` to 0 and ``sample_shape`` to the
    vector's shape; models declare which kind they take (``GAN.data_kind``).
    """

    dataset: Any
    count: int
    channels: int
    class_names: list[str] | None
    description: str
    sample_shape: tuple[int, ...] | None = None
    captions: list[str] | None = None  # set when the stream yields (image, caption id)

    @property
    def kind(self) -> str:
        return "vectors" if self.channels == 0 else "images"


class DataSource:
    """A data-source scheme. ``load`` gets the text after ``scheme:`` and a ``DataRequest``."""

    name: str = ""
    description: str = ""

    def load(self, spec: str, request: DataRequest) -> ImageData:
        raise NotImplementedError

    def domain_pair(self, spec: str) -> tuple[str, str] | None:
        """For two-domain models given only ``--data``: the two sources (full ``--data`` texts) that this
        one holds, e.g. a data set's trainA and trainB splits; None when it holds no such pair."""
        return None


def split_source(text: str, registry: Registry[DataSource]) -> tuple[DataSource, str]:
    """``scheme:rest`` for a registered scheme, else the whole text is a folder path."""
    scheme, sep, rest = text.partition(":")
    if sep and scheme in registry:
        return registry.get(scheme), rest
    if sep and scheme and len(scheme) > 1 and "/" not in scheme and "\\" not in scheme:
        from pathlib import Path

        if not Path(text).exists():
            valid = ", ".join(f"{n}:" for n in registry.names() if n != FOLDER_SCHEME)
            raise Img2ImgError(f"--data {text}: unknown data scheme {scheme!r}; valid schemes: {valid}, or a folder")
    return registry.get(FOLDER_SCHEME), text


def load_source(text: str, request: DataRequest, registry: Registry[DataSource]) -> ImageData:
    source, rest = split_source(text, registry)
    return source.load(rest, request)


def domain_pair(text: str, registry: Registry[DataSource]) -> tuple[str, str] | None:
    source, rest = split_source(text, registry)
    return source.domain_pair(rest)
