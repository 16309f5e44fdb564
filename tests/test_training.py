"""Training runs on real digits: finite losses, run-directory contents, reload, resume, seeds, NaN."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from conftest import CYCLE_FAST, FAST, shared_run
from PIL import Image

from img2img import hookimpl
from img2img.losses import AdversarialLoss
from img2img.runs import RunDirectory


def _metrics(run):
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def _train(cli_run, digits, out, *extra, expect=0):
    return cli_run("train", "dcgan", "--data", digits, *FAST, "--out", out, *extra, expect=expect)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    """One 20-step run shared by the read-only checks below."""
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    return out, shared_run(out, "dcgan", "--data", digits, *FAST, "--steps", "20")


def _tensorboard_steps(logs):
    """Tag -> steps of every scalar TensorBoard event under ``logs``."""
    import tensorflow as tf

    steps: dict[str, list[int]] = {}
    for path in sorted(logs.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    return steps


def test_the_tensorboard_callback_skips_keras_per_batch_summaries_only_when_it_writes_per_epoch(tmp_path,
                                                                                                monkeypatch):
    from img2img.training.callbacks import EpochTensorBoard

    for update_freq, expected in (("epoch", 0), (1, 2)):
        callback = EpochTensorBoard(log_dir=str(tmp_path / str(update_freq)), update_freq=update_freq)
        callback._should_write_train_graph = False  # what Keras' on_train_begin sets
        calls: list[str] = []
        monkeypatch.setattr(callback.summary, "scalar", lambda tag, *args, sink=calls, **kwargs: sink.append(tag))
        callback.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": 2.0})
        assert len(calls) == expected, (update_freq, calls)


def test_run_directory_holds_everything(trained):
    out, result = trained
    assert "Training on CPU" in result.output or "Training on GPU" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == {"name": "dcgan", "plugin": "dcgan"}
    assert config["loss"]["name"] == "gan"
    assert config["settings"]["filters"] == 8 and config["settings"]["latent_dim"] == 16
    assert config["image_size"] == 16 and config["channels"] == 1
    assert len(config["class_names"]) == 10
    assert "dcgan does not take class labels: it learns the 10 classes as one set" in result.output
    assert config["training"]["steps"] == 20 and config["training"]["seed"] == 0

    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 20
    assert (out / "checkpoints" / latest["weights"]).is_file()
    grids = sorted((out / "samples").glob("epoch-*.png"))
    assert len(grids) == 3  # 9 steps per epoch: 9, 18, then 2 more
    with Image.open(grids[-1]) as grid:
        assert grid.size == (8 * 17 - 1, 8 * 17 - 1)  # 64 samples of 16 px with 1 px gaps
    assert (out / "generator.keras").is_file()
    assert _tensorboard_steps(out / "logs")["epoch_g_loss"] == [0, 1, 2]  # one point per epoch, none per batch
    rows = _metrics(out)
    assert len(rows) == 3
    assert not [k for k in rows[0] if k.startswith("val_")]  # no empty validation columns
    for row in rows:
        for key in ("d_loss", "g_loss"):
            assert math.isfinite(float(row[key])), row


def test_reloaded_generator_gives_identical_outputs(trained, plugins):
    import keras

    from img2img.training.assembly import load_run_model

    out, _ = trained
    run = RunDirectory.open(out)
    model = load_run_model(run, plugins)
    assert model.step == 20
    exported = keras.saving.load_model(out / "generator.keras", safe_mode=True)
    z = np.random.default_rng(1).standard_normal((8, 16)).astype(np.float32)
    a = np.asarray(model.generator(z, training=False))
    b = np.asarray(exported(z, training=False))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 16, 16, 1) and np.abs(a).max() <= 1.0


def test_generate_writes_pngs_and_never_overwrites(trained, cli_run, plugins, tmp_path):
    out, _ = trained
    target = tmp_path / "gen"
    cli_run("generate", "--model", out, "--count", "5", "--out", target)
    files = sorted(target.glob("*.png"))
    assert [f.name for f in files] == [f"{i:04d}.png" for i in range(5)]
    with Image.open(files[0]) as image:
        assert image.size == (16, 16) and image.mode == "L"
    before = files[0].read_bytes()
    result = cli_run("generate", "--model", out, "--count", "5", "--out", target, "--seed", "9", expect=1)
    assert "--overwrite" in result.output and files[0].read_bytes() == before
    cli_run("generate", "--model", out, "--count", "5", "--out", target, "--seed", "9", "--overwrite")
    assert files[0].read_bytes() != before
    result = cli_run("generate", "--model", out, "--label", "seven", "--out", tmp_path / "x", expect=1)
    assert "unconditional" in result.output


def test_resume_continues_step_count_and_matches_an_unbroken_run(cli_run, plugins, digits, tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    _train(cli_run, digits, straight, "--steps", "12", "--steps-per-epoch", "4")
    _train(cli_run, digits, broken, "--steps", "8", "--steps-per-epoch", "4")
    assert json.loads((broken / "checkpoints" / "latest.json").read_text())["step"] == 8
    result = cli_run("train", "dcgan", "--out", broken, "--resume", "--steps", "12")
    assert "Resuming" in result.output and "at step 8" in result.output
    latest = json.loads((broken / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 12 and latest["epoch"] == 3
    assert len(_metrics(broken)) == 3  # appended, not restarted

    from img2img.training.assembly import load_run_model

    a = load_run_model(RunDirectory.open(straight), plugins)
    b = load_run_model(RunDirectory.open(broken), plugins)
    assert int(b.d_optimizer.iterations.numpy()) == 12  # optimiser state came back with the weights
    for va, vb in zip(a.variables, b.variables, strict=True):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-5, err_msg=va.path)
    for va, vb in zip(a.g_optimizer.variables, b.g_optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-5, err_msg=va.path)


def test_steps_per_call_is_the_largest_count_dividing_the_epoch_and_the_steps_left():
    from img2img.training.trainer import steps_per_call

    plan = {"steps_per_epoch": 390, "steps": 3000}
    assert steps_per_call({"steps_per_execution": 1000}, plan, 0, False) == 10
    assert steps_per_call({"steps_per_execution": 1000}, {"steps_per_epoch": 6000, "steps": 60000}, 0, False) == 1000
    assert steps_per_call({"steps_per_execution": 4}, {"steps_per_epoch": 8, "steps": 16}, 2, False) == 2  # 14 left
    assert steps_per_call({"steps_per_execution": 4}, plan, 0, True) == 1  # our multi-worker loop: one per call
    assert steps_per_call({}, plan, 0, False) == 1  # runs made before the option


def test_several_steps_per_call_train_what_one_per_call_trains_and_resume_with_another_count(
        cli_run, plugins, digits, tmp_path):
    one, many = tmp_path / "one", tmp_path / "many"
    _train(cli_run, digits, one, "--steps", "6", "--steps-per-epoch", "3")
    first = _train(cli_run, digits, many, "--steps", "3", "--steps-per-epoch", "3", "--set", "steps_per_execution=3")
    assert "first 3 steps (one call) done" in first.output and "step(s) per call" not in first.output
    second = cli_run("train", "dcgan", "--out", many, "--resume", "--steps", "6", "--set", "steps_per_execution=2")
    assert ("--set steps_per_execution=2: 1 step(s) per call into TensorFlow, the largest count that divides "
            "both the epoch (3) and the steps left (3)") in second.output
    assert [int(row["epoch"]) for row in _metrics(many)] == [0, 1]

    from img2img.training.assembly import load_run_model

    a, b = (load_run_model(RunDirectory.open(run), plugins) for run in (one, many))
    assert int(b.g_optimizer.iterations.numpy()) == 6
    for va, vb in zip(a.variables, b.variables, strict=True):
        np.testing.assert_allclose(np.asarray(va), np.asarray(vb), atol=1e-5, err_msg=va.path)


def test_resume_refuses_to_change_the_configuration(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    _train(cli_run, digits, out, "--steps", "2")
    result = cli_run("train", "dcgan", "--out", out, "--resume", "--set", "filters=4", expect=1)
    assert "--set filters=4 (the run has filters=8)" in result.output
    result = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "2")
    assert "already at step 2" in result.output
    config = json.loads((out / "config.json").read_text())  # a hand-edited value is held to the option's range
    config["settings"]["n_critic"] = 0
    (out / "config.json").write_text(json.dumps(config))
    result = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "4", expect=1)
    assert "n_critic=0: must be at least 1" in result.output


@pytest.mark.slow
def test_same_seed_same_first_step_losses(cli_run, plugins, digits, tmp_path):
    rows = []
    for name, seed in [("a", "5"), ("b", "5"), ("c", "6")]:
        _train(cli_run, digits, tmp_path / name, "--steps", "1", "--seed", seed)
        rows.append(_metrics(tmp_path / name)[0])
    assert rows[0]["d_loss"] == rows[1]["d_loss"] and rows[0]["g_loss"] == rows[1]["g_loss"]
    assert rows[0]["d_loss"] != rows[2]["d_loss"]


class _NaNAfterStep(AdversarialLoss):
    """A GAN loss that turns NaN at the given critic step: training must stop and keep a good checkpoint."""

    name = "nan-after"
    description = "test loss"

    def __init__(self, step):
        import keras

        self.step = step
        self.counter = keras.Variable(0, dtype="int32", trainable=False)

    def discriminator_loss(self, real, fake):
        from keras import ops

        self.counter.assign_add(1)
        bad = ops.where(self.counter > self.step, float("nan"), 0.0)
        return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake)) + bad

    def generator_loss(self, fake):
        from keras import ops

        return ops.mean(ops.softplus(-fake))


def register_nan_loss(plugins, step: int = 6) -> None:
    """Register the loss "nan-after", which turns NaN after ``step`` critic steps, as an in-process plugin."""

    class P:
        @hookimpl
        def register_losses(self, register):
            register(_NaNAfterStep(step))

    plugins.register(P(), name="nan-plugin")


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(cli_run, plugins, digits, tmp_path):
    register_nan_loss(plugins)
    out = tmp_path / "run"
    result = _train(cli_run, digits, out, "--loss", "nan-after", "--steps", "20", "--steps-per-epoch", "4",
                    expect=1)
    assert "became nan" in result.output and "last good checkpoint is step 4" in result.output
    assert "Traceback" not in result.output
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 4 and all(math.isfinite(v) for v in latest["metrics"].values())


def test_penalty_plugin_composes_and_is_logged(cli_run, plugins, digits, tmp_path):
    from img2img.losses import Penalty

    class OutputDecay(Penalty):
        name = "output-decay"
        default_weight = 0.5

        def __call__(self, critic, real, fake, seed=None):
            from keras import ops

            return ops.mean(ops.square(critic(real)))

    class P:
        @hookimpl
        def register_penalties(self, register):
            register(OutputDecay())

    plugins.register(P(), name="penalty-plugin")
    out = tmp_path / "run"
    _train(cli_run, digits, out, "--steps", "3", "--penalty", "output-decay:2")
    row = _metrics(out)[0]
    assert float(row["penalty_output-decay"]) > 0
    assert json.loads((out / "config.json").read_text())["penalties"] == [{"name": "output-decay", "weight": 2.0}]


def test_mixed_precision_trains_with_finite_losses(cli_run, plugins, digits, tmp_path):
    import keras

    out = tmp_path / "run"
    try:
        result = _train(cli_run, digits, out, "--steps", "2", "--precision", "mixed")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "precision mixed_" in result.output
    row = _metrics(out)[0]
    assert math.isfinite(float(row["d_loss"])) and math.isfinite(float(row["g_loss"]))


def test_interrupt_keeps_the_partial_epoch_and_resume_continues(cli_run, plugins, digits, tmp_path, monkeypatch):
    """Ctrl-C between steps saves a consistent checkpoint at that step; nothing finished is lost."""
    from img2img.training import callbacks

    original = callbacks.StopAtStep.on_train_batch_end

    def interrupt_at_step_6(self, batch, logs=None):
        original(self, batch, logs)
        if self.model.step == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.StopAtStep, "on_train_batch_end", interrupt_at_step_6)
    out = tmp_path / "run"
    result = _train(cli_run, digits, out, "--steps", "12", "--steps-per-epoch", "4", expect=130)
    assert "saved step 6" in result.output
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 6
    monkeypatch.setattr(callbacks.StopAtStep, "on_train_batch_end", original)
    cli_run("train", "dcgan", "--out", out, "--resume")
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 12


@pytest.mark.parametrize(("keep", "steps_left"), [("0", [4, 8, 12, 16, 20]), ("2", [16, 20]), (None, [12, 16, 20])])
def test_keep_checkpoints_prunes_all_but_the_newest(cli_run, plugins, digits, tmp_path, keep, steps_left):
    """--set keep_checkpoints=N keeps the newest N epoch checkpoints (3 by default); 0 keeps every one, so
    a benchmark can score each epoch of a run afterwards."""
    out = tmp_path / "run"
    extra = ["--set", f"keep_checkpoints={keep}"] if keep is not None else []
    _train(cli_run, digits, out, "--steps", "20", "--steps-per-epoch", "4", *extra)
    kept = sorted(int(p.name[5:11]) for p in (out / "checkpoints").glob("step-*.weights.h5"))
    assert kept == steps_left
    assert sorted(int(p.name[5:11]) for p in (out / "checkpoints").glob("step-*.json")) == steps_left


def test_negative_keep_checkpoints_is_refused(cli_run, plugins, digits, tmp_path):
    result = _train(cli_run, digits, tmp_path / "run", "--steps", "4", "--set", "keep_checkpoints=-1", expect=1)
    assert "--set keep_checkpoints=-1: must be at least 0 (" in result.output and "0 keeps every" in result.output
    assert not (tmp_path / "run").exists()  # refused before a run directory is made


@pytest.mark.slow
def test_float16_loss_scaling_trains_resumes_and_reloads(cli_run, plugins, digits, tmp_path, monkeypatch):
    """The GPU mixed-precision path (float16 + loss scaling), forced on the CPU: its checkpoints carry the
    loss-scale state, and resume and reload rebuild the same optimiser structure."""
    import keras

    import img2img.devices
    from img2img.training.assembly import load_run_model

    monkeypatch.setattr(img2img.devices, "choose_policy", lambda precision: "mixed_float16")
    out = tmp_path / "run"
    try:
        _train(cli_run, digits, out, "--steps", "2", "--precision", "mixed")
        assert json.loads((out / "config.json").read_text())["training"]["policy"] == "mixed_float16"
        cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "3")
        model = load_run_model(RunDirectory.open(out), plugins)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.step == 3
    rows = _metrics(out)
    assert all(math.isfinite(float(r["d_loss"])) and math.isfinite(float(r["g_loss"])) for r in rows)


@pytest.mark.slow
def test_updates_that_float16_loss_scaling_skips_are_made_up_to_the_steps_asked(cli_run, plugins, emoji, tmp_path,
                                                                             monkeypatch):
    """--precision auto on a GPU with tensor cores is mixed_float16, whose loss scaling drops the first steps
    while its scale settles (a CycleGAN's summed losses overflow float16 at the starting scale). --steps counts
    generator updates, so the run trains on to them; on a CPU the policy is forced to take that path."""
    import img2img.devices

    monkeypatch.setattr(img2img.devices, "choose_policy", lambda precision: "mixed_float16")
    out = tmp_path / "run"
    result = cli_run("train", "cyclegan", "--data", emoji[0], "--data-b", emoji[1], *CYCLE_FAST, "--steps", "3",
                     "--steps-per-epoch", "3", "--out", out)
    assert "precision mixed_float16" in result.output
    assert "generator update(s) were skipped (float16 loss scaling" in result.output
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 3
    rows = _metrics(out)
    assert [int(row["epoch"]) for row in rows] == list(range(len(rows))) and len(rows) >= 2  # appended, one header
    resumed = cli_run("train", "cyclegan", "--out", out, "--resume", "--steps", "5")
    assert "at step 3" in resumed.output
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 5
