"""The random-number state a model carries, so a checkpoint can hold all of it.

A resumed run must draw exactly what an unbroken one would: the model's own seed generator (latents,
pools) and every one its layers own (StackGAN's conditioning augmentation draws its own noise)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def seed_generators(model: Any) -> list[keras.random.SeedGenerator]:
    """The model's own ``seed_generator`` first, then its layers' in layer order, each once."""
    found = [model.seed_generator]
    for layer in model._flatten_layers(include_self=False):
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator) and all(value is not g for g in found):
                found.append(value)
    return found


def rng_states(model: Any) -> list[list[int]]:
    return [np.asarray(generator.state.numpy()).tolist() for generator in seed_generators(model)]


def set_rng_states(model: Any, states: list[list[int]]) -> None:
    """Restore ``rng_states``; a list from an older checkpoint may hold the model's own state only."""
    for generator, state in zip(seed_generators(model), states, strict=False):
        generator.state.assign(np.asarray(state, dtype=generator.state.dtype))
