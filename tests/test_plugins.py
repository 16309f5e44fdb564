"""The plugin contract (design §3): entry points, isolation of failures, name clashes, selection."""

from __future__ import annotations

import importlib
import json
import sys

import pytest
from conftest import REPO
from fake_dist import make_dist

from img2img import hookimpl, hookspecs
from img2img.errors import NameClashError, UnknownNameError
from img2img.plugins import DISTRIBUTION, PROJECT, PluginManager

BUILTINS = {"datasets", "dcgan", "fgan"}


def test_builtins_load_through_the_img2img_entry_point_group():
    manager = PluginManager(select="")
    assert manager.pm.project_name == PROJECT == "img2img"
    assert set(manager.infos) >= BUILTINS
    for name in BUILTINS:
        info = manager.infos[name]
        assert info.builtin and info.distribution == DISTRIBUTION == "img2img-gan" and info.error is None
        module = manager.pm.get_plugin(name)
        assert module.__name__ == f"img2img_plugins.{name}"
    assert "dcgan" in manager.models.names()
    assert "gan" in manager.losses.names()
    assert {"folder", "tfds"} <= set(manager.datasets.names())


def test_all_six_hooks_are_specified():
    names = {n for n in dir(hookspecs) if n.startswith("register_")}
    assert names == {"register_models", "register_losses", "register_penalties", "register_datasets",
                     "register_text_encoders", "register_commands"}


class _Loss:
    def __init__(self, name):
        self.name = name
        self.description = f"loss {name}"


def test_name_clash_is_an_error_naming_both_plugins(capsys):
    manager = PluginManager(select="")

    class A:
        @hookimpl
        def register_losses(self, register):
            register(_Loss("twin"))
            register(_Loss("only-a"))

    class B:
        @hookimpl
        def register_losses(self, register):
            register(_Loss("twin"))

    manager.register(A(), name="plugin-a")
    manager.register(B(), name="plugin-b")
    with pytest.raises(NameClashError) as err:
        manager.losses.get("twin")
    assert "plugin-a" in str(err.value) and "plugin-b" in str(err.value)
    assert "twin" in capsys.readouterr().err
    # The clash does not take the other names down with it.
    assert manager.losses.get("only-a").name == "only-a"
    assert manager.losses.get("gan").name == "gan"
    assert "twin" not in manager.losses.names()


def test_unknown_name_lists_valid_names():
    manager = PluginManager(select="")
    with pytest.raises(UnknownNameError, match=r"unknown model 'nope'; valid models: .*dcgan"):
        manager.models.get("nope")


def test_a_hook_that_raises_is_reported_by_name_and_the_rest_works(capsys):
    manager = PluginManager(select="")

    class Broken:
        @hookimpl
        def register_models(self, register):
            raise RuntimeError("boom in hook")

    manager.register(Broken(), name="broken-hook")
    assert "dcgan" in manager.models.names()
    err = capsys.readouterr().err
    assert "broken-hook" in err and "boom in hook" in err and "register_models" in err
    assert "boom in hook" in manager.infos["broken-hook"].error


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    yield path
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[name]


def test_plugin_that_fails_to_import_is_reported_and_skipped(site, capsys):
    make_dist(site, "fake-broken", "fake_broken", "raise ImportError('missing dependency xyz')\n")
    make_dist(site, "fake-good", "fake_good", """
        from img2img import hookimpl

        @hookimpl
        def register_losses(register):
            class L:
                name = "fake-good-loss"
            register(L())
    """)
    importlib.invalidate_caches()
    manager = PluginManager(select=None)
    err = capsys.readouterr().err
    assert "fake_broken" in err and "fake-broken" in err and "missing dependency xyz" in err
    assert manager.infos["fake_broken"].error
    assert manager.infos["fake_good"].version == "1.0"
    assert manager.infos["fake_good"].hooks == ["register_losses"]
    assert "fake-good-loss" in manager.losses.names()
    assert "dcgan" in manager.models.names()
    with pytest.raises(UnknownNameError, match=r"1 plugin failed to load: fake_broken; `img2img plugins` says why"):
        manager.losses.get("fake-broken-loss")  # perhaps the broken plugin's: the error says one failed
    own = PluginManager(select="")  # only img2img's own plugins; one of them failing means a broken install
    own.infos["dcgan"].error = "ModuleNotFoundError: No module named 'img2img_plugins'"
    with pytest.raises(UnknownNameError, match=r"1 plugin failed to load: dcgan; reinstall img2img \(img2img-gan\)"):
        own.models.get("dcgan-typo")


def test_a_plugin_raising_system_exit_is_skipped_not_fatal(site, capsys, cli_run):
    """SystemExit at import or inside a hook (a plugin calling sys.exit or click's ctx.exit) is that
    plugin's failure: every command, uninstall included, keeps working."""
    make_dist(site, "fake-exit-import", "fake_exit_import", "import sys\nsys.exit(3)\n")
    make_dist(site, "fake-exit-hook", "fake_exit_hook", """
        from img2img import hookimpl

        @hookimpl
        def register_losses(register):
            raise SystemExit(4)

        @hookimpl
        def register_commands(cli):
            raise SystemExit(5)
    """)
    importlib.invalidate_caches()
    manager = PluginManager(select=None)
    assert "SystemExit: 3" in manager.infos["fake_exit_import"].error
    assert "gan" in manager.losses.names()
    assert "register_losses: SystemExit: 4" in manager.infos["fake_exit_hook"].error
    err = capsys.readouterr().err
    assert "fake_exit_import" in err and "fake_exit_hook" in err

    class Interrupting:
        @hookimpl
        def register_penalties(self, register):
            raise KeyboardInterrupt

    manager.register(Interrupting(), name="ctrl-c")
    with pytest.raises(KeyboardInterrupt):  # the user's Ctrl-C still stops img2img
        manager.penalties.names()


def test_cli_survives_a_plugin_that_exits_at_import(site):
    import subprocess

    make_dist(site, "fake-exit-cli", "fake_exit_cli", "raise SystemExit(3)\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(site), "IMG2IMG_PLUGINS": "fake-exit-cli"}
    for args in (["--help"], ["plugins"], ["uninstall", "--help"]):
        out = subprocess.run([sys.executable, "-m", "img2img", *args], capture_output=True, text=True, env=env,
                             timeout=120)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        assert "fake_exit_cli" in out.stderr and "SystemExit: 3" in out.stderr


def test_img2img_plugins_selects_third_party_distributions(site, monkeypatch):
    source = """
        from img2img import hookimpl

        @hookimpl
        def register_losses(register):
            class L:
                name = "{name}"
            register(L())
    """
    make_dist(site, "fake-one", "fake_one", source.format(name="loss-one"))
    make_dist(site, "fake-two", "fake_two", source.format(name="loss-two"))
    importlib.invalidate_caches()

    monkeypatch.delenv("IMG2IMG_PLUGINS", raising=False)
    assert {"loss-one", "loss-two"} <= set(PluginManager().losses.names())

    monkeypatch.setenv("IMG2IMG_PLUGINS", "fake_two")  # names normalise: fake_two == fake-two
    names = set(PluginManager().losses.names())
    assert "loss-two" in names and "loss-one" not in names and "gan" in names

    monkeypatch.setenv("IMG2IMG_PLUGINS", "")
    manager = PluginManager()
    assert not {"fake_one", "fake_two"} & set(manager.infos)
    assert set(manager.infos) >= BUILTINS


def test_plugins_command_shows_name_version_and_hooks(cli_run, plugins):
    listing = json.loads(cli_run("plugins", "--json").stdout)
    by_name = {p["name"]: p for p in listing}
    assert by_name["dcgan"]["hooks"] == ["register_models"]
    assert by_name["dcgan"]["version"] and by_name["dcgan"]["builtin"] is True
    text = cli_run("plugins").stdout
    assert "dcgan" in text and "register_models" in text


def test_models_command_lists_every_kind_with_descriptions(cli_run, plugins):
    listing = json.loads(cli_run("models", "--json").stdout)
    assert set(listing) == {"models", "losses", "penalties", "datasets", "text_encoders", "pretrained"}
    dcgan = next(m for m in listing["models"] if m["name"] == "dcgan")
    assert dcgan["plugin"] == "dcgan" and "DCGAN" in dcgan["description"]
    assert dcgan["options"]["filters"]["default"] == 64 and dcgan["options"]["lr"]["default"] == 2e-4
    assert dcgan["options"]["filters"]["minimum"] == 1 and "maximum" not in dcgan["options"]["filters"]
    assert dcgan["options"]["optimizer"]["choices"] == ["adam", "rmsprop"]
    alpha = next(m for m in listing["losses"] if m["name"] == "alpha")
    assert alpha["options"]["alpha"]["default"] == 0.5
    assert "dcgan" in cli_run("models").stdout
    verbose = cli_run("models", "--verbose").stdout
    assert "--set filters=64" in verbose and "alpha: alpha=0.5" in verbose


def test_a_misspelled_hook_is_that_plugins_load_error(site, capsys):
    """pluggy's check_pending, per plugin: a @hookimpl no hookspec names would never be called."""
    make_dist(site, "fake-typo", "fake_typo", """
        from img2img import hookimpl

        @hookimpl
        def register_model(register):  # register_models
            raise AssertionError("never called")
    """)
    make_dist(site, "fake-fewer-args", "fake_fewer_args", """
        from img2img import hookimpl

        @hookimpl
        def register_losses():  # takes fewer arguments than the spec: pluggy allows it; so does img2img
            import fake_fewer_args
            fake_fewer_args.called = True
    """)
    importlib.invalidate_caches()
    manager = PluginManager(select=None)
    error = manager.infos["fake_typo"].error
    assert "unknown hook register_model" in error and "register_models" in error
    assert "fake_typo" in capsys.readouterr().err
    assert "dcgan" in manager.models.names()  # nothing else is affected
    manager.losses.names()
    import fake_fewer_args

    assert fake_fewer_args.called and manager.infos["fake_fewer_args"].error is None


def test_the_public_api_is_img2img_itself_and_the_builtins_use_it():
    import pathlib
    import re

    import img2img

    for name in img2img.__all__:
        assert getattr(img2img, name) is not None, name
    table = (REPO / "docs" / "plugins.md").read_text().split("## The public API", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{name}`" in table for name in img2img.__all__ if name != "__version__")
    # Built-ins import public names from img2img, as a third-party plugin would, never from its modules.
    private = re.compile(r"^\s*from img2img\.(gan|options|losses|errors) import (.*)$", re.M)
    for path in pathlib.Path(REPO / "plugins").rglob("*.py"):
        for _, names in private.findall(path.read_text()):
            assert not set(n.strip() for n in names.split(",")) & set(img2img.__all__), (path, names)


@pytest.mark.parametrize("given", ["img2img", "IMG2IMG==0.2.0", "img2img[extra]"])
def test_install_refuses_pypis_unrelated_img2img(cli_run, given):
    result = cli_run("install", given, expect=2)
    assert "unrelated project" in result.output and "img2img-gan" in result.output


@pytest.mark.parametrize("given", ["img2img-gan", "img2img_gan", "IMG2IMG.GAN"])
def test_uninstall_protects_img2img_itself(cli_run, given):
    result = cli_run("uninstall", "-y", given, expect=2)
    assert "refusing to uninstall img2img itself" in result.output and "pip uninstall img2img-gan" in result.output


def test_a_model_that_samples_noise_must_declare_latent_dim():
    """No hidden fallback size for z: a model without the option is told to add it, by name."""
    import keras

    from img2img import GAN, Img2ImgError
    from img2img.runs import latent_vectors

    class NoLatent(GAN):
        name = "no-latent"

        def build_generator(self):
            z = keras.Input((4,))
            return keras.Model(z, keras.layers.Dense(1)(z))

        def build_discriminator(self):
            x = keras.Input((4,))
            return keras.Model(x, keras.layers.Dense(1)(x))

    with pytest.raises(Img2ImgError, match="'no-latent' samples latent vectors but declares no latent_dim"):
        NoLatent(image_size=4, channels=1).sample_latent(2)
    with pytest.raises(Img2ImgError, match="model 'no-latent' has no latent_dim option"):
        latent_vectors({"model": {"name": "no-latent"}, "settings": {}}, 2, seed=0)
    assert latent_vectors({"model": {"name": "x"}, "settings": {"latent_dim": 3}}, 2, seed=0).shape == (2, 3)
