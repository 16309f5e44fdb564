"""The contract every model plugin keeps, as a pytest base class a plugin's own tests subclass.

    from img2img.testing import ModelContract

    class TestMyModel(ModelContract):
        model = "my-model"                                   # its registered name
        options = {"image_size": 16, "channels": 1, "filters": 8}   # a tiny instance: constructor keywords

        def batch(self):                                     # one batch of real data, as fit() takes it
            return my_real_images(16)

The tests build the model, take one compiled step with every registered loss (each with a critic penalty),
export its networks and reload them with Keras' safe mode on, and check that saving a checkpoint after one
step and loading it into a fresh model continues exactly as an unbroken run. img2img's built-in models run
this same contract (tests/test_model_contracts.py), and so does the example plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

PENALTIES = ("gp", "r1", "consensus")  # one per loss, in turn, so every penalty meets several losses


class ModelContract:
    model: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}
    batch_size: ClassVar[int] = 4
    seed: ClassVar[int] = 0

    # ----- what a subclass provides ------------------------------------------------------------
    def batch(self) -> Any:
        """One batch of real training data in the form ``fit`` takes: an array, or a tuple (images and
        labels, caption embeddings, or a second domain)."""
        raise NotImplementedError("give the contract a batch of real data: def batch(self): ...")

    # ----- helpers -----------------------------------------------------------------------------
    @staticmethod
    def plugin_manager() -> Any:
        from img2img.plugins import get_plugins

        return get_plugins()

    def build(self, **extra: Any) -> Any:
        import keras

        keras.utils.set_random_seed(self.seed)  # the same initial weights for every build of one test
        return self.plugin_manager().models.get(self.model)(**{**self.options, **extra})

    @staticmethod
    def compiled(model: Any, loss: Any, penalties: list[tuple[Any, float]] = (), n_critic: int = 1,
                 run_eagerly: bool = False) -> Any:
        from img2img.optimizers import FusedAdam

        model.compile(FusedAdam(1e-3, beta_1=0.5), FusedAdam(1e-3, beta_1=0.5), loss=loss,
                      penalties=list(penalties), n_critic=n_critic, run_eagerly=run_eagerly)
        model.build_optimizers()
        return model

    def fit(self, model: Any, steps: int = 1) -> dict[str, list[float]]:
        """``steps`` training steps, each on the first ``batch_size`` elements of ``batch()``: the same batch
        every step, so two runs that take their steps differently (straight, or stopped and resumed) see
        the same data."""
        import tensorflow as tf

        data = self.batch()
        first = tuple(np.asarray(part)[: self.batch_size] for part in data) if isinstance(data, tuple) \
            else np.asarray(data)[: self.batch_size]
        history = model.fit(tf.data.Dataset.from_tensors(first).repeat(), epochs=1, steps_per_epoch=steps,
                            shuffle=False, verbose=0)
        return history.history

    # ----- the contract ------------------------------------------------------------------------
    def test_declared_defaults_name_real_options(self) -> None:
        """A misspelt key in ``training_defaults`` would otherwise be dropped without a word, and the model
        would train with the base's (Keras') optimiser defaults instead of its paper's."""
        from img2img.options import Option

        model_cls = self.plugin_manager().models.get(self.model)
        options = model_cls.all_options()
        unknown = sorted(set(model_cls.training_defaults) - set(options))
        assert not unknown, f"{self.model}: training_defaults names no option: {unknown}; options: {sorted(options)}"
        for key, value in model_cls.training_defaults.items():
            option: Option = options[key]
            option.check(key, value)

    def test_one_step_with_every_loss_and_a_penalty(self) -> None:
        from img2img.errors import Img2ImgError

        plugins = self.plugin_manager()
        losses = plugins.losses.names()
        assert losses, "no losses are registered"
        model = self.build()  # one model, compiled afresh for each loss: building it each time costs seconds
        for index, name in enumerate(losses):
            penalty = plugins.penalties.get(PENALTIES[index % len(PENALTIES)])
            loss = plugins.losses.get(name)
            if penalty.joint:  # a model may refuse a joint penalty (CycleGAN's alternating networks), at compile
                try:
                    self.compiled(model, loss, [(penalty, 1.0)])
                except Img2ImgError:
                    penalty = plugins.penalties.get("r1")
            # Eager: tracing every combination would cost seconds each; the compiled step is tested below.
            history = self.fit(self.compiled(model, loss, [(penalty, 1.0)], n_critic=2, run_eagerly=True))
            for key, values in history.items():
                assert np.isfinite(values).all(), (self.model, name, penalty.name, key, values)
            assert f"penalty_{penalty.name}" in history, (self.model, name, sorted(history))

    def test_exported_networks_reload_in_safe_mode(self, tmp_path: Path) -> None:
        from img2img.runs import load_network

        model = self.compiled(self.build(), self.plugin_manager().losses.get(self._default_loss()))
        self.fit(model)
        networks = model.exported_networks()
        assert networks, f"{self.model} exports no network"
        rng = np.random.default_rng(self.seed)
        for name, network in networks.items():
            path = tmp_path / f"{name}.keras"
            network.save(path)
            reloaded = load_network(path)
            inputs = [self._example_input(tensor, rng) for tensor in network.inputs]
            inputs = inputs[0] if len(inputs) == 1 else inputs
            np.testing.assert_allclose(np.asarray(reloaded(inputs, training=False)),
                                       np.asarray(network(inputs, training=False)), atol=1e-6, err_msg=name)

    def test_checkpoint_resume_is_exact(self, tmp_path: Path) -> None:
        from img2img.weights_io import save_weights

        loss = self.plugin_manager().losses.get(self._default_loss())
        straight = self.compiled(self.build(), loss)
        self.fit(straight, steps=2)
        first = self.compiled(self.build(), loss)
        self.fit(first, steps=1)
        path = tmp_path / "checkpoint.weights.h5"
        save_weights(first, path)
        resumed = self.compiled(self.build(), loss)
        resumed.load_weights(path)
        resumed.set_rng_states(first.rng_states())  # what a checkpoint's state file carries beside the weights
        self.fit(resumed, steps=1)
        assert resumed.step == straight.step == 2

        def state(model: Any) -> list[Any]:  # networks, pools, both optimisers' slots: all a run resumes
            return [*model.weights, *model.d_optimizer.variables, *model.g_optimizer.variables]

        for a, b in zip(state(straight), state(resumed), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, err_msg=a.path)
        assert straight.rng_states() == resumed.rng_states()  # and every random-number generator

    # ----- internals ---------------------------------------------------------------------------
    def _default_loss(self) -> str:
        return self.plugin_manager().models.get(self.model).default_loss

    def _example_input(self, tensor: Any, rng: np.random.Generator) -> np.ndarray:
        """An input for a network's Keras input: spatial sizes the network leaves open get the model's size."""
        size = int(self.options.get("image_size") or 8)
        shape = [2] + [size if dim is None else int(dim) for dim in tuple(tensor.shape)[1:]]
        if "int" in str(tensor.dtype):
            return np.zeros(shape, dtype=str(tensor.dtype).replace("tf.", ""))
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
