"""Built-in class-conditional GAN. Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.cgan.model import CGAN

    register(CGAN)
