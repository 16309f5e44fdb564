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


def _train_two(optimizer_cls, grads, inits, compiled):
    """Two variables; two applies in each call (as a critic loop does in one traced step) or eager ones."""
    variables = [keras.Variable(init) for init in inits]
    optimizer = optimizer_cls(learning_rate=1e-2, beta_1=0.5)
    optimizer.build(variables)

    def two_applies(first, second):
        optimizer.apply_gradients(zip(first, variables, strict=True))
        optimizer.apply_gradients(zip(second, variables, strict=True))

    step = tf.function(two_applies, autograph=False) if compiled else two_applies
    for first, second in zip(grads[::2], grads[1::2], strict=True):
        step([tf.constant(g) for g in first], [tf.constant(g) for g in second])
    return [v.numpy() for v in variables], int(optimizer.iterations.numpy())


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


@pytest.mark.parametrize("compiled", [True, False])
def test_shared_scalars_follow_the_step_count_within_one_trace_and_eagerly(compiled):
    """The step count, beta powers and learning rate are built once per apply and shared by its variables:
    a second apply in the same traced function must see the next step, not the first one's scalars."""
    rng = np.random.default_rng(2)
    inits = [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(5,)).astype("float32")]
    grads = [[rng.normal(size=i.shape).astype("float32") for i in inits] for _ in range(6)]
    ours, our_steps = _train_two(FusedAdam, grads, inits, compiled)
    theirs, their_steps = _train_two(keras.optimizers.Adam, grads, inits, compiled)
    assert our_steps == their_steps == 6
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


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


def test_each_further_variable_adds_only_its_own_update():
    """Shared scalars are built once per apply: a variable costs its fused update and the handles it
    captures, whatever the number of variables."""

    def ops(count):
        variables = [keras.Variable(np.ones((3, 3), "float32")) for _ in range(count)]
        optimizer = FusedAdam(1e-3)
        optimizer.build(variables)
        graph = tf.function(lambda: optimizer.apply_gradients([(tf.ones((3, 3)), v) for v in variables]),
                            autograph=False).get_concrete_function().graph
        return len(graph.get_operations())

    per_variable = (ops(20) - ops(10)) / 10
    assert per_variable <= 6, per_variable  # 3 captured handles, the gradient, ResourceApplyAdam, ...


def test_amsgrad_falls_back_to_keras_arithmetic():
    rng = np.random.default_rng(1)
    init = rng.normal(size=(4,)).astype("float32")
    grads = [rng.normal(size=(4,)).astype("float32") for _ in range(4)]
    ours, _ = _train(FusedAdam, grads, init, amsgrad=True)
    theirs, _ = _train(keras.optimizers.Adam, grads, init, amsgrad=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
