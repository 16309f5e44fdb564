"""Wasserstein GAN (Arjovsky et al. 2017) with weight clipping, and WGAN-GP (Gulrajani et al. 2017).

Defaults from reference.md: WGAN clips the critic to [-0.01, 0.01] and trains with RMSprop 5e-5 and
n_critic = 5; WGAN-GP replaces clipping with the gradient penalty (weight 10) and uses Adam 1e-4 with
betas (0, 0.9). The critic's estimate of the Wasserstein distance is logged as ``bound``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from img2img import AdversarialLoss, Option, hookimpl


class WGAN(AdversarialLoss):
    name = "wgan"
    description = "Wasserstein GAN with weight clipping (--loss wgan:clip=0.01), RMSprop 5e-5, n_critic 5"
    optimizer_defaults: ClassVar[dict[str, Any]] = {"optimizer": "rmsprop", "lr": 5e-5, "n_critic": 5}
    parameters: ClassVar[dict[str, Option]] = {
        "clip": Option(0.01, "clip critic weights to [-clip, clip]; 0 = off", minimum=0),
    }

    def discriminator_loss(self, real: Any, fake: Any) -> Any:
        from keras import ops

        return ops.mean(fake) - ops.mean(real)

    def generator_loss(self, fake: Any) -> Any:
        from keras import ops

        return -ops.mean(fake)

    def estimate(self, real: Any, fake: Any) -> Any:
        from keras import ops

        return ops.mean(real) - ops.mean(fake)

    def after_discriminator_step(self, discriminator: Any) -> None:
        from keras import ops

        clip = float(self.current_values().get("clip", 0.0))
        if clip > 0:
            for variable in discriminator.trainable_variables:
                variable.assign(ops.clip(variable, -clip, clip))


class WGANGP(WGAN):
    name = "wgan-gp"
    description = "WGAN with gradient penalty (gp, weight 10, one alpha per sample), Adam 1e-4 (0, 0.9), n_critic 5"
    optimizer_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam", "lr": 1e-4, "beta_1": 0.0, "beta_2": 0.9, "n_critic": 5,
    }
    parameters: ClassVar[dict[str, Option]] = {}
    default_penalties = (("gp", 10.0),)


@hookimpl
def register_losses(register):
    register(WGAN())
    register(WGANGP())
