"""``convcalc report``: one self-contained HTML page (inline CSS, SVG and a few lines of vanilla JavaScript; no
network access, no external library) from the overviews of :mod:`convcalc.overview`.

Per network: the summary, MACs and params bars per layer and per stage, the receptive field by depth, the analytic
ERF heatmap, and the per-layer table (click a header to sort; every numeric cell carries its exact value in
``data-v``) with the best convolution algorithm of ``convcalc cost`` and, with ``--device``, the roofline columns
of ``convcalc cost --device``. With two or more networks: their totals and stages side by side, then the networks
in columns.
"""

from __future__ import annotations

from html import escape

from ..cost.report import unsupported_summary
from ..numbers import fmt_axes, fmt_bytes, fmt_count, fmt_shape, fraction_text
from .charts import svg
from .figures import comparison_chart, layer_chart, rf_chart, stage_chart

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px 24px;color:#222;background:#f7f7f9}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:18px 0 6px}
section.network,section.comparison{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:12px 0}
.networks{display:grid;gap:16px;grid-template-columns:repeat(var(--n),minmax(0,1fr))}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;overflow-x:auto;max-width:100%}
svg.chart{display:block;max-width:100%;height:auto}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dl.summary dt{color:#555}
dl.summary dd{margin:0;font-variant-numeric:tabular-nums}
.scroll{overflow:auto;max-height:640px;border:1px solid #ddd}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{padding:2px 8px;border-bottom:1px solid #eee;white-space:nowrap}td.n,th.n{text-align:right}
thead th{position:sticky;top:0;background:#eef1f5;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.warn td{background:#fff8e1}p.note{color:#666;font-size:12.5px}p.warn{color:#8a6d00}
"""

#: click a header: sort by it (numbers by their exact data-v, text otherwise); click again: the other way
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var down = th.getAttribute("aria-sort") === "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[column], v = cell.getAttribute("data-v");
        return v === null ? cell.textContent : (v === "" ? -Infinity : Number(v));
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return down ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _cell(text: str, value=None) -> str:
    """A table cell; with ``value`` a right-aligned number whose exact value sorts it."""
    if value is None:
        return f"<td>{escape(text)}</td>"
    return f'<td class="n" data-v="{value}">{escape(text)}</td>'


def _table(headers: list[tuple[str, bool]], rows: list[tuple[list[str], str]], cls: str = "sortable") -> str:
    head = "".join(f'<th class="n">{escape(h)}</th>' if numeric else f"<th>{escape(h)}</th>"
                   for h, numeric in headers)
    body = "\n".join(f'<tr class="{role}">{"".join(cells)}</tr>' for cells, role in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'


class ReportPage:
    """The page for ``overviews`` (and their ``comparison`` when there are two or more); ``units`` as
    ``--units``."""

    def __init__(self, overviews: list, comparison=None, units: str = "auto"):
        self.overviews, self.comparison, self.units = overviews, comparison, units

    def html(self) -> str:
        names = [o.report.name for o in self.overviews]
        title = "convcalc report: " + ", ".join(names)
        parts = [f"<h1>{escape(title)}</h1>"]
        if self.comparison is not None:
            parts.append(self.comparison_section())
        parts.append(f'<div class="networks" style="--n:{len(self.overviews)}">')
        parts += [self.network_section(o) for o in self.overviews]
        parts.append("</div>")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
                f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) +
                f"\n<script>{SCRIPT}</script>\n</body></html>\n")

    # ---- one network -----------------------------------------------------------------------------------------
    def network_section(self, overview) -> str:
        report = overview.report
        charts = [svg(layer_chart(report, "macs")), svg(layer_chart(report, "params")),
                  svg(stage_chart(report.name, overview.stages, "macs")),
                  svg(stage_chart(report.name, overview.stages, "params")), svg(rf_chart(report))]
        erf = self.erf_figure(overview)
        return (f'<section class="network" id="{escape(report.name)}"><h2>{escape(report.name)}</h2>'
                + self.summary(overview) + "<h3>Charts</h3><div class=\"charts\">"
                + "".join(f"<figure>{c}</figure>" for c in charts) + erf + "</div>"
                + "<h3>Stages</h3>" + self.stage_table(overview)
                + "<h3>Layers</h3>" + self.layer_table(overview) + "</section>")

    def summary(self, overview) -> str:
        r, t, u = overview.report, overview.report.totals, self.units
        items = [("source", r.source or r.name), ("input", "×".join(map(str, r.input))), ("batch", str(r.batch)),
                 ("dtype", r.dtype), ("layers", f"{t.layers:,}"),
                 ("params", f"{fmt_count(t.params, u)} ({t.params:,})"),
                 ("MACs", f"{fmt_count(t.macs, u)} ({t.macs:,})"),
                 ("FLOPs", f"{fmt_count(t.flops, u)} ({t.flops:,})"),
                 ("weights", fmt_bytes(r.weight_bytes)), ("activations", fmt_bytes(t.activation_bytes)),
                 ("peak live activations", fmt_bytes(r.peak_activation_bytes))]
        roofline = overview.roofline_report
        if roofline is not None:
            from .roofline import fmt_time

            totals = roofline.totals()
            items.append((f"roofline on {roofline.device.name}",
                          f"{fmt_time(totals['latency'])}, {fmt_bytes(totals['bytes'])} moved, memory-bound "
                          f"{totals['memory_bound']} of {totals['layers']} layers ({roofline.dtype})"))
        out = '<dl class="summary">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"
        notes = list(r.warnings)
        summary = unsupported_summary(r.unsupported)
        if summary:
            notes.append(summary)
        out += "".join(f'<p class="warn">warning: {escape(n)}</p>' for n in notes)
        from .analyze import conventions_text

        return out + f'<p class="note">{escape(conventions_text(r))}</p>'

    def erf_figure(self, overview) -> str:
        erf = overview.erf
        if erf is None:
            return f'<figure class="erf"><p class="note">No analytic ERF: {escape(overview.erf_note)}</p></figure>'
        from .heatmap import heatmap_svg, picture, title_of

        found = picture(erf)
        if found is None:
            return '<figure class="erf"><p class="note">The ERF of a 1-D network has no heatmap.</p></figure>'
        image, origin, box, factor, caption, _ = found
        bounds = tuple(erf.input_shape[-2:])
        drawn = heatmap_svg(image.tolist(), origin, box, factor, bounds, f"analytic ERF of {erf.layer}{caption}")
        windows = ", ".join(f"axis {a.axis}: {a.window_size()} of RF {a.rf_size} (std {a.std:.2f})"
                            for a in erf.axes)
        return (f'<figure class="erf">{drawn}<figcaption class="note">{escape(title_of(erf))}. '
                f'{int(erf.axes[0].mass * 100) if erf.axes else 95}% window per {escape(windows)}.'
                + "".join(f" {escape(n)}" for n in erf.notes) + "</figcaption></figure>")

    def stage_table(self, overview) -> str:
        u, totals = self.units, overview.report.totals
        rows = [([_cell(str(i + 1), i + 1), _cell(s.name), _cell(str(s.layers), s.layers),
                  _cell(fmt_count(s.params, u), s.params), _cell(fmt_count(s.macs, u), s.macs),
                  _cell(f"{s.macs / totals.macs:.1%}" if totals.macs else "", s.macs),
                  _cell(fmt_count(s.flops, u), s.flops), _cell(fmt_bytes(s.activation_bytes), s.activation_bytes)],
                 "row") for i, s in enumerate(overview.stages)]
        return _table([("#", True), ("Stage", False), ("Layers", True), ("Params", True), ("MACs", True),
                       ("Share of MACs", True), ("FLOPs", True), ("Activations", True)], rows)

    def layer_table(self, overview) -> str:
        u = self.units
        headers = [("#", True), ("Layer", False), ("Type", False), ("Output", False), ("Params", True),
                   ("MACs", True), ("FLOPs", True), ("Activations", True), ("RF", False), ("Jump", False),
                   ("Best algorithm", False), ("Its multiplications", True)]
        device = overview.roofline_report is not None
        if device:
            headers += [("Bytes moved", True), ("FLOP/byte", True), ("Roofline time", True), ("Bound", False)]
        rows = []
        for i, layer in enumerate(overview.report.layers):
            convs = overview.algorithms.get(layer.name, [])
            best = " + ".join(conv.best.algorithm for conv in convs)
            mults = sum(int(conv.best.multiplications) for conv in convs) if convs else None
            cells = [_cell(str(i + 1), i + 1), _cell(layer.name), _cell(layer.type),
                     _cell(fmt_shape(layer.output_shape)), _cell(fmt_count(layer.params, u), layer.params),
                     _cell(fmt_count(layer.macs, u), layer.macs), _cell(fmt_count(layer.flops, u), layer.flops),
                     _cell(fmt_bytes(layer.activation_bytes), layer.activation_bytes),
                     _cell(fmt_axes(layer.rf.size)), _cell(fmt_axes(layer.rf.jump, fraction_text)), _cell(best),
                     _cell(fmt_count(mults, u) if mults is not None else "", "" if mults is None else mults)]
            if device:
                cells += self.roofline_cells(overview.roofline.get(layer.name))
            rows.append((cells, "warn" if layer.warnings else "row"))
        return _table(headers, rows)

    def roofline_cells(self, row) -> list[str]:
        from .roofline import fmt_time

        if row is None:
            return [_cell(""), _cell(""), _cell(""), _cell("")]
        intensity = row.intensity
        return [_cell(fmt_bytes(row.bytes), row.bytes),
                _cell("" if intensity is None else f"{float(intensity):.3g}",
                      "" if intensity is None else f"{float(intensity):.6g}"),
                _cell(fmt_time(row.time), f"{float(row.time):.6g}"),
                _cell(f"fused into {row.fused_into}" if row.fused_into else row.bound)]

    # ---- two or more networks --------------------------------------------------------------------------------
    def comparison_section(self) -> str:
        c, u = self.comparison, self.units
        headers = [("", False)] + [(label, True) for label in c.labels] + \
                  [(f"× {label}", True) for label in c.labels[1:]]
        rows = []
        for key, label in (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"),
                           ("activation_bytes", "activations")):
            entries = c.total.entries
            fmt = fmt_bytes if key.endswith("bytes") else (lambda v: fmt_count(v, u))
            cells = [_cell(label)] + [_cell(fmt(getattr(e, key)), getattr(e, key)) for e in entries]
            cells += [_cell(self._ratio(c.total.ratio(i, key))) for i in range(1, len(entries))]
            rows.append((cells, "row"))
        peaks = [_cell(fmt_bytes(p), p) for p in c.peak_activation_bytes]
        base = c.peak_activation_bytes[0]
        rows.append(([_cell("peak live activations")] + peaks +
                     [_cell(self._ratio(p / base if base else None)) for p in c.peak_activation_bytes[1:]], "row"))
        if c.roofline:
            from .roofline import fmt_time

            times = [t["latency"] for t in c.roofline]
            rows.append(([_cell(f"roofline latency ({c.device})")] +
                         [_cell(fmt_time(t), f"{float(t):.6g}") for t in times] +
                         [_cell(self._ratio(t / times[0] if times[0] else None)) for t in times[1:]], "row"))
        stage_rows = []
        for line in c.stages:
            cells = [_cell(line.key)]
            for entry in line.entries:
                cells.append(_cell("—", "") if entry is None else _cell(fmt_count(entry.macs, u), entry.macs))
            cells += [_cell(self._ratio(line.ratio(i, "macs"))) for i in range(1, len(line.entries))]
            stage_rows.append((cells, "row"))
        stage_headers = [("Stage", False)] + [(f"MACs {label}", True) for label in c.labels] + \
                        [(f"× {label}", True) for label in c.labels[1:]]
        return ('<section class="comparison"><h2>Side by side</h2>' + _table(headers, rows, "sortable totals")
                + "<h3>Stages</h3><div class=\"charts\"><figure>" + svg(comparison_chart(c, "macs"))
                + "</figure><figure>" + svg(comparison_chart(c, "params")) + "</figure></div>"
                + _table(stage_headers, stage_rows) + "</section>")

    @staticmethod
    def _ratio(value) -> str:
        return "" if value is None else f"×{float(value):.3f}"
