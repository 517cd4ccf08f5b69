"""``convcalc cost SPEC --device NAME``: the roofline of every layer (:mod:`convcalc.cost.roofline`), and with
``--algorithm best`` or a family the algorithm table after it (:mod:`convcalc.render.cost`).

Table and Markdown: one row per layer — FLOPs, bytes moved (weights, inputs, output), intensity, time, bound, and
what it was fused into; the totals and the device below. CSV: one exact row per layer. JSON: the algorithm
report of ``convcalc cost`` with ``cost.roofline`` (docs/json.md, "convcalc cost --device").
"""

from __future__ import annotations

from ..numbers import fmt_bytes, fmt_count
from .cost import CostView
from .model import LEFT, RIGHT, Document, Json, Line, Table, columns, csv_columns


def fmt_time(seconds) -> str:
    """Seconds in the unit that reads best: ns, µs, ms or s, three significant digits."""
    s = float(seconds)
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns" if s else "0"


def fmt_rate(value, unit: str) -> str:
    v = float(value)
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if v >= scale:
            return f"{v / scale:.4g} {prefix}{unit}"
    return f"{v:.4g} {unit}"


class RooflineView:
    def __init__(self, roofline, algorithms=None, algorithm: str = "all", units: str = "auto"):
        self.roofline, self.algorithms, self.algorithm, self.units = roofline, algorithms, algorithm, units

    def _header(self) -> Line:
        r, d = self.roofline, self.roofline.device
        fused = "elementwise layers fused into their producers" if r.fuse == "elementwise" else "no fusion"
        return Line(f"{r.name}: roofline on {d.title} · batch {r.batch} · {r.dtype} · {fused}", "title")

    def _device(self) -> Line:
        r, d = self.roofline, self.roofline.device
        ridge = r.peak / d.bandwidth
        text = (f"device {d.name}: peak {fmt_rate(r.peak, 'FLOP/s')} ({r.dtype}), bandwidth "
                f"{fmt_rate(d.bandwidth, 'B/s')}, ridge point {float(ridge):.3g} FLOP/byte")
        if d.vector_peak:
            text += f"; vector (non-GEMM) work at {fmt_rate(r.vector_peak, 'FLOP/s')}"
        if d.efficiency != 1:
            text += f", efficiency {float(d.efficiency):.3g} (every time divided by it)"
        return Line(text)

    def _totals(self) -> list[Line]:
        t = self.roofline.totals()
        return [Line(f"total: {fmt_count(t['flops'], self.units)} FLOPs, {fmt_bytes(t['bytes'], self.units)} moved, "
                     f"latency {fmt_time(t['latency'])}; memory-bound {t['memory_bound']} of {t['layers']} layers "
                     f"({float(t['memory_bound_share']):.0%}); achieved {float(t['achieved_fraction']):.1%} of peak",
                     "total")]

    def _notes(self) -> list[Line]:
        compute = ("GEMM FLOPs / peak + other FLOPs / vector peak" if self.roofline.device.vector_peak
                   else "FLOPs / peak")
        return [Line(f"time = max({compute}, bytes / bandwidth) / efficiency per layer, summed; each tensor "
                     "through main memory once; conventions and sources: docs/roofline.md")]

    def _table(self, markdown: bool) -> Table:
        table = Table(columns(("layer", "layer", LEFT), ("type", "type", LEFT), ("flops", "FLOPs", RIGHT),
                              ("bytes", "bytes", RIGHT), ("weights", "weights", RIGHT), ("inputs", "inputs", RIGHT),
                              ("output", "output", RIGHT), ("intensity", "FLOP/B", RIGHT), ("time", "time", RIGHT),
                              ("bound", "bound", LEFT), ("fused", "fused into", LEFT)))
        b = lambda v: fmt_bytes(v, self.units)  # noqa: E731
        for layer in self.roofline.layers:
            intensity = layer.intensity
            table.add([f"`{layer.name}`" if markdown else layer.name, layer.type, fmt_count(layer.flops, self.units),
                       b(layer.bytes), b(layer.weight_bytes), b(layer.input_bytes), b(layer.output_bytes),
                       "—" if intensity is None else f"{float(intensity):.3g}", fmt_time(layer.time),
                       "—" if layer.bound == "none" else layer.bound, layer.fused_into])
        return table

    def _unsupported(self) -> list[Line]:
        names = self.roofline.unsupported
        return [Line(f"warning: {len(names)} unsupported placeholder layer(s) left out (their traffic and FLOPs "
                     f"are unknown): {', '.join(names)}", "warn")] if names else []

    def _document(self, markdown: bool) -> Document:
        blocks = [self._header(), self._table(markdown), *self._totals(), self._device(), *self._unsupported(),
                  *self._notes()]
        if self.algorithms is not None and self.algorithm != "all":
            view = CostView(self.algorithms, self.algorithm, self.units)
            blocks += (view.markdown() if markdown else view.table()).blocks
        return Document(blocks)

    def table(self) -> Document:
        return self._document(False)

    def markdown(self) -> Document:
        return self._document(True)

    def csv(self) -> Table:
        table = Table(csv_columns("layer", "type", "flops", "bytes", "weight_bytes", "input_bytes", "output_bytes",
                                  "intensity", "time_s", "bound", "fused_into"))
        for layer in self.roofline.layers:
            d = layer.to_dict()
            table.add([d["layer"], d["type"], d["flops"], d["bytes"], d["weight_bytes"], d["input_bytes"],
                       d["output_bytes"], "" if d["intensity"] is None else repr(d["intensity"]), repr(d["time_s"]),
                       d["bound"], d["fused_into"]])
        return table

    def json(self) -> Json:
        data = self.algorithms.to_dict(CostView(self.algorithms, self.algorithm).families())
        data["cost"]["roofline"] = self.roofline.to_dict()
        return Json(data)
