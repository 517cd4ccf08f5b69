"""The charts of a report, a comparison and a sweep, as :class:`~convcalc.render.charts.Chart` data: what the HTML
report embeds and what ``--plot FILE`` writes (the first chart of each command is its main one)."""

from __future__ import annotations

from .charts import BAR, LINE, SCATTER, Chart, Series


def layer_chart(report, key: str = "macs") -> Chart:
    """One bar per layer: its MACs (or params)."""
    what = {"macs": "MACs", "params": "Params"}[key]
    return Chart(BAR, f"{report.name}: {what} per layer", "layer (in order)", what,
                 [layer.name for layer in report.layers],
                 [Series(what, [getattr(layer, key) for layer in report.layers])])


def stage_chart(name: str, stages, key: str = "macs") -> Chart:
    """One bar per stage (:class:`convcalc.overview.StageTotals`)."""
    what = {"macs": "MACs", "params": "Params"}[key]
    return Chart(BAR, f"{name}: {what} per stage", "stage", what, [s.name for s in stages],
                 [Series(what, [getattr(s, key) for s in stages])])


def rf_chart(report) -> Chart:
    """The theoretical RF size of each layer against its depth (its position in the network), one line per axis
    (one line when every axis grows alike). Layers without spatial axes (after a flatten) are left out."""
    rows = [(i + 1, layer) for i, layer in enumerate(report.layers) if layer.rf.size]
    axes = max((len(layer.rf.size) for _, layer in rows), default=0)
    same = all(len(set(layer.rf.size)) == 1 for _, layer in rows)
    series = [Series("RF" if same else f"axis {a}", [layer.rf.size[min(a, len(layer.rf.size) - 1)]
                                                     for _, layer in rows], [i for i, _ in rows])
              for a in range(1 if same else axes)]
    return Chart(LINE, f"{report.name}: receptive field by depth", "layer depth", "RF size (input pixels)",
                 [layer.name for _, layer in rows], series, unit="raw")


def comparison_chart(comparison, key: str = "macs") -> Chart:
    """MACs (or params) per stage, one bar per network, in the comparison's merged stage order."""
    what = {"macs": "MACs", "params": "Params"}[key]
    series = [Series(label, [getattr(line.entries[i], key) if line.entries[i] is not None else 0
                             for line in comparison.stages])
              for i, label in enumerate(comparison.labels)]
    return Chart(BAR, f"{what} per stage: " + " vs ".join(comparison.labels), "stage", what,
                 [line.key for line in comparison.stages], series)


def sweep_chart(sweep) -> Chart:
    """Every point of the sweep: MACs against params, labelled with its var values."""
    labels = [", ".join(f"{k}={v}" for k, v in p.values.items()) for p in sweep.points]
    return Chart(SCATTER, f"{sweep.name}: MACs against params over the sweep", "params", "MACs", labels,
                 [Series("points", [p.macs for p in sweep.points], [p.params for p in sweep.points])])
