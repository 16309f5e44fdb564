"""Built-in text encoder: all-MiniLM-L6-v2 run in Keras. Registration is cheap; the weights load on first use."""

from img2img import hookimpl


@hookimpl
def register_text_encoders(register):
    from img2img_plugins.text_encoders.minilm import MiniLM

    register(MiniLM())
