"""The core's shape (issue 20): inference loads a trained run through img2img.runs and never imports the
trainer, so using a model costs no training code and the two can change apart."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_inference_never_imports_training_code(cyclegan_run, tmp_path):
    """Importing every inference module, and then translating with a trained run, loads no training module
    (one interpreter for both: starting TensorFlow costs seconds)."""
    from PIL import Image

    (tmp_path / "in").mkdir()
    Image.new("RGB", (32, 32), "white").save(tmp_path / "in" / "a.png")
    probe = ("import sys\n"
             "import img2img.runs, img2img.generate, img2img.translate, img2img.prompts, img2img.text_encoding\n"
             "print(sorted(m for m in sys.modules if m.startswith('img2img.training')))\n"
             "from img2img.cli import cli\n"
             "try:\n"
             f"    cli(['translate', {str(tmp_path / 'in')!r}, '--model', {str(cyclegan_run)!r}, '--out', "
             f"{str(tmp_path / 'out')!r}])\n"
             "except SystemExit as exc:\n"
             "    assert not exc.code, exc.code\n"
             "print(sorted(m for m in sys.modules if m.startswith('img2img.training')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "[]" and lines[-1] == "[]", out.stdout  # after the imports, and after translating
    assert (tmp_path / "out" / "a.png").is_file()


def test_model_plugins_use_no_private_member_of_the_base_gan():
    """A model with its own train_step builds it from the documented step API (critic_losses, ...), so the
    base class can change its internals without breaking plugins."""
    import ast

    base = ast.parse((REPO / "img2img" / "gan.py").read_text())
    gan = next(n for n in base.body if isinstance(n, ast.ClassDef) and n.name == "GAN")
    private = {n.name for n in gan.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_")
               and not n.name.startswith("__")}
    private |= {t.attr for n in ast.walk(gan) if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Attribute) and t.attr.startswith("_") and not t.attr.startswith("__")}

    def borrowed(source: str, private: set[str]) -> set[str]:
        """Private base members ``source`` uses on self without defining them itself."""
        tree = ast.parse(source)
        own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        own |= {t.attr for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Attribute)}
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name) and n.value.id == "self"}
        return (used & private) - own

    # The check catches a borrowed private member (the base has none left today; it may gain some).
    assert borrowed("class M:\n    def step(self):\n        return self._critic(1)\n", {"_critic"}) == {"_critic"}
    for path in sorted((REPO / "plugins").rglob("*.py")):
        assert not borrowed(path.read_text(), private), (path, sorted(borrowed(path.read_text(), private)))


def test_tests_mirror_the_layout():
    """Plugin tests live in tests/plugins/test_PLUGIN.py, named after the plugin folder they test; every
    model plugin also runs the shared model contract (tests/test_model_contracts.py)."""
    import re

    plugins = {p.name for p in (REPO / "plugins").iterdir() if (p / "__init__.py").is_file()}
    plugin_tests = {p.stem.removeprefix("test_") for p in (REPO / "tests" / "plugins").glob("test_*.py")}
    assert plugin_tests and plugin_tests <= plugins, sorted(plugin_tests - plugins)
    core = {p.stem.removeprefix("test_") for p in (REPO / "tests").glob("test_*.py")}
    assert not core & plugins, f"plugin tests outside tests/plugins/: {sorted(core & plugins)}"
    contracts = (REPO / "tests" / "test_model_contracts.py").read_text()
    for plugin in sorted(plugins):
        init = (REPO / "plugins" / plugin / "__init__.py").read_text()
        if "def register_models" in init:
            source = "".join(p.read_text() for p in (REPO / "plugins" / plugin).glob("*.py"))
            models = re.findall(r'^    name = "([^"]+)"', source, re.MULTILINE)
            assert any(f'model = "{m}"' in contracts for m in models), f"{plugin}: no model contract test"
