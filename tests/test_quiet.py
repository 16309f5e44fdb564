"""Quiet by default: TensorFlow's native absl lines are kept off stderr, everything else passes (issue 19.8)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

NATIVE = re.compile(r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|WARNING: All log messages before absl)", re.M)

WRITER = r"""
import os, signal, sys, warnings
from img2img.quiet import filter_native_logs
assert filter_native_logs()
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
os.write(2, b"I0000 00:00:1796123103.073078    5577 port.cc:153] oneDNN custom operations are on.\n")
os.write(2, b"E0000 00:00:1796123105.984893    5577 cuda_platform.cc:52] failed call to cuInit: (303)\n")
os.write(2, b"2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] no cuda\n")
os.write(2, b"F0000 00:00:1796123105.984893    5577 fatal.cc:1] a fatal native error stays visible\n")
print("img2img: warning: our own warning", file=sys.stderr, flush=True)
warnings.warn("a Python warning")
sys.stderr.write("\rTraining  [####      ]  40%"); sys.stderr.flush()
sys.stderr.write("\rTraining  [##########] 100%\n"); sys.stderr.flush()
if sys.argv[1] == "crash":
    os.write(2, b"last words before a crash\n")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IMG2IMG_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, **extra}


def test_filter_drops_native_log_lines_and_keeps_the_rest():
    out = subprocess.run([sys.executable, "-c", WRITER, "exit"], capture_output=True, timeout=60, env=_env())
    err = out.stderr.decode()  # bytes as written: text mode would turn a progress bar's \r into \n
    assert out.returncode == 0, err
    assert not NATIVE.search(err), err
    assert "cuInit" not in err and "cudart_stub" not in err
    assert "a fatal native error stays visible" in err
    assert "img2img: warning: our own warning" in err and "UserWarning: a Python warning" in err
    assert "\rTraining  [####      ]  40%\rTraining  [##########] 100%\n" in err


def test_what_was_written_before_a_crash_still_arrives():
    out = subprocess.run([sys.executable, "-c", WRITER, "crash"], capture_output=True, text=True, timeout=60,
                         env=_env())
    assert out.returncode == -9
    assert "last words before a crash" in out.stderr and "our own warning" in out.stderr
    assert not NATIVE.search(out.stderr)


@pytest.mark.slow
def test_commands_are_quiet_by_default_and_verbose_on_request(tmp_path):
    from real_data import digits_folder

    data = digits_folder(tmp_path / "digits", count=16, labelled=False)
    args = [sys.executable, "-m", "img2img", "train", "dcgan", "--data", data, "--image-size", "16", "--set",
            "filters=4", "--set", "latent_dim=8", "--batch-size", "8", "--steps", "1"]
    quiet = subprocess.run([*map(str, args), "--out", str(tmp_path / "a")], capture_output=True, text=True,
                           timeout=300, env=_env(), cwd=REPO)
    assert quiet.returncode == 0, quiet.stderr
    assert not NATIVE.search(quiet.stderr), quiet.stderr
    assert "Training on CPU" in quiet.stderr or "Training on" in quiet.stderr  # our own lines still show
    loud = subprocess.run([str(a) for a in [sys.executable, "-m", "img2img", "--verbose", *args[3:]]]
                          + ["--out", str(tmp_path / "b")], capture_output=True, text=True, timeout=300,
                          env=_env(), cwd=REPO)
    assert loud.returncode == 0, loud.stderr
    # On a CPU-only x86 machine TensorFlow always writes its oneDNN and CUDA notes: --verbose lets them through.
    assert NATIVE.search(loud.stderr), loud.stderr
