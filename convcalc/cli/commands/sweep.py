"""``convcalc sweep``: analyse a spec over the Cartesian product of var values (width, resolution, depth …)."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..app import BATCH_OPT, SPEC_ARG, Format, Units, app, user_errors


@app.command()
def sweep(
    spec: str = SPEC_ARG,
    set: Optional[List[str]] = typer.Option(None, "--set", help="NAME=v1,v2,… (repeatable): the values to sweep; "
                                                                  "a single value just overrides the var."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    batch: Optional[int] = BATCH_OPT,
    units: Units = typer.Option(Units.auto, "--units", help="auto (human), raw (exact), or fixed K/M/G."),
    chart: bool = typer.Option(True, "--chart/--no-chart", help="Draw MACs against params (table format)."),
):
    """Params, MACs and FLOPs over a grid of var values, e.g. --set alpha=0.25,0.5,0.75,1.0 --set resolution=128,224.

    \b
    Lists multiply out (Cartesian product). The table shows every point, a pivot of MACs and params when two
    vars are swept, a scatter of MACs against params and how each count scales with each var.
    """
    with user_errors():
        from ...compare.sweep import parse_sweep_sets, sweep as run_sweep
        from ...errors import SpecError
        from ...render.compare import render_sweep

        axes, fixed = parse_sweep_sets(set or [])
        if not axes:
            raise SpecError("nothing to sweep", None, "give at least one var with two or more values: "
                                                      "--set alpha=0.5,1.0")
        result = run_sweep(spec, axes, fixed, batch)
        render_sweep(result, format.value, units.value, chart, sys.stdout)
