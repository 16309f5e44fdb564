"""Start-up cost that is ours to control: Keras loads without the optional extras it would import eagerly, and
`img2img train` pauses Python's garbage collector for start-up only: never left off after the first step,
nor after a run that fails, nor switched on where the user had it off."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest
from conftest import CYCLE_FAST

from img2img.startup import pause_collection, resume_collection

PROBE = """
import json, sys
import img2img.training
hidden = {name: name in sys.modules for name in ("sklearn", "IPython", "scipy")}
import keras
import scipy.special  # still importable afterwards
import sklearn
print(json.dumps({"hidden": hidden, "keras": keras.__version__, "sklearn": sklearn.__name__,
                  "scipy": scipy.special.__name__}))
"""


@pytest.mark.slow
def test_keras_loads_without_sklearn_ipython_and_scipy_which_stay_importable():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hidden"] == {"sklearn": False, "IPython": False, "scipy": False}
    assert result["sklearn"] == "sklearn" and result["scipy"] == "scipy.special" and result["keras"].startswith("3.")


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


@pytest.mark.slow
def test_train_collects_again_from_the_first_step_on(cli_run, emoji, tmp_path, monkeypatch):
    from img2img.training import callbacks, trainer

    seen = {}
    fit, first_step = trainer.Trainer.fit, callbacks.FirstStepTimer.on_train_batch_end

    def watched_fit(self, *args, **kwargs):
        seen["while starting"] = gc.isenabled()
        return fit(self, *args, **kwargs)

    def watched_first_step(self, *args, **kwargs):
        done_before = self.done
        first_step(self, *args, **kwargs)
        if not done_before:
            seen["after the first step"] = gc.isenabled()

    monkeypatch.setattr(trainer.Trainer, "fit", watched_fit)
    monkeypatch.setattr(callbacks.FirstStepTimer, "on_train_batch_end", watched_first_step)
    line, colour = emoji
    cli_run("train", "cyclegan", "--data", line, "--data-b", colour, *CYCLE_FAST, "--steps", "2",
            "--out", tmp_path / "run")
    assert seen == {"while starting": False, "after the first step": True}
    assert gc.isenabled()


def test_a_run_that_fails_before_its_first_step_leaves_the_collector_on(cli_run, emoji, tmp_path):
    line, colour = emoji
    result = cli_run("train", "cyclegan", "--data", line, "--data-b", colour, *CYCLE_FAST, "--batch-size", "999",
                     "--steps", "1", "--out", tmp_path / "run", expect=1)
    assert "--batch-size" in result.output
    assert gc.isenabled()


def test_resuming_never_enables_a_collector_it_did_not_pause():
    gc.disable()
    try:
        pause_collection()  # already off: not ours to turn back on
        resume_collection()
        assert not gc.isenabled()
    finally:
        gc.enable()
    pause_collection()
    assert not gc.isenabled()
    resume_collection()
    assert gc.isenabled()


def test_start_up_counts_from_the_process_start_once_then_from_each_run_s_own_start(monkeypatch):
    """A notebook or a benchmark loop that trains twice must not see the first run's time charged to the
    second's start-up."""
    import time

    from img2img import console

    monkeypatch.setattr(console, "_started_a_run", False)
    first, first_name = console.start_up_clock()
    assert first_name == "start"
    assert abs(time.monotonic() - first - console.seconds_since_start()) < 0.5
    assert time.monotonic() - first > 1.0  # this pytest process has been running longer than that
    second, second_name = console.start_up_clock()
    assert second_name == "the run's start" and abs(time.monotonic() - second) < 0.5


def test_a_second_run_in_one_process_reports_its_own_start_up_and_verbose_0_reports_none(cli_run, tmp_path,
                                                                                           capsys):
    from img2img.plugins import get_plugins
    from img2img.training.trainer import Trainer, TrainRequest

    toy = ("train", "toy-mlp", "--data", "toy:ring8", "--batch-size", "8", "--steps", "2")
    cli_run(*toy, "--out", tmp_path / "first")
    result = cli_run(*toy, "--out", tmp_path / "second")
    line = next(line for line in result.output.splitlines() if "first step done" in line)
    seconds = float(line.split("first step done ")[1].split(" s ")[0])
    assert line.endswith("after the run's start") and 0 < seconds < 60, line

    capsys.readouterr()
    Trainer(TrainRequest(model="toy-mlp", data="toy:ring8", batch_size=8, steps=2, out=tmp_path / "quiet",
                         verbose=0), get_plugins(), lambda message: None).run()
    assert "first step done" not in capsys.readouterr().err
