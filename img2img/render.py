"""Pictures of samples: a tiled grid for images, a scatter plot for 2-D vectors. Pillow only."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from img2img.data.images import from_unit_range


def image_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Tile [n, h, w, c] images in [-1, 1] into one uint8 picture with a 1-pixel white gap."""
    pixels = from_unit_range(images)
    n, h, w, c = pixels.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, c), 255, np.uint8)
    for i, image in enumerate(pixels):
        r, k = divmod(i, columns)
        grid[r * (h + 1): r * (h + 1) + h, k * (w + 1): k * (w + 1) + w] = image
    return grid


def scatter_plot(points: np.ndarray, extent: float, size: int = 320,
                 references: np.ndarray | None = None) -> np.ndarray:
    """Points [n, 2] in [-extent, extent]^2 as black dots on white; optional reference points in red."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(size // 2, 0), (size // 2, size)], fill=(220, 220, 220))
    draw.line([(0, size // 2), (size, size // 2)], fill=(220, 220, 220))

    def to_pixel(xy: np.ndarray) -> tuple[float, float]:
        return ((xy[0] / extent + 1) * size / 2, (1 - xy[1] / extent) * size / 2)

    for point in np.asarray(points)[:, :2]:
        x, y = to_pixel(point)
        draw.point((x, y), fill=(0, 0, 0))
    for point in np.asarray(references if references is not None else np.zeros((0, 2)))[:, :2]:
        x, y = to_pixel(point)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=(220, 30, 30))
    return np.asarray(image)
