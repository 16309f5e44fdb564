"""A third-party img2img plugin: one model, one loss, one command.

Top-level imports stay light: Keras is imported inside the hooks, so ``img2img --help`` never loads it.
"""

import click

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_example.model import MLPGAN

    register(MLPGAN)


@hookimpl
def register_losses(register):
    from img2img_example.loss import LeastSquares

    register(LeastSquares())


@hookimpl
def register_commands(cli):
    @cli.command(name="example-info")
    def example_info():
        """Show what the example plugin adds."""
        click.echo("img2img-example: model mlp-gan, loss least-squares-example")
