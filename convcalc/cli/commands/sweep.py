"""``convcalc sweep``: analyse a spec over the Cartesian product of var values (width, resolution, depth …).
Rendered by :mod:`convcalc.render.sweep`."""

from __future__ import annotations


def sweep(spec: str, sets: list[str] | None = None, format: str = "table", batch: int | None = None,
          units: str = "auto", chart: bool = True) -> int:
    """Params, MACs and FLOPs over a grid of var values, e.g. --set alpha=0.25,0.5,0.75,1.0 --set resolution=128,224.

    \b
    Lists multiply out (Cartesian product). The table shows every point, a pivot of MACs and params when two
    vars are swept, a scatter of MACs against params and how each count scales with each var.
    """
    from ...compare.sweep import parse_sweep_sets, sweep as run_sweep
    from ...errors import SpecError
    from ...render.emitters import emit
    from ...render.sweep import SweepView

    axes, fixed = parse_sweep_sets(sets or [])
    if not axes:
        raise SpecError("nothing to sweep", None, "give at least one var with two or more values: "
                                                  "--set alpha=0.5,1.0")
    emit(SweepView(run_sweep(spec, axes, fixed, batch), units, chart), format)
    return 0
