"""Caption embeddings from a run's text encoder: the encoder it was trained with, checked, and a one-entry
cache, so training and drawing prompts encode the same texts the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from img2img.errors import Img2ImgError
from img2img.plugins import PluginManager

_embedding_cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}


def run_text_encoder(config: dict[str, Any], plugins: PluginManager, option: str = "--model") -> Any:
    """The encoder a run was trained with, checked to give embeddings of the stored size."""
    stored = config.get("text_encoder") or {}
    name = stored.get("name")
    if not name:
        raise Img2ImgError(f"{option}: this run has no text encoder; it was not trained on captions")
    if name not in plugins.text_encoders:
        raise Img2ImgError(f"{option}: the run was trained with text encoder {name!r} from plugin "
                           f"{stored.get('plugin')!r}, which is not installed; install it with 'img2img install'")
    encoder = plugins.text_encoders.get(name)
    if int(encoder.dimension) != int(stored["dimension"]):
        raise Img2ImgError(f"{option}: text encoder {name!r} now gives {encoder.dimension}-d embeddings, but the "
                           f"run was trained on {stored['dimension']}-d ones; install the version it was trained with")
    return encoder


def encode_texts(encoder: Any, texts: list[str]) -> np.ndarray:
    """Embeddings [n, dimension] as float32, checked for shape and finiteness (a plugin's output)."""
    key = (encoder.name, tuple(texts))
    if key not in _embedding_cache:
        vectors = np.asarray(encoder(list(texts)), dtype=np.float32)
        if vectors.shape != (len(texts), int(encoder.dimension)) or not np.isfinite(vectors).all():
            raise Img2ImgError(f"text encoder {encoder.name!r} returned an array of shape {vectors.shape} (or "
                               f"non-finite values) for {len(texts)} texts; expected "
                               f"({len(texts)}, {encoder.dimension})")
        _embedding_cache.clear()  # one caption set per process is what training needs; do not hoard
        _embedding_cache[key] = vectors
    return _embedding_cache[key]
