"""Start-up cost that is ours to control: Keras loads without the optional extras it would import eagerly."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import img2img.training
hidden = {name: name in sys.modules for name in ("sklearn", "IPython")}
import keras
import sklearn  # still importable afterwards
print(json.dumps({"hidden": hidden, "keras": keras.__version__, "sklearn": sklearn.__name__}))
"""


def test_keras_loads_without_sklearn_and_ipython_which_stay_importable():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hidden"] == {"sklearn": False, "IPython": False}
    assert result["sklearn"] == "sklearn" and result["keras"].startswith("3.")
