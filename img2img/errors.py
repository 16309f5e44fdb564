"""Errors that reach the user as one clear line, never as a traceback."""

from __future__ import annotations


class Img2ImgError(Exception):
    """A problem the user can fix: the message names the file or option and what to do."""


class UnknownNameError(Img2ImgError):
    """A name that no installed plugin registered; the message lists the valid names."""


class NameClashError(Img2ImgError):
    """Two plugins registered the same name; the message names both."""


class TrainingDiverged(Img2ImgError):
    """Training produced a non-finite value and stopped, keeping the last good checkpoint."""
