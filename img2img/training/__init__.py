"""Training runs: the run directory, Keras callbacks, and the trainer that ties model, loss and data."""

from img2img.keras_import import import_keras

import_keras()  # every module here imports Keras at the top: load it first, without its unused extras
