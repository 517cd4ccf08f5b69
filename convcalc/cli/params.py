"""Typer parameters built from the plain definitions of :mod:`convcalc.cli.options`, and commands built from plain
functions.

A command module defines a function whose keywords are the ``name`` of its definitions and which returns its exit
code; :func:`typer_command` gives Typer a callback with the matching signature (annotations and
``typer.Option``/``typer.Argument`` defaults), passes choices on as plain strings, maps bad input to exit code 2
(:func:`convcalc.cli.common.user_errors`) and a non-zero return to ``typer.Exit``.
"""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Callable, List, Optional

import typer

from .common import user_errors
from .options import Argument, Option
from .usage import click_type


def typer_parameter(definition: Option | Argument, **extra) -> tuple[object, object]:
    """``(annotation, default)`` of the Typer parameter for ``definition``; ``extra`` goes to ``typer.Option``."""
    if isinstance(definition, Argument):
        annotation = List[str] if definition.repeatable else str
        if not definition.required:
            annotation = Optional[annotation]
        default = ... if definition.required else None
        return annotation, typer.Argument(default, metavar=definition.metavar, help=definition.help,
                                          autocompletion=completer(definition.completion))
    keywords = dict(extra)
    for key, value in (("metavar", definition.metavar), ("envvar", definition.envvar),
                       ("autocompletion", completer(definition.completion))):
        if value is not None:
            keywords[key] = value
    flags = definition.flags
    default = definition.default
    if definition.type is bool:
        annotation = bool
        if definition.off_flag:
            flags = (f"{flags[0]}/{definition.off_flag}", *flags[1:])
    else:
        # choices and integers: converted by convcalc's own check, so a bad value reads `error: --batch 0: …`
        checked = click_type(definition)
        if checked is not None:
            keywords["click_type"] = checked
        value_type = str if definition.choices else definition.type
        annotation = List[value_type] if definition.repeatable else value_type
        if default is None:
            annotation = Optional[annotation]
    return annotation, typer.Option(default, *flags, help=definition.help, **keywords)


def completer(name: str | None) -> Callable[..., list] | None:
    """The shell-completion callback named ``name`` in :mod:`convcalc.cli.complete`, imported only when a shell
    asks for completions (never on an ordinary run). It gets the word typed so far and the values parsed before it
    (Click's context: ``--layer`` completes the layers of the SPEC given)."""
    if name is None:
        return None

    def complete(ctx, incomplete: str) -> list:
        from . import complete as completions

        return getattr(completions, name)(incomplete, completions.given(ctx))

    complete.__name__ = f"complete_{name}"
    return complete


def typer_command(function: Callable[..., int | None], definitions: tuple) -> Callable[..., None]:
    """A Typer callback running ``function`` with the values of ``definitions``; its help is the function's
    docstring."""
    parameters = []
    for definition in definitions:
        annotation, default = typer_parameter(definition)
        parameters.append(inspect.Parameter(definition.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                            default=default, annotation=annotation))

    def callback(**values) -> None:
        values = {key: value.value if isinstance(value, Enum) else value for key, value in values.items()}
        with user_errors():
            code = function(**values)
        if code:
            raise typer.Exit(code)

    callback.__name__, callback.__doc__ = function.__name__, function.__doc__
    callback.__signature__ = inspect.Signature(parameters)
    callback.__annotations__ = {p.name: p.annotation for p in parameters}
    callback.command_function = function
    return callback
