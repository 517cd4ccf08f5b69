"""The console entry point, with a fast path for the one command people run most.

``convcalc analyze SPEC [options]`` is the hot path: a terminal run, a pre-commit hook, a CI step. Importing
Typer (and the vendored Click it builds on) costs about 60 ms, more than reading, expanding, analysing and
printing ResNet-50 together. So :func:`main` first tries :func:`parse_analyze`, a strict parser that walks the
definitions of ``analyze``'s options (:data:`convcalc.cli.options.ANALYZE`, from which the Typer command is built
too). When it recognises the whole command line it calls :func:`convcalc.cli.commands.analyze.analyze`, the same
function the Typer command calls, and never imports Typer. Anything else — ``--help``, another command, an unknown
or repeated option, a value out of range, an option-like SPEC — returns ``None`` and the Typer app takes over, so
help text and usage errors come from one place (:mod:`convcalc.cli.usage`, in convcalc's ``error: …`` style). ``tests/cli/test_entry.py`` checks, definition by definition,
that the two accept the same command lines and print the same output.

Set ``CONVCALC_NO_FAST_PATH=1`` to always go through Typer.
"""

from __future__ import annotations

import os
import sys

from .options import ANALYZE, Argument, Option, option_value


def _convert(definition: Option, text: str):
    """The value of ``definition`` for ``text``, or None where it is refused: Typer then reports the refusal, with
    the message of the same check (:func:`convcalc.cli.options.option_value`), after settling what a repeated
    option means."""
    from ..errors import SpecError

    try:
        return option_value(definition, text)
    except SpecError:
        return None


def parse_args(definitions: tuple, args: list[str], defaults: dict | None = None) -> dict | None:
    """The keyword arguments for ``definitions`` given ``args``, as Typer would pass them, or None to defer.

    Understood: options that take a value (``--opt VALUE``, ``--opt=VALUE``, a short ``-o VALUE``), strings,
    integers with a minimum, choices, repeatable options, bool flags given once (``--allow-unsupported``), and
    single positional arguments. A bool flag with a negative form (``--chart/--no-chart``) or a repeatable
    argument in ``definitions`` is beyond it: it then always defers. ``defaults`` replaces the definitions'
    defaults by option name (the project file's, :mod:`convcalc.project`), as Click's ``default_map`` does.
    """
    arguments = [d for d in definitions if isinstance(d, Argument)]
    options = [d for d in definitions if isinstance(d, Option)]
    if any(a.repeatable for a in arguments) or any(o.type is bool and o.off_flag for o in options):
        return None
    by_flag = {flag: o for o in options for flag in o.flags}
    defaults = defaults or {}
    values: dict = {d.name: None if isinstance(d, Argument) else defaults.get(d.name, d.default) for d in definitions}
    seen: set[str] = set()
    positional = iter(arguments)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flag, eq, text = arg.partition("=")
            definition = by_flag.get(flag)
            if definition is None or (eq and not flag.startswith("--")):  # Click reads `-f=json` as "=json"
                return None
            if definition.type is bool:  # a flag: no value; given twice or as `--flag=…`, Click decides
                if eq or definition.name in seen:
                    return None
                seen.add(definition.name)
                values[definition.name] = True
                i += 1
                continue
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                text = args[i]
            value = _convert(definition, text)
            if value is None or (definition.name in seen and not definition.repeatable):
                return None  # Typer says what is wrong, or decides what a repeated option means
            seen.add(definition.name)
            if definition.repeatable:
                values[definition.name] = (values[definition.name] or []) + [value]
            else:
                values[definition.name] = value
        else:
            argument = next(positional, None)
            if argument is None:
                return None
            values[argument.name] = arg
        i += 1
    if any(a.required and values[a.name] is None for a in arguments):
        return None
    return values


def parse_analyze(args: list[str]) -> dict | None:
    """The keyword arguments of ``analyze`` for ``convcalc analyze ARGS``, with the project's defaults, or None to
    defer to Typer (which also reports a bad project file)."""
    from ..errors import SpecError
    from ..project import defaults

    try:
        project = defaults().option_defaults()
    except SpecError:
        return None
    return parse_args(ANALYZE, args, project)


def main() -> None:
    """Console-script entry point (also ``python -m convcalc``)."""
    import gc

    # One short-lived run, whose objects are freed by reference counting. The cyclic collector would otherwise
    # sweep every live spec node, mark and report again and again (a third of the time on a 10,000-layer spec).
    gc.disable()
    args = sys.argv[1:]
    if args and args[0] == "analyze" and not os.environ.get("CONVCALC_NO_FAST_PATH"):
        parsed = parse_analyze(args[1:])
        if parsed is not None:
            from ..errors import SpecError
            from .commands.analyze import analyze

            try:
                code = analyze(**parsed)
                sys.stdout.flush()
            except SpecError as err:
                from .common import report_error

                report_error(err)
                sys.exit(2)
            except BrokenPipeError:  # `convcalc analyze net.yaml | head`
                sys.stderr.close()
                sys.exit(0)
            # Done: skip the interpreter's teardown, which frees every spec node, layer and report object one by
            # one (~0.07 s for a 10,000-layer spec). Nothing is left to flush or clean up.
            sys.stderr.flush()
            os._exit(code)
    from .app import app

    app()
