"""CLI contract (design §4): fast help, clear one-line errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import FAST, REPO
from fake_dist import make_dist


def test_help_does_not_import_tensorflow_even_with_a_plugin_installed(tmp_path):
    site = make_dist(tmp_path / "site", "fake-cmd", "fake_cmd", """
        import click
        from img2img import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command(name="fake-hello")
            def fake_hello():
                '''Say hello from a plugin.'''
                click.echo("hello")

        @hookimpl
        def register_models(register):
            import keras  # heavy imports live inside hooks
    """)
    probe = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from img2img.cli import cli
        result = CliRunner().invoke(cli, ["--help"])
        print(result.output)
        print("TF-LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF-NOT-LOADED")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "fake-hello" in out.stdout and "train" in out.stdout
    assert "TF-NOT-LOADED" in out.stdout


def _one_clear_line(result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "nope", "--data", "x"], "unknown model 'nope'; valid models: cgan, cyclegan, dcgan"),
        (["train", "dcgan", "--data", "{digits}", "--loss", "nope"], "unknown loss 'nope'; valid losses: "),
        (["train", "dcgan", "--data", "{missing}"], "no such folder"),
        (["train", "dcgan", "--data", "{empty}"], "no image files found"),
        (["train", "dcgan", "--data", "{digits}", "--set", "colour=red"], "valid keys: beta_1"),
        (["train", "dcgan", "--data", "{digits}", "--set", "filters=many"],
         "--set filters=many: not a whole number (default"),
        (["train", "dcgan", "--data", "{digits}", "--set", "lr=fast"], "--set lr=fast: not a number (default"),
        (["train", "dcgan", "--data", "{digits}", "--set", "spectral_norm=maybe"],
         "--set spectral_norm=maybe: expected true or false (default False"),
        (["train", "dcgan", "--data", "{digits}", "--set", "filters"], "expected key=value"),
        (["train", "dcgan", "--data", "{digits}", "--set", "filters=0"], "--set filters=0: must be at least 1 ("),
        (["train", "dcgan", "--data", "{digits}", "--set", "beta_1=5"], "--set beta_1=5: must be from 0 to 1"),
        (["train", "dcgan", "--data", "{digits}", "--loss", "wgan:clip=-1"], "--loss wgan:clip=-1: must be at least 0"),
        (["train", "dcgan", "--data", "{digits}", "--image-size", "33"], "dcgan supports 16, 20, 24, 28, 32"),
        (["train", "dcgan", "--data", "{digits}", "--penalty", "nope"], "unknown penalty 'nope'"),
        (["train", "dcgan", "--data", "nosuchscheme:abc"], "unknown data scheme 'nosuchscheme'"),
        (["train", "dcgan", "--data", "{digits}", "--steps", "3", "--epochs", "2"], "not both"),
        (["train", "dcgan"], "--data is required"),
        (["generate", "--model", "{missing}"], "no such run directory"),
        # A run directory where the model goes (train --resume runs/x): the command that continues it.
        (["train", "--resume", "{earlier}"], "{earlier} is a run directory, not a model; to continue that run: "
                                             "img2img train cyclegan --out {earlier} --resume"),
    ],
)
def test_bad_input_is_one_clear_line(cli_run, plugins, digits, tmp_path, args, expected):
    (tmp_path / "empty").mkdir()
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "config.json").write_text('{"model": {"name": "cyclegan", "plugin": "cyclegan"}}')
    fill = {"digits": digits, "missing": tmp_path / "missing", "empty": tmp_path / "empty",
            "earlier": tmp_path / "earlier"}
    args = [a.format(**fill) for a in args] + ["--out", str(tmp_path / "run")] * (args[0] == "train")
    line = _one_clear_line(cli_run(*args, expect=None))
    assert expected.format(**fill) in line


def test_unreadable_images_only_is_a_clear_error(cli_run, plugins, tmp_path):
    data = tmp_path / "broken"
    data.mkdir()
    (data / "a.png").write_bytes(b"not a png")
    (data / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    result = cli_run("train", "dcgan", "--data", data, "--out", tmp_path / "run", expect=None)
    assert "none of the 2 image files could be read" in _one_clear_line(result)
    assert "a.png" in result.output and "b.jpg" in result.output  # named in the warning


def test_batch_larger_than_data_is_a_clear_error_and_leaves_no_run_behind(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "run"
    result = cli_run("train", "dcgan", "--data", digits, *FAST, "--batch-size", "1000", "--out", out, expect=None)
    assert "lower --batch-size" in _one_clear_line(result)
    assert not out.exists()  # so the corrected command can reuse the same --out
    cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "1", "--out", out)
    assert (out / "checkpoints" / "latest.json").is_file()


def test_out_that_holds_files_is_never_overwritten(cli_run, plugins, digits, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    result = cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "1", "--out", out, expect=None)
    assert "already holds files" in _one_clear_line(result)
    assert (out / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_console_script_and_module_entry_work():
    out = subprocess.run([sys.executable, "-m", "img2img", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "img2img, version" in out.stdout
