"""The Typer app: every command, registered in one list. Each command is a plain function in
:mod:`convcalc.cli.commands` that loads, computes, renders and returns its exit code; its parameters come from
:mod:`convcalc.cli.options`.

Exit codes: 0 success; 1 a check failed (verify mismatch, budget exceeded); 2 bad input (spec or options).
The console script is :func:`convcalc.cli.entry.main`, which runs ``convcalc analyze`` without importing this module.
"""

from __future__ import annotations

import typer

from . import options
from .commands import analyze, check, compare, cost, device, explain, import_, report, rf, schema, sweep, verify, zoo
from .common import user_errors
from .params import typer_command, typer_parameter
from .usage import Group

app = typer.Typer(
    name="convcalc",
    help="Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML.",
    add_completion=True,  # --install-completion, --show-completion (convcalc/cli/complete.py)
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
    (report.report, options.REPORT),
    (device.device, options.DEVICE_COMMAND),
    (explain.explain, options.EXPLAIN),
    (verify.verify, options.VERIFY),
    (import_.import_, options.IMPORT),
    (schema.schema, options.SCHEMA),
)


def summary(function) -> str:
    """A command's line in ``convcalc --help``: the first paragraph of its docstring, one short sentence, given to
    Click whole (Click would otherwise cut it at about 45 characters, mid-sentence)."""
    return " ".join(function.__doc__.split("\n\n")[0].split())


for function, definitions in COMMANDS:  # `import_` is `convcalc import` (import is a Python keyword)
    app.command(name=function.__name__.rstrip("_"), short_help=summary(function))(
        typer_command(function, definitions))


def _version(value: bool):
    if value:
        from .. import __version__

        print(f"convcalc {__version__}")
        raise typer.Exit()


def root(ctx: typer.Context,
         version: bool = typer_parameter(options.VERSION, callback=_version, is_eager=True)[1]):
    """Exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML."""
    ctx.default_map = {**project_defaults(), **(ctx.default_map or {})}


def project_defaults() -> dict:
    """Click's ``default_map`` of the project file (:mod:`convcalc.project`): each command's options that it
    sets a default for (``units``, ``width``, ``budgets``); a bad project file is an error (exit code 2)."""
    from ..project import defaults

    with user_errors():
        values = defaults().option_defaults()
    return {function.__name__.rstrip("_"): {d.name: values[d.name] for d in definitions if d.name in values}
            for function, definitions in COMMANDS if any(d.name in values for d in definitions)}


app.callback()(root)

if __name__ == "__main__":
    app()
