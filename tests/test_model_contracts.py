"""Every built-in model, and the example plugin's, runs the contract any model plugin runs (img2img.testing):
one compiled step with every registered loss and a penalty, exported networks that reload in safe mode, and
a checkpoint that resumes exactly. Data: real handwritten digits (scikit-learn)."""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest
from conftest import REPO

from img2img.plugins import PluginManager
from img2img.testing import ModelContract


@functools.cache
def _digits(size: int) -> np.ndarray:
    import tensorflow as tf
    from sklearn.datasets import load_digits

    images = load_digits().images[:64].astype(np.float32) / 8.0 - 1.0
    return tf.image.resize(images[..., None], (size, size)).numpy()


def _digit_classes() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().target[:64].astype(np.int32)


def _caption_embeddings(dimension: int) -> np.ndarray:
    """One fixed unit vector per digit class stands in for its caption's embedding."""
    classes = np.random.default_rng(1).normal(size=(10, dimension)).astype(np.float32)
    classes /= np.linalg.norm(classes, axis=1, keepdims=True)
    return classes[_digit_classes()]


@functools.cache
def _builtins() -> PluginManager:
    return PluginManager(select="")


class BuiltinContract(ModelContract):
    @staticmethod
    def plugin_manager() -> PluginManager:
        return _builtins()


class LargerContract(BuiltinContract):
    """Models with more networks or conditions, whose full loss matrix takes 8-22 s on 2 cores: the quick loop
    (``pytest -m "not slow"``) leaves them to the full run and keeps DCGAN's, the toy's and the example's."""

    pytestmark = pytest.mark.slow


class TestDCGAN(BuiltinContract):
    model = "dcgan"
    options = {"image_size": 16, "channels": 1, "latent_dim": 8, "filters": 4, "d_norm": "layer"}

    def batch(self):
        return _digits(16)


class TestSpectralNormDCGAN(TestDCGAN, LargerContract):
    options = {**TestDCGAN.options, "spectral_norm": True}


class TestCGAN(LargerContract):
    model = "cgan"
    options = {"image_size": 16, "channels": 1, "num_classes": 10, "filters": 8, "latent_dim": 8, "embed_dim": 4,
               "d_norm": "layer"}

    def batch(self):
        return _digits(16), _digit_classes()


class TestCycleGAN(LargerContract):
    model = "cyclegan"
    options = {"image_size": 32, "channels": 1, "filters": 4, "d_filters": 4, "blocks": 1, "pool_size": 4}
    batch_size = 2

    def batch(self):
        digits = _digits(32)
        return digits[:32], digits[32:]  # domain A, domain B


class TestPix2Pix(LargerContract):
    model = "pix2pix"
    options = {"image_size": 16, "channels": 1, "filters": 4, "d_filters": 4, "d_layers": 2}
    batch_size = 2

    def batch(self):
        digits = _digits(16)
        return digits[:32], digits[::-1][:32]  # (A, B) pairs: a digit and the digit it maps to


class TestGANCLS(LargerContract):
    model = "gan-cls"
    options = {"image_size": 16, "channels": 1, "text_dim": 8, "filters": 8, "latent_dim": 8, "text_code": 4,
               "d_norm": "layer"}

    def batch(self):
        return _digits(16), _caption_embeddings(8)


class TestGANCLSConditioningAugmentation(TestGANCLS):
    options = {**TestGANCLS.options, "conditioning_augmentation": True}


class TestGANCLSProjection(TestGANCLS):
    """The projection critic, spectrally normalised (its text projection is one of the normalised layers)."""

    options = {**TestGANCLS.options, "conditioning": "projection", "spectral_norm": True}


class TestStackGAN(TestGANCLS):
    model = "stackgan"
    options = {**TestGANCLS.options, "ca_dim": 4}


class TestVAEGAN(BuiltinContract):
    model = "vaegan"
    options = {"image_size": 16, "channels": 1, "latent_dim": 8, "filters": 4}

    def batch(self):
        return _digits(16)


class TestVAEGANUngated(TestVAEGAN, LargerContract):
    """The gate's tf.cond branches replaced by plain updates: prior samples only, the critic spectrally
    normalised."""

    options = {**TestVAEGAN.options, "gate": "off", "critic_fakes": "prior", "spectral_norm": True}


class TestToyMLP(BuiltinContract):
    model = "toy-mlp"
    options = {"image_size": 0, "channels": 0, "sample_shape": (2,), "latent_dim": 4, "hidden": 8, "layers": 2,
               "plot_extent": 5.0}
    batch_size = 16

    def batch(self):
        from sklearn.datasets import make_moons

        return make_moons(64, noise=0.05, random_state=0)[0].astype(np.float32)  # a real 2-D data set


class TestToyMLPPacGANNetworks(TestToyMLP):
    """PacGAN's networks, scaled down: batch-normalised generator, maxout critic of its own size."""

    options = {**TestToyMLP.options, "batch_norm": True, "maxout": 3, "critic_hidden": 6, "critic_layers": 3}

    def test_the_critic_units_are_the_max_of_their_pieces(self) -> None:
        import keras

        critic = self.build().discriminator
        dense = [layer for layer in critic.layers if isinstance(layer, keras.layers.Dense)]
        assert [d.units for d in dense] == [18, 18, 18, 1]
        x = self.batch()[:5]
        pieces = keras.Model(critic.input, dense[0].output)(x).numpy().reshape(5, 3, 6)
        first_hidden = critic.layers[critic.layers.index(dense[0]) + 2]
        np.testing.assert_allclose(keras.Model(critic.input, first_hidden.output)(x).numpy(),
                                   pieces.max(axis=1), rtol=1e-6)
        generator = self.build().generator
        assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in generator.layers) == 2


@functools.cache
def _with_example() -> PluginManager:
    sys.path.insert(0, str(REPO / "examples" / "img2img-example"))
    import img2img_example

    manager = PluginManager(select="")
    manager.register(img2img_example, name="example")
    return manager


class TestExamplePlugin(ModelContract):
    """A third-party model runs the same contract, with its own loss registered beside the built-ins."""

    model = "mlp-gan"
    options = {"image_size": 16, "channels": 1, "latent_dim": 8, "hidden": 16}

    @staticmethod
    def plugin_manager() -> PluginManager:
        return _with_example()

    def batch(self):
        return _digits(16)


def test_every_builtin_model_runs_the_contract():
    def every(cls: type) -> set[type]:
        return {cls} | {c for sub in cls.__subclasses__() for c in every(sub)}

    covered = {cls.model for cls in every(BuiltinContract) if cls.model}
    assert covered == set(_builtins().models.names()), "add a contract subclass for the new built-in model"


def test_the_projection_critic_reads_the_caption_only_through_its_projection():
    model = _builtins().models.get("gan-cls")(**{**TestGANCLSProjection.options, "spectral_norm": False})
    critic = model.discriminator
    assert "joint" not in [layer.name for layer in critic.layers]
    images = _digits(16)[:4]
    first, second = _caption_embeddings(8)[:4], _caption_embeddings(8)[::-1][:4]
    assert np.abs(np.asarray(critic([images, first])) - np.asarray(critic([images, second]))).max() > 1e-4
    projection = critic.get_layer("text_projection")
    projection.kernel.assign(np.zeros(projection.kernel.shape, np.float32))
    np.testing.assert_allclose(np.asarray(critic([images, first])), np.asarray(critic([images, second])), atol=1e-6)
