"""The training stream a run reads: its sources, the model's augmentation, caption embeddings, and the fixed
inputs of its sample grids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from img2img.atomic import replacing
from img2img.data import DataRequest, ImageData, load_source
from img2img.errors import Img2ImgError
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory
from img2img.text_encoding import encode_texts, run_text_encoder


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

    if model_cls.paired:
        return load_pairs(config, DataRequest(image_size=load_size, channels=config.get("channels"),
                                              seed=training["seed"], skip=skip), size, flip)
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


def load_pairs(config: dict[str, Any], request: DataRequest, size: int, flip: bool) -> ImageData:
    """Aligned (a, b) pairs: side-by-side images in --data, or --data and --data-b matched by name."""
    from img2img.data.paired import matched, paired_stream, side_by_side

    source, source_b = config["data"]["source"], config["data"].get("source_b")
    pairs = matched(source, source_b) if source_b else side_by_side(source)
    return paired_stream(pairs, request, size, flip)


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
