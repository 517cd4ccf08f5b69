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
    "train_memory_bytes": "peak memory of one training step with Adam in fp32: params, gradients, optimizer state "
                          "and the activations saved for backward (docs/training.md)",
    "backward_macs": "input- and weight-gradient MACs of one training step, every layer trainable "
                     "(docs/training.md)",
    "backward_flops": "backward FLOPs of one training step, every layer trainable: 2 per backward MAC, bias "
                      "gradients and the backward per-op table (docs/flops.md, docs/training.md)",
}
#: roofline totals (convcalc/cost/roofline.py, docs/roofline.md): computed from the graph, not the report;
#: latency_ms needs a device (`convcalc check --device NAME|FILE`)
ROOFLINE_QUANTITIES: dict[str, str] = {
    "latency_ms": "roofline latency in milliseconds on the --device profile: Σ max(FLOPs/peak, bytes/bandwidth)",
    "bytes_moved": "bytes through main memory, each tensor once (weights, inputs, outputs at the spec's dtype)",
}
BYTE_QUANTITIES = frozenset({"activation_bytes", "weight_bytes", "peak_activation_bytes", "train_memory_bytes",
                             "bytes_moved"})
#: quantities read off the spec's training step, not the report: a baseline (an analyze JSON) has none of them
TRAINING_QUANTITIES = frozenset({"train_memory_bytes", "backward_macs", "backward_flops"})
#: quantities measured in milliseconds
TIME_QUANTITIES = frozenset({"latency_ms"})
#: quantities with a per-layer value, for `layer_max`
LAYER_QUANTITIES = ("params", "macs", "flops", "activation_bytes", "weight_bytes")
#: how many contributing layers a result lists
TOP_CONTRIBUTORS = 3


def total_of(report: Report, quantity: str) -> int:
    """The whole-network value of a budgeted quantity."""
    if quantity == "train_memory_bytes":
        return training_memory(report).peak
    if quantity in ("weight_bytes", "peak_activation_bytes"):
        return getattr(report, quantity)
    if quantity in TRAINING_QUANTITIES:
        return training_of(report).totals()[quantity]
    return getattr(report.totals, quantity)


def training_memory(report: Report):
    """The training memory :func:`attach_training` attached to the report."""
    memory = getattr(report, "train_memory", None)
    if memory is None:
        from ..errors import SpecError

        raise SpecError(f"`train_memory_bytes` of `{report.name}` needs its spec (a report read back from JSON has "
                        "no training memory)", None, "budget train_memory_bytes as a maximum on the spec itself")
    return memory


def training_of(report: Report):
    """The training step's compute of the report's network (:func:`attach_training` set it)."""
    compute = getattr(report, "training_compute", None)
    if compute is None:
        raise ValueError("backward_macs and backward_flops need the spec's training step: call "
                         "attach_training(report, graph)")
    return compute


def attach_training(report: Report, graph, quantities=TRAINING_QUANTITIES) -> None:
    """Compute what the training budgets among ``quantities`` read: the backward MACs (every layer with params
    trainable, the spec's `trainable: false` kept) and the training memory (Adam, fp32)."""
    if "backward_macs" in quantities or "backward_flops" in quantities:
        from ..cost.training import training

        report.training_compute = training(graph, report)
    if "train_memory_bytes" in quantities:
        from ..cost.train_memory import train_memory

        report.train_memory = train_memory(graph, report)


def layer_value(report: Report, layer: LayerReport, quantity: str) -> int:
    """A layer's own value of a per-layer quantity."""
    if quantity == "weight_bytes":
        return layer.params * dtype_bytes(report)
    if quantity in TRAINING_QUANTITIES:
        return getattr(training_of(report).layer(layer.name), quantity)
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
    the peak; for ``train_memory_bytes``: the layers whose saved activations add the most), with their share of
    the total."""
    if quantity == "train_memory_bytes":
        memory = training_memory(report)
        lines = {layer.name: layer.line for layer in report.layers}
        ranked = sorted(((layer.new_bytes, index, layer.name) for index, layer in enumerate(memory.layers)
                         if layer.new_bytes), key=lambda item: (-item[0], item[1]))
        return [Contributor(name, size, Fraction(size, memory.peak), lines[name]) for size, _, name in ranked[:count]]
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
