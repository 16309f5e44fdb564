"""Built-in CycleGAN (Zhu et al. 2017). Keras is imported inside the hook, keeping --help fast."""

from img2img import hookimpl


@hookimpl
def register_models(register):
    from img2img_plugins.cyclegan.model import CycleGAN

    register(CycleGAN)
