"""Command-line usage errors in convcalc's one style: ``error: --batch 0: must be ≥ 1 — write e.g. --batch 1``,
on stderr, exit code 2 — never Click's ``Usage: … Error: …`` block.

Two pieces, both used by the Typer app (:mod:`convcalc.cli.app`, :mod:`convcalc.cli.params`):

* :func:`click_type` gives every option with choices or an integer value a Click type whose ``convert`` is
  :func:`convcalc.cli.options.option_value`, the check the fast ``analyze`` parser runs too, so a bad value reads
  the same on both paths. The types stay a :class:`Choice` / :class:`IntRange`, so ``--help`` still lists the
  choices.
* :class:`Group`, the app's command group, rewords every other usage error Click raises while parsing (a missing
  argument, an unknown option or command, an option without its value, an extra argument) from the exception's
  fields, with the option or argument named and hostile text shortened.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from typer.core import TyperArgument, TyperGroup

try:  # Typer 0.2x vendors Click (no separate `click` package) and has its own Choice type
    from typer._click import exceptions as click
    from typer._click.types import IntRange
    from typer._types import TyperChoice as Choice
except ImportError:  # older Typer builds on Click itself
    import click
    from click import Choice, IntRange

from ..errors import SpecError, did_you_mean, shorten
from .common import report_error
from .options import Option, option_value


class _Checked:
    """Converts with :func:`option_value`; a refusal is a :class:`OptionValueError` carrying its message."""

    definition: Option

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # a default, already a value
            return value
        try:
            return option_value(self.definition, value)
        except SpecError as err:
            raise OptionValueError(err, ctx=ctx, param=param) from None


class ChoiceType(_Checked, Choice):
    def __init__(self, definition: Option):
        super().__init__(definition.choices)
        self.definition = definition


class WholeNumberType(_Checked, IntRange):
    def __init__(self, definition: Option):
        super().__init__(min=definition.minimum)
        self.definition = definition


def click_type(definition: Option):
    """The Click type of ``definition``, or None for a plain text or bool option (Typer's own then)."""
    if definition.choices is not None:
        return ChoiceType(definition)
    if definition.type is int:
        return WholeNumberType(definition)
    return None


class OptionValueError(click.BadParameter):
    """A value :func:`option_value` refused, with convcalc's message."""

    def __init__(self, error: SpecError, ctx=None, param=None):
        super().__init__(str(error), ctx=ctx, param=param)
        self.error = error


class UsageError(click.ClickException):
    """A usage error, reworded: Click shows it by :meth:`show`, which prints ``error: …``; exit code 2."""

    exit_code = 2

    def __init__(self, error: SpecError):
        super().__init__(str(error))
        self.error = error

    def show(self, file=None) -> None:
        report_error(self.error)


def _help(ctx) -> str:
    path = ctx.command_path if ctx is not None else "convcalc"
    return f"see `{path} --help`"


def _flag(param) -> str:
    """``--batch`` or ``SPEC``: how the command line names ``param``."""
    if isinstance(param, TyperArgument):
        return param.human_readable_name.rstrip(".")  # `SPEC...` of a repeatable argument
    return max(param.opts, key=len) if param.opts else param.name


def reword(exc: click.UsageError) -> SpecError:
    """convcalc's message for a usage error Click raised, built from the exception's fields, never its repr."""
    if isinstance(exc, OptionValueError):
        return exc.error
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        name = _flag(exc.param)
        if isinstance(exc.param, TyperArgument):
            return SpecError(f"missing {name}", None, f"give it after the command; {_help(ctx)}")
        return SpecError(f"{name} is required", None, _help(ctx))
    if isinstance(exc, click.NoSuchOption):
        close = [p for p in exc.possibilities or [] if len(exc.option_name) <= 200]
        hint = (f"did you mean {' or '.join(f'`{p}`' for p in sorted(close)[:3])}?" if close else _help(ctx))
        return SpecError(f"{shorten(exc.option_name)}: no such option", None, hint)
    if isinstance(exc, click.BadOptionUsage):
        option = shorten(exc.option_name)
        if "requires an argument" in exc.message:
            return SpecError(f"{option}: needs a value", None, f"write `{option} VALUE`")
        if "does not take a value" in exc.message:
            return SpecError(f"{option}: takes no value (a flag)", None, f"write just `{option}`")
        return SpecError(f"{option}: {_plain(exc.message)}", None, _help(ctx))
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        return SpecError(f"{_flag(exc.param)}: {_plain(exc.message)}", None, _help(ctx))
    message = exc.format_message()
    command = re.match(r"No such command '(.*)'\.", message, re.S)
    if command:
        names = list(getattr(getattr(ctx, "command", None), "commands", None) or {})
        word = command.group(1).partition("'.")[0]
        return SpecError(f"no such command `{shorten(word)}`", None, did_you_mean(word, names))
    extra = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", message, re.S)
    if extra:
        return SpecError(f"unexpected extra argument `{shorten(extra.group(1))}`", None,
                         f"give one value per argument; {_help(ctx)}")
    return SpecError(_plain(message), None, _help(ctx))


def _plain(message: str) -> str:
    """Click's sentence without its final full stop, shortened (it may echo the user's text)."""
    return shorten(message.rstrip("."), 200)


@contextmanager
def _reworded():
    try:
        yield
    except click.NoArgsIsHelpError:  # `convcalc` alone: Click shows the help
        raise
    except click.UsageError as exc:
        raise UsageError(reword(exc)) from None


class Group(TyperGroup):
    """The app's group: every usage error raised while parsing the root's or a command's line leaves as a
    :class:`UsageError` (``error: …``, exit 2)."""

    def make_context(self, *args, **kwargs):
        with _reworded():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _reworded():
            return super().invoke(ctx)
