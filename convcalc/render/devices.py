"""``convcalc device list`` and ``convcalc device show NAME``: the device profiles (:mod:`convcalc.cost.devices`)."""

from __future__ import annotations

from .model import LEFT, RIGHT, Document, Json, Line, Table, columns
from .roofline import fmt_rate


class DeviceListView:
    def __init__(self, devices):
        self.devices = devices

    def table(self) -> Document:
        table = Table(columns(("name", "name", LEFT), ("title", "device", LEFT), ("kind", "kind", LEFT),
                              ("float32", "float32", RIGHT), ("best", "fastest dtype", RIGHT),
                              ("bandwidth", "bandwidth", RIGHT), ("aliases", "aliases", LEFT)))
        for d in self.devices:
            fastest = max(d.peak, key=lambda dtype: d.peak[dtype])
            table.add([d.name, d.title, d.kind, fmt_rate(d.peak["float32"], "FLOP/s") if "float32" in d.peak else "—",
                       f"{fmt_rate(d.peak[fastest], 'FLOP/s' if fastest != 'int8' else 'op/s')} ({fastest})",
                       fmt_rate(d.bandwidth, "B/s"), ", ".join(d.aliases)])
        return Document([table, Line("dense peaks (never the \"with sparsity\" figures); sources: the comments of "
                                     "each profile (`convcalc device show NAME`) and docs/roofline.md")])

    def json(self) -> Json:
        return Json({"version": 1, "devices": [d.to_dict() for d in self.devices]})


class DeviceView:
    def __init__(self, device, text: str):
        self.device, self.text = device, text

    def table(self) -> Document:
        d = self.device
        vector = (("vector", "vector peak", RIGHT),) if d.vector_peak else ()  # only profiles that give one
        table = Table(columns(("dtype", "dtype", LEFT), ("peak", "dense peak", RIGHT), *vector,
                              ("ridge", "ridge FLOP/B", RIGHT)))
        for dtype, peak in d.peak.items():
            unit = "op/s" if dtype == "int8" else "FLOP/s"
            rates = [fmt_rate(d.vector_peak_for(dtype), unit)] if vector else []
            table.add([dtype, fmt_rate(peak, unit), *rates, f"{float(peak / d.bandwidth):.3g}"])
        lines = [Line(f"{d.name}: {d.title} ({d.kind}) · bandwidth {fmt_rate(d.bandwidth, 'B/s')} · efficiency "
                      f"{float(d.efficiency):.3g}" + (f" · {d.threads} threads" if d.threads else ""), "title"),
                 table, Line(f"the profile ({d.source}), with the source of every value:")]
        return Document(lines + [Line(line, hang=_comment_at(line)) for line in self.text.rstrip("\n").splitlines()])

    def json(self) -> Json:
        return Json({"version": 1, "device": self.device.to_dict()})


def _comment_at(line: str) -> int | None:
    """Where a profile line wraps on a narrow terminal: under the text of its comment (``# datasheet …``)."""
    at = line.find("# ")
    return at + 2 if at >= 0 else None
