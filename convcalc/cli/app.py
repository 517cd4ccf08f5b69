"""The command line: thin commands over the library. Each loads, computes, renders and exits.

Exit codes: 0 success; 1 a check failed (verify mismatch, budget exceeded); 2 bad input (spec or options).
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from typing import List, Optional

import typer

from .entry import FORMATS, UNITS, expand, overrides, report_error, run_analyze  # noqa: F401 (commands import them)
from ..errors import SpecError

app = typer.Typer(
    name="convcalc",
    help="Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


Format = Enum("Format", {name: name for name in FORMATS}, type=str)
Units = Enum("Units", {name: name for name in UNITS}, type=str)


@contextmanager
def user_errors():
    """Bad input → ``FILE:LINE:COL: message — hint`` on stderr and exit code 2, never a traceback."""
    try:
        yield
    except SpecError as err:
        report_error(err)
        raise typer.Exit(2) from None


def _no_color() -> bool:
    import os

    return bool(os.environ.get("NO_COLOR"))


def _version(value: bool):
    if value:
        from .. import __version__

        print(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit.")):
    """Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML."""


SPEC_ARG = typer.Argument(..., metavar="SPEC", help="A spec file, or the name of a shipped config (see `convcalc zoo`).")
BATCH_OPT = typer.Option(None, "--batch", min=1, metavar="N", help="Batch size (overrides the spec's `batch`).")
INPUT_OPT = typer.Option(None, "--input", metavar="CxHxW", help="Input shape without batch, e.g. 3x160x160.")
SET_OPT = typer.Option(None, "--set", metavar="NAME=VALUE", help="Override a var: NAME=VALUE (repeatable).")


@app.command()
def analyze(
    spec: str = SPEC_ARG,
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    batch: Optional[int] = BATCH_OPT,
    input: Optional[str] = INPUT_OPT,
    set: Optional[List[str]] = SET_OPT,
    units: Units = typer.Option(Units.auto, "--units", help="auto (human), raw (exact), or fixed K/M/G."),
    depth: Optional[int] = typer.Option(None, "--depth", min=0, metavar="N", help="Collapse blocks nested deeper than N."),
    columns: Optional[str] = typer.Option(None, "--columns", metavar="NAME,...",
                                          help="Comma-separated columns of the table, Markdown and CSV "
                                               "(JSON keeps every field)."),
):
    """Per-layer output shapes, params, MACs, FLOPs, memory and receptive fields."""
    with user_errors():
        run_analyze(spec, format.value, batch, input, set, units.value, depth, columns)


def _load_commands() -> None:
    import importlib

    from .commands import MODULES

    for module in MODULES:
        importlib.import_module(f"convcalc.cli.commands.{module}")


_load_commands()


def main() -> None:
    """Console-script entry point; see :mod:`convcalc.entry` (its fast path skips importing this module)."""
    from .entry import main as entry_main

    entry_main()


if __name__ == "__main__":
    main()
