"""Built-in text-to-image GAN. Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.gancls.model import GANCLS

    register(GANCLS)
