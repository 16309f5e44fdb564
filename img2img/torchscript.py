"""Read the modules and tensors of a TorchScript archive without PyTorch.

A TorchScript ``.pt`` file is a zip: ``data.pkl`` pickles the module tree (each module's attributes, its
submodules and its parameters, which point at raw tensor storages under ``data/``), and ``code/`` holds each
module class's source, where constants such as a pooling layer's kernel size are written as ``Final``
fields. This reads both into plain Python: enough to rebuild a network in Keras and load its weights.
"""

from __future__ import annotations

import collections
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
_HIDDEN = {"training", "_is_full_backward_hook"}


@dataclass
class ScriptModule:
    """One module: its class's qualified name, its plain attributes (ints, lists, tensors as arrays) and
    its submodules, in the order the archive lists them (the order the network's code defines them)."""

    kind: str
    attributes: dict[str, Any] = field(default_factory=dict)
    children: dict[str, ScriptModule] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)  # the class's Final fields, from code/

    @property
    def name(self) -> str:
        return self.kind.rsplit(".", 1)[-1]


class _Pickled:
    """Stand-in for a TorchScript class while unpickling: keeps the state it is given."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> np.ndarray:
    if not size:
        return storage[offset].copy()
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                           strides=[s * storage.itemsize for s in stride])
    return np.array(view)


class _Unpickler(pickle.Unpickler):
    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(archive.open(prefix + "data.pkl"))
        self.archive, self.prefix = archive, prefix
        self.classes: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name
        if (module, name) in (("torch.jit._pickle", "build_intlist"), ("torch.jit._pickle", "build_doublelist")):
            return list
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module.startswith("__torch__"):
            key = f"{module}.{name}"
            return self.classes.setdefault(key, type(name, (_Pickled,), {"qualified": key}))
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a TorchScript archive")

    def persistent_load(self, pid: Any) -> np.ndarray:
        _, storage_type, key, _location, _numel = pid
        dtype = _STORAGE_DTYPES[storage_type if isinstance(storage_type, str) else storage_type.__name__]
        return np.frombuffer(self.archive.read(f"{self.prefix}data/{key}"), dtype)


def _constants(archive: zipfile.ZipFile, prefix: str, kind: str) -> dict[str, Any]:
    """``name : Final[type] = value`` fields of a class, from its source under code/."""
    module, _, cls = kind.rpartition(".")
    try:
        source = archive.read(f"{prefix}code/{module.replace('.', '/')}.py").decode()
    except KeyError:
        return {}
    body = source.split(f"class {cls}(", 1)[-1].split("\nclass ", 1)[0]
    found = {}
    for name, value in re.findall(r"^\s+(\w+) : Final\[\w+\] = (.+)$", body, flags=re.M):
        found[name] = {"True": True, "False": False, "None": None}.get(value, value)
        if isinstance(found[name], str) and re.fullmatch(r"-?\d+", value):
            found[name] = int(value)
    return found


def _convert(obj: Any, archive: zipfile.ZipFile, prefix: str) -> ScriptModule:
    module = ScriptModule(type(obj).qualified)
    module.constants = _constants(archive, prefix, module.kind)
    for key, value in (obj.state or {}).items():
        if key in _HIDDEN:
            continue
        if isinstance(value, _Pickled):
            module.children[key] = _convert(value, archive, prefix)
        else:
            module.attributes[key] = value
    return module


def read_torchscript(path: Path) -> ScriptModule:
    """The module tree of a TorchScript archive, parameters as numpy arrays."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            raise ValueError(f"{path}: not a TorchScript archive (no data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        return _convert(_Unpickler(archive, prefix).load(), archive, prefix)
