"""The console entry point, with a fast path for the one command people run most.

``convcalc analyze SPEC [options]`` is the hot path: a terminal run, a pre-commit hook, a CI step. Importing
Typer (and the vendored Click it builds on) costs about 60 ms, more than reading, expanding, analysing and
printing ResNet-50 together. So :func:`main` first tries :func:`parse_analyze`, a strict parser for exactly the
options of ``convcalc.cli.analyze``. When it recognises the whole command line it runs :func:`run_analyze`, the
same function the Typer command calls, and never imports Typer. Anything else — ``--help``, another command, an
unknown or repeated option, a value out of range, an option-like SPEC — returns ``None`` and the Typer app takes
over, so help text and usage errors come from one place. ``tests/test_entry.py`` checks that the two parsers agree
(same option names and choices, same output) so they cannot drift apart.

Set ``CONVCALC_NO_FAST_PATH=1`` to always go through Typer.
"""

from __future__ import annotations

import os
import sys

FORMATS = ("table", "json", "csv", "markdown")
UNITS = ("auto", "raw", "K", "M", "G")

# option → (keyword, converter); the converter returns None for a value the fast path will not accept
_INT_MIN = {"batch": 1, "depth": 0}


def _int_at_least(name):
    def convert(text):
        try:
            value = int(text, 10)
        except ValueError:
            return None
        return value if value >= _INT_MIN[name] else None
    return convert


def _choice(choices):
    return lambda text: text if text in choices else None


OPTIONS = {
    "--format": ("format", _choice(FORMATS)),
    "-f": ("format", _choice(FORMATS)),
    "--batch": ("batch", _int_at_least("batch")),
    "--input": ("input", str),
    "--set": ("sets", str),
    "--units": ("units", _choice(UNITS)),
    "--depth": ("depth", _int_at_least("depth")),
    "--columns": ("columns", str),
}
REPEATABLE = {"sets"}


def parse_analyze(args: list[str]) -> dict | None:
    """The keyword arguments of :func:`run_analyze` for ``convcalc analyze ARGS``, or None to defer to Typer."""
    values: dict = {"spec": None, "format": "table", "batch": None, "input": None, "sets": [], "units": "auto",
                    "depth": None, "columns": None}
    seen = set()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if name not in OPTIONS or (name == "-f" and eq):
                return None
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            key, convert = OPTIONS[name]
            converted = convert(value)
            if converted is None or (key in seen and key not in REPEATABLE):
                return None  # Typer says what is wrong, or decides what a repeated option means
            seen.add(key)
            if key in REPEATABLE:
                values[key].append(converted)
            else:
                values[key] = converted
        elif values["spec"] is None:
            values["spec"] = arg
        else:
            return None
        i += 1
    return values if values["spec"] is not None else None


def run_analyze(spec: str, format: str = "table", batch: int | None = None, input: str | None = None,
                sets: list[str] | None = None, units: str = "auto", depth: int | None = None,
                columns: str | None = None) -> None:
    """``convcalc analyze``: load, expand, analyse, render. Raises SpecError on bad input."""
    from ..cost.analysis import analyze
    from ..render import RenderOptions, parse_columns, render

    options = RenderOptions(units, depth, parse_columns(columns), columns is not None)
    render(analyze(expand(spec, batch, input, sets)), format, options)


def overrides(values: list[str] | None) -> dict:
    """``--set NAME=VALUE`` options as a dict of var overrides."""
    from ..spec.loader import parse_override

    return dict(parse_override(v) for v in values or [])


def expand(spec: str, batch: int | None, input_shape: str | None, sets: list[str] | None):
    """Load and expand a spec with the common options (--batch, --input, --set)."""
    from ..spec.loader import load, parse_input_override

    network = load(spec)
    shape = parse_input_override(input_shape) if input_shape is not None else None
    return network.expand(overrides(sets), input_shape=shape, batch=batch)


def report_error(err) -> None:
    """``error: FILE:LINE:COL: message — hint`` on stderr, red on a colour terminal."""
    red = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    print(f"\x1b[31merror:\x1b[0m {err}" if red else f"error: {err}", file=sys.stderr)


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

            try:
                run_analyze(**parsed)
                sys.stdout.flush()
            except SpecError as err:
                report_error(err)
                sys.exit(2)
            except BrokenPipeError:  # `convcalc analyze net.yaml | head`
                sys.stderr.close()
                sys.exit(0)
            # Done: skip the interpreter's teardown, which frees every spec node, layer and report object one by
            # one (~0.07 s for a 10,000-layer spec). Nothing is left to flush or clean up.
            sys.stderr.flush()
            os._exit(0)
    from .app import app

    app()
