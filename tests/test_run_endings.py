"""Every way a run can end keeps its work: SIGTERM saves like Ctrl-C, a full disk is one Error line (19.5)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from conftest import FAST, REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _command(digits, out, *extra):
    return [sys.executable, "-m", "img2img", "train", "dcgan", "--data", str(digits), *FAST, "--out", str(out),
            *extra]


def _full_disk(limit_bytes: int):
    """A file-size limit: every write past it fails with EFBIG, as a full disk fails with ENOSPC (both are
    an OSError from write(2)), without needing a real full file system."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer instead of failing it

    return apply


def _latest(out):
    return json.loads((out / "checkpoints" / "latest.json").read_text())


@pytest.mark.slow
def test_sigterm_saves_the_step_reached_and_the_same_command_resumes(digits, tmp_path):
    out = tmp_path / "run"
    command = _command(digits, out, "--steps", "400", "--steps-per-epoch", "400", "--resume")
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    for line in run.stderr:  # wait until it trains (no checkpoint exists before the epoch's end at step 400)
        if "first step done" in line:
            break
    time.sleep(1.0)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 143, err
    assert "Interrupted: saved step" in err and "Terminated." in err and "Traceback" not in err
    step = _latest(out)["step"]
    assert 0 < step < 400
    finished = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"at step {step}" in finished.stderr and _latest(out)["step"] == 400


@pytest.mark.slow
def test_a_full_disk_at_a_checkpoint_is_one_error_line_and_keeps_the_last_one(digits, tmp_path):
    out = tmp_path / "run"
    subprocess.run(_command(digits, out, "--steps", "3", "--steps-per-epoch", "3"), check=True, env=ENV,
                   capture_output=True, timeout=300)
    size = (out / "checkpoints" / "step-000003.weights.h5").stat().st_size
    full = subprocess.run(_command(digits, out, "--steps", "6", "--steps-per-epoch", "3", "--resume"),
                          preexec_fn=_full_disk(size // 2), capture_output=True, text=True, env=ENV, timeout=300)
    assert full.returncode == 1, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "step-000006.weights.h5" in errors[0], full.stderr
    assert "last complete checkpoint, step 3, is kept" in errors[0]
    assert "Traceback" not in full.stderr and "h5py" not in full.stderr
    assert _latest(out)["step"] == 3
    assert not [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]  # no half-written file
    resumed = subprocess.run(_command(digits, out, "--steps", "6", "--steps-per-epoch", "3", "--resume"),
                             capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0 and "at step 3" in resumed.stderr, resumed.stderr


@pytest.mark.slow
def test_a_run_whose_config_cannot_be_written_leaves_nothing_behind(digits, tmp_path):
    out = tmp_path / "run"
    full = subprocess.run(_command(digits, out, "--steps", "2"), preexec_fn=_full_disk(200), capture_output=True,
                          text=True, env=ENV, timeout=300)
    assert full.returncode == 1 and "Error: cannot write" in full.stderr and "config.json" in full.stderr
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    again = subprocess.run(_command(digits, out, "--steps", "2"), capture_output=True, text=True, env=ENV,
                           timeout=300)
    assert again.returncode == 0, again.stderr
