"""Learning-rate schedules driven by the optimiser's own step counter.

Because the schedule is a function of ``optimizer.iterations``, which every checkpoint saves, a resumed
run continues at exactly the learning rate it stopped at, with no schedule state of its own to restore.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="img2img")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The reference CycleGAN schedule: ``constant_epochs`` at ``initial``, then linear decay over
    ``decay_epochs``: during (0-based) epoch e the rate is initial * (1 - max(0, e + 1 - constant) /
    (decay + 1)), i.e. lr(E) = initial * (1 - max(0, E - constant) / (decay + 1)) for 1-based E."""

    def __init__(self, initial: float, steps_per_epoch: int, constant_epochs: int, decay_epochs: int) -> None:
        self.initial = float(initial)
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.constant_epochs = int(constant_epochs)
        self.decay_epochs = int(decay_epochs)

    def factor(self, step: Any) -> Any:
        epoch = ops.floor(ops.cast(step, "float32") / float(self.steps_per_epoch))
        decayed = ops.maximum(epoch + 1.0 - float(self.constant_epochs), 0.0) / float(self.decay_epochs + 1)
        return ops.maximum(1.0 - decayed, 0.0)

    def __call__(self, step: Any) -> Any:
        return self.initial * self.factor(step)

    def get_config(self) -> dict[str, Any]:
        return {"initial": self.initial, "steps_per_epoch": self.steps_per_epoch,
                "constant_epochs": self.constant_epochs, "decay_epochs": self.decay_epochs}


def learning_rate(initial: float, settings: dict[str, Any], steps_per_epoch: int, updates_per_step: int = 1) -> Any:
    """A float, or the decay schedule when ``lr_decay_epochs`` is set. ``updates_per_step`` is how often this
    optimiser steps per generator step (n_critic for the critic), so both decay on the same epochs."""
    decay = int(settings.get("lr_decay_epochs", 0))
    if decay <= 0:
        return initial
    return ConstantThenLinearDecay(initial, steps_per_epoch * updates_per_step,
                                   int(settings.get("lr_constant_epochs", 0)), decay)
