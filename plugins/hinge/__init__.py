"""Hinge loss (Lim & Ye 2017; Miyato et al. 2018, usually with spectral normalisation):
critic mean relu(1 - D(x)) + mean relu(1 + D(G(z))), generator -mean D(G(z))."""

from __future__ import annotations

from typing import Any

from img2img import AdversarialLoss, hookimpl


class Hinge(AdversarialLoss):
    name = "hinge"
    description = "hinge loss, as used with spectral normalisation (--set spectral_norm=true)"

    def discriminator_loss(self, real: Any, fake: Any) -> Any:
        from keras import ops

        return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))

    def generator_loss(self, fake: Any) -> Any:
        from keras import ops

        return -ops.mean(fake)


@hookimpl
def register_losses(register):
    register(Hinge())
