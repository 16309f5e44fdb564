"""The commands that list and manage plugins: ``models``, ``plugins``, ``install``, ``uninstall``. None of
them imports TensorFlow beyond what listing the registries needs, and ``install``/``uninstall`` run pip with
img2img's own interpreter."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import click

from img2img.plugins import DISTRIBUTION, get_plugins, is_own_distribution, reset_plugins
from img2img.pretrained import shipped_models


# ----- listing -------------------------------------------------------------------------------------
def _options_of(obj: Any) -> dict[str, dict[str, Any]]:
    """--set keys of a model, or NAME:key=value parameters of a loss, with defaults, help, and the choices
    or range a value must keep to where the option has them."""
    options = obj.all_options() if hasattr(obj, "all_options") else getattr(obj, "parameters", {})
    own = getattr(obj, "training_defaults", {})  # a model's own defaults for the trainer's options: what it runs with
    return {key: {"default": own.get(key, o.default), "help": o.help, "resumable": o.resumable,
                  **{k: v for k, v in (("choices", o.choices), ("minimum", o.minimum), ("maximum", o.maximum))
                     if v is not None}}
            for key, o in options.items()}


def _registered(plugins: Any) -> dict[str, list[dict[str, Any]]]:
    kinds = {"models": plugins.models, "losses": plugins.losses, "penalties": plugins.penalties,
             "datasets": plugins.datasets, "text_encoders": plugins.text_encoders}
    return {
        kind: [{"name": name, "plugin": plugin, "description": (getattr(obj, "description", "") or "").strip(),
                "options": _options_of(obj)}
               for name, obj, plugin in registry.items()]
        for kind, registry in kinds.items()
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (options included).")
@click.option("-v", "--verbose", is_flag=True, help="Also list each model's --set options and each loss's parameters.")
def models(as_json: bool, verbose: bool) -> None:
    """List models, losses, penalties, data sources, text encoders and shipped pretrained models."""
    listing = _registered(get_plugins())
    listing["pretrained"] = [{"name": m.name, "plugin": "shipped, default" if m.default else "shipped",
                              "description": m.description, "options": {}, "path": str(m.path)}
                             for m in shipped_models()]
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    for kind, rows in listing.items():
        click.secho(kind.replace("_", " ").capitalize() + ":", bold=True)
        if not rows:
            click.echo("  (none installed)")
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            first = r["description"].splitlines()[0] if r["description"] else ""
            click.echo(f"  {r['name']:<{width}}  {first}  [{r['plugin']}]")
            if verbose and r["options"]:
                prefix = "--set" if kind == "models" else f"{r['name']}:"
                for key, option in r["options"].items():
                    resumable = "  [may change on --resume]" if option["resumable"] and kind == "models" else ""
                    click.echo(f"  {'':<{width}}    {prefix} {key}={option['default']}  {option['help']}{resumable}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List loaded plugins: name, version, hooks, and any load error."""
    infos = [info.as_dict() for info in get_plugins().infos.values()]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    for info in infos:
        origin = "built-in" if info["builtin"] else info["distribution"]
        line = f"{info['name']} {info['version']} ({origin}): {', '.join(info['hooks']) or 'no hooks'}"
        if info["error"]:
            line += f"  ERROR: {info['error']}"
        click.echo(line)


# ----- plugin installation -------------------------------------------------------------------------
def _pip(args: list[str]) -> None:
    """Run pip with img2img's own interpreter, so plugins land where img2img will find them."""
    code = subprocess.call([sys.executable, "-m", "pip", *args])
    reset_plugins()
    if code:
        sys.exit(code)


@click.command()
@click.argument("packages", nargs=-1)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages to the latest version.")
@click.option("-e", "--editable", type=click.Path(exists=True, file_okay=False),
              help="Install a plugin from a local folder in editable mode.")
@click.option("--force-reinstall", is_flag=True)
@click.option("--no-cache-dir", is_flag=True)
def install(packages: tuple[str, ...], upgrade: bool, editable: str | None, force_reinstall: bool,
            no_cache_dir: bool) -> None:
    """Install plugins (PyPI names, folders or wheels) into img2img's own environment."""
    if not packages and not editable:
        raise click.UsageError("name at least one package, or -e FOLDER")
    for package in packages:
        if re.split(r"[\s\[<>=!~;@]", package.strip(), maxsplit=1)[0].lower() == "img2img":
            raise click.UsageError(f"'{package}' on PyPI is an unrelated project, not this img2img (which is "
                                   f"distributed as {DISTRIBUTION}); plugins have names like img2img-someplugin")
    args = ["install"]
    args += ["--upgrade"] if upgrade else []
    args += ["--force-reinstall"] if force_reinstall else []
    args += ["--no-cache-dir"] if no_cache_dir else []
    args += ["--editable", editable] if editable else []
    _pip(args + list(packages))


@click.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def uninstall(packages: tuple[str, ...], yes: bool) -> None:
    """Uninstall plugins from img2img's environment."""
    if any(is_own_distribution(p) for p in packages):
        raise click.UsageError(f"refusing to uninstall img2img itself; use 'pip uninstall {DISTRIBUTION}'")
    _pip(["uninstall", *(["-y"] if yes else []), *packages])
