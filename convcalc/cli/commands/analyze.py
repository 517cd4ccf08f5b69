"""``convcalc analyze``: per-layer shapes, params, MACs, FLOPs, memory and receptive fields of one spec.

The one command that both the Typer app and the fast path of :mod:`convcalc.cli.entry` run; it imports nothing
heavy (no numpy, Typer or Rich).
"""

from __future__ import annotations

from ..common import expand


def analyze(spec: str, format: str = "table", batch: int | None = None, input: str | None = None,
            sets: list[str] | None = None, units: str = "auto", depth: int | None = None,
            columns: str | None = None, allow_unsupported: bool = False, by: str | None = None,
            top: int | None = None, sort: str = "macs", width: int | None = None, wide: bool = False) -> int:
    """Per-layer output shapes, params, MACs, FLOPs, memory and receptive fields."""
    from ...cost.analysis import analyze as analyze_graph
    from ...render.analyze import AnalyzeView, RenderOptions, parse_columns, write_warnings
    from ...render.emitters import emit
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)
    options = RenderOptions(units, depth, parse_columns(columns), columns is not None, by, top, sort,
                            panel=wide or fit is not None)
    report = analyze_graph(expand(spec, batch, input, sets, allow_unsupported))
    emit(AnalyzeView(report, options), format, width=fit)
    write_warnings(report)
    return 0
