"""StackGAN (Zhang et al. 2017; reference.md), trained stage by stage.

Stage I (``img2img train stackgan --image-size 64``): conditioning augmentation of the caption embedding,
concatenated with z, drawn at low resolution by a DCGAN generator; a matching-aware critic as in GAN-CLS.
Stage II (``--image-size 256 --set stage1=RUN``): the frozen stage-I generator's picture is encoded down to a
quarter of its side, joined with a second conditioning augmentation of the same caption, refined by residual
blocks and upsampled to 2x or 4x the stage-I size. The stage-II run exports one generator holding both
stages, so ``translate --prompt`` uses it like any other text model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
from keras import layers

from img2img import Conv2D, Img2ImgError, Option, gan_normal
from img2img_plugins.dcgan.model import BN_MOMENTUM, start_and_doublings
from img2img_plugins.gancls.model import GANCLS
from img2img_plugins.stackgan.layers import ConditioningAugmentation

MAX_SIZE = 256
UPSCALES = (2, 4)


def _stage1_config(run: str) -> tuple[Path, dict[str, Any]]:
    from img2img.runs import RunDirectory

    path = Path(run).expanduser()
    stage1 = RunDirectory.open(path, option="--set stage1")
    config = stage1.read_config()
    if config["model"]["name"] != "stackgan" or config["settings"].get("stage1"):
        raise Img2ImgError(f"--set stage1={run}: is a {config['model']['name']!r} run"
                           f"{' of stage II' if config['settings'].get('stage1') else ''}; give a stage-I stackgan run")
    if not stage1.network_path("generator").is_file():
        raise Img2ImgError(f"--set stage1={run}: has no exported generator yet; train it for at least one epoch")
    return path, config


class StackGAN(GANCLS):
    name = "stackgan"
    description = ("StackGAN text-to-image, stage by stage: stage I at low resolution; stage II "
                   "(--set stage1=RUN) refines it to 2x or 4x the size")
    options = {
        # Not gan-cls's conditioning_augmentation / ca_kl_weight: StackGAN always augments, weighted by kl_weight.
        **{k: o for k, o in GANCLS.options.items() if k not in ("conditioning_augmentation", "ca_kl_weight")},
        "ca_dim": Option(128, "size of the conditioning-augmentation code (StackGAN: 128)", minimum=1),
        "kl_weight": Option(2.0, "weight of the conditioning augmentation's KL term (official configs: 2; paper: 1)",
                            minimum=0),
        "stage1": Option("", "stage II: the stage-I run directory whose generator it refines"),
        "residual_blocks": Option(2, "stage II: residual blocks after joining image and caption codes", minimum=0),
    }

    @classmethod
    def check_image_size(cls, size: int) -> None:
        if not 16 <= size <= MAX_SIZE or start_and_doublings(size) is None:
            raise Img2ImgError(f"--image-size {size}: stackgan supports sizes s * 2^k from 16 to {MAX_SIZE} "
                               "with s in 4..7 (16, 32, 64, 128, 256, 24, 48, ...)")

    def build_generator(self) -> keras.Model:
        z = keras.Input((self.latent_dim,), name="z")
        text = keras.Input((self.text_dim,), name="text")
        if self.settings["stage1"]:
            return self._stage2_generator(z, text)
        code = ConditioningAugmentation(int(self.settings["ca_dim"]), float(self.settings["kl_weight"]),
                                        name="conditioning_augmentation")(text)
        image = self.generator_from(layers.Concatenate()([z, code]))
        return keras.Model([z, text], image, name="generator")

    def _load_stage1(self) -> keras.Model:
        path, config = _stage1_config(self.settings["stage1"])
        low = int(config["image_size"])
        if self.image_size not in [low * u for u in UPSCALES]:
            raise Img2ImgError(f"--image-size {self.image_size}: stage II draws 2x or 4x its stage-I run's size "
                               f"({low} px), so use {low * 2} or {low * 4}")
        if int(config.get("channels") or 0) != self.channels:
            raise Img2ImgError(f"--set stage1={path}: stage I drew {config.get('channels')}-channel images, the "
                               f"data here has {self.channels}")
        if int((config.get("text_encoder") or {}).get("dimension", 0)) != self.text_dim:
            raise Img2ImgError(f"--set stage1={path}: stage I used text encoder {config.get('text_encoder')}; "
                               "stage II must use the same (--text-encoder)")
        if int(config["settings"]["latent_dim"]) != self.latent_dim:
            raise Img2ImgError(f"--set stage1={path}: stage I has latent_dim {config['settings']['latent_dim']}; "
                               f"pass --set latent_dim={config['settings']['latent_dim']}")
        from img2img.runs import RunDirectory, load_generator

        stage1 = load_generator(RunDirectory(path))
        stage1.trainable = False  # frozen: its batch norm runs in inference mode, its CA returns mu
        stage1.name = "stage1"
        return stage1

    def _stage2_generator(self, z: keras.KerasTensor, text: keras.KerasTensor) -> keras.Model:
        stage1 = self._load_stage1()
        filters = int(self.settings["filters"])
        low = stage1([z, text])
        x = Conv2D(filters, 3, padding="same", kernel_initializer=gan_normal())(low)
        x = layers.ReLU()(x)
        for i in (1, 2):  # down to a quarter of the stage-I side
            x = Conv2D(filters * 2**i, 4, strides=2, padding="same", use_bias=False,
                              kernel_initializer=gan_normal())(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = layers.ReLU()(x)
        side, width = x.shape[1], x.shape[-1]
        code = ConditioningAugmentation(int(self.settings["ca_dim"]), float(self.settings["kl_weight"]),
                                        name="conditioning_augmentation_2")(text)
        tiled = layers.UpSampling2D(size=(side, side))(layers.Reshape((1, 1, -1))(code))
        x = layers.Concatenate()([x, tiled])
        x = Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=gan_normal())(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.ReLU()(x)
        for _ in range(int(self.settings["residual_blocks"])):
            y = Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=gan_normal())(x)
            y = layers.BatchNormalization(momentum=BN_MOMENTUM)(y)
            y = layers.ReLU()(y)
            y = Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=gan_normal())(y)
            y = layers.BatchNormalization(momentum=BN_MOMENTUM)(y)
            x = layers.ReLU()(layers.Add()([x, y]))
        doublings = int(math.log2(self.image_size // side))
        for i in range(doublings):
            x = layers.UpSampling2D(2)(x)
            x = Conv2D(max(filters, width // 2 ** (i + 1)), 3, padding="same", use_bias=False,
                              kernel_initializer=gan_normal())(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = layers.ReLU()(x)
        x = Conv2D(self.channels, 3, padding="same", kernel_initializer=gan_normal())(x)
        image = layers.Activation("tanh", dtype="float32", name="image")(x)
        return keras.Model([z, text], image, name="generator")
