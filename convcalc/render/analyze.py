"""``convcalc analyze``: a :class:`~convcalc.cost.report.Report` as a per-layer table, per-type share bars, exact
totals and the counting conventions (text), a Markdown table, CSV with exact integers, or the JSON contract.

The text table shows the stages of composite layers as indented ``↳`` rows (parts of the layer above, in no
total); Markdown and CSV show the layers only. CSV cells are exact and unit-free, its headers the JSON keys.
"""

from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Callable, TextIO

from ..cost.report import COUNT_FIELDS, LayerReport, Report, unsupported_summary
from ..cost.rollup import Group, group_sums, groups_json, heaviest, roll_up
from ..numbers import fmt_axes, fmt_bytes, fmt_count, fmt_shape, fraction_text
from .model import ALIGNED, LEFT, RIGHT, Column, Document, Json, Line, Table, columns, csv_columns


class Row:
    """One printed row: a layer, or a collapsed block instance (``type`` = "block"). (Plain classes here and below:
    the fast path imports this module, and ``@dataclass`` costs 0.3–0.9 ms a class at import time.)"""

    __slots__ = ("name", "type", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes", "rf",
                 "warnings", "depth", "layers")

    def __init__(self, name: str, type: str, output_shape: list[int], params: int = 0, buffers: int = 0,
                 macs: int = 0, flops: int = 0, activation_bytes: int = 0, rf: object = None,
                 warnings: list[str] | None = None, depth: int = 0, layers: int = 1):
        self.name, self.type, self.output_shape = name, type, output_shape
        self.params, self.buffers, self.macs, self.flops = params, buffers, macs, flops
        self.activation_bytes, self.rf, self.warnings = activation_bytes, rf, [] if warnings is None else warnings
        self.depth, self.layers = depth, layers


def rows(report: Report, depth: int | None = None, sub_rows: bool = False) -> list[Row]:
    """Rows to print. With ``depth``, layers nested deeper than ``depth`` blocks collapse into their block.

    With ``sub_rows``, a layer whose details list ``sub_rows`` (composite kinds: depthwise separable, SE, …) is
    followed by one indented row per stage (type ``↳ kind``), counts times the batch; they are parts of the layer
    above, not extra layers, so they carry no activation bytes and do not enter any total."""
    out: list[Row] = []
    groups: dict[str, Row] = {}
    for layer in report.layers:
        if depth is not None and len(layer.path) > depth:
            owner = layer.path[depth]
            row = groups.get(owner)
            if row is None:
                row = groups[owner] = Row(owner, "block", [], layers=0, depth=depth)
                out.append(row)
            for key in COUNT_FIELDS:
                setattr(row, key, getattr(row, key) + getattr(layer, key))
            row.output_shape, row.rf, row.layers = layer.output_shape, layer.rf, row.layers + 1
            row.warnings += layer.warnings
        else:
            out.append(_layer_row(layer))
            if sub_rows:
                out += _stage_rows(layer, report.batch)
    return out


def _stage_rows(layer: LayerReport, batch: int) -> list[Row]:
    return [Row(f"· {sub['name']}", f"↳ {sub['type']}", list(sub["output_shape"]), sub["params"], 0,
                sub["macs"] * batch, sub["flops"] * batch, 0, None, [], len(layer.path) + 1, 0)
            for sub in layer.details.get("sub_rows", ())]


def _layer_row(layer: LayerReport) -> Row:
    return Row(layer.name, layer.type, layer.output_shape, layer.params, layer.buffers, layer.macs, layer.flops,
               layer.activation_bytes, layer.rf, layer.warnings, len(layer.path))


def totals_row(report: Report) -> Row:
    t = report.totals
    return Row("Total", f"{t.layers} layers", [], t.params, t.buffers, t.macs, t.flops, t.activation_bytes)


#: ``--columns`` name -> (the column of the table and Markdown, its cell for a Row given units, its CSV field)
COLUMNS: dict[str, tuple[Column, Callable[[Row, str], str], str]] = {
    "name": (Column("name", "Layer", LEFT), lambda r, u: "  " * r.depth + r.name, "name"),
    "type": (Column("type", "Type", LEFT), lambda r, u: r.type if r.type != "block" else f"block ({r.layers} layers)",
             "type"),
    "shape": (Column("shape", "Output", RIGHT), lambda r, u: fmt_shape(r.output_shape), "output_shape"),
    "params": (Column("params", "Params", RIGHT), lambda r, u: fmt_count(r.params, u), "params"),
    "buffers": (Column("buffers", "Buffers", RIGHT), lambda r, u: fmt_count(r.buffers, u), "buffers"),
    "macs": (Column("macs", "MACs", RIGHT), lambda r, u: fmt_count(r.macs, u), "macs"),
    "flops": (Column("flops", "FLOPs", RIGHT), lambda r, u: fmt_count(r.flops, u), "flops"),
    "memory": (Column("memory", "Activations", RIGHT),
               lambda r, u: fmt_bytes(r.activation_bytes, u) if r.layers else "", "activation_bytes"),
    "rf": (Column("rf", "RF", RIGHT), lambda r, u: fmt_axes(r.rf.size) if r.rf else "", "rf_size"),
    "jump": (Column("jump", "Jump", RIGHT), lambda r, u: fmt_axes(r.rf.jump, fraction_text) if r.rf else "",
             "rf_jump"),
    "start": (Column("start", "Start", RIGHT), lambda r, u: fmt_axes(r.rf.start, fraction_text) if r.rf else "",
              "rf_start"),
}
DEFAULT_COLUMNS = ("name", "type", "shape", "params", "macs", "flops", "memory", "rf", "jump")
#: on a narrow terminal the per-layer table drops these columns first (lowest priority first; `--width` help and
#: README.md say the same); layer names shorten in the middle down to 20 cells, never below
DROP_ORDER = ("start", "jump", "buffers", "rf", "memory", "flops", "type", "shape", "params")
NAME_SHRINK = {"name": 20}
#: the by-type table: its FLOPs and share bars give way first
TYPE_DROP_ORDER = ("flops", "params_share", "layers", "macs_share", "params")
#: `--by` and `--top` tables (the sorted quantity of --top is never dropped)
GROUP_DROP_ORDER = ("flops", "memory", "layers", "params_share", "macs_share")
TOP_DROP_ORDER = ("shape", "memory", "flops", "params", "type")
GROUP_BAR = 12
CSV_FIELDS = ("name", "type", "depth", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes",
              "rf_size", "rf_jump", "rf_start")


def parse_columns(text: str | None) -> list[str]:
    """The ``--columns`` names, checked (the defaults without the option)."""
    from ..errors import SpecError, did_you_mean, shorten

    if text is None:
        return list(DEFAULT_COLUMNS)
    chosen = [c.strip() for c in text.split(",")]
    if not any(chosen):  # `--columns ''` or `,`: an empty table would be no answer
        raise SpecError(f"--columns `{shorten(text)}` names no column" if text else "--columns is empty", None,
                        "give a comma-separated list of: " + ", ".join(f"`{c}`" for c in COLUMNS))
    for column in chosen:
        if not column:
            raise SpecError(f"--columns `{shorten(text)}` has an empty entry", None, "remove the extra comma")
        if column not in COLUMNS:
            raise SpecError(f"--columns: unknown column `{column}`", None, did_you_mean(column, COLUMNS))
        if chosen.count(column) > 1:
            raise SpecError(f"--columns `{shorten(text)}` names `{column}` twice", None, "give each column once")
    return chosen


def conventions_text(report: Report) -> str:
    convention = report.conventions.get("convention")
    if convention:  # --convention PEER: the MACs and params are the peer's
        return (f"Units: {report.conventions['macs']}; params as {convention} counts them"
                f"{' (with its known bugs)' if report.conventions.get('with_bugs') == 'yes' else ''}; FLOPs stay "
                f"convcalc's (docs/flops.md). Batch {report.batch}; activations are output elements × {report.dtype} "
                "× batch.")
    return (f"Units: MACs = multiply-accumulates of conv/linear layers, bias excluded (torchvision's convention); "
            f"FLOPs = 2·MACs + bias, norm, activation, pooling and elementwise ops (docs/flops.md). "
            f"Batch {report.batch}; activations are output elements × {report.dtype} × batch.")


class RenderOptions:
    """``--units``, ``--depth`` and ``--columns``; ``columns_chosen``: whether ``--columns`` was given (CSV then
    writes just those, else its full schema). ``by`` (``--by``), ``top`` and ``sort`` (``--top N --sort KEY``) show a
    roll-up and the heaviest layers instead of the per-layer table; ``panel``: the totals first, in a compact
    header panel (with ``--by``/``--top``, and for a terminal or ``--width``; piped output keeps them under the
    table, as scripts read them)."""

    __slots__ = ("units", "depth", "columns", "columns_chosen", "by", "top", "sort", "panel")

    def __init__(self, units: str = "auto", depth: int | None = None, columns: list[str] | None = None,
                 columns_chosen: bool = False, by: str | None = None, top: int | None = None, sort: str = "macs",
                 panel: bool = False):
        self.units, self.depth, self.columns_chosen = units, depth, columns_chosen
        self.columns = list(DEFAULT_COLUMNS) if columns is None else columns
        self.by, self.top, self.sort, self.panel = by, top, sort, panel or by is not None or top is not None


class AnalyzeView:
    """The report in each format. ``peers``: the report under convcalc's own convention and its graph, for the
    table's line of what each peer tool would print (convcalc/cost/peers.py)."""

    def __init__(self, report: Report, options: RenderOptions | None = None, peers: tuple | None = None):
        self.report, self.options, self.peers = report, options or RenderOptions(), peers

    def layer_table(self, title: str, sub_rows: bool) -> Table:
        chosen = [COLUMNS[c] for c in self.options.columns]
        units = self.options.units
        table = Table([column for column, _, _ in chosen], title, drop=DROP_ORDER, shrink=NAME_SHRINK)
        for row in rows(self.report, self.options.depth, sub_rows):
            role = "warn" if row.warnings else "note" if row.type.startswith("↳") else "row"
            table.add([cell(row, units) for _, cell, _ in chosen], role)
        total = totals_row(self.report)
        table.add([cell(total, units) for _, cell, _ in chosen], "total")
        return table

    def type_table(self) -> Table:
        """Totals per layer type with bars for their share of params and MACs, most MACs first."""
        report, units = self.report, self.options.units
        table = Table([Column("type", "Type"), Column("layers", "Layers", RIGHT), Column("params", "Params", RIGHT),
                       Column("params_share", "Share of params"), Column("macs", "MACs", RIGHT),
                       Column("macs_share", "Share of MACs"), Column("flops", "FLOPs", RIGHT)], "By layer type",
                      drop=TYPE_DROP_ORDER, shrink={"type": 14})
        params, macs = report.totals.params or 1, report.totals.macs or 1
        for kind, t in sorted(report.by_type.items(), key=lambda item: (-item[1].macs, -item[1].params, item[0])):
            table.add([kind, str(t.layers), fmt_count(t.params, units), _share(t.params / params),
                       fmt_count(t.macs, units), _share(t.macs / macs), fmt_count(t.flops, units)])
        return table

    def title(self) -> str:
        report = self.report
        return f"{report.name} — input {'×'.join(map(str, report.input))}, batch {report.batch}"

    def panel(self) -> Table:
        """The totals and the peak memory in three aligned pairs a line, under the title."""
        report, t, units = self.report, self.report.totals, self.options.units
        table = Table(columns(*((f"{side}{n}", "", LEFT) for n in range(3) for side in ("label", "value"))),
                      self.title(), style=ALIGNED)
        table.add(["Params", fmt_count(t.params, units), "MACs", fmt_count(t.macs, units), "FLOPs",
                   fmt_count(t.flops, units)], "total")
        table.add(["Layers", str(t.layers), "Weights", fmt_bytes(report.weight_bytes, units), "Peak activations",
                   fmt_bytes(report.peak_activation_bytes, units)], "total")
        return table

    def group_table(self) -> Table:
        """``--by``: one row per stage, type or block with its share of the MACs, then the Total."""
        by, units, t = self.options.by, self.options.units, self.report.totals
        table = Table([Column("name", by.capitalize()), Column("layers", "Layers", RIGHT),
                       Column("params", "Params", RIGHT), Column("params_share", "% params", RIGHT),
                       Column("macs", "MACs", RIGHT), Column("macs_share", "Share of MACs"),
                       Column("flops", "FLOPs", RIGHT), Column("memory", "Activations", RIGHT)],
                      f"By {by}", drop=GROUP_DROP_ORDER, shrink=NAME_SHRINK)
        for g in roll_up(self.report.layers, by):
            table.add([g.name, str(g.layers), fmt_count(g.params, units), _percent(g.params, t.params),
                       fmt_count(g.macs, units), _share(g.macs / (t.macs or 1), GROUP_BAR),
                       fmt_count(g.flops, units), fmt_bytes(g.activation_bytes, units)])
        table.add(["Total", str(t.layers), fmt_count(t.params, units), _percent(t.params, t.params),
                   fmt_count(t.macs, units), _share(1.0 if t.macs else 0.0, GROUP_BAR), fmt_count(t.flops, units),
                   fmt_bytes(t.activation_bytes, units)], "total")
        return table

    def top_table(self) -> Table:
        """``--top N``: the N heaviest layers by ``--sort``, with their share of its total."""
        options, units = self.options, self.options.units
        sort = options.sort
        label = {"macs": "MACs", "params": "params", "flops": "FLOPs", "memory": "activations"}[sort]
        table = Table([Column("rank", "#", RIGHT), Column("name", "Layer"), Column("type", "Type"),
                       Column("shape", "Output", RIGHT), Column("params", "Params", RIGHT),
                       Column("macs", "MACs", RIGHT), Column("flops", "FLOPs", RIGHT),
                       Column("memory", "Activations", RIGHT), Column("share", f"Share of {label}", RIGHT)],
                      f"Top {options.top} layers by {label}",
                      drop=tuple(k for k in TOP_DROP_ORDER if k != sort), shrink=NAME_SHRINK)
        for rank, heavy in enumerate(heaviest(self.report, options.top, sort), 1):
            layer = heavy.layer
            table.add([str(rank), layer.name, layer.type, fmt_shape(layer.output_shape), fmt_count(layer.params, units),
                       fmt_count(layer.macs, units), fmt_count(layer.flops, units),
                       fmt_bytes(layer.activation_bytes, units), _percent_of(heavy.share)])
        return table

    def glance(self) -> list:
        """The tables of ``--by`` and ``--top``, or the per-layer and by-type tables."""
        options = self.options
        if options.by is None and options.top is None:
            return [self.layer_table(None, sub_rows=True), self.type_table()]
        return ([self.group_table()] if options.by else []) + ([self.top_table()] if options.top else [])

    def table(self) -> Document:
        report, t = self.report, self.report.totals
        if self.options.panel:
            return Document([self.panel(), Line("", "row"), *self.glance(), *self.unsupported_lines(),
                             Line(conventions_text(report)), *self.peers_lines()])
        title = self.title()
        return Document([
            self.layer_table(title, sub_rows=True),
            self.type_table(),
            Line(f"Total: {t.params:,} params, {t.buffers:,} buffers, {t.macs:,} MACs, {t.flops:,} FLOPs", "total"),
            Line(f"Memory: weights {fmt_bytes(report.weight_bytes)}, activations {fmt_bytes(t.activation_bytes)}, "
                 f"peak live activations {fmt_bytes(report.peak_activation_bytes)}", "row"),
            *self.unsupported_lines(),
            Line(conventions_text(report)),
            *self.peers_lines(),
        ])

    def peers_lines(self) -> list[Line]:
        """One line: what fvcore, ptflops, thop and torchinfo would print, and why (none without ``peers``)."""
        if self.peers is None:
            return []
        from ..cost.peers import peers_summary

        return [Line(peers_summary(*self.peers, self.options.units))]

    def unsupported_lines(self) -> list[Line]:
        """The placeholders counted as zero, said under the totals (none when every operator has a kind)."""
        summary = unsupported_summary(self.report.unsupported)
        return [Line(summary, "warn")] if summary else []

    def markdown(self) -> Document:
        """A GitHub-flavoured Markdown table, ready to paste into a pull request (with ``--by``/``--top``: the totals
        line, then those tables)."""
        options = self.options
        if options.by is None and options.top is None:
            return Document([self.layer_table(self.report.name, sub_rows=False), *self.unsupported_lines(),
                             Line(conventions_text(self.report))])
        return Document([Line(self.totals_text(), "total"), *self.glance(), *self.unsupported_lines(),
                         Line(conventions_text(self.report))])

    def totals_text(self) -> str:
        report, t = self.report, self.report.totals
        return (f"{self.title()}: {t.params:,} params, {t.macs:,} MACs, {t.flops:,} FLOPs, {t.layers} layers, "
                f"peak live activations {fmt_bytes(report.peak_activation_bytes)}")

    def csv(self) -> Table:
        """One row per layer (or collapsed block) with exact integers, and no Total row: a data frame read from it
        (``pd.read_csv``) sums to the totals once, and its count columns stay integers (the totals are in the table
        and the JSON). Every field, unless ``--columns`` chose some (then those, in that order). With ``--by``: one
        row per group; with ``--top``: one row per heaviest layer with its share (percent of the total)."""
        options = self.options
        if options.by is not None and options.top is not None:
            from ..errors import SpecError

            raise SpecError("--format csv writes one table: --by and --top together make two", None,
                            "give one of them, or use --format table, markdown or json")
        if options.by is not None:
            table = Table(csv_columns(options.by, "layers", *COUNT_FIELDS))
            for g in roll_up(self.report.layers, options.by):
                table.add([g.name, g.layers, *(getattr(g, key) for key in COUNT_FIELDS)])
            return table
        if options.top is not None:
            table = Table(csv_columns("rank", "name", "type", *COUNT_FIELDS, f"{options.sort}_share_percent"))
            for rank, heavy in enumerate(heaviest(self.report, options.top, options.sort), 1):
                layer, share = heavy.layer, heavy.to_dict()["share_percent"]
                table.add([rank, layer.name, layer.type, *(getattr(layer, key) for key in COUNT_FIELDS), share])
            return table
        fields = [COLUMNS[c][2] for c in options.columns] if options.columns_chosen else CSV_FIELDS
        table = Table(csv_columns(*fields))
        for row in rows(self.report, options.depth):
            rf = row.rf
            values = {
                "name": row.name, "type": row.type, "depth": row.depth,
                "output_shape": "x".join(map(str, row.output_shape)), "params": row.params, "buffers": row.buffers,
                "macs": row.macs, "flops": row.flops, "activation_bytes": row.activation_bytes,
                "rf_size": fmt_axes(rf.size) if rf else "", "rf_jump": fmt_axes(rf.jump, fraction_text) if rf else "",
                "rf_start": fmt_axes(rf.start, fraction_text) if rf else "",
            }
            table.add([values[f] for f in fields])
        summary = unsupported_summary(self.report.unsupported)
        if summary:  # a last row that says so (`pd.read_csv(…, comment="#")` skips it)
            table.add([f"# {summary}"] + [""] * (len(fields) - 1))
        return table

    def json(self) -> Json:
        """The report's JSON (docs/json.md); ``--by block|type`` adds ``blocks``/``types`` (``stages`` is always
        there) and ``--top`` adds ``top``, after the report's own keys. In pieces, written one by one."""
        pieces, options, extra = self.report.json_pieces(), self.options, {}
        if options.by in ("block", "type"):
            extra[f"{options.by}s"] = group_sums(self.report.layers, options.by)
        if options.top is not None:
            extra["top"] = {"sort": options.sort, "layers": [h.to_dict() for h in
                                                             heaviest(self.report, options.top, options.sort)]}
        if extra:
            from ..cost.jsontext import spliced_pieces

            groups = extra.get(f"{options.by}s")
            spliced = {}
            if groups is not None:
                text = groups_json(groups, "  ", 1)
                if text is None:  # a value groups_json does not write: json does
                    extra[f"{options.by}s"] = [dict(zip(Group.__slots__, group)) for group in groups]
                else:
                    spliced[f"{options.by}s"], extra[f"{options.by}s"] = (text,), None
            body = spliced_pieces(extra, 2, spliced)
            # the report's closing brace (the end of its last piece) gives way to the extra keys
            pieces[-1] = pieces[-1].rstrip().removesuffix("}").rstrip() + ",\n"
            body[0] = body[0].lstrip().removeprefix("{").lstrip("\n")
            pieces += body
        return Json(text=pieces)


def _share(share: float, width: int | None = None) -> str:
    from .grid import BAR_WIDTH, bar

    return f"{bar(share, width or BAR_WIDTH)} {share * 100:5.1f}%"


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "-"


def _percent_of(share) -> str:
    return "-" if share is None else f"{float(share) * 100:.1f}%"


def write_warnings(report: Report, stream: TextIO | None = None) -> None:
    from .width import write_message

    stream = stream or sys.stderr
    for warning in report.warnings:
        write_message(warning, stream, "warning: ")


def render(report: Report, fmt: str, options: RenderOptions, out: TextIO | None = None) -> None:
    """Write ``report`` to ``out`` (stdout) in ``fmt``; warnings go to stderr."""
    from .emitters import emit

    emit(AnalyzeView(report, options), fmt, out)
    write_warnings(report)
