"""How every img2img command meets its user's mistakes: one ``Error:`` line and exit status 1, never a
traceback; Ctrl-C and SIGTERM stop it cleanly (130 and 143)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from img2img.errors import Img2ImgError
from img2img.termination import EXIT_STATUS as TERMINATED_STATUS
from img2img.termination import Terminated, sigterm_as_interrupt

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Problems the user can fix become one 'Error: ...' line and exit status 1, never a traceback. SIGTERM
    stops a command the way Ctrl-C does (a training run saves its step), with exit status 143."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with sigterm_as_interrupt():
                return func(*args, **kwargs)
        except Img2ImgError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # the machine's answer (a full disk, a permission): one line naming the file
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except Terminated:
            click.echo("Terminated.", err=True)
            sys.exit(TERMINATED_STATUS)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def echo_err(message: str) -> None:
    click.echo(message, err=True)
