"""A folder of images, searched recursively; class labels from first-level sub-folder names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from img2img.console import warn
from img2img.data import DataRequest, DataSource, ImageData
from img2img.data.captions import draw_caption, index_captions
from img2img.data.images import UnreadableImage, is_grey, is_image_path, load_image, probe, to_unit_range
from img2img.errors import Img2ImgError

_PROBE_FOR_CHANNELS = 32


@dataclass
class FolderScan:
    root: Path
    files: list[Path]
    labels: list[str] | None
    unreadable: list[Path]
    grey: bool


def name_list(paths: list[Path], limit: int = 10) -> str:
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def scan_folder(root: Path, option: str = "--data") -> FolderScan:
    """List readable images (header check only) and name every unreadable one in one warning."""
    if not root.exists():
        raise Img2ImgError(f"{option} {root}: no such folder")
    if not root.is_dir():
        raise Img2ImgError(f"{option} {root}: is a file; give the folder that holds the images")
    candidates = sorted(
        p for p in root.rglob("*")
        if p.is_file() and is_image_path(p) and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not candidates:
        raise Img2ImgError(
            f"{option} {root}: no image files found (looked recursively for .png, .jpg, .jpeg, .bmp, .gif, "
            ".webp, .tif, .tiff)"
        )
    files: list[Path] = []
    unreadable: list[Path] = []
    grey_votes: list[bool] = []
    for path in candidates:
        image = probe(path)
        if image is None:
            unreadable.append(path)
            continue
        if len(grey_votes) < _PROBE_FOR_CHANNELS:
            grey_votes.append(is_grey(image))
        image.close()
        files.append(path)
    if unreadable:
        warn(f"skipping {len(unreadable)} unreadable image file(s): {name_list(unreadable)}")
    if not files:
        raise Img2ImgError(f"{option} {root}: none of the {len(candidates)} image files could be read")
    relative = [p.relative_to(root).parts for p in files]
    labels = [parts[0] for parts in relative] if all(len(parts) > 1 for parts in relative) else None
    return FolderScan(root, files, labels, unreadable, grey=all(grey_votes))


SPLIT_FOLDERS = {"train", "val", "valid", "validation", "test"}


def training_folder(root: Path) -> Path:
    """``root/train`` when ``root`` is a data set in the reference layout (its sub-folders are splits:
    train/, val/, test/), so test images are never trained on or read as a class; else ``root``."""
    if not (root / "train").is_dir():
        return root
    folders = {p.name.lower() for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return root / "train" if folders <= SPLIT_FOLDERS else root


def files_by_stem(scan: FolderScan, option: str) -> dict[str, Path]:
    """Relative path without extension -> file: how paired images find each other (``A/x/1.png`` with
    ``B/x/1.jpg``). Two files that differ only in extension cannot be paired, and are refused by name."""
    index: dict[str, Path] = {}
    for path in scan.files:
        key = path.relative_to(scan.root).with_suffix("").as_posix()
        if key in index:
            raise Img2ImgError(f"{option} {scan.root}: {index[key].name} and {path.name} have the same name, so "
                               "neither can be paired; rename or remove one")
        index[key] = path
    return index


def holdout_split(count: int, request: DataRequest) -> list[int]:
    """Indices of the requested part: a seeded permutation, the first share held out."""
    order = np.random.default_rng(request.seed).permutation(count)
    cut = int(round(count * request.holdout_fraction))
    chosen = order[:cut] if request.part == "holdout" else order[cut:]
    return sorted(int(i) for i in chosen)


class FolderSource(DataSource):
    name = "folder"
    description = "a folder of images (recursive); sub-folder names become class labels"

    def load(self, spec: str, request: DataRequest) -> ImageData:
        import tensorflow as tf

        scan = scan_folder(training_folder(Path(spec).expanduser()))
        if request.holdout_fraction > 0:
            total = len(scan.files)
            keep = holdout_split(total, request)
            scan.files = [scan.files[i] for i in keep]
            scan.labels = [scan.labels[i] for i in keep] if scan.labels else None
            if not scan.files:
                raise Img2ImgError(f"{spec}: {total} images leave none for the {request.part} part at "
                                   f"--holdout {request.holdout_fraction:g}")
        channels = request.channels or (1 if scan.grey else 3)
        class_names = sorted(set(scan.labels)) if scan.labels else None
        index = {name: i for i, name in enumerate(class_names or [])}
        label_ids = [index[name] for name in scan.labels] if scan.labels else [0] * len(scan.files)
        size = request.image_size
        warned: set[str] = set()

        def decode(path: bytes) -> tuple[np.ndarray, bool]:
            name = path.decode()
            try:
                return to_unit_range(load_image(name, channels, size)), True
            except UnreadableImage as exc:
                if name not in warned:
                    warned.add(name)
                    warn(f"skipping unreadable image {exc}")
                return np.zeros((size, size, channels), np.float32), False

        def decode_tf(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            image, ok = tf.numpy_function(decode, [path], [tf.float32, tf.bool], stateful=False)
            image.set_shape((size, size, channels))
            ok.set_shape(())
            return image, label, ok

        captions = None
        if request.captions:
            found = index_captions(scan.files)
            if found is not None:
                captions, kept = found
                scan.files = [scan.files[i] for i in kept]
        if captions is not None:
            ds = tf.data.Dataset.from_tensor_slices(
                ([str(p) for p in scan.files], tf.constant(captions.starts, tf.int32),
                 tf.constant(captions.counts, tf.int32))
            )
        else:
            ds = tf.data.Dataset.from_tensor_slices(
                ([str(p) for p in scan.files], tf.constant(label_ids, tf.int32))
            )
        ds = request.order(ds, len(scan.files))
        if captions is not None:
            ds = draw_caption(ds, captions, request.seed, request.skip)
        ds = ds.map(decode_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.filter(lambda image, label, ok: ok)

        def with_label(image: tf.Tensor, label: tf.Tensor, ok: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return image, label

        def image_only(image: tf.Tensor, label: tf.Tensor, ok: tf.Tensor) -> tf.Tensor:
            return image

        ds = ds.map(with_label if class_names or captions is not None else image_only)
        if captions is not None:
            return ImageData(ds, len(scan.files), channels, None,
                             f"{scan.root} ({len(scan.files)} captioned images, {len(captions.captions)} captions)",
                             captions=captions.captions)
        classes = f", {len(class_names)} classes" if class_names else ""
        return ImageData(ds, len(scan.files), channels, class_names, f"{scan.root} ({len(scan.files)} images{classes})")

    def domain_pair(self, spec: str) -> tuple[str, str] | None:
        """The reference CycleGAN layout: DATASET/trainA and DATASET/trainB."""
        root = Path(spec).expanduser()
        if (root / "trainA").is_dir() and (root / "trainB").is_dir():
            return str(root / "trainA"), str(root / "trainB")
        return None
