"""``convcalc report``: everything the HTML report shows about one or more networks, as plain data (rendered by
:mod:`convcalc.render.html`).

Per network: the analysis report, its roll-up by stage (the top-level block instance of each layer,
:func:`convcalc.cost.rollup.stage_name`: the spec's ``stage:``, else torchvision's ``layer1`` … ``layer4``), the analytic ERF of the
default unit (or why there is none), the convolution algorithms of ``convcalc cost`` and, with a device, the
roofline of ``convcalc cost --device``. With two or more networks, their comparison (``convcalc compare``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SpecError


@dataclass
class StageTotals:
    """One stage: its name, how many layers, and their summed counts (exact ints)."""

    name: str
    layers: int = 0
    params: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0


@dataclass
class Overview:
    report: object
    stages: list[StageTotals]
    #: the analytic ERF (:class:`convcalc.erf.stats.ERF`), or None with the reason in ``erf_note``
    erf: object = None
    erf_note: str = ""
    #: layer name → the conv algorithms of that layer (:class:`convcalc.cost.algorithms.ConvAlgorithms`)
    algorithms: dict = field(default_factory=dict)
    #: with a device: layer name → its :class:`convcalc.cost.roofline.RooflineLayer`, and the whole report
    roofline: dict = field(default_factory=dict)
    roofline_report: object = None


def stage_totals(report) -> list[StageTotals]:
    """The layers rolled up by stage, in order of first appearance."""
    from .cost.rollup import stage_name

    stages: dict[str, StageTotals] = {}
    for layer in report.layers:
        name = stage_name(layer)
        stage = stages.get(name)
        if stage is None:
            stage = stages[name] = StageTotals(name)
        stage.layers += 1
        stage.params += layer.params
        stage.macs += layer.macs
        stage.flops += layer.flops
        stage.activation_bytes += layer.activation_bytes
    return list(stages.values())


def overview(graph, device=None, dtype: str | None = None, fuse: str = "none") -> Overview:
    """One network's overview; ``device`` a :class:`convcalc.cost.devices.Device` (or None)."""
    from .cost.algorithms import algorithms
    from .cost.analysis import analyze
    from .erf.analytic import analytic_erf

    report = analyze(graph)
    result = Overview(report, stage_totals(report))
    try:
        result.erf = analytic_erf(graph, report)
    except SpecError as err:  # no spatial layer, a kind with no ERF rule, too much work: say so in the report
        result.erf_note = f"{err.message} — {err.hint}" if err.hint else err.message
    for conv in algorithms(graph, report).convs:
        result.algorithms.setdefault(conv.layer, []).append(conv)
    if device is not None:
        from .cost.roofline import roofline

        result.roofline_report = roofline(graph, device, dtype, fuse, report)
        result.roofline = {layer.name: layer for layer in result.roofline_report.layers}
    return result


def overviews(graphs: list, device=None, dtype: str | None = None, fuse: str = "none"):
    """(the overview of every graph, their comparison when there are two or more, else None)."""
    from .compare.networks import compare_reports, unique_labels

    found = [overview(graph, device, dtype, fuse) for graph in graphs]
    if len(found) < 2:
        return found, None
    reports = [o.report for o in found]
    comparison = compare_reports(reports, unique_labels([r.name for r in reports]))
    if device is not None:
        comparison.roofline = [o.roofline_report.totals() for o in found]
        comparison.device = device.name
    return found, comparison
