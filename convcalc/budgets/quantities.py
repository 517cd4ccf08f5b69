"""What can be budgeted, and how each quantity is read off a :class:`~convcalc.cost.report.Report`: the
whole-network total, a layer's own value, and the layers that contribute most to either (docs/check.md repeats
the table of quantities)."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.report import LayerReport, Report
from .results import Contributor

#: total quantities that can be budgeted -> what they are (docs/check.md repeats this table)
QUANTITIES: dict[str, str] = {
    "params": "learnable parameters (weights + biases)",
    "macs": "multiply-accumulates of conv/linear layers, bias excluded, whole batch",
    "flops": "FLOPs, whole batch (docs/flops.md)",
    "activation_bytes": "sum over layers of output elements × dtype bytes × batch",
    "weight_bytes": "params × dtype bytes",
    "peak_activation_bytes": "largest sum of live activations when running the layers in order",
}
#: roofline totals (convcalc/cost/roofline.py, docs/roofline.md): computed from the graph, not the report;
#: latency_ms needs a device (`convcalc check --device NAME|FILE`)
ROOFLINE_QUANTITIES: dict[str, str] = {
    "latency_ms": "roofline latency in milliseconds on the --device profile: Σ max(FLOPs/peak, bytes/bandwidth)",
    "bytes_moved": "bytes through main memory, each tensor once (weights, inputs, outputs at the spec's dtype)",
}
BYTE_QUANTITIES = frozenset({"activation_bytes", "weight_bytes", "peak_activation_bytes", "bytes_moved"})
#: quantities measured in milliseconds
TIME_QUANTITIES = frozenset({"latency_ms"})
#: quantities with a per-layer value, for `layer_max`
LAYER_QUANTITIES = ("params", "macs", "flops", "activation_bytes", "weight_bytes")
#: how many contributing layers a result lists
TOP_CONTRIBUTORS = 3


def total_of(report: Report, quantity: str) -> int:
    """The whole-network value of a budgeted quantity."""
    if quantity in ("weight_bytes", "peak_activation_bytes"):
        return getattr(report, quantity)
    return getattr(report.totals, quantity)


def layer_value(report: Report, layer: LayerReport, quantity: str) -> int:
    """A layer's own value of a per-layer quantity."""
    if quantity == "weight_bytes":
        return layer.params * dtype_bytes(report)
    return getattr(layer, quantity)


def dtype_bytes(report: Report) -> int:
    from ..cost.conventions import DTYPE_BYTES

    return DTYPE_BYTES[report.dtype]


def ranked_layers(report: Report, layers: list[LayerReport], quantity: str) -> list[Contributor]:
    """``layers`` by their value of ``quantity``, largest first (ties in network order), each with its share of
    the network's total."""
    values = [(layer_value(report, layer, quantity), index, layer) for index, layer in enumerate(layers)]
    values.sort(key=lambda item: (-item[0], item[1]))
    total = total_of(report, quantity)
    return [Contributor(layer.name, value, Fraction(value, total) if total else None, layer.line)
            for value, _, layer in values]


def top_contributors(report: Report, quantity: str, count: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """The ``count`` layers with the most of ``quantity`` (for ``peak_activation_bytes``: the live tensors at
    the peak), with their share of the total."""
    if quantity == "peak_activation_bytes":
        live = live_at_peak(report)
        if live is not None:
            peak = report.peak_activation_bytes or 1
            return [Contributor(name, size, Fraction(size, peak), line) for name, size, line in live[:count]]
        quantity = "activation_bytes"
    return [c for c in ranked_layers(report, list(report.layers), quantity)[:count] if c.value > 0]


def live_at_peak(report: Report) -> list[tuple[str, int, int]] | None:
    """The tensors alive when activation memory peaks, largest first: ``(name, bytes, line)``.

    Read from ``report.peak_live`` (computed by the analysis); None for a report without it (an older JSON), so the
    caller can fall back to the largest activations.
    """
    if not report.peak_live:
        return None
    by_name = {layer.name: layer for layer in report.layers}
    input_bytes = prod(report.input) * dtype_bytes(report) * report.batch
    out = []
    for name in report.peak_live:
        layer = by_name.get(name)
        out.append((name, layer.activation_bytes, layer.line) if layer else (name, input_bytes, 0))
    return out


def top_increases(report: Report, baseline: Report, quantity: str,
                  count: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """The layers whose ``quantity`` grew most over the baseline (matched by name; new layers count whole).
    ``share`` is the layer's part of the total increase."""
    if quantity == "peak_activation_bytes":
        quantity = "activation_bytes"
    before = {layer.name: layer_value(baseline, layer, quantity) for layer in baseline.layers}
    growth = [(layer_value(report, layer, quantity) - before.get(layer.name, 0), index, layer)
              for index, layer in enumerate(report.layers)]
    growth = [item for item in growth if item[0] > 0]
    growth.sort(key=lambda item: (-item[0], item[1]))
    total = total_of(report, quantity) - total_of(baseline, quantity)
    return [Contributor(layer.name, delta, Fraction(delta, total) if total > 0 else None, layer.line)
            for delta, _, layer in growth[:count]]
