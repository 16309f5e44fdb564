"""The hook contract between img2img's core and its plugins (design §3).

Every hook uses the register-callback pattern: the core passes a ``register`` function and the plugin
calls it once per object it contributes. Plugin modules must keep top-level imports light (no Keras,
no TensorFlow) and import heavy libraries inside these hooks, so that ``img2img --help`` stays fast.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("img2img")
hookimpl = pluggy.HookimplMarker("img2img")


@hookspec
def register_models(register):
    """Register GAN model classes: ``register(ModelClass)``, a subclass of ``img2img.GAN``."""


@hookspec
def register_losses(register):
    """Register adversarial losses: ``register(loss)``, an ``img2img.losses.AdversarialLoss``."""


@hookspec
def register_penalties(register):
    """Register critic penalties: ``register(penalty)``, an ``img2img.losses.Penalty``."""


@hookspec
def register_datasets(register):
    """Register data-source schemes: ``register(source)``, an ``img2img.data.DataSource``."""


@hookspec
def register_text_encoders(register):
    """Register text encoders: ``register(encoder)``; ``encoder(list[str])`` returns a float [n, d] array."""


@hookspec
def register_commands(cli):
    """Add Click commands to the ``img2img`` command group."""
