"""Built-in text encoders: all-MiniLM-L6-v2 run in Keras, and the Universal Sentence Encoder (multilingual v3) in
numpy. Registration is cheap; the weights load on first use."""

from img2img import hookimpl


@hookimpl
def register_text_encoders(register):
    from img2img_plugins.text_encoders.minilm import MiniLM
    from img2img_plugins.text_encoders.universal import UniversalSentenceEncoder

    register(MiniLM())
    register(UniversalSentenceEncoder())
