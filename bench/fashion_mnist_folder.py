"""Write Fashion-MNIST (Debian package dataset-fashion-mnist) as PNGs in class-named folders.

With internet, `img2img train dcgan --data tfds:fashion_mnist` reads the same images through
tensorflow-datasets; this script is the offline route the README's example run uses:

    python bench/fashion_mnist_folder.py data/fashion-mnist
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image

SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", choices=["train", "t10k"], default="train")
    parser.add_argument("--limit", type=int, default=None, help="write only the first N images")
    args = parser.parse_args()
    if not SOURCE.is_dir():
        raise SystemExit(f"{SOURCE} not found: apt-get install dataset-fashion-mnist")
    images = read_idx(SOURCE / f"{args.split}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = read_idx(SOURCE / f"{args.split}-labels-idx1-ubyte.gz", 8)
    n = len(images) if args.limit is None else min(args.limit, len(images))
    for name in CLASSES:
        (args.out / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(images[i], mode="L").save(args.out / CLASSES[labels[i]] / f"{args.split}-{i:05d}.png")
    print(f"wrote {n} images to {args.out}")


if __name__ == "__main__":
    main()
