"""``img2img translate``: convert folders and files of images with a trained image-to-image model.

Every image is translated at its own size: the generator is fully convolutional, so each image is
mirror-padded to what the network needs and the result cropped back. Files stream through a tf.data
pipeline (parallel decoding, prefetch) one at a time, so memory does not grow with the number of files;
consecutive images of the same size share a batch. Outputs are written atomically, never into an input
folder, and never over an existing file unless asked.

Exit status (see ``img2img translate --help``): 0 when at least one image was converted (unreadable files
are named in a warning), 1 when nothing could be converted or the command was wrong, 130 when interrupted
(finished outputs stay; none is half-written).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from img2img.atomic import replacing
from img2img.console import warn
from img2img.data.images import UnreadableImage, from_unit_range, load_image, to_unit_range
from img2img.errors import Img2ImgError
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory
from img2img.translate_inputs import Job

# Images are padded up to a multiple of this (and of the network's own multiple): TensorFlow's oneDNN kernels
# keep state per input shape, and with every file a different size peak memory grew 23 % over 2,000 files
# (bench/translate_memory.py); coarser shapes bound that, at the cost of a few mirrored pixels per edge.
SHAPE_BUCKET = 32
LARGE_PIXELS = 4_000_000  # above this, warn: activations of a full-size ResNet generator need many GB


@dataclass
class TranslateResult:
    converted: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (input, why), named in one warning
    seconds: float = 0.0


DEFAULT_MAX_MEGAPIXELS = 40.0  # a 40 MP RGB image is 480 MB as float32, before the network's activations


def pad_to_multiple(pixels: np.ndarray, multiple: int, minimum: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Mirror-pad the bottom and right edges so both sides are multiples of ``multiple`` (and at least
    ``minimum``); returns the padded image and the original size to crop back to."""
    height, width = pixels.shape[:2]
    target_h = max(-(-height // multiple) * multiple, minimum)
    target_w = max(-(-width // multiple) * multiple, minimum)
    pad = ((0, target_h - height), (0, target_w - width), (0, 0))
    mode = "reflect" if target_h - height < height and target_w - width < width else "edge"
    return np.pad(pixels, pad, mode=mode), (height, width)


def scale_shorter_side(pixels: np.ndarray, size: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    scale = size / min(height, width)
    return resize_to(pixels, max(1, round(width * scale)), max(1, round(height * scale)))


def resize_to(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [h, w, c] pixels resized (Lanczos) to width x height."""
    from PIL import Image

    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    arr = np.asarray(image.resize((width, height), Image.Resampling.LANCZOS))
    return arr[..., None] if arr.ndim == 2 else arr


def save_image(pixels: np.ndarray, path: Path) -> None:
    """Atomic write in the format the file name says (PNG by default; JPEG at quality 95)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    options = {"quality": 95} if fmt == "JPEG" else {}
    with replacing(path) as tmp:
        image.save(tmp, format=fmt, **options)


class Translator:
    """A run's exported network for one direction, callable on [n, h, w, c] images of any size."""

    def __init__(self, model: Path, direction: str | None, plugins: PluginManager, *, train_mode: bool = False,
                 seed: int = 0) -> None:
        from img2img.runs import load_generator, run_model_class

        run = RunDirectory.open(model, option="--model")
        config = run.read_config()
        model_cls = run_model_class(run, config, plugins)
        name = model_cls.name
        directions = config.get("translate", {}).get("directions") or dict(model_cls.translations)
        if not directions:
            raise Img2ImgError(f"--model {model}: model {name!r} generates images from noise and cannot translate "
                               "them; use 'img2img generate', or train an image-to-image model (see 'img2img models')")
        direction = direction or next(iter(directions))  # the run's own direction (a2b for two-way models)
        if direction not in directions:
            raise Img2ImgError(f"--direction {direction}: model {name!r} offers {', '.join(directions)}")
        self.channels = int(config["channels"])
        network_multiple = int(config.get("translate", {}).get("size_multiple") or model_cls.size_multiple)
        self.multiple = math.lcm(network_multiple, SHAPE_BUCKET)
        self.minimum = int(config.get("translate", {}).get("minimum_size") or 4 * network_multiple)
        # A network that takes one size only: every image goes in resized to it, and comes out resized back.
        self.fixed_size = int(config.get("translate", {}).get("fixed_size") or 0)
        # The pix2pix reference's test mode without --eval: batch statistics and dropout on, so an output
        # depends on its batch and on the seed, fixed here (before the network's layers draw their seed
        # generators) so that a rerun gives the same images.
        self.train_mode = train_mode
        if train_mode:
            import keras

            keras.utils.set_random_seed(seed)
        self.network = load_generator(run, directions[direction])
        self.description = f"{name} {direction} ({run.path})" + (f", train mode, seed {seed}" if train_mode else "")
        if self.fixed_size:
            self.description += (f"; it takes {self.fixed_size}x{self.fixed_size} px only, so each image is resized "
                                 "to that (a non-square one is squeezed) and its output back to the image's own "
                                 "size and shape")
        self._call = self._compile()

    def _compile(self) -> Callable[[np.ndarray], Any]:
        import tensorflow as tf

        spec = tf.TensorSpec((None, None, None, self.channels), tf.float32)
        network, training = self.network, self.train_mode

        @tf.function(input_signature=[spec], reduce_retracing=True)
        def call(images: Any) -> Any:
            return network(images, training=training)

        return call

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(batch))


def _decoded(jobs: list[Job], size: int | None, translator: Translator,
             max_pixels: int | None) -> Iterator[tuple[int, Any]]:
    """(job index, padded float image and original size | why it was not read), decoded in parallel."""
    import tensorflow as tf

    channels = translator.channels

    def decode(index: Any) -> tuple[np.ndarray, np.ndarray, bytes]:
        job = jobs[int(index)]
        try:
            pixels = load_image(job.source, channels, max_pixels=max_pixels)
        except UnreadableImage as exc:
            return np.zeros((1, 1, channels), np.float32), np.zeros(2, np.int32), str(exc.reason).encode()
        if size is not None:
            pixels = scale_shorter_side(pixels, size)
        if translator.fixed_size:
            side = translator.fixed_size
            return to_unit_range(resize_to(pixels, side, side)), np.asarray(pixels.shape[:2], np.int32), b""
        padded, original = pad_to_multiple(pixels, translator.multiple, translator.minimum)
        return to_unit_range(padded), np.asarray(original, np.int32), b""

    def decode_tf(index: Any) -> tuple[Any, Any, Any, Any]:
        image, original, why = tf.numpy_function(decode, [index], [tf.float32, tf.int32, tf.string],
                                                 stateful=False)
        image.set_shape((None, None, channels))
        return index, image, original, why

    ds = tf.data.Dataset.range(len(jobs)).map(decode_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    for index, image, original, why in ds.prefetch(4).as_numpy_iterator():
        yield int(index), (image, tuple(int(v) for v in original)) if not why else why.decode()


def translate_files(jobs: list[Job], translator: Translator, *, size: int | None, batch_size: int,
                    progress: Callable[[int], None] = lambda n: None,
                    max_pixels: int | None = int(DEFAULT_MAX_MEGAPIXELS * 1e6)) -> TranslateResult:
    from img2img.data.images import own_pixel_limit

    with own_pixel_limit(max_pixels):  # our limit, checked per file before decoding, replaces Pillow's guard
        return _translate_files(jobs, translator, size=size, batch_size=batch_size, progress=progress,
                                max_pixels=max_pixels)


def _translate_files(jobs: list[Job], translator: Translator, *, size: int | None, batch_size: int,
                     progress: Callable[[int], None], max_pixels: int | None) -> TranslateResult:
    import time

    started = time.perf_counter()
    result = TranslateResult()
    pending: list[tuple[int, np.ndarray, tuple[int, int]]] = []
    warned_large = False

    def flush() -> None:
        if not pending:
            return
        outputs = translator(np.stack([image for _, image, _ in pending]))
        for (index, _, (height, width)), output in zip(pending, outputs, strict=True):
            pixels = from_unit_range(output)
            # A fixed-size network's square output is resized back; a padded one's is cropped back.
            pixels = resize_to(pixels, width, height) if translator.fixed_size else pixels[:height, :width]
            save_image(pixels, jobs[index].output)
            result.converted.append(jobs[index].output)
        progress(len(pending))
        pending.clear()

    for index, item in _decoded(jobs, size, translator, max_pixels):
        if isinstance(item, str):
            result.skipped.append((jobs[index].source, item))
            progress(1)
            continue
        image, original = item
        if not warned_large and original[0] * original[1] > LARGE_PIXELS:
            warned_large = True
            warn(f"{jobs[index].source} is {original[1]}x{original[0]} px; translating at full size needs a lot of "
                 "memory. Pass --size N to scale the shorter side to N pixels first")
        if pending and (pending[0][1].shape != image.shape or len(pending) >= batch_size):
            flush()
        pending.append((index, image, original))
    flush()
    result.seconds = time.perf_counter() - started
    return result
