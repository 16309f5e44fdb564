"""img2img: plugin-based image-to-image GANs on Keras 3.

``import img2img`` is all a plugin needs: the names below are the public API a model, loss, penalty, data
source or text-encoder plugin builds on, and img2img's own built-ins import them the same way. Importing
this package stays light: each name loads its module (and, for ``GAN``, Keras) only when first used, so
``img2img --help`` and plugin discovery stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from img2img.hookspecs import hookimpl

__version__ = "0.1.0"

# Public name -> the module that defines it.
_PUBLIC = {
    "GAN": "img2img.gan",
    "Option": "img2img.options",
    "AdversarialLoss": "img2img.losses",
    "FDivergence": "img2img.losses",
    "Penalty": "img2img.losses",
    "DataSource": "img2img.data",
    "DataRequest": "img2img.data",
    "ImageData": "img2img.data",
    "Img2ImgError": "img2img.errors",
    "gan_normal": "img2img.layers",
    "spectral_norm": "img2img.layers",
    "spectral_norm_option": "img2img.layers",
    "Conv2D": "img2img.convolutions",
    "Conv2DTranspose": "img2img.convolutions",
    "crop_flip_options": "img2img.augment",
    "crop_flip": "img2img.augment",
    "replacing": "img2img.atomic",
    "friendly_errors": "img2img.cli_errors",
    "global_draw": "img2img.distribute",
    "replica_share": "img2img.distribute",
    "replica_count": "img2img.distribute",
    "this_replica_rows": "img2img.distribute",
    "all_replicas_rows": "img2img.distribute",
    "SharedReplicaStep": "img2img.replica_step",
    "gradient_sources": "img2img.replica_step",
}
__all__ = ["hookimpl", "__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    raise AttributeError(f"module 'img2img' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
