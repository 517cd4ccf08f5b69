"""Networks side by side: totals, per-stage and per-layer diffs of two or more specs against the first.

Logic only: every number comes from :func:`convcalc.cost.analysis.analyze`; the results are plain dataclasses that
:mod:`convcalc.render.compare` turns into text. No numpy, no Rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..cost.rollup import stage_name
from ..errors import SpecError
from ..numbers import fraction_text

#: the counts compared everywhere (all exact ints)
COUNTS = ("params", "macs", "flops", "activation_bytes")


def ratio(value: int, base: int) -> Fraction | None:
    """``value / base`` exactly; None when the base is 0 (no meaningful ratio)."""
    return Fraction(value, base) if base else None


@dataclass
class Entry:
    """One network, or one stage or layer of it: its exact counts (and, for a layer, its type and output)."""

    params: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0
    type: str = ""
    output_shape: list[int] = field(default_factory=list)
    layers: int = 0

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in COUNTS}


@dataclass
class Line:
    """A row of a comparison: one key (network, stage or layer name) with an entry per spec (None = absent).

    ``status[i]`` compares spec i with spec 0: ``base`` (i = 0), ``same``, ``changed``, ``added`` (absent from
    spec 0), ``removed`` (absent from spec i) or ``absent`` (in neither).
    """

    key: str
    entries: list[Entry | None]
    status: list[str]

    def delta(self, index: int, key: str) -> int | None:
        base, other = self.entries[0], self.entries[index]
        if base is None or other is None:
            return None
        return getattr(other, key) - getattr(base, key)

    def ratio(self, index: int, key: str) -> Fraction | None:
        base, other = self.entries[0], self.entries[index]
        if base is None or other is None:
            return None
        return ratio(getattr(other, key), getattr(base, key))

    @property
    def differs(self) -> bool:
        return any(s not in ("base", "same") for s in self.status)


@dataclass
class NetworkComparison:
    """What ``convcalc compare a.yaml b.yaml …`` shows: every spec against the first."""

    labels: list[str]
    sources: list[str]
    inputs: list[list[int]]
    batches: list[int]
    total: Line  # key "Total": one entry per spec
    peak_activation_bytes: list[int]
    stages: list[Line]
    layers: list[Line]
    #: with ``--train``: each spec's training-memory peak (Adam, fp32; convcalc/cost/train_memory.py), else None
    train_memory_bytes: list[int] | None = None
    #: with ``--device``: per spec, its roofline totals (:meth:`RooflineReport.totals`) and the device's name
    roofline: list[dict] = field(default_factory=list)
    device: str = ""

    @property
    def unchanged_layers(self) -> int:
        return sum(1 for line in self.layers if not line.differs)


def _layer_entry(layer) -> Entry:
    return Entry(layer.params, layer.macs, layer.flops, layer.activation_bytes, layer.type,
                 list(layer.output_shape), 1)


def _status(entries: list[Entry | None], same) -> list[str]:
    base = entries[0]
    out = ["base"]
    for other in entries[1:]:
        if base is None and other is None:
            out.append("absent")
        elif base is None:
            out.append("added")
        elif other is None:
            out.append("removed")
        else:
            out.append("same" if same(base, other) else "changed")
    return out


def _same_layer(a: Entry, b: Entry) -> bool:
    return (a.type, a.output_shape, a.counts()) == (b.type, b.output_shape, b.counts())


def _same_counts(a: Entry, b: Entry) -> bool:
    return a.counts() == b.counts() and a.layers == b.layers


def merged_order(sequences: list[list[str]]) -> list[str]:
    """The union of several name sequences, in the first one's order, each new name placed after the name that
    precedes it in its own sequence (so an inserted layer shows up where it sits in the network)."""
    order: list[str] = list(dict.fromkeys(sequences[0])) if sequences else []
    for sequence in sequences[1:]:
        known = set(order)
        cursor = -1
        for name in sequence:
            if name in known:
                cursor = order.index(name)
            else:
                cursor += 1
                order.insert(cursor, name)
                known.add(name)
    return order


def unique_labels(names: list[str]) -> list[str]:
    """Spec names, made unique with ``#2``, ``#3`` suffixes when the same network is given twice."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def compare_reports(reports: list, labels: list[str] | None = None) -> NetworkComparison:
    """Compare analysed reports (:class:`convcalc.report.Report`) against the first one."""
    if len(reports) < 2:
        raise SpecError("compare needs at least two networks", None,
                        "give two or more specs, or one spec with --as or --layer")
    labels = unique_labels(labels or [r.name for r in reports])
    totals = [Entry(*(getattr(r.totals, k) for k in COUNTS), layers=r.totals.layers) for r in reports]
    total = Line("Total", list(totals), _status(list(totals), _same_counts))

    stage_maps: list[dict[str, Entry]] = []
    for report in reports:
        stages: dict[str, Entry] = {}
        for layer in report.layers:
            entry = stages.setdefault(stage_name(layer), Entry())
            for key in COUNTS:
                setattr(entry, key, getattr(entry, key) + getattr(layer, key))
            entry.layers += 1
            entry.output_shape = list(layer.output_shape)
        stage_maps.append(stages)
    stage_order = merged_order([list(m) for m in stage_maps])
    stages = []
    for key in stage_order:
        entries = [m.get(key) for m in stage_maps]
        stages.append(Line(key, entries, _status(entries, _same_counts)))

    layer_maps = [{layer.name: _layer_entry(layer) for layer in r.layers} for r in reports]
    layers = []
    for key in merged_order([[layer.name for layer in r.layers] for r in reports]):
        entries = [m.get(key) for m in layer_maps]
        layers.append(Line(key, entries, _status(entries, _same_layer)))

    return NetworkComparison(labels, [r.source for r in reports], [list(r.input) for r in reports],
                             [r.batch for r in reports], total, [r.peak_activation_bytes for r in reports],
                             stages, layers)


def compare_networks(specs: list[str], batch: int | None = None, sets: dict | None = None,
                     allow_unsupported: bool = False, train: bool = False, device=None,
                     input_shape: tuple[int, ...] | None = None, convention: str = "torchvision",
                     with_bugs: bool = False) -> NetworkComparison:
    """Load, analyse and compare specs (paths or shipped names); ``sets`` overrides vars where a spec has them.
    ``allow_unsupported``: an import source's operators without a kind become placeholders. ``train``: also each
    spec's training-memory peak (Adam, fp32). ``device`` (a :class:`~convcalc.cost.devices.Device`): also each
    network's roofline latency (docs/roofline.md). ``input_shape``: every spec at that input (``--input``).
    ``convention``: MACs and params as that peer tool counts them (convcalc/cost/peers.py)."""
    from ..cost.analysis import analyze
    from ..cost.peers import under_convention
    from ..importers.source import load_network

    networks = [load_network(spec, input_shape, allow_unsupported=allow_unsupported) for spec in specs]
    for name in sets or {}:
        if not any(name in network.vars for network in networks):
            raise SpecError(f"--set {name}: none of the specs has a var named `{name}`", None,
                            "the vars are listed under `vars:` in each spec")
    reports, peaks, rooflines = [], [], []
    for network in networks:
        own = {k: v for k, v in (sets or {}).items() if k in network.vars}
        graph = network.expand(own, input_shape=input_shape, batch=batch)
        analysed = analyze(graph)
        reports.append(under_convention(analysed, graph, convention, with_bugs))
        if train:
            from ..cost.train_memory import train_memory

            peaks.append(train_memory(graph, analysed).peak)
        if device is not None:
            from ..cost.roofline import roofline

            rooflines.append(roofline(graph, device, report=analysed).totals())
    comparison = compare_reports(reports)
    comparison.train_memory_bytes = peaks if train else None
    comparison.roofline, comparison.device = rooflines, device.name if device is not None else ""
    return comparison


def comparison_dict(comparison: NetworkComparison) -> dict:
    """The JSON form (version 1): exact ints; ratios as exact ``"p/q"`` strings and as floats."""
    out = _comparison_dict(comparison)
    if comparison.roofline:
        out["roofline"] = {"device": comparison.device, "specs": [
            {"spec": label, "latency_ms": float(t["latency"] * 1000), "bytes": t["bytes"],
             "memory_bound_share": float(t["memory_bound_share"]), "achieved_fraction_of_peak":
             float(t["achieved_fraction"])} for label, t in zip(comparison.labels, comparison.roofline)]}
    return out


def _comparison_dict(comparison: NetworkComparison) -> dict:

    def line_dict(line: Line) -> dict:
        specs = []
        for index, (label, entry, status) in enumerate(zip(comparison.labels, line.entries, line.status)):
            item: dict[str, Any] = {"spec": label, "status": status}
            if entry is not None:
                item.update(entry.counts())
                if entry.type:
                    item["type"] = entry.type
                    item["output_shape"] = entry.output_shape
                else:
                    item["layers"] = entry.layers
                if index:
                    for key in COUNTS:
                        d, r = line.delta(index, key), line.ratio(index, key)
                        if d is not None:
                            item[f"delta_{key}"] = d
                            item[f"ratio_{key}"] = ratio_text(r)
            specs.append(item)
        return {"key": line.key, "specs": specs}

    return {
        "version": 1,
        "specs": [{"label": label, "source": source, "input": shape, "batch": batch, "peak_activation_bytes": peak}
                  for label, source, shape, batch, peak in zip(comparison.labels, comparison.sources,
                                                               comparison.inputs, comparison.batches,
                                                               comparison.peak_activation_bytes)],
        **({} if comparison.train_memory_bytes is None else {"train_memory_bytes": comparison.train_memory_bytes}),
        "totals": line_dict(comparison.total),
        "stages": [line_dict(line) for line in comparison.stages],
        "layers": [line_dict(line) for line in comparison.layers],
    }


def ratio_text(value: Fraction | None) -> str | None:
    """An exact ratio for JSON and CSV (``"3/2"``), or None without one."""
    return None if value is None else fraction_text(value)


