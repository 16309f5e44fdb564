"""Building blocks several model plugins share, kept once so they agree: the GAN weight initialiser and the
spectral-norm switch with its --set option. Keras loads only when a function is called."""

from __future__ import annotations

from typing import Any

from img2img.options import Option


def gan_normal() -> Any:
    """N(0, 0.02), the weight initialiser of DCGAN, pix2pix and CycleGAN (reference.md)."""
    import keras

    return keras.initializers.RandomNormal(0.0, 0.02)


def spectral_norm_option(where: str) -> Option:
    """The ``--set spectral_norm=true`` option of a model, saying which layers it wraps."""
    return Option(False, f"wrap {where} in keras.layers.SpectralNormalization (1 power iteration)")


def spectral_norm(layer: Any, enabled: bool) -> Any:
    """``layer`` wrapped in spectral normalisation (Miyato et al. 2018, one power iteration) when enabled."""
    if not enabled:
        return layer
    import keras

    return keras.layers.SpectralNormalization(layer, power_iterations=1)
