"""The real data every benchmark trains and scores on, from one place.

The small real sets the tests use (scikit-learn's digits, emoji line art and colour paired by code point,
captioned emoji) come from ``tests/real_data.py``, so a benchmark and a test see the same images; this
module adds Fashion-MNIST from its Debian package and reading a folder of emoji back. As a script it
writes Fashion-MNIST as PNGs in class-named folders, the offline route to ``tfds:fashion_mnist``:

    python -m bench.data data/fashion-mnist                 # 60,000 training images
    python -m bench.data data/fashion-mnist-test --split t10k --limit 1000
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

from tests.real_data import (  # noqa: F401  (re-exported: the one data module benchmarks import)
    DIGIT_NAMES,
    captioned_emoji_folder,
    digits_folder,
    emoji_caption,
    emoji_code_points,
    emoji_folders,
    render_emoji,
    split_code_points,
)

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist
FASHION_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                   "ankle-boot"]


def read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=offset)


def fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images [n, 28, 28] uint8, labels [n]) of the ``train`` or ``t10k`` split."""
    if not FASHION_MNIST.is_dir():
        raise SystemExit(f"{FASHION_MNIST} not found: apt-get install dataset-fashion-mnist")
    images = read_idx(FASHION_MNIST / f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    return images, read_idx(FASHION_MNIST / f"{split}-labels-idx1-ubyte.gz", 8)


def fashion_mnist_folder(out: Path, split: str = "train", limit: int | None = None) -> int:
    """Write the split as PNGs under ``out/CLASS/``; returns how many."""
    from PIL import Image

    images, labels = fashion_mnist(split)
    n = len(images) if limit is None else min(limit, len(images))
    for name in FASHION_CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(images[i], mode="L").save(out / FASHION_CLASSES[labels[i]] / f"{split}-{i:05d}.png")
    return n


def load_emoji(folder: Path, points: list[int]) -> np.ndarray:
    """The emoji a folder holds as ``{code point:x}.png``, as float RGB in [0, 1], in ``points`` order."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(folder / f"{cp:x}.png").convert("RGB"), np.float32) / 255.0
                     for cp in points])


def photo_crops_folder(root: Path, count: int, shapes: int = 0) -> Path:
    """Crops of scikit-learn's real photos, 48-160 px on each side, in a few sub-folders; with ``shapes``
    > 0 the sizes come from that many distinct (height, width) pairs, as in a folder from a few cameras."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    palette = [tuple(int(v) for v in rng.integers(48, 161, 2)) for _ in range(shapes)]
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = palette[int(rng.integers(len(palette)))] if palette else (int(v) for v in rng.integers(48, 161, 2))
        top, left = int(rng.integers(0, photo.shape[0] - h)), int(rng.integers(0, photo.shape[1] - w))
        folder = root / f"part{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo[top:top + h, left:left + w]).save(folder / f"{i:06d}.jpg", quality=90)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", choices=["train", "t10k"], default="train")
    parser.add_argument("--limit", type=int, default=None, help="write only the first N images")
    args = parser.parse_args()
    print(f"wrote {fashion_mnist_folder(args.out, args.split, args.limit)} images to {args.out}")


if __name__ == "__main__":
    main()
