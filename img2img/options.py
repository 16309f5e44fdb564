"""Typed ``--set key=value`` options that models (and the trainer) declare with their defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from img2img.errors import Img2ImgError

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class Option:
    """One option: its default fixes its type; ``choices`` limits string values."""

    default: Any
    help: str = ""
    choices: tuple[str, ...] | None = None

    def parse(self, key: str, text: str) -> Any:
        kind = type(self.default)
        try:
            if kind is bool:
                low = text.strip().lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError("expected true or false")
                value: Any = low in _TRUE
            elif kind is int:
                value = int(text)
            elif kind is float:
                value = float(text)
            else:
                value = text
        except ValueError as exc:
            raise Img2ImgError(f"--set {key}={text}: {exc} (a {kind.__name__}, default {self.default!r})") from None
        if self.choices is not None and value not in self.choices:
            raise Img2ImgError(f"--set {key}={text}: choose one of {', '.join(self.choices)}")
        return value


def parse_settings(pairs: Iterable[str], options: Mapping[str, Option], owner: str) -> dict[str, Any]:
    """Turn ``key=value`` strings into typed values, rejecting unknown keys with the list of valid ones."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise Img2ImgError(f"--set {pair!r}: expected key=value, e.g. --set {next(iter(options), 'key')}=...")
        if key not in options:
            valid = ", ".join(f"{k} (default {o.default!r})" for k, o in sorted(options.items()))
            raise Img2ImgError(f"--set {key}: not an option of {owner}; valid keys: {valid}")
        values[key] = options[key].parse(key, text)
    return values
