"""--resume forgives repetition and refuses real changes by name; --warm-start covers the rest (issue 19.3)."""

from __future__ import annotations

import csv
import json
import shlex
import shutil

import numpy as np
import pytest
from conftest import FAST

from img2img.resume import TRAIN_OPTIONS
from img2img.runs import RunDirectory

# A command with every kind of option given explicitly, as a job script would hold it.
JOB = [*FAST, "--loss", "gan", "--penalty", "r1:0.5", "--seed", "3", "--precision", "float32",
       "--steps-per-epoch", "2", "--set", "lr=2e-4", "--set", "keep_checkpoints=3"]


def _metrics(run):
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def _job(cli_run, digits, out, *extra, expect=0):
    return cli_run("train", "dcgan", "--data", digits, *JOB, "--out", out, *extra, expect=expect)


@pytest.fixture(scope="module")
def two_step_job(tmp_path_factory, digits):
    """One 2-step run of JOB, trained once; tests that must not change it work on a copy."""
    from conftest import shared_run

    out = tmp_path_factory.mktemp("runs") / "job"
    shared_run(out, "dcgan", "--data", digits, *JOB, "--steps", "2")
    return out


def test_the_same_command_with_resume_appended_starts_and_continues(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    first = _job(cli_run, digits, out, "--steps", "4", "--resume")  # no run there yet: it starts one
    assert f"no run in {out} yet; starting one" in first.output
    again = _job(cli_run, digits, out, "--steps", "4", "--resume")  # a scheduler restarting a finished job
    assert "already at step 4 of 4" in again.output
    longer = _job(cli_run, digits, out, "--steps", "8", "--resume")
    assert "Resuming" in longer.output and "at step 4" in longer.output
    assert [int(r["epoch"]) for r in _metrics(out)] == [0, 1, 2, 3]  # one row per finished epoch, none twice
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 8


@pytest.mark.parametrize(("given", "named"), [
    (["--batch-size", "16"], "--batch-size 16 (the run has 32)"),
    (["--seed", "4"], "--seed 4 (the run has 3)"),
    (["--precision", "mixed"], "--precision mixed (the run has float32)"),
    (["--image-size", "32"], "--image-size 32 (the run has 16)"),
    (["--steps-per-epoch", "3"], "--steps-per-epoch 3 (the run has 2)"),
    (["--loss", "gan:objective=saddle"], "--loss gan:objective=saddle (the run has gan:objective=practical)"),
    (["--loss", "wgan"], "--loss wgan (the run has gan:objective=practical)"),
    (["--penalty", "r1:1"], "--penalty r1:1 (the run has r1:0.5)"),
    (["--set", "lr=1e-3"], "--set lr=0.001 (the run has lr=0.0002)"),
    (["--set", "filters=4"], "--set filters=4 (the run has filters=8)"),
    (["--text-encoder", "minilm"], "--text-encoder minilm (the run has None)"),
])
def test_resume_refuses_a_value_that_would_change_the_run_naming_both(cli_run, plugins, two_step_job, tmp_path,
                                                                    given, named):
    out = shutil.copytree(two_step_job, tmp_path / "run")
    before = (out / "config.json").read_text()
    result = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "4", *given, expect=1)
    assert named in result.output and "--warm-start" in result.output
    assert (out / "config.json").read_text() == before
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 2


@pytest.mark.slow
def test_a_resumable_setting_may_change_on_resume(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    _job(cli_run, digits, out, "--steps", "2")
    result = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "6", "--set", "keep_checkpoints=1")
    assert "--set keep_checkpoints=1: changed on resume (was 3)" in result.output
    assert json.loads((out / "config.json").read_text())["settings"]["keep_checkpoints"] == 1
    assert len(list((out / "checkpoints").glob("step-*.weights.h5"))) == 1


def test_every_train_option_declares_what_resume_does_with_it(plugins):
    from img2img.cli import train

    options = {p.name for p in train.params} - {"model", "out", "resume"}
    assert options == set(TRAIN_OPTIONS)
    for param in train.params:
        if param.name in TRAIN_OPTIONS:
            rule = TRAIN_OPTIONS[param.name]
            assert f"[{'may change' if rule.may_change else 'fixed'} on --resume" in param.help, param.name
    for name, model_cls, _ in plugins.models.items():  # every --set key declares it too, as a bool
        for key, option in model_cls.all_options().items():
            assert isinstance(option.resumable, bool), (name, key)
    assert plugins.models.get("dcgan").all_options()["keep_checkpoints"].resumable
    assert not plugins.models.get("dcgan").all_options()["lr"].resumable


def test_resume_outside_a_run_or_on_files_is_refused(cli_run, plugins, digits, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "notes.txt").write_text("mine")
    result = _job(cli_run, digits, files, "--steps", "2", "--resume", expect=1)
    assert "not a run directory" in result.output
    assert (files / "notes.txt").read_text() == "mine" and sorted(p.name for p in files.iterdir()) == ["notes.txt"]


def test_a_finished_run_whose_export_is_missing_exports_again(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    _job(cli_run, digits, out, "--steps", "2")
    exported = (out / "generator.keras").read_bytes()
    (out / "generator.keras").unlink()
    result = _job(cli_run, digits, out, "--steps", "2", "--resume")
    assert "Exported generator.keras again" in result.output
    # The same network from the same checkpoint. (Not the same bytes: Keras writes Python object ids into the
    # config as shared_object_id, so the file's size changes with the process's memory layout.)
    import keras

    (tmp_path / "first.keras").write_bytes(exported)
    first, again = (keras.saving.load_model(tmp_path / name) for name in ("first.keras", "run/generator.keras"))
    assert len(first.weights) == len(again.weights) > 0
    for a, b in zip(first.weights, again.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    cli_run("generate", "--model", out, "--count", "2", "--out", tmp_path / "samples")


def test_a_cgan_resumed_on_data_with_other_classes_is_an_error(cli_run, plugins, digits, tmp_path):
    out, other = tmp_path / "run", tmp_path / "other"
    cli_run("train", "cgan", "--data", digits, *FAST, "--steps", "2", "--out", out)
    shutil.copytree(digits, other)
    shutil.rmtree(other / sorted(p.name for p in other.iterdir())[0])  # one class fewer
    result = cli_run("train", "cgan", "--data", other, "--out", out, "--resume", "--steps", "4", expect=1)
    assert "has classes" in result.output and "the run was trained on" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_warm_start_copies_weights_and_optimiser_state_into_a_new_run(cli_run, plugins, digits, tmp_path):
    source, warm = tmp_path / "source", tmp_path / "warm"
    _job(cli_run, digits, source, "--steps", "4")
    # lr=0: the new run's step changes nothing, so its weights must be exactly the source's.
    result = _job(cli_run, digits, warm, "--steps", "1", "--set", "lr=0", "--warm-start", source)
    assert "Warm start: weights and both optimisers' state from" in result.output and "at step 4" in result.output
    config = json.loads((warm / "config.json").read_text())
    assert config["warm_start"]["step"] == 4 and config["settings"]["lr"] == 0

    from img2img.training.assembly import load_run_model

    a = load_run_model(RunDirectory.open(source), plugins)
    b = load_run_model(RunDirectory.open(warm), plugins)
    assert b.step == 1  # a new run: it counts its own steps
    for va, vb in zip(a.trainable_weights, b.trainable_weights, strict=True):  # batch-norm statistics do move
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb), err_msg=va.path)
    moments = [v for v in b.g_optimizer.variables if v is not b.g_optimizer.iterations and len(v.shape)]
    assert any(np.abs(np.asarray(v)).sum() > 0 for v in moments)  # Adam's moments came across

    bad = _job(cli_run, digits, tmp_path / "bad", "--steps", "1", "--set", "filters=4", "--warm-start", source,
               expect=1)
    assert "the networks differ" in bad.output and not (tmp_path / "bad").exists()
    result = _job(cli_run, digits, source, "--steps", "6", "--resume", "--warm-start", warm, expect=1)
    assert "a warm start begins a new run" in result.output


def test_the_nan_message_suggests_a_warm_start_command_that_runs(cli_run, plugins, digits, tmp_path):
    from test_training import register_nan_loss

    register_nan_loss(plugins)
    out = tmp_path / "run"
    result = cli_run("train", "dcgan", "--data", digits, *FAST, "--loss", "nan-after", "--steps", "20",
                     "--steps-per-epoch", "4", "--out", out, expect=1)
    command = result.output.split("start a new run from it: ", 1)[1].strip().rstrip(".")
    words = shlex.split(command.replace("\n", " "))
    assert words[:3] == ["img2img", "train", "dcgan"] and "--warm-start" in words and "lr=0.0001" in words
    # The suggested command is accepted and warm-starts (this test loss turns NaN again at once, by design).
    retry = cli_run(*words[1:], expect=1)
    assert "Warm start: weights" in retry.output
