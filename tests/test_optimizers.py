"""FusedAdam must be Keras' Adam, update for update, and must actually trace fewer ops."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from img2img.keras_import import import_keras
from img2img.optimizers import FusedAdam

keras = import_keras()


def _train(optimizer_cls, grads, init, **kwargs):
    variable = keras.Variable(init)
    schedule = keras.optimizers.schedules.PolynomialDecay(1e-2, len(grads), 1e-3)
    optimizer = optimizer_cls(learning_rate=schedule, **kwargs)
    optimizer.build([variable])
    step = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]), autograph=False)
    for g in grads:
        step(tf.constant(g))
    return variable.numpy(), [s.numpy() for s in optimizer.variables]


@pytest.mark.parametrize("kwargs", [{"beta_1": 0.5}, {"beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-4},
                                    {"beta_1": 0.5, "clipnorm": 0.5}])
def test_fused_adam_matches_keras_adam_step_for_step(kwargs):
    rng = np.random.default_rng(0)
    init = rng.normal(size=(5, 7)).astype("float32")
    grads = [rng.normal(scale=3.0, size=(5, 7)).astype("float32") for _ in range(8)]
    ours, our_slots = _train(FusedAdam, grads, init, **kwargs)
    theirs, their_slots = _train(keras.optimizers.Adam, grads, init, **kwargs)
    assert np.abs(ours - init).max() > 1e-3  # it did move
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    for a, b in zip(our_slots, their_slots, strict=True):  # same slots, same values: checkpoints interchange
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)  # v holds squares: compare relatively


def test_fused_adam_traces_fewer_ops_than_keras_adam():
    variables = [keras.Variable(np.ones((3, 3), "float32")) for _ in range(20)]

    def ops(optimizer_cls):
        optimizer = optimizer_cls(1e-3)
        optimizer.build(variables)
        graph = tf.function(lambda: optimizer.apply_gradients([(tf.ones((3, 3)), v) for v in variables]),
                            autograph=False).get_concrete_function().graph
        return len(graph.get_operations())

    fused, plain = ops(FusedAdam), ops(keras.optimizers.Adam)
    assert fused < 0.7 * plain, (fused, plain)


def test_amsgrad_falls_back_to_keras_arithmetic():
    rng = np.random.default_rng(1)
    init = rng.normal(size=(4,)).astype("float32")
    grads = [rng.normal(size=(4,)).astype("float32") for _ in range(4)]
    ours, _ = _train(FusedAdam, grads, init, amsgrad=True)
    theirs, _ = _train(keras.optimizers.Adam, grads, init, amsgrad=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
