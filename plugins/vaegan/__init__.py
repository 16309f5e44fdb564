"""Built-in VAE-GAN (Larsen et al. 2016) and its ``img2img interpolate`` command. Keras is imported inside
the hooks, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.vaegan.model import VAEGAN

    register(VAEGAN)


@hookimpl
def register_commands(cli):
    from img2img_plugins.vaegan.commands import interpolate

    cli.add_command(interpolate)
