"""``convcalc analyze``: per-layer shapes, params, MACs, FLOPs, memory and receptive fields of one spec.

The one command that both the Typer app and the fast path of :mod:`convcalc.cli.entry` run; it imports nothing
heavy (no numpy, Typer or Rich).
"""

from __future__ import annotations

from ..common import expand


def analyze(spec: str, format: str = "table", batch: int | None = None, input: str | None = None,
            sets: list[str] | None = None, units: str = "auto", depth: int | None = None,
            columns: str | None = None, allow_unsupported: bool = False, convention: str = "torchvision",
            with_bugs: bool = False) -> int:
    """Per-layer output shapes, params, MACs, FLOPs, memory and receptive fields."""
    from ...cost.analysis import analyze as analyze_graph
    from ...cost.peers import under_convention
    from ...render.analyze import AnalyzeView, RenderOptions, parse_columns, write_warnings
    from ...render.emitters import emit

    options = RenderOptions(units, depth, parse_columns(columns), columns is not None)
    graph = expand(spec, batch, input, sets, allow_unsupported)
    analysed = analyze_graph(graph)
    report = under_convention(analysed, graph, convention, with_bugs)
    emit(AnalyzeView(report, options, peers=(analysed, graph)), format)
    write_warnings(report)
    return 0
