"""PacGAN packing (Lin et al. 2018; reference.md): the critic judges ``pack`` samples at once, stacked along
the last axis (channels of images, features of vectors), real packs against fake packs. A critic that sees
several samples together can tell a collapsed generator by how alike they are; pack = 1 is the plain GAN.

Packing happens in the base GAN's steps (img2img.schemes), before the loss and the penalties, so a per-sample
penalty is taken per pack (the gradient penalty draws one interpolation weight per pack).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from img2img.errors import Img2ImgError


def check_pack(model: Any, pack: int) -> int:
    """Refuse, by name, what packing cannot serve yet; returns ``pack``."""
    if pack < 1:
        raise Img2ImgError(f"--set pack={pack}: give the number of samples the critic sees at once (1 = off)")
    if pack == 1:
        return 1
    conditional = model.num_classes or model.text_dim or getattr(model, "paired", False)
    if conditional:
        raise Img2ImgError(f"--set pack={pack}: {type(model).name}'s critic judges each sample with its condition "
                           "(label, caption or paired input); packing conditional critics is not supported yet")
    if getattr(model, "domains", 1) > 1:
        raise Img2ImgError(f"--set pack={pack}: {type(model).name} trains its critics in a step of its own, which does "
                           "not pack; use pack=1")
    return pack


def check_pack_batch(pack: int, batch_size: int, replicas: int) -> None:
    """Refuse, before a run directory exists, a batch that does not split into whole packs on each replica."""
    local = batch_size // max(replicas, 1)
    if pack > 1 and local % pack:
        raise Img2ImgError(f"--set pack={pack}: the batch ({local} per replica) must be a multiple of the pack; "
                           "choose --batch-size accordingly")


@contextmanager
def packed_critic_input(model: Any) -> Iterator[None]:
    """While the critic is built, the model's ``channels`` and ``sample_shape`` describe a pack (the last axis
    ``pack`` times wider), so a plugin's ``build_discriminator`` builds the PacGAN critic unchanged."""
    if model.pack == 1:
        yield
        return
    channels, shape = model.channels, model.sample_shape
    model.channels = channels * model.pack
    model.sample_shape = (*shape[:-1], shape[-1] * model.pack)
    try:
        yield
    finally:
        model.channels, model.sample_shape = channels, shape


def pack_samples(samples: Any, pack: int) -> Any:
    """[n, ..., c] -> [n / pack, ..., pack * c]: consecutive samples side by side on the last axis (sample j of
    a pack in channels j*c .. j*c + c - 1)."""
    from keras import ops

    if pack == 1:
        return samples
    n = samples.shape[0]
    if n is None:
        raise Img2ImgError(f"--set pack={pack}: packing needs a fixed batch size (batch with drop_remainder)")
    check_pack_batch(pack, n, 1)  # the trainer checks before it starts; this serves direct callers
    inner = tuple(samples.shape[1:])
    grouped = ops.reshape(samples, (n // pack, pack, *inner))
    order = (0, *range(2, len(inner) + 1), 1, len(inner) + 1)  # [packs, ..., pack, c]
    return ops.reshape(ops.transpose(grouped, order), (n // pack, *inner[:-1], pack * inner[-1]))
