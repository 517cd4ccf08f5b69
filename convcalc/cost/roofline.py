"""Memory traffic and roofline latency, per layer and for the network (issue 17 §2; docs/roofline.md states every
convention).

For each layer, at the dtype's element size:

* **bytes moved** = weights + inputs + output, from the kind's :meth:`~convcalc.layers.base.Layer.moved_elements`:
  every tensor passes through main memory once — each input read once, the output written once, the params and
  buffers read once per run (a batch shares them). Views (reshape, flatten, dropout, identity, channel_slice)
  move nothing; batchnorm reads its folded scale and shift (2·C).
* with ``--fuse elementwise``, a layer whose kind answers :meth:`~convcalc.layers.base.Layer.fuses_elementwise`
  (activations, batchnorm at inference, add and the other broadcasting merges, scalar, layer_scale, bias_add)
  runs in the epilogue of the layer producing its first eligible input — one that is produced by a layer (not
  the network input), read by nobody else, and written by its producer (not a view): that tensor is then neither
  written by the producer nor read by the fused layer. A chain conv → batchnorm → relu writes one tensor.
* **time** = max(compute, bytes / bandwidth) / efficiency — the roofline of Williams, Waterman & Patterson
  (CACM 2009), with the profile's efficiency factor (1 for the shipped datasheet profiles); **compute-bound** when
  the first term is the larger, memory-bound otherwise; **intensity** = FLOPs / byte.
* **compute** = GEMM FLOPs / peak + the other FLOPs / vector peak: the kind says which of its FLOPs are a matrix
  product (:meth:`~convcalc.layers.base.Layer.gemm_flops`); the rest (depthwise convs, pooling, elementwise,
  normalisation) runs at the profile's ``vector_tflops``, or at the GEMM peak when the profile gives none (then
  compute = FLOPs / peak, as before the split).
* **totals**: the latency is the sum of the layers' times (layers run one after another); the memory-bound share
  counts the layers that take time; the achieved fraction of peak = total FLOPs / (latency × peak).

The FLOPs are the analysis's (docs/flops.md), for the whole batch; int8 peaks are op/s and count the same ops.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from .devices import ROOFLINE_DTYPE_BYTES, Device

FUSE_MODES = ("none", "elementwise")


class RooflineLayer:
    """One layer's traffic (bytes, for the whole batch) and its roofline time (seconds, a Fraction)."""

    __slots__ = ("name", "type", "flops", "gemm_flops", "weight_bytes", "input_bytes", "output_bytes", "fused_into",
                 "compute_time", "memory_time", "time")

    def __init__(self, name, type, flops, weight_bytes, input_bytes, output_bytes, gemm_flops=0):
        self.name, self.type, self.flops, self.gemm_flops = name, type, flops, gemm_flops
        self.weight_bytes, self.input_bytes, self.output_bytes = weight_bytes, input_bytes, output_bytes
        self.fused_into = ""
        self.compute_time = self.memory_time = self.time = Fraction(0)

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def intensity(self):
        """FLOPs per byte (None when the layer moves nothing)."""
        return Fraction(self.flops, self.bytes) if self.bytes else None

    @property
    def bound(self) -> str:
        """``compute``, ``memory`` or ``none`` (no time: a view, or a layer with nothing to do)."""
        if not self.time:
            return "none"
        return "compute" if self.compute_time >= self.memory_time else "memory"

    def to_dict(self) -> dict:
        intensity = self.intensity
        return {"layer": self.name, "type": self.type, "flops": self.flops, "gemm_flops": self.gemm_flops,
                "bytes": self.bytes,
                "weight_bytes": self.weight_bytes, "input_bytes": self.input_bytes,
                "output_bytes": self.output_bytes, "fused_into": self.fused_into,
                "intensity": None if intensity is None else float(intensity),
                "compute_s": float(self.compute_time), "memory_s": float(self.memory_time),
                "time_s": float(self.time), "bound": self.bound}


class RooflineReport:
    """Every layer's roofline on one device at one dtype: what ``convcalc cost --device`` renders."""

    __slots__ = ("name", "batch", "dtype", "device", "fuse", "layers", "unsupported")

    def __init__(self, name, batch, dtype, device: Device, fuse: str, layers: list[RooflineLayer], unsupported):
        self.name, self.batch, self.dtype, self.device, self.fuse = name, batch, dtype, device, fuse
        self.layers, self.unsupported = layers, unsupported

    @property
    def peak(self):
        return self.device.peak_for(self.dtype)

    @property
    def vector_peak(self):
        return self.device.vector_peak_for(self.dtype)

    def totals(self) -> dict:
        flops = sum(layer.flops for layer in self.layers)
        moved = sum(layer.bytes for layer in self.layers)
        latency = sum((layer.time for layer in self.layers), Fraction(0))
        timed = [layer for layer in self.layers if layer.time]
        memory = sum(1 for layer in timed if layer.bound == "memory")
        return {"flops": flops, "bytes": moved, "latency": latency, "layers": len(timed), "memory_bound": memory,
                "memory_bound_share": Fraction(memory, len(timed)) if timed else Fraction(0),
                "achieved_fraction": Fraction(flops) / (latency * self.peak) if latency else Fraction(0)}

    def to_dict(self) -> dict:
        t = self.totals()
        return {"device": self.device.to_dict(), "dtype": self.dtype, "itemsize": ROOFLINE_DTYPE_BYTES[self.dtype],
                "fuse": self.fuse, "peak_flops": float(self.peak), "vector_peak_flops": float(self.vector_peak),
                "bandwidth_bytes_per_s":
                float(self.device.bandwidth), "efficiency": float(self.device.efficiency),
                "layers": [layer.to_dict() for layer in self.layers],
                "totals": {"flops": t["flops"], "bytes": t["bytes"], "latency_s": float(t["latency"]),
                           "latency_ms": float(t["latency"] * 1000), "timed_layers": t["layers"],
                           "memory_bound_layers": t["memory_bound"],
                           "memory_bound_share": float(t["memory_bound_share"]),
                           "achieved_fraction_of_peak": float(t["achieved_fraction"])},
                "unsupported": list(self.unsupported)}


def layer_time(flops, moved_bytes, peak, bandwidth, efficiency=Fraction(1), gemm_flops=None, vector_peak=None):
    """(compute time, memory time, roofline time) in seconds: G/peak + (F − G)/vector peak with G the GEMM FLOPs
    (all of F when not given; the vector peak is the GEMM peak when not given), B/bandwidth, and the larger of the
    two / efficiency."""
    gemm = flops if gemm_flops is None else gemm_flops
    compute = Fraction(gemm) / peak + Fraction(flops - gemm) / (peak if vector_peak is None else vector_peak)
    memory = Fraction(moved_bytes) / bandwidth
    return compute, memory, max(compute, memory) / efficiency


def roofline(graph, device: Device | None, dtype: str | None = None, fuse: str = "none",
             report=None) -> RooflineReport:
    """The roofline of every layer of ``graph`` on ``device`` at ``dtype`` (default: the spec's). Without a device
    (``convcalc check``'s ``bytes_moved``), the traffic alone: every time is 0."""
    from ..layers import REGISTRY
    from ..layers.base import Layer, own
    from .analysis import analyze

    dtype = dtype or graph.dtype
    report = report if report is not None else analyze(graph)
    itemsize, batch = ROOFLINE_DTYPE_BYTES[dtype], graph.batch
    if device is not None:
        peak, bandwidth, efficiency = device.peak_for(dtype), device.bandwidth, device.efficiency
        vector_peak = device.vector_peak_for(dtype)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})
    rows = {row.name: row for row in report.layers}
    readers: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            readers[name] = readers.get(name, 0) + 1
    layers: dict[str, RooflineLayer] = {}
    unsupported = []
    for node in graph.nodes:
        cls = REGISTRY[node.kind]
        if cls.placeholder:  # an operator no kind describes: its traffic is as unknown as its FLOPs
            unsupported.append(node.name)
            continue
        layer, row = cls(node), rows[node.name]
        ins = [shapes[name] for name in node.inputs]
        weights, inputs, output = layer.moved_elements(ins, shapes[node.name], row.params, row.buffers)
        gemm_flops = own(cls, "gemm_flops") or Layer.gemm_flops  # never another kind's answer: may not be a GEMM
        entry = RooflineLayer(node.name, node.kind, row.flops, weights * itemsize, inputs * batch * itemsize,
                              output * batch * itemsize, gemm_flops(layer, ins) * batch)
        if fuse == "elementwise" and layer.fuses_elementwise():
            for name, shape in zip(node.inputs, ins):
                producer = layers.get(name)
                if producer is not None and readers[name] == 1 and producer.output_bytes:
                    tensor = prod(shape) * batch * itemsize
                    producer.output_bytes -= tensor
                    entry.input_bytes -= tensor
                    entry.fused_into = producer.fused_into or producer.name
                    break
        layers[node.name] = entry
    for entry in layers.values() if device is not None else ():
        entry.compute_time, entry.memory_time, entry.time = layer_time(entry.flops, entry.bytes, peak, bandwidth,
                                                                       efficiency, entry.gemm_flops, vector_peak)
    return RooflineReport(graph.name, batch, dtype, device, fuse, list(layers.values()), unsupported)


# ---- the algorithm chooser under the roofline ---------------------------------------------------------------------
def estimate_time(estimate, geometry, batch: int, device: Device, dtype: str):
    """The roofline time of one algorithm on one conv: FLOPs = 2 × multiplications + the per-run transform ops
    (the filter transform is done once, before inference), of which the multiplications' 2 × are GEMM FLOPs when
    they are a matrix product (``estimate.gemm``: at least 2 input channels per group) and the rest — the
    transforms, the products of a depthwise conv — vector FLOPs, each class at its peak (docs/roofline.md,
    "--algorithm best --device"); bytes = the conv's input, weights and output once, plus the workspace written and
    read back once."""
    itemsize = ROOFLINE_DTYPE_BYTES[dtype]
    g = geometry
    io = (batch * g.c_in * prod(g.in_sizes) + batch * g.c_out * prod(g.out_sizes)
          + g.c_out * (g.c_in // g.groups) * prod(g.kernel)) * itemsize
    products = 2 * int(estimate.multiplications)
    flops = products + int(estimate.transform_ops)
    moved = io + 2 * int(estimate.workspace_elements) * itemsize
    return layer_time(flops, moved, device.peak_for(dtype), device.bandwidth, device.efficiency,
                      products if estimate.gemm else 0, device.vector_peak_for(dtype))


def choose_by_roofline(algorithms, device: Device, dtype: str):
    """Re-choose every conv of an :class:`~convcalc.cost.algorithms.AlgorithmReport` by roofline time (in place),
    the reason naming the times; returns the report."""
    from .algorithms import choose

    for conv in algorithms.convs:
        if conv.geometry is None:  # not lowered: only direct applies, as before
            continue
        times = {id(e): estimate_time(e, conv.geometry, algorithms.batch, device, dtype)
                 for e in conv.estimates if e.applicable}
        best, _ = choose(conv.estimates, lambda e: (times[id(e)][2], int(e.workspace_elements)))
        parts = [f"fastest on {device.name}: {_timed(times[id(best)])}"]
        for e in conv.estimates:
            if e is best:
                continue
            text = f"{e.label} {_timed(times[id(e)])}" if e.applicable else f"{e.family} n/a ({e.why})"
            if text not in parts:  # both Winograd variants fail for the same reason: said once
                parts.append(text)
        conv.best, conv.reason = best, "; ".join(parts)
    algorithms.chosen_by = f"roofline time on {device.name} ({dtype})"
    return algorithms


def _timed(times) -> str:
    """``1.4 µs (compute-bound)`` from (compute, memory, time)."""
    compute, memory, time = times
    return f"{float(time) * 1e6:.3g} µs ({'compute' if compute >= memory else 'memory'}-bound)"
