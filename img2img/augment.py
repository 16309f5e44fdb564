"""The reference image-to-image augmentation (pix2pix's and CycleGAN's: resize to 286 px, random 256 px crop,
random horizontal flip) as ``--set`` options and a ``GAN.data_augmentation`` answer, kept once so the models
that use it agree on its keys, defaults and meaning."""

from __future__ import annotations

from typing import Any

from img2img.options import Option

REFERENCE_LOAD_SCALE = 286 / 256


def crop_flip_options(images: str = "images", also: str = "") -> dict[str, Option]:
    """``augment`` and ``load_scale``; ``images`` names what is resized ("pairs"), ``also`` adds to the help."""
    return {
        "augment": Option(True, f"random resize-crop (load at load_scale times the size) and horizontal flip{also}"),
        "load_scale": Option(REFERENCE_LOAD_SCALE, f"with augment: {images} are resized to this multiple of "
                             "--image-size, then randomly cropped (reference 286/256); 1 = flips only, at the "
                             f"{images}' own scale", minimum=1),
    }


def crop_flip(settings: dict[str, Any], image_size: int) -> tuple[int, bool]:
    """(load size, flip) for the options above: what ``GAN.data_augmentation`` returns."""
    if not settings.get("augment", True):
        return image_size, False
    return int(round(image_size * float(settings.get("load_scale", REFERENCE_LOAD_SCALE)))), True
