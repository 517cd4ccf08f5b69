"""The Typer app: every command, registered in one list. Each command is a plain function in
:mod:`convcalc.cli.commands` that loads, computes, renders and returns its exit code; its parameters come from
:mod:`convcalc.cli.options`.

Exit codes: 0 success; 1 a check failed (verify mismatch, budget exceeded); 2 bad input (spec or options).
The console script is :func:`convcalc.cli.entry.main`, which runs ``convcalc analyze`` without importing this module.
"""

from __future__ import annotations

import typer

from . import options
from .commands import analyze, check, compare, cost, device, explain, import_, rf, schema, sweep, verify, zoo
from .params import typer_command, typer_parameter
from .usage import Group

app = typer.Typer(
    name="convcalc",
    help="Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=Group,  # usage errors read `error: --batch 0: must be ≥ 1 — …` (convcalc.cli.usage)
)

#: (command function, its parameter definitions), in the order of ``convcalc --help``
COMMANDS = (
    (analyze.analyze, options.ANALYZE),
    (check.check, options.CHECK),
    (zoo.zoo, options.ZOO),
    (compare.compare, options.COMPARE),
    (sweep.sweep, options.SWEEP),
    (rf.rf, options.RF),
    (cost.cost, options.COST),
    (device.device, options.DEVICE_COMMAND),
    (explain.explain, options.EXPLAIN),
    (verify.verify, options.VERIFY),
    (import_.import_, options.IMPORT),
    (schema.schema, options.SCHEMA),
)

for function, definitions in COMMANDS:  # `import_` is `convcalc import` (import is a Python keyword)
    app.command(name=function.__name__.rstrip("_"))(typer_command(function, definitions))


def _version(value: bool):
    if value:
        from .. import __version__

        print(f"convcalc {__version__}")
        raise typer.Exit()


def root(version: bool = typer_parameter(options.VERSION, callback=_version, is_eager=True)[1]):
    """Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML."""


app.callback()(root)

if __name__ == "__main__":
    app()
