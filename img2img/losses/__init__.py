"""Adversarial losses and critic penalties: the interfaces plugins implement.

A GAN's loss is chosen independently of its networks. Built-in losses register through
``register_losses`` exactly like a third-party plugin's. This module imports Keras only inside methods,
so a plugin can import it at top level and keep ``img2img --help`` fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

Tensor = Any
ArrayFn = Callable[[Tensor], Tensor]


class AdversarialLoss:
    """How the critic compares real and fake outputs, and what the generator minimises.

    ``real`` and ``fake`` are the discriminator's raw (linear, float32) outputs on real and generated
    samples. ``optimizer_defaults`` overrides the model's default optimiser settings for this loss
    (keys: ``optimizer``, ``lr``, ``beta_1``, ``beta_2``, ``n_critic``) unless the user sets them.
    """

    name: str = ""
    description: str = ""
    optimizer_defaults: ClassVar[dict[str, Any]] = {}

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def estimate(self, real: Tensor, fake: Tensor) -> Tensor | None:
        """A quantity worth logging each step (e.g. a divergence estimate), or None."""
        return None

    def after_discriminator_step(self, discriminator: Any) -> None:
        """Called after each critic update (weight clipping lives here)."""

    def describe(self) -> dict[str, Any]:
        """What config.json records so that a run can be rebuilt with the same loss."""
        return {"name": self.name}


class FDivergence(AdversarialLoss):
    """An f-GAN loss declared by f, its convex conjugate f* and the output activation g_f (Nowozin et al.).

    The critic maximises ``E_P[g_f(V)] - E_Q[f*(g_f(V))]``, the variational lower bound on D_f(P||Q),
    which ``estimate`` returns for logging. The generator's default objective is the paper's practical
    one, maximise ``E_Q[g_f(V)]``; ``generator_objective="saddle"`` minimises the bound itself instead.
    ``conjugate_of_activation`` may give f*(g_f(v)) in a numerically stable fused form.
    """

    def __init__(
        self,
        name: str,
        f: ArrayFn,
        conjugate: ArrayFn,
        activation: ArrayFn,
        *,
        conjugate_of_activation: ArrayFn | None = None,
        description: str = "",
        generator_objective: str = "practical",
    ) -> None:
        if generator_objective not in ("practical", "saddle"):
            raise ValueError("generator_objective must be 'practical' or 'saddle'")
        self.name = name
        self.f = f
        self.conjugate = conjugate
        self.activation = activation
        self.conjugate_of_activation = conjugate_of_activation or (lambda v: conjugate(activation(v)))
        self.description = description or f"f-GAN divergence {name}"
        self.generator_objective = generator_objective

    def bound(self, real: Tensor, fake: Tensor) -> Tensor:
        from keras import ops

        return ops.mean(self.activation(real)) - ops.mean(self.conjugate_of_activation(fake))

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return -self.bound(real, fake)

    def generator_loss(self, fake: Tensor) -> Tensor:
        from keras import ops

        if self.generator_objective == "saddle":
            return -ops.mean(self.conjugate_of_activation(fake))
        return -ops.mean(self.activation(fake))

    def estimate(self, real: Tensor, fake: Tensor) -> Tensor:
        return self.bound(real, fake)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "generator_objective": self.generator_objective}


class Penalty:
    """A term added to the critic's loss, scaled by a weight (``--penalty NAME[:weight]``).

    ``critic`` maps a batch of inputs to raw critic outputs; ``real`` and ``fake`` are the batches the
    critic saw in this step.
    """

    name: str = ""
    description: str = ""
    default_weight: float = 1.0

    def __call__(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError


__all__ = ["AdversarialLoss", "FDivergence", "Penalty"]
