"""No two processes can corrupt one folder: run directories and translate outputs are locked (issue 19.4)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAST, REPO

from img2img.atomic import TEMPORARY_PREFIX, replacing
from img2img.locking import LOCK_NAME, FolderLock

HOLDER = """
import sys, time
from img2img.locking import FolderLock
FolderLock(sys.argv[1], sys.argv[2]).acquire()
print("held", flush=True)
time.sleep(120)
"""


def _hold(folder: Path, command: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), command], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _kill(holder: subprocess.Popen) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)


def test_a_second_process_on_a_run_is_refused_naming_the_holder(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "2", "--out", out)
    holder = _hold(out, "train")
    try:
        result = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "4", expect=1)
        assert f"--out {out}: in use by img2img train (PID {holder.pid})" in result.output
        assert "Traceback" not in result.output
    finally:
        _kill(holder)
    # A killed holder's lock dies with it; its leftover temporary files are removed on the next start.
    stale = out / "checkpoints" / f"{TEMPORARY_PREFIX}999-deadbeef-step-000004.weights.h5"
    stale.write_bytes(b"half a checkpoint")
    cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "4")
    assert not stale.exists() and not (out / LOCK_NAME).exists()


def test_a_second_translate_into_one_folder_is_refused(cli_run, plugins, tmp_path):
    from PIL import Image

    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("RGB", (16, 16), "white").save(inputs / "a.png")
    out = tmp_path / "out"
    holder = _hold(out, "translate")
    try:
        result = cli_run("translate", inputs, "--out", out, expect=1)
        assert f"in use by img2img translate (PID {holder.pid})" in result.output
        assert not (out / "a.png").exists()
    finally:
        _kill(holder)
    cli_run("translate", inputs, "--out", out)
    assert (out / "a.png").is_file() and not (out / LOCK_NAME).exists()


@pytest.mark.slow
def test_two_real_trainings_on_one_run_cannot_both_write(digits, tmp_path):
    """Two --resume of one run at once: the second is refused at once, the first finishes; one metrics row
    per epoch, none duplicated."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "img2img", "train", "dcgan", "--data", str(digits), *FAST,
               "--steps-per-epoch", "5", "--out", str(out), "--resume"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen([*command, "--steps", "200"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoints" / "latest.json").exists():  # the first is training by now
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        second = subprocess.run([*command, "--steps", "200"], capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 1 and f"in use by img2img train (PID {first.pid})" in second.stderr, second.stderr
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    with (out / "metrics.csv").open() as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(40))


def test_temporary_names_are_unique_per_writer(tmp_path):
    target = tmp_path / "file.json"
    with replacing(target) as a, replacing(target) as b:
        assert a != b and a.name.startswith(TEMPORARY_PREFIX) and a.name.endswith("file.json")
        a.write_text("a")
        b.write_text("b")
    assert target.read_text() == "a"  # the outer block finished last: its rename won, and nothing is left over
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_a_lock_that_made_its_folder_leaves_nothing_when_nothing_was_written(tmp_path):
    folder = tmp_path / "new" / "deeper"
    with FolderLock(folder, "train"):
        assert (folder / LOCK_NAME).is_file()
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("mine")
    with pytest.raises(Exception, match="is a file, not a folder"):
        FolderLock(tmp_path / "file", "translate").acquire()
    assert (tmp_path / "file").read_text() == "mine"
