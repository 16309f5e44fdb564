"""Import Keras without the optional extras it loads eagerly when they happen to be installed.

Keras 3 imports scikit-learn (for its ``keras.wrappers`` estimators, pulling in SciPy's stats) and IPython
(for notebook detection in ``keras.saving``) at import time whenever they are importable: about 2.2 s of
every ``img2img train`` start on the project's CPU machine (``python -X importtime``), for features img2img
never uses. TensorFlow's import does the same with SciPy (``scipy.sparse``, 0.28 s, for the legacy Keras 2
engine bundled in TensorFlow, which Keras 3 does not use). Each of these imports is guarded by
``try/except ImportError``, so hiding the packages while Keras (and TensorFlow) load makes them take their
"not installed" path; afterwards the packages import normally (tests and benchmarks use scikit-learn in the
same process, the f-GAN plugin's Jeffrey row uses SciPy).
"""

from __future__ import annotations

import sys
from types import ModuleType

OPTIONAL_EXTRAS = ("sklearn", "IPython", "scipy")


def import_keras() -> ModuleType:
    if "keras" in sys.modules:
        return sys.modules["keras"]
    hidden = [name for name in OPTIONAL_EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import keras
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return keras
