"""Real, small image sets written as folders, as a user would hand them to img2img."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def digits_folder(root: Path, count: int = 300, labelled: bool = True) -> Path:
    """scikit-learn's handwritten digits (8x8, 16 grey levels) as PNGs, by class sub-folder."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = (digits.images[i] * (255.0 / 16.0)).round().astype(np.uint8)
        folder = root / DIGIT_NAMES[digits.target[i]] if labelled else root
        folder.mkdir(exist_ok=True)
        Image.fromarray(pixels, mode="L").save(folder / f"digit-{i:04d}.png")
    return root
