"""Built-in StackGAN (stage I and stage II). Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.stackgan.model import StackGAN

    register(StackGAN)
