"""pix2pix (Isola et al. 2017) per reference.md: paired translation with a U-Net generator, a PatchGAN that
judges (input, output) pairs, and lambda_l1 x L1 to the paired target beside the adversarial loss.

It is the base GAN's conditional scheme with the input image as the condition: ``generator_inputs`` is the
input itself (no z: the reference's dropout is its only noise), ``discriminator_inputs`` stacks input and
output, and ``generator_extra_loss`` adds the L1 term. So every registered loss and penalty composes with
it, the joint (consensus) scheme included.

The reference halves the PatchGAN's loss; with Adam that only rescales the gradients, which Adam's update
divides out, so it is not repeated here. At translate time the exported generator runs in inference mode
(batch norm's running statistics, no dropout), so an image's output does not depend on its batch.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from img2img import GAN, Img2ImgError, Option, crop_flip, crop_flip_options, spectral_norm_option
from img2img_plugins.pix2pix.networks import UPSAMPLING, luminance, patchgan, unet_depth, unet_generator

GRID_PAIRS = 8
DIRECTIONS = ("a2b", "b2a")


class Pix2Pix(GAN):
    name = "pix2pix"
    description = ("pix2pix (Isola et al. 2017): paired translation, --data of A|B side-by-side images or "
                   "--data A/ --data-b B/ matched by name; U-Net generator, PatchGAN on (input, output), GAN + L1")
    default_loss = "gan"
    default_image_size = 256
    domains = 2
    paired = True
    channels_supported = (1, 3)
    translations = {"a2b": "generator"}
    # reference.md: Adam 2e-4, betas (0.5, 0.999); 100 epochs at the full rate, then 100 of linear decay.
    training_defaults = {"lr": 2e-4, "beta_1": 0.5, "lr_constant_epochs": 100, "lr_decay_epochs": 100}
    options = {
        "direction": Option("a2b", "a2b learns A -> B (left half to right half); b2a learns B -> A", DIRECTIONS),
        "filters": Option(64, "generator filters in its first layer (ngf); widths double to 8x", minimum=1),
        "d_filters": Option(64, "PatchGAN filters in its first layer (ndf)", minimum=1),
        "d_layers": Option(3, "stride-2 layers of the PatchGAN; 3 = 70x70 receptive field", minimum=1),
        "lambda_l1": Option(100.0, "weight of the L1 distance to the paired target", minimum=0),
        "upsampling": Option("transpose", "decoder upsampling: 4x4 transposed conv (reference) or nearest resize + "
                             "3x3 conv (no checkerboard artefacts)", UPSAMPLING),
        "dropout": Option(0.5, "dropout rate in the innermost 8x-wide decoder blocks (training only)",
                          minimum=0, maximum=0.9),
        "spectral_norm": spectral_norm_option("the PatchGAN's convolutions (and drop its batch norm)"),
        "grey_input": Option(False, "the generator first reduces its input to luma (ITU-R 601) and the PatchGAN "
                             "sees that grey input, so colour photos and grey ones translate alike: for "
                             "colourising (3 channels)"),
        **crop_flip_options("pairs", ", the same for both images of a pair"),
    }

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("grey_input") and kwargs["channels"] != 3:  # before the networks are built on it
            raise Img2ImgError(f"--set grey_input=true greys colour images; these have {kwargs['channels']} "
                               "channel(s). Train on colour images, or leave grey_input off")
        super().__init__(**kwargs)
        self.depth = unet_depth(self.image_size)
        # Per run: the U-Net takes any size that is a multiple of 2^depth; translate pads to it, no further.
        self.size_multiple = 1 << self.depth
        self.translate_minimum = self.size_multiple
        self.translations = {str(self.settings["direction"]): "generator"}
        self.l1_tracker = keras.metrics.Mean(name="l1_loss")

    @classmethod
    def check_image_size(cls, size: int) -> None:
        if size < 16 or size % 16:
            raise Img2ImgError(f"--image-size {size}: pix2pix needs a multiple of 16 (e.g. 64, 128, 256, 512); "
                               "its U-Net halves the image at least 4 times")

    @classmethod
    def data_augmentation(cls, settings: dict[str, Any], image_size: int) -> tuple[int, bool]:
        return crop_flip(settings, image_size)

    # ----- networks ------------------------------------------------------------------------------
    def build_generator(self) -> keras.Model:
        return unet_generator(self.channels, int(self.settings["filters"]), unet_depth(self.image_size),
                              float(self.settings["dropout"]), upsampling=str(self.settings["upsampling"]),
                              grey_input=bool(self.settings["grey_input"]))

    def build_discriminator(self) -> keras.Model:
        return patchgan(self.channels, int(self.settings["d_filters"]), int(self.settings["d_layers"]),
                        bool(self.settings["spectral_norm"]))

    # ----- the conditional scheme with the input image as the condition ----------------------------
    @classmethod
    def generator_inputs(cls, z: Any, labels: Any | None) -> Any:
        return labels

    def discriminator_inputs(self, images: Any, labels: Any | None) -> Any:
        source = ops.cast(labels, images.dtype)
        if self.settings["grey_input"]:  # what the generator saw, or the critic could read colour off the input
            source = luminance(source)
        return ops.concatenate([source, images], axis=-1)

    def fake_batch(self, batch_size: Any, labels: Any, dtype: Any) -> Any:
        return ops.cast(self.generator(labels, training=True), dtype)

    def generator_extra_loss(self, real: Any, fake: Any, labels: Any | None) -> Any:
        l1 = ops.mean(ops.abs(ops.cast(fake, "float32") - ops.cast(real, "float32")))
        self.l1_tracker.update_state(l1)
        return float(self.settings["lambda_l1"]) * l1

    def ordered(self, data: Any) -> tuple[Any, Any]:
        """(source, target) of a batch of (a, b) pairs, by the run's direction."""
        a, b = data
        return (b, a) if self.settings["direction"] == "b2a" else (a, b)

    def train_step(self, data: Any) -> dict[str, Any]:
        source, target = self.ordered(data)
        return super().train_step((target, source))  # the base class takes (real images, conditions)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return super().metrics + ([self.l1_tracker] if hasattr(self, "d_loss_tracker") else [])

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.generator(inputs, training=training)

    # ----- sample grid: input, output, target ----------------------------------------------------
    def grid_inputs(self, seed: int, stream: Any) -> dict[str, np.ndarray]:
        source, target = self.ordered(next(iter(stream().batch(GRID_PAIRS).take(1))))
        return {"source": np.asarray(source), "target": np.asarray(target)}

    def render_grid(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        from img2img.render import image_grid

        source, target = inputs["source"], inputs["target"]
        output = ops.convert_to_numpy(self.generator(source, training=False))
        a, b = self.settings["direction"].split("2")
        labels = [f"input ({a.upper()})", f"output ({a.upper()} -> {b.upper()})", f"target ({b.upper()})"]
        return image_grid(np.concatenate([source, output, target]), columns=len(source), row_labels=labels)
