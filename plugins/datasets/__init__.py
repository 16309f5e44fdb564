"""Built-in data sources: image folders and TensorFlow Datasets, registered like any plugin's."""

from img2img import hookimpl


@hookimpl
def register_datasets(register):
    from img2img.data.folder import FolderSource
    from img2img.data.tfds_source import TfdsSource

    register(FolderSource())
    register(TfdsSource())
