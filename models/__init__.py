"""Pretrained generators shipped with img2img (data only): see index.json and each MODEL_CARD.md."""
