"""Toy distributions (``--data toy:ring8``, ``toy:grid25``, ``toy:gauss:mean=0,std=1``) and a small MLP
GAN for vectors: the mode-collapse benchmark's setting (reference.md) and the divergence command's test bed."""

from img2img import hookimpl


@hookimpl
def register_datasets(register):
    from img2img_plugins.toy.distributions import ToySource

    register(ToySource())


@hookimpl
def register_models(register):
    from img2img_plugins.toy.model import ToyMLP

    register(ToyMLP)


@hookimpl
def register_commands(cli):
    from img2img_plugins.toy.commands import modes

    cli.add_command(modes)
