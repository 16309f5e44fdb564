"""A run's model: built from its config, compiled with its loss, penalties and optimisers, restored from a checkpoint.
"""

from __future__ import annotations

from typing import Any

from img2img.devices import policy_scope, set_graph_optimizer
from img2img.errors import Img2ImgError
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory, complete_settings, run_model_class
from img2img.training.config import configured_loss
from img2img.training.schedules import learning_rate


def make_optimizer(settings: dict[str, Any], lr: Any, policy: str) -> Any:
    import keras

    from img2img.optimizers import FusedAdam

    if settings["optimizer"] == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=lr)
    else:
        optimizer = FusedAdam(learning_rate=lr, beta_1=settings["beta_1"], beta_2=settings["beta_2"])
    if policy == "mixed_float16":
        from img2img.loss_scaling import LossScaleOptimizer

        optimizer = LossScaleOptimizer(optimizer)
    return optimizer


def build_run_model(config: dict[str, Any], plugins: PluginManager) -> Any:
    """The model a config describes, compiled with its loss, penalties and optimisers (slots built, so a
    checkpoint can be loaded into it). The optimiser structure follows the stored precision policy."""
    model_cls = plugins.models.get(config["model"]["name"])
    settings = config["settings"]
    for key, option in model_cls.all_options().items():  # a config edited by hand is held to the same ranges
        if key in settings:
            option.check(key, settings[key])
    policy = config["training"].get("policy", "float32")
    with policy_scope(policy):  # the run's layers compute as they were trained, whatever the process default
        model = model_cls(
            image_size=config["image_size"], channels=config["channels"],
            num_classes=len(config.get("class_names") or []), seed=config["training"]["seed"],
            sample_shape=config.get("sample_shape"),
            text_dim=int((config.get("text_encoder") or {}).get("dimension", 0)),
            pack=int(settings.get("pack", 1)),
            **{k: settings[k] for k in model_cls.options},
        )
    per_epoch = int(config["training"].get("steps_per_epoch") or 1)
    d_lr = learning_rate(settings["d_lr"] or settings["lr"], settings, per_epoch, settings["n_critic"])
    jit = {"true": True, "false": False}.get(settings.get("jit_compile", "auto"), "auto")
    set_graph_optimizer(settings.get("grappler", "auto"))
    model.compile(
        d_optimizer=make_optimizer(settings, d_lr, policy),
        g_optimizer=make_optimizer(settings, learning_rate(settings["lr"], settings, per_epoch), policy),
        loss=configured_loss(config, plugins),
        penalties=[(plugins.penalties.get(p["name"]), p["weight"]) for p in config["penalties"]],
        n_critic=settings["n_critic"],
        unroll=settings["unroll"],
        unroll_optimizer=settings["unroll_optimizer"],
        mode_seeking=settings["mode_seeking"],
        jit_compile=jit,
    )
    model.build_optimizers()
    return model


def restore(model: Any, run: RunDirectory, state: dict[str, Any]) -> None:
    """Load networks, both optimisers' slots and step, then the latent RNG state."""
    model.load_weights(run.checkpoints / state["weights"])
    model.set_rng_states(state.get("rng_states") or [state["rng_state"]])


def load_run_model(run: RunDirectory, plugins: PluginManager) -> Any:
    """Rebuild a run's model from config.json and its latest checkpoint (needs the model's plugin)."""
    config = run.read_config()
    complete_settings(config, run_model_class(run, config, plugins))
    model = build_run_model(config, plugins)
    state = run.latest()
    if state is None:
        raise Img2ImgError(f"{run.path}: has no checkpoint yet")
    restore(model, run, state)
    return model
