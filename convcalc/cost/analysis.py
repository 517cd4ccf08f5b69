"""The analytic cost model: walk the expanded graph and ask each layer kind for its numbers."""

from __future__ import annotations

from dataclasses import replace
from math import prod
from typing import Any

from .conventions import DTYPE_BYTES, FLOPS_DEFINITION, MACS_DEFINITION
from ..errors import SpecError
from ..limits import LIMIT, layer_beyond as _out_of_bounds, within
from ..spec.graph import Graph
from ..layers import REGISTRY
from ..layers.merge import broadcast
from .report import LayerReport, Report, RFReport, Totals, UnsupportedLayer
from .rf import ReceptiveField
from ..spec.loader import Network, load


def expand(network: Any, *, batch: int | None = None, input: tuple | None = None, **variables) -> Graph:
    """A :class:`Graph` from a Graph, Network, path, shipped-config name or dict, with vars overridden."""
    if isinstance(network, Graph):
        return network
    if not isinstance(network, Network):
        network = load(network)
    return network.expand(variables, input_shape=tuple(input) if input else None, batch=batch)


def analyze(network: Any, *, batch: int | None = None, input: tuple | None = None, **variables) -> Report:
    """Analyse a network. Keyword arguments override its vars (``alpha=0.5``), ``batch`` and ``input``."""
    graph = expand(network, batch=batch, input=input, **variables)
    dtype_bytes = DTYPE_BYTES[graph.dtype]
    shapes = {graph.input_name: graph.input_shape}
    rfs = {graph.input_name: ReceptiveField.identity(graph.spatial_rank)}
    layers: list[LayerReport] = []
    totals, by_type, warnings, unsupported = Totals(), {}, [], []
    flat_defaults = []  # (node, its input shapes, its params) of every layer that took a flat `defaults:` value
    rf_reports: dict[int, RFReport] = {}  # id(ReceptiveField) → report; every field stays alive in `rfs`
    for node in graph.nodes:
        layer = REGISTRY[node.kind](node)
        ins = [shapes[name] for name in node.inputs]
        out = tuple(layer.output_shape(ins))
        in_rfs = [rfs[name] for name in node.inputs]
        for in_rf in in_rfs:  # a channels-first network (no layout anywhere) skips the layout check
            if in_rf.layout is not None:
                rf = layer.output_field(in_rfs, ins)
                break
        else:
            rf = layer.receptive_field(in_rfs, ins)
        counts = layer.counts(ins)
        if node.flat_defaults:
            flat_defaults.append((node, ins, counts.params))
        if layer.placeholder:  # zero because unknown: listed, never a silent zero
            unsupported.append(UnsupportedLayer(node.name, *layer.stands_in_for()))
        notes = [*node.notes, *layer.warnings(ins)]
        if len(in_rfs) > 1:  # a merge: its positioned inputs must be aligned
            positioned = [(name, in_rf) for name, in_rf, shape in zip(node.inputs, in_rfs, ins)
                          if not broadcast(shape, out)]  # an SE gate (C, 1, 1) has no position to align
            for name, other in positioned[1:]:
                problems = positioned[0][1].aligned_with(other)
                if problems:
                    notes.append(f"misaligned merge of `{positioned[0][0]}` and `{name}`: " + "; ".join(problems))
        if max(out, default=0) > LIMIT or \
                max(counts.params, counts.buffers, counts.macs, counts.flops) * graph.batch > LIMIT:
            _out_of_bounds(node, "its output shape or a count", [*out, counts.params, counts.buffers,
                                                                 counts.macs * graph.batch, counts.flops * graph.batch])
        rf_report = rf_reports.get(id(rf))  # a field passed through unchanged shares its (read-only) report
        if rf_report is None:
            if not all(within(v) for v in (*rf.size, *rf.jump, *rf.center)):
                _out_of_bounds(node, "its receptive field", [*rf.size, *rf.jump, *rf.center])
            rf_report = rf_reports[id(rf)] = RFReport(list(rf.size), list(rf.jump), list(rf.start), list(rf.center),
                                                      rf.position_dependent)
            if rf.layout is not None or rf.erf_block:  # notes for `rf --layer` and the ERF (convcalc/cost/layout.py)
                rf_report.layout, rf_report.erf_block = rf.off_grid(out), rf.erf_block
        if rf.untracked and all(in_rf.untracked != rf.untracked for in_rf in in_rfs):
            notes.append(rf.untracked)
        elif rf.position_dependent and not any(in_rf.position_dependent for in_rf in in_rfs):
            notes.append("position-dependent receptive field: " + "; ".join(rf.notes[-1:]))
        report = LayerReport(
            name=node.name, type=node.kind, inputs=list(node.inputs), output_shape=list(out),
            params=counts.params, buffers=counts.buffers,
            macs=counts.macs * graph.batch, flops=counts.flops * graph.batch,
            activation_bytes=prod(out) * dtype_bytes * graph.batch,
            rf=rf_report,
            warnings=notes, path=list(node.path), line=node.mark.line, details=layer.details(ins),
        )
        shapes[node.name], rfs[node.name] = out, rf
        layers.append(report)
        totals.add(report)
        kind_totals = by_type.get(node.kind)
        if kind_totals is None:
            kind_totals = by_type[node.kind] = Totals()
        kind_totals.add(report)
        if notes:
            warnings += [f"{node.name}: {note}" for note in notes]
    warnings += flat_default_warnings(flat_defaults)
    peak, live_at_peak = peak_activation(graph, shapes, dtype_bytes)
    if max(totals.params, totals.buffers, totals.macs, totals.flops, totals.activation_bytes, peak) > LIMIT:
        _out_of_bounds(graph.nodes[-1], "a total of the network",
                       [totals.params, totals.buffers, totals.macs, totals.flops, totals.activation_bytes, peak])
    return Report(
        name=graph.name, input=list(graph.input_shape), batch=graph.batch, dtype=graph.dtype, layers=layers,
        totals=totals, by_type=by_type, weight_bytes=totals.params * dtype_bytes,
        peak_activation_bytes=peak, peak_live=live_at_peak, warnings=warnings,
        source=graph.source, conventions={"macs": MACS_DEFINITION, "flops": FLOPS_DEFINITION},
        unsupported=unsupported,
    )


def flat_default_warnings(taken: list) -> list[str]:
    """One warning per kind and key where a flat ``defaults:`` entry (``bias: false``, meant for the convs before
    a norm) changes a field the kind means on its own (``Layer.own_defaults``: the biases of
    ``squeeze_excitation``, ``linear``, ``layernorm``), with the layers and params it changes and the fix.
    ``taken`` lists (node, input shapes, params) of the layers that took a flat value (docs/spec.md, "defaults")."""
    changed: dict[tuple[str, str], list] = {}  # (kind, key) → [(node, params own default − params as given)]
    others: dict[str, list[str]] = {}  # key → the kinds it is meant for: those that took it without own default
    for node, ins, params in taken:
        cls = REGISTRY[node.kind]
        for key in node.flat_defaults:
            if key not in cls.fields:  # a node rewritten to another kind (`compare --as`) keeps only its own keys
                continue
            own = cls.fields[key].default
            if key not in cls.own_defaults:
                others.setdefault(key, [])
                if node.kind not in others[key]:
                    others[key].append(node.kind)
                continue
            if node.fields[key] == own:
                continue
            as_own = cls(replace(node, fields={**node.fields, key: own})).counts(ins).params
            if as_own != params:
                changed.setdefault((node.kind, key), []).append((node, as_own - params))
    warnings = []
    for (kind, key), layers in changed.items():
        node = layers[0][0]
        value, own = _yaml_text(node.fields[key]), _yaml_text(REGISTRY[kind].fields[key].default)
        delta = sum(d for _, d in layers)
        change = f"{'removes' if delta > 0 else 'adds'} {abs(delta):,} params"
        names = ", ".join(f"`{n.name}`" for n, _ in layers[:3]) + (", …" if len(layers) > 3 else "")
        count = f"{len(layers)} `{kind}` layer{'s' if len(layers) != 1 else ''}"
        meant = others.get(key) or ["conv"]
        per_kind = ", ".join(f"{k}: {{{key}: {value}}}" for k in meant[:3]) + (", …" if len(meant) > 3 else "")
        warnings.append(
            f"defaults: the flat `{key}: {value}` (line {node.mark_of(key).line}) also reaches {count}, whose own "
            f"default is `{key}: {own}`, and {change} ({names}); if that is meant, write `{kind}: {{{key}: {value}}}`"
            f" under `defaults:`; if not, write the default per kind (`defaults: {{{per_kind}}}`) or add "
            f"`{kind}: {{{key}: {own}}}` to it")
    return warnings


def _yaml_text(value) -> str:
    """A field value as YAML writes it: `false`, `16`."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def peak_activation(graph: Graph, shapes: dict, dtype_bytes: int) -> tuple[int, list[str]]:
    """Largest sum of live tensors when running the nodes in order, freeing each after its last use, and the
    names of the tensors live at that moment (largest first).

    The network input counts as a live tensor until its last consumer; the output stays live to the end.
    """
    last_use = {graph.input_name: -1}
    for index, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_use[name] = index
    scale = dtype_bytes * graph.batch
    live = {graph.input_name: prod(graph.input_shape) * scale}
    total = peak = sum(live.values())  # `total` is kept equal to sum(live.values())
    at_peak = dict(live)
    output = graph.output
    for index, node in enumerate(graph.nodes):
        name = node.name
        live[name] = size = prod(shapes[name]) * scale  # node names are unique
        total += size
        if total > peak:
            peak, at_peak = total, dict(live)
        for used in set(node.inputs):
            if last_use.get(used) == index and used != output and used in live:
                total -= live.pop(used)
        if last_use.get(name, index) <= index and name != output and name in live:
            total -= live.pop(name)
    return peak, sorted(at_peak, key=lambda name: -at_peak[name])
