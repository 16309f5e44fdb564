"""Built-in DCGAN (Radford et al. 2016). Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.dcgan.model import DCGAN

    register(DCGAN)
