"""Adversarial losses and critic penalties: the interfaces plugins implement.

A GAN's loss is chosen independently of its networks. Built-in losses register through
``register_losses`` exactly like a third-party plugin's. This module imports Keras only inside methods,
so a plugin can import it at top level and keep ``img2img --help`` fast.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

from img2img.errors import Img2ImgError
from img2img.options import Option

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
    # Penalties this loss implies unless the user names them (WGAN-GP = WGAN + gp): (name, weight).
    default_penalties: ClassVar[tuple[tuple[str, float], ...]] = ()
    # Options after the name: --loss NAME:VALUE (the first parameter) or NAME:key=value,key=value.
    parameters: ClassVar[dict[str, Option]] = {}
    values: dict[str, Any]

    def configure(self, **values: Any) -> AdversarialLoss:
        """A copy with these parameter values; subclasses whose functions depend on them override."""
        configured = copy.copy(self)
        configured.values = {**self.current_values(), **values}
        return configured

    def current_values(self) -> dict[str, Any]:
        defaults = {k: o.default for k, o in self.parameters.items()}
        return {**defaults, **getattr(self, "values", {})}

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """``fake`` may hold more outputs than ``real`` (a matching-aware critic adds real images under wrong
        conditions to the fake side): average each side separately, never pair them element by element."""
        raise NotImplementedError

    def generator_loss(self, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def estimate(self, real: Tensor, fake: Tensor) -> Tensor | None:
        """A quantity worth logging each step (e.g. a divergence estimate), or None."""
        return None

    def after_discriminator_step(self, discriminator: Any) -> None:
        """Called after each critic update (weight clipping lives here)."""
        return None  # a docstring-only body trips AutoGraph's converter (it then warns on every run)

    def describe(self) -> dict[str, Any]:
        """What config.json records so that a run can be rebuilt with the same loss."""
        return {"name": self.name, "params": self.current_values()}


def parse_loss_spec(text: str, registry: Any) -> AdversarialLoss:
    """'alpha:0.5', 'wgan:clip=0.05', 'kl:objective=saddle' -> a configured loss from the registry."""
    name, _, rest = text.partition(":")
    loss = registry.get(name)
    if not rest:
        return loss
    if not loss.parameters:
        raise Img2ImgError(f"--loss {text}: loss {name!r} takes no parameters")
    values: dict[str, Any] = {}
    first = next(iter(loss.parameters))
    for item in rest.split(","):
        key, sep, value = item.partition("=")
        key, value = (key.strip(), value) if sep else (first, key)
        if key not in loss.parameters:
            valid = ", ".join(f"{k} (default {o.default!r})" for k, o in loss.parameters.items())
            raise Img2ImgError(f"--loss {text}: {name!r} has no parameter {key!r}; its parameters: {valid}")
        values[key] = loss.parameters[key].parse(key, value.strip(), label=f"--loss {text}")
    return loss.configure(**values)


class FDivergence(AdversarialLoss):
    """An f-GAN loss declared by f, its convex conjugate f* and the output activation g_f (Nowozin et al.).

    The critic maximises ``E_P[g_f(V)] - E_Q[f*(g_f(V))]``, the variational lower bound on D_f(P||Q),
    which ``estimate`` returns for logging. The generator's default objective is the paper's practical
    one, maximise ``E_Q[g_f(V)]``; ``objective=saddle`` (``--loss kl:objective=saddle``) makes it minimise
    the bound itself instead. ``conjugate_of_activation`` gives f*(g_f(v)) in a numerically stable fused
    form where the composition would overflow or lose precision.
    """

    parameters: ClassVar[dict[str, Option]] = {
        "objective": Option("practical", "generator objective", ("practical", "saddle")),
    }

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
        self.values = {"objective": generator_objective}

    @property
    def generator_objective(self) -> str:
        return self.current_values()["objective"]

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


class Penalty:
    """A term added to the critic's loss, scaled by a weight (``--penalty NAME[:weight]``).

    ``critic`` maps a batch of inputs to raw float32 critic outputs; ``real`` and ``fake`` are the batches
    the critic saw in this step; ``seed`` is the model's ``keras.random.SeedGenerator`` (saved with
    checkpoints), for penalties that draw random numbers.

    A penalty that needs both players' gradients (consensus optimisation) sets ``joint = True`` and
    implements ``joint_term(d_grads, g_grads)`` instead: the trainer then updates both players
    simultaneously, each along its own gradient plus ``weight`` times the gradient of that term.
    """

    name: str = ""
    description: str = ""
    default_weight: float = 1.0
    joint: bool = False
    # True for penalties on per-sample input gradients (gp, r1): batch norm in the critic mixes samples.
    per_sample: bool = False

    def __call__(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, seed: Any = None) -> Tensor:
        raise NotImplementedError

    def joint_term(self, d_grads: list[Tensor], g_grads: list[Tensor]) -> Tensor:
        raise NotImplementedError


__all__ = ["AdversarialLoss", "FDivergence", "Penalty", "parse_loss_spec"]
