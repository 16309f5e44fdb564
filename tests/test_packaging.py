"""The wheel ships the built-ins under img2img_plugins (never a top-level `plugins`), they load through
entry points from an installed wheel, and a real third-party plugin installs, works and uninstalls."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def _run(args, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=600, **kwargs)
    assert out.returncode == 0, f"{args}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out


DISTRIBUTION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]


def _source_copy(source: Path, target: Path) -> Path:
    """Builds write build/ and *.egg-info beside the sources: build from a copy, so the checkout stays clean."""
    return Path(shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".*cache", "runs", "bench-work", ".venv")))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    source = _source_copy(REPO, tmp_path_factory.mktemp("src") / "img2img")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source])
    (path,) = dist.glob("*.whl")
    return path


@pytest.fixture
def env_dir(tmp_path) -> Path:
    """A fresh virtual environment that installs into its own site-packages but also sees the packages of the
    interpreter running the tests (TensorFlow, img2img), whether that is a venv or the system Python: venv's
    system_site_packages would see the base interpreter instead, which in a venv lacks them all."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    outer = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                           *site.getsitepackages()])
    inner = subprocess.run([_python(target), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    # addsitedir (not a bare path) so the outer .pth files run too: the editable install of img2img is one.
    lines = [f"import site; site.addsitedir({path!r})" for path in outer if Path(path).is_dir() and path != inner]
    (Path(inner) / "zz-outer-environment.pth").write_text("\n".join(lines) + "\n")
    return target


def _python(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def test_wheel_contains_builtins_under_a_distinct_import_name(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    # Our own distribution name: PyPI's "img2img" is an unrelated project that pip would fetch for a plugin.
    assert DISTRIBUTION == "img2img-gan" and wheel.name.startswith("img2img_gan-")
    assert "Name: img2img-gan\n" in metadata

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["img2img"]
    assert {"dcgan", "fgan", "datasets", "penalties", "toy"} <= set(declared)
    for name, target in declared.items():
        assert f"{target.replace('.', '/')}/__init__.py" in names, name
        assert f"{name} = {target}" in entry_points
    assert "img2img_plugins/dcgan/model.py" in names
    assert not any(n.startswith("plugins/") for n in names), "a top-level 'plugins' package would collide"
    assert "[img2img]" in entry_points
    assert "dcgan = img2img_plugins.dcgan" in entry_points
    assert "[console_scripts]" in entry_points and "img2img = img2img.cli:main" in entry_points
    # The shipped pretrained models travel in the wheel, under their own import name, cards included.
    index = json.loads((REPO / "models" / "index.json").read_text())
    assert "img2img_models/index.json" in names
    for model in index["models"]:
        for part in ("config.json", "MODEL_CARD.md", "generator.keras"):
            assert f"img2img_models/{model}/{part}" in names
    assert not any(n.startswith("models/") for n in names)
    # The licence texts travel too, and the metadata names both licences: the code's and the shipped
    # photo-colourise weights' (CC-BY-4.0, which asks for the credits its model card and NOTICE give).
    assert {"LICENSE", "NOTICE"} <= {Path(n).name for n in names if ".dist-info/licenses/" in n}
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0 AND CC-BY-4.0" in metadata


@pytest.mark.slow
def test_installed_wheel_loads_builtins_through_entry_points(wheel, env_dir):
    _run([_python(env_dir), "-m", "pip", "install", "--no-deps", "--no-index", wheel])
    probe = (
        "import json, img2img_plugins.dcgan as d\n"
        "from img2img.plugins import PluginManager\n"
        "from img2img.pretrained import shipped_models\n"
        "m = PluginManager(select='')\n"
        "print(json.dumps({'file': d.__file__, 'plugins': {n: i.as_dict() for n, i in m.infos.items()},"
        " 'models': m.models.names(), 'shipped': [str(s.path) for s in shipped_models() if s.default]}))\n"
    )
    out = json.loads(_run([_python(env_dir), "-c", probe], cwd=env_dir).stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(env_dir)), out["file"]  # the wheel's copy, not the source tree
    assert out["plugins"]["dcgan"]["distribution"] == DISTRIBUTION and out["plugins"]["dcgan"]["builtin"]
    assert "dcgan" in out["models"]
    assert len(out["shipped"]) == 1 and out["shipped"][0].startswith(str(env_dir)), out["shipped"]


@pytest.mark.slow
def test_example_plugin_installs_works_and_uninstalls(env_dir, tmp_path):
    from real_data import digits_folder

    img2img = [_python(env_dir), "-m", "img2img"]
    example = _source_copy(REPO / "examples" / "img2img-example", tmp_path / "example")
    dependencies = tomllib.loads((example / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies == [DISTRIBUTION]  # never PyPI's unrelated "img2img"
    installed = _run([*img2img, "install", example]).stdout
    # The dependency is satisfied by the img2img already installed: pip installs the example and nothing else.
    assert "Successfully installed img2img-example-0.1.0\n" in installed, installed

    listing = json.loads(_run([*img2img, "models", "--json"]).stdout)
    assert "mlp-gan" in [m["name"] for m in listing["models"]]
    assert "least-squares-example" in [m["name"] for m in listing["losses"]]
    plugins = {p["name"]: p for p in json.loads(_run([*img2img, "plugins", "--json"]).stdout)}
    assert plugins["example"]["distribution"] == "img2img-example"
    assert plugins["example"]["hooks"] == ["register_commands", "register_losses", "register_models"]
    assert "mlp-gan" in _run([*img2img, "example-info"]).stdout

    data = digits_folder(tmp_path / "digits", count=64, labelled=False)
    run = tmp_path / "run"
    out = _run([*img2img, "train", "mlp-gan", "--loss", "least-squares-example", "--data", data,
                "--image-size", "8", "--steps", "3", "--batch-size", "16", "--out", run])
    assert "Trained to step 3" in out.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["plugin"] == "example" and config["loss"]["plugin"] == "example"
    # A plugin loss also composes with a built-in model.
    _run([*img2img, "train", "dcgan", "--loss", "least-squares-example", "--data", data, "--image-size", "16",
          "--set", "filters=4", "--steps", "1", "--batch-size", "16", "--out", tmp_path / "run2"])

    _run([*img2img, "uninstall", "-y", "img2img-example"])
    listing = json.loads(_run([*img2img, "models", "--json"]).stdout)
    assert "mlp-gan" not in [m["name"] for m in listing["models"]]
