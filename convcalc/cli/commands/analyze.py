"""``convcalc analyze``: per-layer shapes, params, MACs, FLOPs, memory and receptive fields of one spec.

The one command that both the Typer app and the fast path of :mod:`convcalc.cli.entry` run; it imports nothing
heavy (no numpy, Typer or Rich).
"""

from __future__ import annotations

from ..common import expand


def analyze(spec: str, format: str = "table", batch: int | None = None, input: str | None = None,
            sets: list[str] | None = None, units: str = "auto", depth: int | None = None,
            columns: str | None = None, allow_unsupported: bool = False, plot: str | None = None,
            by: str | None = None, top: int | None = None, sort: str = "macs", width: int | None = None,
            wide: bool = False, convention: str = "torchvision", with_bugs: bool = False) -> int:
    """Per-layer shapes, params, MACs, FLOPs, memory and RF.

    Every layer's output shape, params, MACs, FLOPs, activation memory and receptive field, and the totals.

    \b
    Examples:
      convcalc analyze resnet50
      convcalc analyze net.yaml --input 3x160x160 --batch 8
      convcalc analyze mobilenet_v2 --set alpha=0.5 --format json
      convcalc analyze resnet50 --depth 1 --units M
      convcalc analyze resnet50 --columns name,shape,macs --format csv
      convcalc analyze resnet50 --by stage
      convcalc analyze resnet50 --top 10 --sort params
      convcalc analyze resnet50 --width 80
      convcalc analyze resnet50 --plot macs.svg
    """
    from ...cost.analysis import analyze as analyze_graph
    from ...cost.peers import under_convention
    from ...render.analyze import AnalyzeView, RenderOptions, parse_columns, write_warnings
    from ...render.emitters import emit
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)
    options = RenderOptions(units, depth, parse_columns(columns), columns is not None, by, top, sort,
                            panel=wide or fit is not None)
    if plot is not None:  # before any work: the file type, matplotlib for PNG/PDF, a writable folder
        from ...render.charts import check_plot_target

        check_plot_target(plot)
    graph = expand(spec, batch, input, sets, allow_unsupported)
    # the analysis keeps its layer objects here (as for Network.expanded): the peers' counts and footer reuse them,
    # and the geometry each derived for its shape, instead of making every layer again (convcalc/cost/peers.py)
    graph._layers = []
    analysed = analyze_graph(graph)
    report = under_convention(analysed, graph, convention, with_bugs)
    emit(AnalyzeView(report, options, peers=(analysed, graph)), format, width=fit)
    write_warnings(report)
    if plot is not None:
        from ...render.charts import write_plot
        from ...render.figures import layer_chart

        write_plot(layer_chart(report), plot)
    return 0
