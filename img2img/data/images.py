"""Decoding one image file with Pillow into the pixels a model expects.

Pillow rather than tf.io: it applies EXIF orientation and handles grey, RGBA, palette and 16-bit files
and every common format (png, jpg, bmp, gif, webp, tiff) the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from img2img.atomic import replacing

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class UnreadableImage(Exception):
    """The file exists but is not an image Pillow can decode (or one too large to decode); ``reason`` says
    which, for the warning that names the file."""

    def __init__(self, message: str, reason: str = "not an image img2img can read") -> None:
        super().__init__(message)
        self.reason = reason


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def is_grey(image: Image.Image) -> bool:
    if image.mode == "P":
        palette = image.convert("RGB")
        arr = np.asarray(palette)
        return bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
    return image.mode in GREY_MODES


def _to_8bit(image: Image.Image) -> Image.Image:
    """High-bit-depth grey (16-bit PNG/TIFF, 32-bit int, float) scaled to 8 bits, not clipped."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(image).astype(np.float64)
        if image.mode == "F":
            peak = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        else:
            peak = 65535.0 if arr.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        arr = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L")
    return image


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Transparent pixels become white, as the image looks on a page, not black."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    """Apply EXIF orientation and convert any mode to L (1 channel) or RGB (3 channels)."""
    image = ImageOps.exif_transpose(image)
    image = _to_8bit(image)
    image = _flatten_alpha(image)
    return image.convert("L" if channels == 1 else "RGB")


def center_square(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square, then resize: training images keep their aspect ratio."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def load_image(path: str | Path, channels: int, size: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """uint8 array [H, W, channels]; square ``size`` x ``size`` when size is given, else native size. An image
    whose header declares more than ``max_pixels`` is refused before its pixels are decoded: a 24 KB PNG can
    declare 10000x10000, and decoding it would take the memory of a hundred photos."""
    try:
        image = Image.open(path)  # with max_pixels, the caller holds own_pixel_limit(): no Pillow warning
        with image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                declared = f"{image.width}x{image.height} = {image.width * image.height / 1e6:.1f} MP"
                raise UnreadableImage(f"{path}: {declared}", f"{declared}, over the limit of {max_pixels / 1e6:g} MP; "
                                      "raise it with --max-megapixels, or shrink the image")
            image.load()
            image = to_mode(image, channels)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"{path}: {exc}", f"not an image img2img can read: {exc}") from exc
    if size is not None:
        image = center_square(image, size)
    arr = np.asarray(image, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


@contextmanager
def own_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """While held, ``load_image(..., max_pixels=...)`` is the only guard against images that declare huge
    sizes: Pillow's own (a warning, then an error, from Image.MAX_IMAGE_PIXELS) is off, so no stray warning
    reaches the user from tf.data's decoding threads (``warnings.catch_warnings`` is not thread-safe). Every
    caller must then pass ``max_pixels``; Pillow's guard is back afterwards."""
    previous = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None:
        Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def probe(path: Path) -> Image.Image | None:
    """Open the header only (cheap); None when Pillow cannot identify the file."""
    try:
        image = Image.open(path)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return image


def to_unit_range(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) / 127.5 - 1.0


def from_unit_range(images: np.ndarray) -> np.ndarray:
    return np.clip((np.asarray(images, dtype=np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Write atomically: a half-written file never takes the place of a good one."""
    arr = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    with replacing(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
