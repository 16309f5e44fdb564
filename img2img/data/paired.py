"""Paired images for paired translation (pix2pix): A and B show the same scene, pixel-aligned.

Two layouts, as the reference code reads them:

- one folder of side-by-side images, A on the left half and B on the right (what the reference's
  ``combine_A_and_B.py`` writes); ``--data facades/``;
- two folders whose files pair by relative path and stem (``A/x/photo.jpg`` with ``B/x/photo.png``);
  ``--data A/ --data-b B/``. Files without a partner are named in one warning.

A data-set folder in the reference layout (``train/``, ``val/``, ``test/``) trains on ``train/`` only, so test
images are never read as a class or trained on. Both images of a pair get the same random crop and flip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from img2img.console import warn
from img2img.data import DataRequest, ImageData
from img2img.data.folder import files_by_stem, name_list, scan_folder, training_folder
from img2img.data.images import UnreadableImage, center_square, load_image, to_unit_range
from img2img.errors import Img2ImgError


@dataclass
class Pairs:
    """The files of a paired set: (A, B) paths, or (side-by-side path, None) per pair."""

    files: list[tuple[Path, Path | None]]
    grey: bool
    description: str


def _readable_folder(text: str, option: str) -> Path:
    if ":" in text and not Path(text).exists():
        raise Img2ImgError(f"{option} {text}: paired models read folders of images; data schemes such as "
                           f"{text.split(':', 1)[0]}: give unpaired streams")
    return Path(text).expanduser()


def side_by_side(source: str) -> Pairs:
    root = training_folder(_readable_folder(source, "--data"))
    scan = scan_folder(root)
    return Pairs([(path, None) for path in scan.files], scan.grey,
                 f"{root} ({len(scan.files)} side-by-side pairs, A left, B right)")


def matched(source_a: str, source_b: str) -> Pairs:
    """Files of A and B that share a relative path and stem; the rest named in one warning."""
    root_a = training_folder(_readable_folder(source_a, "--data"))
    root_b = training_folder(_readable_folder(source_b, "--data-b"))
    scans = scan_folder(root_a, "--data"), scan_folder(root_b, "--data-b")
    a, b = files_by_stem(scans[0], "--data"), files_by_stem(scans[1], "--data-b")
    common = sorted(a.keys() & b.keys())
    if not common:
        raise Img2ImgError(f"--data {root_a} and --data-b {root_b}: no image of one has a partner with the same "
                           f"relative path and name in the other (e.g. {next(iter(a))!r} in A, {next(iter(b))!r} in "
                           "B); pairs are matched by path and name, whatever the extension")
    for option, side, other in (("--data", a, b), ("--data-b", b, a)):
        alone = sorted(side.keys() - other.keys())
        if alone:
            warn(f"{option}: skipping {len(alone)} image(s) with no partner of the same name: "
                 f"{name_list([side[k] for k in alone])}")
    return Pairs([(a[k], b[k]) for k in common], scans[0].grey and scans[1].grey,
                 f"{root_a} and {root_b} ({len(common)} pairs matched by name)")


def _square(pixels: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    arr = np.asarray(center_square(image, size), np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def load_pair(path_a: str, path_b: str, channels: int, size: int) -> np.ndarray:
    """A and B of one pair, square ``size``, stacked on the channel axis (2 x channels), in [-1, 1]."""
    if path_b:
        a, b = load_image(path_a, channels, size), load_image(path_b, channels, size)
    else:
        both = load_image(path_a, channels)
        half = both.shape[1] // 2
        if half < 1:
            raise UnreadableImage(f"{path_a}: too narrow", "too narrow to hold A and B side by side")
        a, b = _square(both[:, :half], size), _square(both[:, half:2 * half], size)
    return to_unit_range(np.concatenate([a, b], axis=-1))


def paired_stream(pairs: Pairs, request: DataRequest, crop: int, flip: bool) -> ImageData:
    """(a, b) images of ``crop`` px: loaded at ``request.image_size``, then one random crop (and flip) for
    both, seeded per element so a resumed run sees what an unbroken one would."""
    import tensorflow as tf

    from img2img.data.augment import random_crop_flip

    channels = request.channels or (1 if pairs.grey else 3)
    size = request.image_size
    warned: set[str] = set()

    def decode(path_a: bytes, path_b: bytes) -> tuple[np.ndarray, bool]:
        try:
            return load_pair(path_a.decode(), path_b.decode(), channels, size), True
        except UnreadableImage as exc:
            if path_a not in warned:
                warned.add(path_a)
                warn(f"skipping unreadable pair {exc}")
            return np.zeros((size, size, 2 * channels), np.float32), False

    def decode_tf(path_a: tf.Tensor, path_b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        both, ok = tf.numpy_function(decode, [path_a, path_b], [tf.float32, tf.bool], stateful=False)
        both.set_shape((size, size, 2 * channels))
        ok.set_shape(())
        return both, ok

    ds = tf.data.Dataset.from_tensor_slices(([str(a) for a, _ in pairs.files],
                                             [str(b) if b else "" for _, b in pairs.files]))
    ds = request.order(ds, len(pairs.files))
    ds = ds.map(decode_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def readable(both: tf.Tensor, ok: tf.Tensor) -> tf.Tensor:
        return ok

    def pixels(both: tf.Tensor, ok: tf.Tensor) -> tf.Tensor:
        return both

    def halves(both: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return both[..., :channels], both[..., channels:]

    ds = ds.filter(readable).map(pixels)
    if crop != size or flip:
        ds = random_crop_flip(ds, crop, 2 * channels, request.seed, flip, offset=request.skip)
    ds = ds.map(halves)
    return ImageData(ds, len(pairs.files), channels, None, pairs.description)
