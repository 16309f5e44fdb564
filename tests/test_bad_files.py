"""Bad files get one Error line, never a traceback; resume falls back past damaged checkpoints (issue 19.6, 19.9)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, shared_run
from PIL import Image

from img2img.runs import RunDirectory


def _train(cli_run, digits, out, *extra, expect=0):
    return cli_run("train", "dcgan", "--data", digits, *FAST, "--out", out, *extra, expect=expect)


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory, digits):
    """A 12-step run, 4 steps an epoch, every checkpoint kept."""
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    shared_run(out, "dcgan", "--data", digits, *FAST, "--steps", "12", "--steps-per-epoch", "4", "--set",
               "keep_checkpoints=0")
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "copy"))


def _epochs(run: Path) -> list[int]:
    with (run / "metrics.csv").open() as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_only_the_two_newest_checkpoints_keep_optimiser_state(dcgan_run):
    import h5py

    states = {int(p.name[5:11]): json.loads(p.read_text()) for p in (dcgan_run / "checkpoints").glob("step-*.json")}
    assert {step: state["full"] for step, state in states.items()} == {4: False, 8: True, 12: True}
    sizes = {step: (dcgan_run / "checkpoints" / s["weights"]).stat().st_size for step, s in states.items()}
    assert sizes[4] < 0.6 * sizes[12]  # Adam's two moments are most of a full checkpoint
    with h5py.File(dcgan_run / "checkpoints" / states[4]["weights"], "r") as handle:
        assert not [name for name in handle if name.endswith("optimizer")]
        assert "generator" in handle and "discriminator" in handle


def test_a_weights_only_checkpoint_still_loads_its_networks(dcgan_run, plugins):
    from img2img.training.assembly import load_run_model

    run = RunDirectory.open(dcgan_run)
    model = load_run_model(run, plugins)
    at_12 = [np.asarray(w) for w in model.generator.weights]
    run.load_networks(model, run.checkpoints / "step-000004.weights.h5")
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(at_12, model.generator.weights, strict=True))
    assert model.step == 12  # the optimisers were left alone


def test_a_truncated_newest_checkpoint_falls_back_to_the_newest_intact_one(cli_run, plugins, dcgan_run, tmp_path):
    run = _copy(dcgan_run, tmp_path)
    newest = run / "checkpoints" / "step-000012.weights.h5"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    result = cli_run("train", "dcgan", "--out", run, "--resume", "--steps", "16")
    assert "step-000012.weights.h5 is damaged" in result.output and "resuming from step 8" in result.output
    assert "Resuming" in result.output and "at step 8" in result.output
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 16
    assert _epochs(run) == [0, 1, 2, 3]  # epoch 2's row was redone, not duplicated


def test_a_broken_latest_json_falls_back_with_a_warning(cli_run, plugins, dcgan_run, tmp_path):
    run = _copy(dcgan_run, tmp_path)
    (run / "checkpoints" / "latest.json").write_text('{"step": 1')  # cut short by a crash
    result = cli_run("train", "dcgan", "--out", run, "--resume", "--steps", "12")
    assert "latest.json is unreadable; resuming from step 12" in result.output
    assert "already at step 12" in result.output


@pytest.mark.parametrize("steps", ["16", "12"])  # 12: the run had finished; the row still comes back
def test_a_lost_metrics_row_comes_back_from_the_checkpoint(cli_run, plugins, dcgan_run, tmp_path, steps):
    """Killed between the checkpoint and its metrics row: resume restores the row, no epoch is lost (found
    by bench/crash_safety.py: a CycleGAN killed after its last checkpoint)."""
    run = _copy(dcgan_run, tmp_path)
    lines = (run / "metrics.csv").read_text().splitlines()
    (run / "metrics.csv").write_text("\n".join(lines[:-1]) + "\n3,0.5")  # last row lost, a half-written one
    cli_run("train", "dcgan", "--out", run, "--resume", "--steps", steps)
    assert _epochs(run) == list(range(int(steps) // 4))


@pytest.mark.parametrize("left", ["empty", "missing"])
def test_the_first_metrics_row_comes_back_when_killed_before_it(cli_run, plugins, digits, tmp_path, left):
    """Killed after the first checkpoint but before metrics.csv had a row (found by bench/crash_safety.py)."""
    run = tmp_path / "run"
    _train(cli_run, digits, run, "--steps", "4", "--steps-per-epoch", "4")
    header = (run / "metrics.csv").read_text().splitlines()[0]
    if left == "empty":
        (run / "metrics.csv").write_text("")
    else:
        (run / "metrics.csv").unlink()
    cli_run("train", "dcgan", "--out", run, "--resume", "--steps", "8")
    assert _epochs(run) == [0, 1]
    assert (run / "metrics.csv").read_text().splitlines()[0] == header


@pytest.mark.parametrize(("text", "problem"), [
    ("[]", "a JSON list, not an object"),
    ('{"model": "dcgan"}', "'model' should be a JSON object"),
    ('{"model": {"name": "dcgan"}, "settings": {}, "image_size": 16, "loss": {}}', "'loss' lacks 'name'"),
])
def test_a_config_of_the_wrong_shape_is_one_error(cli_run, plugins, dcgan_run, tmp_path, text, problem):
    run = _copy(dcgan_run, tmp_path)
    (run / "config.json").write_text(text)
    for args in (["train", "dcgan", "--out", run, "--resume"], ["generate", "--model", run, "--out", tmp_path / "g"]):
        result = cli_run(*args, expect=1)
        assert problem in result.output and "Traceback" not in result.output


def test_a_truncated_or_code_carrying_generator_is_one_error(cli_run, plugins, dcgan_run, tmp_path):
    run = _copy(dcgan_run, tmp_path)
    exported = run / "generator.keras"
    exported.write_bytes(exported.read_bytes()[:1000])
    result = cli_run("generate", "--model", run, "--out", tmp_path / "a", expect=1)
    assert f"{exported}: damaged or incomplete" in result.output and "File not found" not in result.output

    import keras

    inputs = keras.Input((16,))
    outputs = keras.layers.Lambda(lambda z: z * 2.0)(inputs)
    keras.Model(inputs, outputs).save(exported)
    result = cli_run("generate", "--model", run, "--out", tmp_path / "b", expect=1)
    assert "refused: it holds Python code (a Lambda layer)" in result.output and "Traceback" not in result.output


def test_out_that_is_a_file_is_one_error(cli_run, plugins, digits, dcgan_run, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    (tmp_path / "in").mkdir()
    Image.new("RGB", (16, 16)).save(tmp_path / "in" / "in.png")
    for result in (_train(cli_run, digits, mine, "--steps", "1", expect=1),
                   cli_run("generate", "--model", dcgan_run, "--out", mine, expect=1),
                   cli_run("translate", tmp_path / "in" / "in.png", "--out", mine, expect=1)):
        assert f"--out {mine}: is a file, not a folder" in result.output and "Traceback" not in result.output
    assert mine.read_text() == "mine"


# ----- translate ---------------------------------------------------------------------------------------
def _bomb(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header declares width x height (the pixel data would not even fill it)."""
    Image.new("L", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    path.write_bytes(bytes(data))


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 24), "white").save(folder / "good.png")
    Image.new("RGB", (16, 16), "black").save(folder / "sub" / "also-good.png")
    return folder


def test_special_files_loops_and_bombs_are_named_and_the_rest_converts(cli_run, plugins, inputs, tmp_path):
    os.mkfifo(inputs / "pipe.png")  # opening it would block forever
    os.symlink("..", inputs / "sub" / "up")  # a loop back to the input folder
    _bomb(inputs / "bomb.png", 10000, 10000)  # 8x8 pixels of data under a 10000x10000 header
    out = tmp_path / "out"
    result = cli_run("translate", inputs, "--out", out)
    assert "Translated 2 of 3" in result.output
    assert "pipe.png (a FIFO, not an image file; never opened)" in result.output
    assert "symbolic link loop" in result.output and "up" in result.output
    assert "bomb.png (10000x10000 = 100.0 MP, over the limit of 40 MP" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["good.png", "sub/also-good.png"]
    raised = cli_run("translate", inputs / "bomb.png", "--out", tmp_path / "raised", "--max-megapixels", "200",
                     expect=1)  # let through by the limit, then refused by Pillow's decoder: it is not 100 MP
    assert "bomb.png" in raised.output and "Traceback" not in raised.output


def test_an_explicit_fifo_or_unreadable_file_exits_1(cli_run, plugins, tmp_path, monkeypatch):
    given = tmp_path / "given"
    given.mkdir()
    os.mkfifo(given / "pipe.png")
    result = cli_run("translate", given / "pipe.png", "--out", tmp_path / "o", expect=1)
    assert "a FIFO" in result.output
    (given / "broken.png").write_bytes(b"\x89PNG not really")
    # As the file's owner sees a file without read permission (the tests run as root, who reads everything):
    # Click's own readability check would exit 2 with a usage error; img2img names it and exits 1.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path).name != "broken.png"
                        and real_access(path, mode, **kw))
    result = cli_run("translate", given / "broken.png", "--out", tmp_path / "o2", expect=1)
    assert "broken.png" in result.output and "nothing was written" in result.output


def test_an_unreadable_sub_folder_is_named(inputs, monkeypatch):
    from img2img import translate_inputs as translate

    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(translate.os, "scandir", scandir)
    skipped = []
    jobs = translate.collect_jobs([inputs], inputs.parent / "out", "png", skipped)
    assert [j.source.name for j in jobs] == ["good.png"]
    assert skipped == [(inputs / "sub", "folder cannot be read (Permission denied); skipped")]


def test_huge_headers_raise_no_pillow_warning_from_decoding_threads(tmp_path):
    """Translate decodes in tf.data's threads; Pillow's bomb warning (silenced there with catch_warnings,
    which is not thread-safe) leaked now and then. With our own per-file limit held, Pillow never warns, and
    its guard is back afterwards."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from img2img.data.images import UnreadableImage, load_image, own_pixel_limit

    bomb = tmp_path / "bomb.png"
    _bomb(bomb, 10000, 10000)
    before = Image.MAX_IMAGE_PIXELS

    def load(_: int) -> str:
        try:
            load_image(bomb, 3, max_pixels=40_000_000)
        except UnreadableImage as exc:
            return str(exc)
        return "decoded"

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with own_pixel_limit(40_000_000), ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(load, range(200)))
    assert set(outcomes) == {f"{bomb}: 10000x10000 = 100.0 MP"}
    assert before == Image.MAX_IMAGE_PIXELS
