"""Real, small image sets written as folders, as a user would hand them to img2img."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

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


# ----- emoji line art (Symbola) and colour emoji (Noto Color Emoji), paired by code point ----------
SYMBOLA = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")
NOTO_EMOJI = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
_RENDER = 64  # drawn at 64 px, then resized: the colour font is a 136x128 bitmap strike


def emoji_code_points() -> list[int]:
    """Code points (above U+2000) that both fonts draw, in order; about 1,170."""
    from fontTools.ttLib import TTFont

    for font in (SYMBOLA, NOTO_EMOJI):
        if not font.is_file():
            raise FileNotFoundError(f"{font} is missing: run 'bash install.sh' (it installs fonts-symbola and "
                                    "fonts-noto-color-emoji)")
    line = set(TTFont(str(SYMBOLA)).getBestCmap())
    colour = set(TTFont(str(NOTO_EMOJI)).getBestCmap())
    return sorted(c for c in line & colour if c > 0x2000)


def split_code_points(points: list[int], seed: int) -> tuple[list[int], list[int], list[int]]:
    """(held out, domain A, domain B): a seeded 15 % held out for scoring, the rest in two disjoint halves,
    so a two-domain model trains unpaired. bench/cyclegan_quality.py and the shipped model use seed 0."""
    order = np.random.default_rng(seed).permutation(len(points))
    held = int(round(0.15 * len(points)))
    rest = order[held:]
    half = len(rest) // 2
    pick = lambda idx: sorted(points[i] for i in idx)  # noqa: E731
    return pick(order[:held]), pick(rest[:half]), pick(rest[half:])


def _noto_canvas(code_point: int) -> Image.Image:
    canvas = Image.new("RGBA", (136, 128), (255, 255, 255, 255))
    font = ImageFont.truetype(str(NOTO_EMOJI), 109)
    ImageDraw.Draw(canvas).text((68, 64), chr(code_point), font=font, embedded_color=True, anchor="mm")
    return canvas.convert("RGB")


def _traced(colour: Image.Image) -> Image.Image:
    """Colouring-book line art of a colour emoji: black where the smoothed colour changes sharply (Sobel
    magnitude over RGB), so it lines up with its colour emoji pixel for pixel, as edges2shoes does for
    photos, while Symbola's line art is a different drawing of the same code point."""
    from scipy import ndimage

    rgb = ndimage.gaussian_filter(np.asarray(colour, np.float32) / 255.0, (1.0, 1.0, 0))
    magnitude = np.sqrt(sum(ndimage.sobel(rgb[..., c], axis) ** 2 for c in range(3) for axis in (0, 1)))
    return Image.fromarray(np.where(magnitude > 0.35, 0, 255).astype(np.uint8)).convert("RGB")


def render_emoji(code_point: int, size: int, style: str) -> Image.Image:
    """One emoji on white: ``style`` "line" (black Symbola outline), "colour" (Noto bitmap) or "traced"
    (line art traced from the Noto bitmap, aligned with "colour")."""
    if style == "line":
        image = Image.new("RGB", (_RENDER, _RENDER), "white")
        font = ImageFont.truetype(str(SYMBOLA), 52)
        ImageDraw.Draw(image).text((_RENDER // 2, _RENDER // 2), chr(code_point), font=font, fill="black",
                                   anchor="mm")
    elif style in ("colour", "traced"):
        canvas = _noto_canvas(code_point)
        image = (canvas if style == "colour" else _traced(canvas)).resize((_RENDER, _RENDER),
                                                                          Image.Resampling.LANCZOS)
    else:
        raise ValueError(f"unknown emoji style {style!r}: use line, colour or traced")
    if size != _RENDER:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def emoji_folders(root: Path, code_points: list[int], size: int = 64) -> tuple[Path, Path]:
    """root/line and root/colour, one PNG per code point (e.g. 1f600.png) in each."""
    line, colour = root / "line", root / "colour"
    for folder, style in ((line, "line"), (colour, "colour")):
        folder.mkdir(parents=True, exist_ok=True)
        for cp in code_points:
            render_emoji(cp, size, style).save(folder / f"{cp:x}.png")
    return line, colour


def emoji_caption(code_point: int) -> list[str]:
    """An emoji's captions: its Unicode name ("baby chick") and a sentence around it."""
    import unicodedata

    name = unicodedata.name(chr(code_point), f"emoji {code_point:x}").lower()
    return [name, f"a small picture of a {name}"]


def captioned_emoji_folder(root: Path, code_points: list[int], size: int = 32) -> Path:
    """Colour emoji as NAME.png with their captions in NAME.txt, as a user would lay out image-caption pairs."""
    root.mkdir(parents=True, exist_ok=True)
    for cp in code_points:
        render_emoji(cp, size, "colour").save(root / f"{cp:x}.png")
        (root / f"{cp:x}.txt").write_text("\n".join(emoji_caption(cp)) + "\n", encoding="utf-8")
    return root
