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


def test_grappler_is_off_on_cpus_unless_asked_for():
    """Grappler spends seconds on a GAN's first step on a CPU for no per-step gain (bench/cyclegan_speed.py);
    auto turns it off there, and --set grappler=true brings it back."""
    import pytest
    import tensorflow as tf

    from img2img.devices import set_graph_optimizer

    try:
        assert set_graph_optimizer("auto") is bool(tf.config.list_physical_devices("GPU"))
        if not tf.config.list_physical_devices("GPU"):
            assert tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"] is True
        assert set_graph_optimizer("true") is True
        assert tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"] is False
        with pytest.raises(ValueError):
            set_graph_optimizer("sometimes")
    finally:
        set_graph_optimizer("auto")
