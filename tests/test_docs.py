"""docs/plugins.md documents every hook of the contract: a section, its signature and an example."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from img2img import hookspecs


def _sections() -> dict[str, str]:
    text = (REPO / "docs" / "plugins.md").read_text()
    parts = re.split(r"^## ", text, flags=re.M)
    return {part.splitlines()[0].strip(): part for part in parts[1:]}


def test_every_hook_has_a_documentation_section_with_signature_and_example():
    hooks = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
    sections = _sections()
    missing = [h for h in hooks if h not in sections]
    assert not missing, f"docs/plugins.md has no '## <hook>' section for: {missing}"
    for hook in hooks:
        body = sections[hook]
        arg = "cli" if hook == "register_commands" else "register"
        assert f"def {hook}({arg})" in body, f"{hook}: signature missing"
        assert body.count("```python") >= 2, f"{hook}: needs the signature and an example"
        assert "@hookimpl" in body


def test_documented_examples_are_valid_python():
    for hook, body in _sections().items():
        for block in re.findall(r"```python\n(.*?)```", body, flags=re.S):
            compile(block, f"docs/plugins.md#{hook}", "exec")


def test_documented_examples_register_working_objects():
    """Each example, loaded as a plugin module, registers an object that does what the docs say."""
    import types

    import numpy as np
    from click.testing import CliRunner

    from img2img.data import DataRequest
    from img2img.plugins import PluginManager

    manager = PluginManager(select="")
    for hook, body in _sections().items():
        if not hook.startswith("register_"):
            continue
        example = re.findall(r"```python\n(.*?)```", body, flags=re.S)[1]
        module = types.ModuleType(f"doc_{hook}")
        exec(compile("from img2img import hookimpl\n" + example, f"docs#{hook}", "exec"), module.__dict__)
        manager.register(module, name=f"doc-{hook}")

    tiny = manager.models.get("tiny")(image_size=8, channels=1)
    assert tiny.generate(2).shape == (2, 8, 8, 1)
    assert manager.losses.get("my-pearson").name == "my-pearson"
    assert manager.penalties.get("output-decay").default_weight == 1e-3
    noise = manager.datasets.get("noise").load("", DataRequest(image_size=4, seed=1))
    assert next(iter(noise.dataset)).shape == (4, 4, 1)
    encoder = manager.text_encoders.get("char-counts")
    assert np.asarray(encoder(["abc", "zz"])).shape == (2, encoder.dimension)

    import click

    group = click.Group()
    for plugin_name, impl in manager.hook_impls("register_commands"):
        manager.call_isolated(plugin_name, "register_commands", impl, cli=group)
    assert CliRunner().invoke(group, ["hello", "Ada"]).output.strip() == "Hello, Ada!"


def test_ci_runs_exactly_the_readme_set_up_commands():
    """A new user's two commands are CI's: what passes in CI is what a fresh clone gets from the README."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Set-up", 1)[1]
    commands = re.search(r"```\n(.*?)```", section, flags=re.S).group(1).strip().splitlines()
    assert commands == ["bash install.sh", "python3 -m pytest"]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == commands


def test_every_relative_link_in_the_readme_and_docs_resolves():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"(https?:|#|mailto:)", target):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_readme_is_short_and_links_every_docs_page_and_benchmarks_are_indexed():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    linked = set(re.findall(r"\]\(docs/([^)#\s]+)\)", readme))
    index = (REPO / "docs" / "benchmarks.md").read_text()
    linked |= {"benchmarks.md"} if "docs/benchmarks.md" in readme else set()
    assert {p.name for p in (REPO / "docs").glob("*.md")} <= linked
    scripts = [p for p in (REPO / "bench").rglob("*.py") if p.name != "__init__.py"]
    assert len(scripts) > 10
    missing = [p for p in scripts if f"`{p.relative_to(REPO).as_posix()}`" not in index]
    assert not missing, f"docs/benchmarks.md does not index {missing}"


def test_every_benchmark_imports_and_prints_its_cpu():
    """The grouped scripts import each other as the bench package; a broken import or a script that does
    not say which CPU it ran on would only show when someone next runs it."""
    import importlib

    for path in sorted((REPO / "bench").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        importlib.import_module(module)
        if path.parent != REPO / "bench":
            assert "cpu_description()" in path.read_text(), f"{path} does not print the CPU it ran on"


def test_bench_harness_times_what_it_says(tmp_path):
    """Training done in resumable pieces reports the time of all its pieces, an interrupted piece included;
    per-call timing runs the calls it divides by and waits for the last result."""
    import time

    from bench.harness import add_seconds, per_call, timed_value

    tally = tmp_path / "seconds.txt"
    assert add_seconds(tally, lambda: time.sleep(0.05)) >= 0.05

    def interrupted() -> None:
        time.sleep(0.05)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        add_seconds(tally, interrupted)
    assert float(tally.read_text()) >= 0.1
    calls, finished = [], []
    seconds = per_call(lambda i: calls.append(i) or time.sleep(0.01) or i, 5, finished.append)
    assert calls == [0, 1, 2, 3, 4] and finished == [4] and 0.01 <= seconds < 0.5
    assert timed_value(lambda: "x")[0] == "x"


def test_the_conditional_benchmarks_model_names_in_the_docs_train_what_they_say():
    """The docs quote `--models` lists; each name must still parse to the --set options it is read as, and a
    mistyped tool must stop the benchmark before its half hour of training, not silently train plain gan-cls."""
    from bench.quality.conditional_quality import variant

    quoted = set()
    for page in (REPO / "docs").glob("*.md"):
        text = " ".join(page.read_text().split())
        for command in re.findall(r"conditional_quality [^`]*", text):
            names = re.search(r"--models ((?:\w[\w.+-]* ?)+)", command)
            quoted |= set(names.group(1).split()) if names else set()
    assert {"gan-cls+proj", "gan-cls+ca+ms"} <= quoted
    for name in quoted:
        assert variant(name)[0] in {"cgan", "gan-cls"}
    assert variant("gan-cls+proj+ms0.3") == ["gan-cls", "--set", "conditioning=projection",
                                             "--set", "mode_seeking=0.3"]
    assert variant("gan-cls+use") == ["gan-cls", "--text-encoder", "use-multilingual-v3"]
    for wrong in ("gan-cls+prj", "gan-cls+ca0.5", "gan-cls+ms1.2.3", "dcgan+ms"):
        with pytest.raises(ValueError, match=re.escape(wrong)):
            variant(wrong)
