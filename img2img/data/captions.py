"""Captions for text-conditioned training: ``NAME.txt`` beside ``NAME.png``, one caption per non-empty line.

Each time an image is streamed one of its captions is drawn, by a stateless draw keyed on the run's seed and
the element's position in the stream, so a resumed run draws what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from img2img.console import warn


@dataclass
class CaptionIndex:
    """All distinct captions, and for each image the slice of its caption ids in ``ids``."""

    captions: list[str]
    ids: list[int]
    starts: list[int]
    counts: list[int]


def caption_lines(image: Path) -> list[str]:
    text_file = image.with_suffix(".txt")
    if not text_file.is_file():
        return []
    try:
        text = text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warn(f"cannot read captions {text_file}: {exc}")
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def index_captions(images: list[Path]) -> tuple[CaptionIndex, list[int]] | None:
    """The caption index and the positions of the images that have captions; None when none has any.
    Images without a caption file are left out with one warning naming them."""
    per_image = [caption_lines(p) for p in images]
    if not any(per_image):
        return None
    missing = [p for p, lines in zip(images, per_image, strict=True) if not lines]
    if missing:
        shown = ", ".join(str(p) for p in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        warn(f"leaving out {len(missing)} image(s) without a caption file (NAME.txt beside NAME.png): {shown}")
    position: dict[str, int] = {}
    captions: list[str] = []
    ids: list[int] = []
    starts: list[int] = []
    counts: list[int] = []
    kept: list[int] = []
    for i, lines in enumerate(per_image):
        if not lines:
            continue
        kept.append(i)
        starts.append(len(ids))
        counts.append(len(lines))
        for line in lines:
            if line not in position:
                position[line] = len(captions)
                captions.append(line)
            ids.append(position[line])
    return CaptionIndex(captions, ids, starts, counts), kept


def draw_caption(ds: Any, index: CaptionIndex, seed: int, first_element: int) -> Any:
    """Map a stream of (path, start, count) to (path, caption id), one seeded draw per element."""
    import tensorflow as tf

    ids = tf.constant(index.ids, tf.int32)

    def draw(position: tf.Tensor, element: tuple[tf.Tensor, tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        path, start, count = element
        u = tf.random.stateless_uniform((), seed=tf.stack([tf.cast(seed, tf.int64), position]))
        pick = start + tf.minimum(tf.cast(u * tf.cast(count, tf.float32), tf.int32), count - 1)
        return path, ids[pick]

    return ds.enumerate(start=first_element).map(draw)
