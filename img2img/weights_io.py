"""Checkpoint weights written through Python's file I/O, never by HDF5 straight onto the disk.

When HDF5 itself meets a full disk (or a quota, or a file-size limit) halfway through a file, h5py prints
a traceback per open object and the process then dies of SIGSEGV; nothing a caller can catch. So the
``.weights.h5`` file is built in memory, the same bytes ``model.save_weights`` would write, and then
written with ``open``/``write``, where a full disk is one ordinary OSError naming the file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from img2img.atomic import replacing, write_bytes_atomic


def weights_bytes(model: Any) -> bytes | None:
    """The ``.weights.h5`` file of ``model`` as bytes; None where this Keras has no in-memory weights store
    (Keras' own H5IOStore takes a BytesIO; the public save_weights takes only file names)."""
    try:
        from keras.src.saving import saving_lib

        buffer = io.BytesIO()
        store = saving_lib.H5IOStore(buffer, mode="w")
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set())
        store.h5_file.close()  # not store.close(): that would also close the buffer
        return buffer.getvalue()
    except (ImportError, AttributeError, TypeError):
        return None


def save_weights(model: Any, path: Path) -> None:
    """``model.save_weights(path)`` atomically, with a full disk raised as OSError (see the module doc)."""
    data = weights_bytes(model)
    if data is not None:
        write_bytes_atomic(path, data)
        return
    with replacing(path) as tmp:
        model.save_weights(tmp)
