"""img2img: plugin-based image-to-image GANs on Keras 3.

Importing this package stays light: Keras and TensorFlow load only when ``GAN`` or the training code is
first used, so ``img2img --help`` and plugin discovery stay fast.
"""

from __future__ import annotations

from typing import Any

from img2img.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["GAN", "Option", "hookimpl", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "GAN":
        from img2img.gan import GAN

        return GAN
    if name == "Option":
        from img2img.options import Option

        return Option
    raise AttributeError(f"module 'img2img' has no attribute {name!r}")
