"""Built-in pix2pix (Isola et al. 2017). Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.pix2pix.model import Pix2Pix

    register(Pix2Pix)
