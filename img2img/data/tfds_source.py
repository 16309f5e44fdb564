"""``tfds:NAME[/CONFIG][:SPLIT]`` read through tensorflow-datasets (downloads on first use, if online)."""

from __future__ import annotations

from typing import Any

from img2img.data import DataRequest, DataSource, ImageData
from img2img.errors import Img2ImgError

SHUFFLE_BUFFER = 4096


def parse_tfds_spec(spec: str) -> tuple[str, str]:
    """'cycle_gan/horse2zebra:trainA' -> ('cycle_gan/horse2zebra', 'trainA'); split defaults to train."""
    name, _, split = spec.partition(":")
    if not name:
        raise Img2ImgError("--data tfds:NAME[/CONFIG][:SPLIT]: the data set name is missing")
    return name, split or "train"


def find_feature(features: Any, kind: type) -> str | None:
    for key, feature in features.items():
        if isinstance(feature, kind):
            return key
    return None


def square_resize(image: Any, size: int) -> Any:
    """Centre-crop to a square and resize, matching the folder source's Pillow path."""
    import tensorflow as tf

    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    image = tf.image.resize_with_crop_or_pad(image, side, side)
    return tf.image.resize(image, (size, size), method="lanczos3", antialias=True)


def convert_channels(image: Any, channels: int) -> Any:
    import tensorflow as tf

    have = image.shape[-1]
    if have == 4:
        rgb, alpha = image[..., :3], image[..., 3:]
        image = rgb * alpha + 255.0 * (1.0 - alpha)  # transparent -> white, as on a page
        have = 3
    if have == channels:
        return image
    return tf.image.rgb_to_grayscale(image) if channels == 1 else tf.image.grayscale_to_rgb(image)


class TfdsSource(DataSource):
    name = "tfds"
    description = "a TensorFlow Datasets set: tfds:NAME[/CONFIG][:SPLIT] (e.g. tfds:fashion_mnist:train)"

    def load(self, spec: str, request: DataRequest) -> ImageData:
        import tensorflow as tf
        import tensorflow_datasets as tfds

        name, split = parse_tfds_spec(spec)
        try:
            ds, info = tfds.load(
                name, split=split, with_info=True, shuffle_files=request.shuffle,
                read_config=tfds.ReadConfig(shuffle_seed=request.seed),  # same seed, same file order
            )
        except tfds.core.registered.DatasetNotFoundError as exc:
            raise Img2ImgError(f"--data tfds:{spec}: {str(exc).splitlines()[0]}") from None
        except Exception as exc:  # download or preparation failed: say so in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Img2ImgError(
                f"--data tfds:{spec}: could not load ({first}); without internet, export the images to a "
                "folder and pass the folder"
            ) from None
        image_key = find_feature(info.features, tfds.features.Image)
        if image_key is None:
            raise Img2ImgError(f"--data tfds:{spec}: the data set has no image feature")
        label_key = find_feature(info.features, tfds.features.ClassLabel)
        class_names = list(info.features[label_key].names) if label_key else None
        stored = info.features[image_key].shape[-1] or 3
        channels = request.channels or (1 if stored == 1 else 3)
        size = request.image_size
        try:
            count = int(info.splits[split].num_examples)
        except (KeyError, ValueError):
            count = int(ds.cardinality().numpy())

        def prepare(example: dict[str, Any]) -> Any:
            image = tf.cast(example[image_key], tf.float32)
            image = square_resize(convert_channels(image, channels), size)
            image = tf.clip_by_value(image, 0.0, 255.0) / 127.5 - 1.0
            if class_names:
                return image, tf.cast(example[label_key], tf.int32)
            return image

        ds = request.order(ds, min(count, SHUFFLE_BUFFER))
        ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ImageData(ds, count, channels, class_names, f"tfds {name} [{split}] ({count} images)")

    def domain_pair(self, spec: str) -> tuple[str, str] | None:
        """Unpaired sets in TFDS (cycle_gan/horse2zebra, ...) keep the domains in splits trainA and trainB."""
        name, _, split = spec.partition(":")
        if split or not name:
            return None
        return f"tfds:{name}:trainA", f"tfds:{name}:trainB"
