"""Pretrained generators shipped in the wheel (the top-level ``models/`` folder, installed as
``img2img_models``), so ``img2img translate photos/`` works before anything is trained.

Each shipped model is a run directory without checkpoints: ``config.json`` (architecture included), the
exported ``NAME.keras`` networks and a ``MODEL_CARD.md`` saying what it was trained on, how, and what it
scored. ``index.json`` lists them and names the default. A ``--model`` value that is an existing folder
always means that folder, so a run named like a shipped model is never shadowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from img2img.errors import Img2ImgError

PACKAGE = "img2img_models"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    description: str
    path: Path
    default: bool
    purpose: str = "that kind of image"  # what it is made for, as "made for ..." reads


def _root() -> Path | None:
    try:
        return Path(str(resources.files(PACKAGE)))
    except ModuleNotFoundError:
        return None


def _index() -> dict[str, Any]:
    root = _root()
    if root is None or not (root / "index.json").is_file():
        return {"default": None, "models": {}}
    return json.loads((root / "index.json").read_text(encoding="utf-8"))


def shipped_models() -> list[ShippedModel]:
    """The shipped models whose files are present, default first."""
    root = _root()
    index = _index()
    found = [ShippedModel(name, str(entry.get("description", "")), root / name, name == index.get("default"),
                          str(entry.get("for") or ShippedModel.purpose))
             for name, entry in index.get("models", {}).items()
             if root is not None and (root / name / "config.json").is_file()]
    return sorted(found, key=lambda m: (not m.default, m.name))


def shipped_model_at(path: Path) -> ShippedModel | None:
    """The shipped model that ``path`` is, if it is one."""
    resolved = Path(path).resolve()
    return next((m for m in shipped_models() if m.path.resolve() == resolved), None)


def announce_shipped(folder: Path, given: bool) -> str | None:
    """What to tell a user whose translate runs a shipped model: which, what for, and how to choose
    another, so no one runs the line-art default over photographs without a word. None for their own runs."""
    model = shipped_model_at(folder)
    if model is None:
        return None
    others = "".join(f"; for {m.purpose} pass --model {m.name}" for m in shipped_models() if m.name != model.name)
    lead = f"Using the shipped default model {model.name!r}, since no --model was given" if not given \
        else f"Using the shipped model {model.name!r}"
    return (f"{lead}: {model.description}. It is made for {model.purpose}{others}; for other images pass "
            "--model RUN, a run you trained ('img2img models' lists the shipped ones)")


def resolve_model(given: Path | None, option: str = "--model") -> Path:
    """The folder a ``--model`` value names: an existing folder, else a shipped model's name; none given
    means the shipped default."""
    shipped = {m.name: m for m in shipped_models()}
    if given is None:
        default = next((m for m in shipped.values() if m.default), None)
        if default is None:
            raise Img2ImgError(f"{option} is needed: no default model is installed with img2img; pass a run "
                               "directory from 'img2img train'")
        return default.path
    if Path(given).expanduser().exists():
        return Path(given).expanduser()
    if str(given) in shipped:
        return shipped[str(given)].path
    names = ", ".join(shipped) or "none"
    raise Img2ImgError(f"{option} {given}: no such run directory, and not a shipped model (shipped: {names}; "
                       "'img2img models' lists them)")
