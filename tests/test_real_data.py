"""The emoji benchmark data: traced line art must line up with its colour emoji, or pixel scores mean little."""

from __future__ import annotations

import numpy as np
import pytest
from real_data import emoji_code_points, render_emoji
from scipy import ndimage


def _edges(image) -> np.ndarray:
    rgb = np.asarray(image, np.float32) / 255.0
    magnitude = np.sqrt(sum(ndimage.sobel(rgb[..., c], axis) ** 2 for c in range(3) for axis in (0, 1)))
    return ndimage.binary_dilation(magnitude > 0.3, iterations=1)


def _ink_on_colour_edges(style: str, points: list[int]) -> float:
    """Share of a line drawing's ink pixels that sit on (or next to) an edge of the colour emoji."""
    on, total = 0, 0
    for cp in points:
        ink = np.asarray(render_emoji(cp, 64, style).convert("L")) < 128
        on += int((ink & _edges(render_emoji(cp, 64, "colour"))).sum())
        total += int(ink.sum())
    return on / total


def test_traced_line_art_lies_on_the_colour_emojis_edges_and_symbolas_does_not():
    points = emoji_code_points()[::60]
    traced, symbola = _ink_on_colour_edges("traced", points), _ink_on_colour_edges("line", points)
    assert traced > 0.9, traced
    assert traced > symbola + 0.2, (traced, symbola)


def test_unknown_emoji_style_is_named():
    with pytest.raises(ValueError, match="sketch"):
        render_emoji(0x1F600, 64, "sketch")
