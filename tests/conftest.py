from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from real_data import digits_folder, emoji_code_points, emoji_folders  # noqa: E402

from img2img.plugins import get_plugins, reset_plugins  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# Hypothesis keeps its example database and caches in .hypothesis/ under the working directory; the suite
# writes nothing into the checkout, so they go to a temporary folder that is removed at exit.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from hypothesis import settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="img2img-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("img2img", database=None)
settings.load_profile("img2img")

# What the suite may leave in the checkout: caches and what the install itself writes. New .py and .md files are
# a developer's work in progress during the run, and bench-work/ a benchmark's; never a test's output.
_ALLOWED_LEFTOVERS = ("__pycache__", ".pytest_cache", ".ruff_cache", ".egg-info", "bench-work/")
_SOURCE_SUFFIXES = (".py", ".md")


def _checkout_files() -> set[str]:
    found = set()
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith(".git/") or relative == ".git" or any(p in relative for p in _ALLOWED_LEFTOVERS):
            continue
        if path.suffix in _SOURCE_SUFFIXES:
            continue
        found.add(relative)
    return found


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean():
    """Fail the run (an error at teardown) if any test wrote into the checkout: tests write under tmp_path."""
    before = _checkout_files()
    yield
    new = sorted(_checkout_files() - before)
    assert not new, f"the tests left files in the checkout: {new[:20]}"

# Small, fast settings every training test shares: real digits at 16 px, a narrow DCGAN.
FAST = ["--image-size", "16", "--set", "filters=8", "--set", "latent_dim=16", "--batch-size", "32"]


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 real handwritten digits in class sub-folders."""
    return digits_folder(tmp_path_factory.mktemp("data") / "digits", count=300)


# A narrow CycleGAN at 32 px: real emoji line art (A) and colour emoji (B).
CYCLE_FAST = ["--image-size", "32", "--set", "filters=8", "--set", "d_filters=8", "--batch-size", "2"]


@pytest.fixture(scope="session")
def emoji(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """48 real emoji as line art (Symbola) and in colour (Noto Color Emoji), paired by code point."""
    points = emoji_code_points()
    return emoji_folders(tmp_path_factory.mktemp("data") / "emoji", points[:: len(points) // 48][:48], size=32)


# A narrow text-to-image model at 16 px.
TEXT_FAST = ["--image-size", "16", "--set", "filters=8", "--set", "latent_dim=16", "--set", "text_code=16",
             "--batch-size", "16"]


@pytest.fixture(scope="session")
def captioned_emoji(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 real colour emoji, each with its Unicode name and a sentence as captions in NAME.txt."""
    from real_data import captioned_emoji_folder, emoji_code_points

    points = emoji_code_points()
    return captioned_emoji_folder(tmp_path_factory.mktemp("data") / "captioned", points[:: len(points) // 64][:64])


def shared_run(out: Path, *args: str):
    """Train once for tests that share the run (module or session fixtures): ``img2img train ARGS --out OUT``
    in this process with fresh plugins, checked to succeed; returns Click's result."""
    from click.testing import CliRunner

    from img2img.cli import cli

    reset_plugins()
    result = CliRunner().invoke(cli, ["train", *map(str, args), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    reset_plugins()
    return result


@pytest.fixture(scope="session")
def cyclegan_run(tmp_path_factory: pytest.TempPathFactory, emoji: tuple[Path, Path]) -> Path:
    """A 30-step CycleGAN run (line art -> colour emoji, 32 px), shared by read-only tests."""
    out = tmp_path_factory.mktemp("runs") / "cyclegan"
    line, colour = emoji
    shared_run(out, "cyclegan", "--data", line, "--data-b", colour, *CYCLE_FAST, "--steps", "30",
               "--steps-per-epoch", "15")
    return out


@pytest.fixture(scope="session")
def pix2pix_run(tmp_path_factory: pytest.TempPathFactory, emoji: tuple[Path, Path]) -> Path:
    """A 6-step pix2pix run on the emoji pairs (line art -> colour, matched by name, 32 px, 3 epochs), shared
    by read-only tests of the model, its pages and evaluate."""
    out = tmp_path_factory.mktemp("runs") / "pix2pix"
    line, colour = emoji
    shared_run(out, "pix2pix", "--data", line, "--data-b", colour, "--image-size", "32", "--set", "filters=4",
               "--set", "d_filters=4", "--batch-size", "4", "--steps", "6", "--steps-per-epoch", "2")
    return out


@pytest.fixture
def plugins():
    """The process-wide plugin manager, fresh for the test and forgotten after it."""
    reset_plugins()
    yield get_plugins()
    reset_plugins()


@pytest.fixture
def cli_run():
    from click.testing import CliRunner

    from img2img.cli import cli

    def run(*args: str, expect: int | None = 0):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}\n{result.output}"
        return result

    return run


def run_probe(probe: str, folder: Path) -> None:
    """Run ``probe`` (Python source; sys.argv[1] is ``folder``) in a fresh interpreter, as a user's own
    program would, and fail with its stderr if it fails."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True, text=True, cwd=folder,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
