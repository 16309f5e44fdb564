"""Pictures of samples: a tiled grid for images, a scatter plot for 2-D vectors. Pillow only."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from img2img.data.images import from_unit_range


def image_grid(images: np.ndarray, columns: int | None = None, row_labels: list[str] | None = None) -> np.ndarray:
    """Tile [n, h, w, c] images in [-1, 1] into one uint8 picture with a 1-pixel white gap. ``row_labels``
    are written in a margin on the left, one per row, so a grid says what its rows are."""
    pixels = from_unit_range(images)
    n, h, w, c = pixels.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, c), 255, np.uint8)
    for i, image in enumerate(pixels):
        r, k = divmod(i, columns)
        grid[r * (h + 1): r * (h + 1) + h, k * (w + 1): k * (w + 1) + w] = image
    return _with_row_labels(grid, row_labels, h + 1) if row_labels else grid


def _with_row_labels(grid: np.ndarray, labels: list[str], pitch: int) -> np.ndarray:
    from PIL import ImageFont

    size = max(8, min(14, pitch - 4))
    font = ImageFont.load_default(size=size)
    margin = max(int(font.getlength(label)) for label in labels) + 6
    image = Image.new("RGB", (grid.shape[1] + margin, grid.shape[0]), "white")
    image.paste(Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).convert("RGB"), (margin, 0))
    draw = ImageDraw.Draw(image)
    for row, label in enumerate(labels):
        draw.text((2, row * pitch + (pitch - size) // 2), label, fill=(0, 0, 0), font=font)
    pixels = np.asarray(image)
    return pixels[..., :1] if grid.shape[-1] == 1 else pixels


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
