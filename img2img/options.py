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
    """One option: its default fixes its type; ``choices`` limits string values and ``minimum`` / ``maximum``
    numbers (inclusive), so a value the model cannot use is refused by name before anything is built.

    ``resumable`` declares whether ``train --resume`` may change the option. Only what cannot change the run's
    mathematics should say True (which files to keep, a compiler switch); the default, False, refuses a new
    value on resume by name, which is always safe."""

    default: Any
    help: str = ""
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    resumable: bool = False

    def parse(self, key: str, text: str, label: str | None = None) -> Any:
        """``text`` as the option's type. Errors start with ``label``, what the user typed (``--set key=text``
        unless given: loss parameters arrive inside ``--loss NAME:key=value``)."""
        where = label or f"--set {key}={text}"
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
            wanted = {int: "not a whole number", float: "not a number"}.get(kind, str(exc))
            raise Img2ImgError(f"{where}: {wanted} (default {self.default!r}: {self.help})") from None
        if self.choices is not None and value not in self.choices:
            raise Img2ImgError(f"{where}: choose one of {', '.join(self.choices)}")
        self.check(key, value, where)
        return value

    def check(self, key: str, value: Any, where: str = "") -> None:
        """Refuse a number outside the option's range; also run on settings read back from a run's config,
        which may have been edited by hand."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (f"from {low:g} to {high:g}" if low is not None and high is not None
                      else f"at least {low:g}" if low is not None else f"at most {high:g}")
            raise Img2ImgError(f"{where or f'--set {key}={value}'}: must be {bounds} ({self.help})")


def parse_settings(pairs: Iterable[str], options: Mapping[str, Option], owner: str,
                   prefix: str = "--set ") -> dict[str, Any]:
    """Turn ``key=value`` strings into typed values, rejecting unknown keys with the list of valid ones.
    Errors quote each pair after ``prefix``, the way the user wrote it (``toy:gauss:`` for a toy distribution)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise Img2ImgError(f"{prefix}{pair!r}: expected key=value, e.g. {prefix}{next(iter(options), 'key')}=...")
        if key not in options:
            valid = ", ".join(f"{k} (default {o.default!r})" for k, o in sorted(options.items()))
            raise Img2ImgError(f"{prefix}{key}: not an option of {owner}; valid keys: {valid}")
        values[key] = options[key].parse(key, text, label=f"{prefix}{key}={text}")
    return values
