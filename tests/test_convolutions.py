"""img2img's Conv2D and Conv2DTranspose must be Keras' layers, result for result and gradient for gradient,
with the same names and configs, and must trace fewer ops (the reason they exist)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf
from conftest import run_probe

import img2img
from img2img.devices import policy_scope
from img2img.keras_import import import_keras

keras = import_keras()

LAYERS = [
    (keras.layers.Conv2D, img2img.Conv2D, {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same"}),
    (keras.layers.Conv2DTranspose, img2img.Conv2DTranspose,
     {"filters": 5, "kernel_size": 4, "strides": 2, "padding": "same"}),
]


def _pair(keras_cls, ours_cls, config, images):
    theirs, ours = keras_cls(**config, bias_initializer="random_normal"), ours_cls(**config)
    theirs.build(images.shape)
    ours.build(images.shape)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _value_and_gradients(layer, images):
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = layer(images)
        loss = tf.reduce_sum(tf.cast(out, tf.float32) ** 2)
    return out, tape.gradient(loss, [images, *layer.trainable_variables])


@pytest.mark.parametrize(("keras_cls", "ours_cls", "config"), LAYERS)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_same_outputs_and_gradients_as_keras(keras_cls, ours_cls, config, activation):
    images = tf.constant(np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32))
    theirs, ours = _pair(keras_cls, ours_cls, {**config, "activation": activation}, images)
    (out_theirs, grads_theirs), (out_ours, grads_ours) = (_value_and_gradients(layer, images)
                                                          for layer in (theirs, ours))
    np.testing.assert_allclose(out_ours, out_theirs, rtol=1e-6, atol=1e-6)
    for mine, reference in zip(grads_ours, grads_theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("keras_cls", "ours_cls", "config"), LAYERS)
def test_mixed_precision_computes_in_bfloat16_like_keras(keras_cls, ours_cls, config):
    images = tf.constant(np.random.default_rng(1).normal(size=(1, 8, 8, 3)).astype(np.float32))
    with policy_scope("mixed_bfloat16"):
        theirs, ours = _pair(keras_cls, ours_cls, config, images)
    out_theirs, out_ours = theirs(images), ours(images)
    assert out_ours.dtype == out_theirs.dtype == tf.bfloat16
    assert ours.bias.dtype == "float32"
    np.testing.assert_allclose(tf.cast(out_ours, tf.float32), tf.cast(out_theirs, tf.float32), atol=1e-6)


@pytest.mark.parametrize(("keras_cls", "ours_cls", "config"), LAYERS)
def test_a_training_step_traces_fewer_ops(keras_cls, ours_cls, config):
    images = tf.constant(np.zeros((1, 8, 8, 3), np.float32))
    counts = {}
    for layer in _pair(keras_cls, ours_cls, config, images):
        traced = tf.function(lambda x, layer=layer: _value_and_gradients(layer, x), autograph=False)
        ops = traced.get_concrete_function(images).graph.get_operations()
        counts[type(layer).__module__] = ([op.type for op in ops], len(ops))
    (keras_types, keras_count), (our_types, our_count) = counts.values()
    assert "Squeeze" in keras_types and "Squeeze" not in our_types
    assert our_types.count("Reshape") <= keras_types.count("Reshape") - 2  # the bias's, and its gradient's
    assert our_count <= keras_count - 5, (our_count, keras_count)


def test_names_configs_and_saving_match_keras(tmp_path):
    """Checkpoints find weights by layer names, so ours must be named as Keras names its own."""
    for keras_cls, ours_cls, config in LAYERS:
        theirs, ours = keras_cls(**config), ours_cls(**config)
        assert re.sub(r"_\d+$", "", ours.name) == re.sub(r"_\d+$", "", theirs.name)
        assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}
    inputs = keras.Input((8, 8, 3))
    outputs = img2img.Conv2DTranspose(3, 4, strides=2, padding="same")(img2img.Conv2D(4, 3, padding="same")(inputs))
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras")
    assert [type(layer) for layer in loaded.layers[1:]] == [img2img.Conv2D, img2img.Conv2DTranspose]
    images = np.random.default_rng(2).normal(size=(1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(images), model(images), atol=1e-6)


def test_exported_networks_load_with_keras_alone(tmp_path):
    """Runs export with save_portable: the file names Keras' own classes, so a process that never imports
    img2img loads it and computes the same outputs."""
    from img2img.convolutions import save_portable

    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.SpectralNormalization(img2img.Conv2D(4, 3, padding="same"))(inputs)
    model = keras.Model(inputs, img2img.Conv2DTranspose(3, 4, strides=2, padding="same")(hidden))
    images = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype(np.float32)
    expected = np.asarray(model(images))
    save_portable(model, tmp_path / "net.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.keras"]  # Keras' scratch file is gone
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])  # nothing to rename: kept as written
    save_portable(plain, tmp_path / "plain.keras")
    assert keras.saving.load_model(tmp_path / "plain.keras").count_params() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.keras", "plain.keras"]
    np.save(tmp_path / "images.npy", images)
    probe = ("import sys, keras, numpy as np\n"
             "model = keras.saving.load_model(sys.argv[1] + '/net.keras')\n"
             "assert not [m for m in sys.modules if m.startswith('img2img')]\n"
             "np.save(sys.argv[1] + '/out.npy', np.asarray(model(np.load(sys.argv[1] + '/images.npy'))))\n")
    run_probe(probe, tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)
