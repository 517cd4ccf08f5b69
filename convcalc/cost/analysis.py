"""The analytic cost model: walk the expanded graph and ask each layer kind for its numbers."""

from __future__ import annotations

from ..records import replace
from math import prod
from operator import attrgetter
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any

from .conventions import DTYPE_BYTES, FLOPS_DEFINITION, MACS_DEFINITION
from ..limits import LIMIT, layer_beyond as _out_of_bounds, within
from ..spec.graph import Graph
from ..layers import REGISTRY
from ..layers.base import Layer
from ..layers.merge import broadcast
from .report import LayerReport, Report, RFReport, Totals, UnsupportedLayer
from .rollup import COUNT_FIELDS
from .rf import ReceptiveField
from ..spec.loader import Network, load


def expand(network: Any, *, batch: int | None = None, input: tuple | str | None = None, **variables) -> Graph:
    """A :class:`Graph` from a Graph, Network, path, shipped-config name or dict, with vars overridden."""
    if isinstance(network, Graph):
        return network
    if not isinstance(network, Network):
        network = load(network)
    return network.expand(variables, input_shape=_input_arg(input), batch=batch)


def _input_arg(input):
    """``input=`` from Python: a shape (``(3, 160, 160)``) or the command line's text (``"3x160x160"``)."""
    if isinstance(input, str):
        from ..spec.loader import parse_input_override

        return parse_input_override(input)
    return tuple(input) if input else None


def analyze(network: Any, *, batch: int | None = None, input: tuple | str | None = None, **variables) -> Report:
    """Analyse a network. Keyword arguments override its vars (``alpha=0.5``), ``batch`` and ``input`` (a shape,
    or text as ``--input`` takes it: ``"3x160x160"``).

    A :class:`Network` analysed again with the same arguments reuses its expanded graph
    (:meth:`Network.expanded`); the graph is only read here, and the report is built afresh."""
    if isinstance(network, Network):
        graph = network.expanded(variables, input_shape=_input_arg(input), batch=batch)
    else:
        graph = expand(network, batch=batch, input=input, **variables)
    dtype_bytes = DTYPE_BYTES[graph.dtype]
    batch = graph.batch
    scale = dtype_bytes * batch
    shapes = {graph.input_name: graph.input_shape}
    rfs = {graph.input_name: ReceptiveField.identity(graph.spatial_rank)}
    layers: list[LayerReport] = []
    by_kind, warnings, unsupported = {}, list(graph.warnings), []  # kind → its layers' reports
    flat_defaults = []  # (node, its input shapes, its params) of every layer that took a flat `defaults:` value
    rf_reports: dict[int, RFReport] = {}  # id(ReceptiveField) → report; every field stays alive in `rfs`
    registry = REGISTRY
    # A graph shared by Network.expanded (read-only, and only while the registry is unchanged) keeps its layer
    # objects from one analysis to the next: a layer answers from its node and its input shapes only, and keeps
    # the geometry it derived for the last shape (layers/base.py, per_shape) and its shape, counts and warnings
    # (`Layer.analysed`, set here)
    sizes = []  # each node's output in bytes, in node order, for peak_activation
    kept = graph.__dict__.get("_layers")
    reuse = kept is not None and len(kept) == len(graph.nodes)
    made = []
    for index, node in enumerate(graph.nodes):
        if reuse:
            layer = kept[index]
        else:
            layer = registry[node.kind](node)
            if kept is not None:
                made.append(layer)
        inputs = node.inputs
        if len(inputs) == 1:  # most layers: no list comprehension to build
            ins, in_rfs = [shapes[inputs[0]]], [rfs[inputs[0]]]
        elif len(inputs) == 2:  # a residual add
            a, b = inputs
            ins, in_rfs = [shapes[a], shapes[b]], [rfs[a], rfs[b]]
        else:
            ins, in_rfs = [shapes[name] for name in inputs], [rfs[name] for name in inputs]
        if reuse:
            analysed = layer.analysed
            known = analysed is not None and analysed[0] == ins  # a kept layer at the same input shapes
        else:
            known = False
        if known:
            out, counts, layer_notes = analysed[1]
        else:
            out = layer.output_shape(ins)
            if type(out) is not tuple:  # (most kinds answer with a tuple: no copy to make)
                out = tuple(out)
        for in_rf in in_rfs:  # a channels-first network (no layout anywhere) skips the layout check
            if in_rf.layout is not None:
                rf = layer.output_field(in_rfs, ins)
                break
        else:
            rf = layer.receptive_field(in_rfs, ins)
        if not known:
            counts = layer.counts(ins)
            # the base class's answers are empty: not asked (a call costs more than the check, on every layer)
            layer_notes = () if type(layer).warnings is _NO_WARNINGS else layer.warnings(ins)
            if kept is not None:  # a layer the graph keeps: its answers (pure, of the shapes) for the next analysis
                layer.analysed = (ins, (out, counts, layer_notes))
        if node.flat_defaults:
            flat_defaults.append((node, ins, counts.params))
        if layer.placeholder:  # zero because unknown: listed, never a silent zero
            unsupported.append(UnsupportedLayer(node.name, *layer.stands_in_for()))
        notes = [*node.notes, *layer_notes]
        if len(in_rfs) > 1:  # a merge: its positioned inputs must be aligned
            first = None  # the first positioned input (an SE gate (C, 1, 1) has no position to align)
            for name, in_rf, shape in zip(inputs, in_rfs, ins):
                if shape != out and broadcast(shape, out):
                    continue
                if first is None:
                    first_name, first = name, in_rf
                elif in_rf is not first and (in_rf.jump != first.jump or in_rf.center != first.center
                                             or in_rf.layout != first.layout):  # else aligned: no problems
                    problems = first.aligned_with(in_rf)
                    if problems:
                        notes.append(f"misaligned merge of `{first_name}` and `{name}`: " + "; ".join(problems))
        params, buffers, macs, flops = counts.params, counts.buffers, counts.macs * batch, counts.flops * batch
        # max(params, buffers, MACs, FLOPs per sample)·batch > LIMIT, compared one by one (no tuple to build)
        if params * batch > LIMIT or buffers * batch > LIMIT or macs > LIMIT or flops > LIMIT or \
                out and max(out) > LIMIT:
            _out_of_bounds(node, "its output shape or a count", [*out, params, buffers, macs, flops])
        rf_report = rf_reports.get(id(rf))  # a field passed through unchanged shares its (read-only) report
        if rf_report is None:
            size, jump, center = rf.size, rf.jump, rf.center
            if rf.whole_values:  # ints (most fields): their extremes are enough
                if max(*size, *jump, *center) > LIMIT or min(*size, *jump, *center) < -LIMIT:
                    _out_of_bounds(node, "its receptive field", (*size, *jump, *center))
            else:
                values = (*size, *jump, *center)
                if (max(values) > LIMIT or min(values) < -LIMIT) if set(map(type, values)) == _INT \
                        else not all(map(within, values)):
                    _out_of_bounds(node, "its receptive field", values)
            rf_report = rf_reports[id(rf)] = RFReport([*size], [*jump], [*rf.start], [*center],
                                                      rf.position_dependent)
            if rf.layout is not None or rf.erf_block:  # notes for `rf --layer` and the ERF (convcalc/cost/layout.py)
                rf_report.layout, rf_report.erf_block = rf.off_grid(out), rf.erf_block
        if rf.untracked and all(in_rf.untracked != rf.untracked for in_rf in in_rfs):
            notes.append(rf.untracked)
        elif rf.position_dependent and not any(in_rf.position_dependent for in_rf in in_rfs):
            notes.append("position-dependent receptive field: " + "; ".join(rf.notes[-1:]))
        # positional: the fields of LayerReport in order (name, type, inputs, output_shape, params, buffers, macs,
        # flops, activation_bytes, rf, warnings, path, line, details, stage), half the cost of keywords
        activation_bytes = prod(out) * scale
        name = node.name
        report = LayerReport(name, node.kind, [*inputs], [*out], params, buffers, macs, flops, activation_bytes,
                             rf_report, notes, [*node.path], node.mark.line,
                             {} if type(layer).details is _NO_DETAILS else layer.details(ins), node.stage)
        shapes[name] = out
        rfs[name] = rf
        sizes.append(activation_bytes)
        layers.append(report)
        of_kind = by_kind.get(node.kind)  # summed per kind after the loop, in C (sum over map)
        if of_kind is None:
            of_kind = by_kind[node.kind] = []
        of_kind.append(report)
        if notes:
            warnings += [f"{name}: {note}" for note in notes]
    warnings += flat_default_warnings(flat_defaults)
    if kept is not None and not reuse:
        kept[:] = made  # complete: the whole graph was analysed
    by_type = {kind: Totals(*[sum(map(count, reports)) for count in _COUNTS], len(reports))
               for kind, reports in by_kind.items()}  # (Totals' fields in order: the counts, then layers)
    totals = Totals()  # the sum of the kinds' totals (exact ints: the same as adding up the layers)
    for kind_totals in by_type.values():
        totals.params += kind_totals.params
        totals.buffers += kind_totals.buffers
        totals.macs += kind_totals.macs
        totals.flops += kind_totals.flops
        totals.activation_bytes += kind_totals.activation_bytes
        totals.layers += kind_totals.layers
    peak, live_at_peak = _peak(graph, sizes, prod(graph.input_shape) * scale)
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
    plain = set()  # (kind, key) of a key the kind has without an own default: seen once, the rest skipped
    for node, ins, params in taken:
        cls = REGISTRY[node.kind]
        for key in node.flat_defaults:
            if (node.kind, key) in plain:
                continue
            if key not in cls.fields:  # a node rewritten to another kind (`compare --as`) keeps only its own keys
                continue
            own = cls.fields[key].default
            if key not in cls.own_defaults:
                others.setdefault(key, [])
                if node.kind not in others[key]:
                    others[key].append(node.kind)
                plain.add((node.kind, key))
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


_INT = {int}
_NO_WARNINGS, _NO_DETAILS = Layer.warnings, Layer.details  # what a kind that says nothing more inherits
_COUNTS = tuple(map(attrgetter, COUNT_FIELDS))  # a LayerReport's counts, in the order of Totals' fields


def peak_activation(graph: Graph, shapes: dict, dtype_bytes: int) -> tuple[int, list[str]]:
    """Largest sum of live tensors when running the nodes in order, freeing each after its last use, and the
    names of the tensors live at that moment (largest first).

    The network input counts as a live tensor until its last consumer; the output stays live to the end.
    """
    scale = dtype_bytes * graph.batch
    return _peak(graph, [prod(shapes[node.name]) * scale for node in graph.nodes], prod(graph.input_shape) * scale)


def _peak(graph: Graph, sizes: list, input_size: int) -> tuple[int, list[str]]:
    """:func:`peak_activation` from each node's output size in bytes (``sizes``, in node order) and the input's."""
    nodes, input_name, output = graph.nodes, graph.input_name, graph.output
    last_use = {input_name: -1}
    for index, node in enumerate(nodes):
        for name in node.inputs:
            last_use[name] = index
    live = {input_name: input_size}
    total = peak = input_size  # `total` is kept equal to sum(live.values())
    at_peak = dict(live)
    last = last_use.get
    for index, (node, size) in enumerate(zip(nodes, sizes)):
        name = node.name
        live[name] = size  # node names are unique
        total += size
        if total > peak:
            peak, at_peak = total, dict(live)
        for used in node.inputs:  # an input named twice is freed once: the second is no longer live
            if last(used) == index and used != output and used in live:
                total -= live.pop(used)
        if last(name, index) <= index and name != output and name in live:  # not used later: freed at once
            total -= live.pop(name)
    return peak, sorted(at_peak, key=lambda name: -at_peak[name])
