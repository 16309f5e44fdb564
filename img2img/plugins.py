"""The one PluginManager: built-in and third-party plugins, loaded through the ``img2img`` entry points.

Built-ins ship in the img2img wheel and load through the same entry-point group as any third-party
distribution. A plugin that fails to import, or whose hook raises, is reported by name on stderr and
left out; everything else keeps working.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from img2img import hookspecs
from img2img.console import report
from img2img.errors import NameClashError, UnknownNameError
from img2img.keras_import import import_keras

PROJECT = "img2img"
ENTRY_POINT_GROUP = "img2img"
# The distribution that ships the core and the built-ins. PyPI's "img2img" is an unrelated project, so ours is
# named apart; the import name, the command and the entry-point group stay "img2img".
DISTRIBUTION = "img2img-gan"
SELECT_ENV = "IMG2IMG_PLUGINS"

T = TypeVar("T")


def _normalise(dist_name: str) -> str:
    return re.sub(r"[-_.]+", "-", dist_name).lower()


def is_own_distribution(dist_name: str) -> bool:
    """Whether ``dist_name`` (as pip or metadata spells it) is img2img's own distribution."""
    return _normalise(dist_name) == DISTRIBUTION


def _fatal(exc: BaseException) -> bool:
    """Only the user's Ctrl-C ends img2img from inside a plugin; a plugin's SystemExit, GeneratorExit or
    other BaseException is that plugin's failure, reported and skipped like an ImportError."""
    return isinstance(exc, KeyboardInterrupt)


@dataclass
class PluginInfo:
    """What ``img2img plugins`` shows about one loaded (or failed) plugin."""

    name: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": self.hooks,
            "error": self.error,
        }


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Registry(Generic[T]):
    """Objects of one kind (models, losses, ...) by name, each remembering the plugin that gave it."""

    def __init__(self, kind: str, hook_name: str, manager: PluginManager, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.hook_name = hook_name
        self._manager = manager
        self._items: dict[str, tuple[T, str]] | None = None
        self._clashes: dict[str, list[str]] = {}

    def _load(self) -> dict[str, tuple[T, str]]:
        if self._items is not None:
            return self._items
        import_keras()  # plugins' hooks import Keras: load it first, without its unused extras
        items: dict[str, tuple[T, str]] = {}
        for plugin_name, impl in self._manager.hook_impls(self.hook_name):

            def register(obj: T, _plugin: str = plugin_name) -> None:
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise TypeError(f"{self.kind} {obj!r} has no string .name")
                if name in items and items[name][1] != _plugin:
                    self._clashes.setdefault(name, [items[name][1]]).append(_plugin)
                    return
                items[name] = (obj, _plugin)

            self._manager.call_isolated(plugin_name, self.hook_name, impl, register=register)
        for name, plugins in self._clashes.items():
            report(f"{self.kind} name clash: {name!r} is registered by plugins {' and '.join(map(repr, plugins))}")
        self._items = items
        return items

    def names(self) -> list[str]:
        return sorted(n for n in self._load() if n not in self._clashes)

    def items(self) -> Iterator[tuple[str, T, str]]:
        """Yield (name, object, plugin name), sorted by name, clashing names left out."""
        items = self._load()
        for name in self.names():
            obj, plugin = items[name]
            yield name, obj, plugin

    def plugin_of(self, name: str) -> str:
        self.get(name)
        return self._load()[name][1]

    def get(self, name: str) -> T:
        items = self._load()
        if name in self._clashes:
            plugins = " and ".join(map(repr, self._clashes[name]))
            raise NameClashError(
                f"{self.kind} {name!r} is registered by both plugins {plugins}; "
                f"uninstall one, or select plugins with {SELECT_ENV}"
            )
        if name not in items:
            valid = (", ".join(self.names()) or "(none installed)") + self._manager.failures()
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid {self.plural}: {valid}")
        return items[name][0]

    def __contains__(self, name: str) -> bool:
        return name in self._load() and name not in self._clashes


class PluginManager:
    """Loads entry points once, isolating failures, and hands out the registries."""

    def __init__(self, select: str | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._select = os.environ.get(SELECT_ENV) if select is None else select
        self._load_entry_points()
        self.models: Registry[Any] = Registry("model", "register_models", self)
        self.losses: Registry[Any] = Registry("loss", "register_losses", self, "losses")
        self.penalties: Registry[Any] = Registry("penalty", "register_penalties", self, "penalties")
        self.datasets: Registry[Any] = Registry("dataset", "register_datasets", self)
        self.text_encoders: Registry[Any] = Registry("text encoder", "register_text_encoders", self)

    def _selected(self, distribution: str) -> bool:
        if is_own_distribution(distribution):
            return True
        if self._select is None:
            return True
        wanted = {_normalise(d) for d in self._select.split(",") if d.strip()}
        return _normalise(distribution) in wanted

    def _load_entry_points(self) -> None:
        seen: set[str] = set()
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            if not self._selected(dist_name) or ep.name in seen:
                continue
            seen.add(ep.name)
            info = PluginInfo(ep.name, dist_name, version, builtin=is_own_distribution(dist_name))
            self.infos[ep.name] = info
            module = None
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
                self._refuse_unknown_hooks(module)
            except BaseException as exc:  # a broken plugin must never break the CLI
                if _fatal(exc):
                    raise
                if module is not None and self.pm.is_registered(module):
                    self.pm.unregister(module)
                info.error = _describe(exc)
                report(f"plugin {ep.name!r} ({dist_name}) failed to load and was skipped: {info.error}")
                continue
            info.hooks = sorted(
                caller.name for caller in self.pm.get_hookcallers(module) or [] if caller.name
            )

    def _refuse_unknown_hooks(self, plugin: object) -> None:
        """What pluggy's check_pending finds, for one plugin: a @hookimpl whose name no hookspec has (a
        misspelled ``register_model``) would otherwise never be called, silently."""
        unknown = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [] if c.spec is None)
        if unknown:
            known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("register_")))
            raise pluggy.PluginValidationError(plugin, f"unknown hook {', '.join(unknown)} (img2img's hooks: {known})")

    def failures(self) -> str:
        """A note for "unknown name" errors when plugins failed to load: the name asked for may be one of theirs.
        img2img's own plugins failing means a broken installation (an editable install pointing at a folder
        that moved, say), which a reinstall fixes."""
        broken = sorted(info.name for info in self.infos.values() if info.error)
        if not broken:
            return ""
        own = all(self.infos[name].builtin for name in broken)
        fix = f"reinstall img2img ({DISTRIBUTION})" if own else "`img2img plugins` says why"
        return f" ({len(broken)} plugin{'s' * (len(broken) > 1)} failed to load: {', '.join(broken)}; {fix})"

    def register(self, plugin: object, name: str) -> None:
        """Register an in-process plugin object (tests, notebooks); clears cached registries."""
        self.pm.register(plugin, name=name)
        self.infos[name] = PluginInfo(name, "(in-process)", "", builtin=False)
        self.infos[name].hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        for registry in (self.models, self.losses, self.penalties, self.datasets, self.text_encoders):
            registry._items = None
            registry._clashes = {}

    def hook_impls(self, hook_name: str) -> list[tuple[str, Any]]:
        """(plugin name, pluggy HookImpl) of every implementation of ``hook_name``, in registration order."""
        caller = getattr(self.pm.hook, hook_name)
        return [(impl.plugin_name, impl) for impl in reversed(caller.get_hookimpls())]

    def call_isolated(self, plugin_name: str, hook_name: str, impl: Any, **kwargs: Any) -> None:
        """Call one plugin's hook by keyword, with the arguments it declares (as pluggy would: an
        implementation may take fewer than the spec names); an exception is reported by plugin name and
        does not spread. Each plugin is called on its own, so one that raises cannot stop the others."""
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except BaseException as exc:
            if _fatal(exc):
                raise
            message = _describe(exc)
            info = self.infos.get(plugin_name)
            if info is not None:
                info.error = info.error or f"{hook_name}: {message}"
            report(f"plugin {plugin_name!r} raised in {hook_name} and was skipped there: {message}")


_manager: PluginManager | None = None


def get_plugins() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        _manager = PluginManager()
    return _manager


def reset_plugins() -> None:
    """Forget the loaded plugins (tests, and after install/uninstall in the same process)."""
    global _manager
    _manager = None
