"""Least-squares GAN (Mao et al. 2017), CycleGAN's default loss, in reference.md's form:
critic 1/2 [mean (D(x) - 1)^2 + mean D(G(z))^2], generator mean (D(G(z)) - 1)^2."""

from __future__ import annotations

from typing import Any

from img2img import AdversarialLoss, hookimpl


class LSGAN(AdversarialLoss):
    name = "lsgan"
    description = "least squares GAN (Mao et al. 2017), targets 1 for real and 0 for fake"

    def discriminator_loss(self, real: Any, fake: Any) -> Any:
        from keras import ops

        return 0.5 * (ops.mean(ops.square(real - 1.0)) + ops.mean(ops.square(fake)))

    def generator_loss(self, fake: Any) -> Any:
        from keras import ops

        return ops.mean(ops.square(fake - 1.0))


@hookimpl
def register_losses(register):
    register(LSGAN())
