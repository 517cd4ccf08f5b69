"""Rendering of :mod:`convcalc.compare` results: box table (default), GitHub Markdown, CSV and JSON.

Every table is first built as a list of header cells and rows of cells (:class:`Table`), then laid out by
:mod:`convcalc.render.grid` for the terminal or written as a Markdown table, so the two always show the same cells.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TextIO

from ..compare.networks import COUNTS, Line, NetworkComparison, comparison_dict, ratio_text
from ..compare.sweep import Sweep, sweep_dict
from ..numbers import fmt_axes, fmt_bytes, fmt_count, fmt_shape
from .grid import Grid
from .table import bar, write_lines

NOTE = ("MACs = multiply-accumulates of conv/linear layers, bias excluded; FLOPs = 2·MACs + bias, norm, activation, "
        "pooling and elementwise ops; activations = output elements × dtype size × batch, summed over layers.")
_LABEL = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "activation_bytes": "Activations"}


@dataclass
class Table:
    """A titled table of already formatted cells. ``roles`` marks rows as row/total/warn (for terminal styling)."""

    title: str
    headers: list[str]
    right: list[bool]
    rows: list[list[str]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def add(self, cells: list[str], role: str = "row") -> None:
        assert len(cells) == len(self.headers), (cells, self.headers)
        self.rows.append(cells)
        self.roles.append(role)


# ---- cell formats ---------------------------------------------------------------------------------------------------
def fmt_value(key: str, value: int, units: str) -> str:
    return fmt_bytes(value, "raw" if units == "raw" else "auto") if key.endswith("bytes") else fmt_count(value, units)


def fmt_delta(key: str, value: int | None, units: str) -> str:
    if value is None:
        return ""
    if value == 0:
        return "0"
    sign = "+" if value > 0 else "−"
    return sign + fmt_value(key, abs(value), units)


def fmt_ratio(value: Fraction | None, digits: int = 3) -> str:
    if value is None:
        return ""
    if value.denominator == 1:
        return f"×{value.numerator}"
    return f"×{float(value):.{digits}f}"


# ---- output plumbing ------------------------------------------------------------------------------------------------
def lines_of(tables: list[Table], notes: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for table in tables:
        grid = Grid(table.headers, table.right)
        for cells, role in zip(table.rows, table.roles):
            if role == "total" and grid.rows:
                grid.add_section()
            grid.add(cells, role)
        out += [(table.title, "title")] + grid.lines()
    out += [(note, "note") for note in notes]
    return out


def md_cell(text: str) -> str:
    return text.strip().replace("|", "\\|").replace("\n", " ")


def write_markdown_tables(tables: list[Table], notes: list[str], out: TextIO) -> None:
    """GitHub-flavoured Markdown: a heading per table, a header row, a separator row, equal cell counts."""
    for table in tables:
        out.write(f"#### {md_cell(table.title)}\n\n")
        out.write("| " + " | ".join(md_cell(h) for h in table.headers) + " |\n")
        out.write("|" + "|".join("---:" if right else "---" for right in table.right) + "|\n")
        for cells, role in zip(table.rows, table.roles):
            cells = [md_cell(c) for c in cells]
            if role == "total":
                cells = [f"**{c}**" if c else "" for c in cells]
            out.write("| " + " | ".join(cells) + " |\n")
        out.write("\n")
    for note in notes:
        out.write(f"{note}\n")


def emit(tables: list[Table], notes: list[str], fmt: str, out: TextIO) -> None:
    if fmt == "markdown":
        write_markdown_tables(tables, notes, out)
    else:
        write_lines(lines_of(tables, notes), out)


# =====================================================================================================================
# Networks side by side
# =====================================================================================================================
def _type_cell(line: Line) -> str:
    kinds = list(dict.fromkeys(e.type for e in line.entries if e is not None and e.type))
    return " → ".join(kinds)


def _diff_columns(comparison: NetworkComparison, keys: tuple[str, ...]) -> tuple[list[str], list[bool]]:
    labels = comparison.labels
    headers, right = [], []
    for key in keys:
        for index, label in enumerate(labels):
            headers.append(f"{_LABEL[key]} {label}")
            right.append(True)
            if index:  # with two specs the Δ and × columns need no name
                headers += ["Δ", "×"] if len(labels) == 2 else [f"Δ {label}", f"× {label}"]
                right += [True, True]
    return headers, right


def _diff_cells(comparison: NetworkComparison, line: Line, keys: tuple[str, ...], units: str) -> list[str]:
    cells = []
    for key in keys:
        for index, entry in enumerate(line.entries):
            cells.append(fmt_value(key, getattr(entry, key), units) if entry is not None else "—")
            if index:
                cells += [fmt_delta(key, line.delta(index, key), units), fmt_ratio(line.ratio(index, key))]
    return cells


def _status_cell(line: Line, labels: list[str]) -> str:
    statuses = line.status[1:]
    if len(statuses) == 1:
        return statuses[0]
    return ", ".join(f"{label}: {s}" for label, s in zip(labels[1:], statuses) if s != "same") or "same"


def comparison_tables(comparison: NetworkComparison, units: str, all_layers: bool = False) -> list[Table]:
    labels = comparison.labels
    base = labels[0]
    totals = Table(f"Totals against {base}", ["Spec", "Input", "Layers"], [False, True, True])
    for key in COUNTS:
        totals.headers += [_LABEL[key], "Δ", "×"]
        totals.right += [True, True, True]
    totals.headers.append("Peak activations")
    totals.right.append(True)
    line = comparison.total
    for index, (label, entry) in enumerate(zip(labels, line.entries)):
        cells = [label, fmt_shape(comparison.inputs[index]) + f" ×{comparison.batches[index]}", str(entry.layers)]
        for key in COUNTS:
            cells.append(fmt_value(key, getattr(entry, key), units))
            cells += ["", ""] if index == 0 else [fmt_delta(key, line.delta(index, key), units),
                                                   fmt_ratio(line.ratio(index, key))]
        cells.append(fmt_bytes(comparison.peak_activation_bytes[index], "raw" if units == "raw" else "auto"))
        totals.add(cells)

    keys = ("params", "macs")
    headers, right = _diff_columns(comparison, keys)
    stages = Table("Per stage (top-level block or layer)", ["Stage", "Layers", "Status"] + headers,
                   [False, True, False] + right)
    for line in comparison.stages:
        counts = "/".join(str(e.layers) if e is not None else "—" for e in line.entries)
        stages.add([line.key, counts, _status_cell(line, labels)] + _diff_cells(comparison, line, keys, units),
                   "warn" if line.differs else "row")

    shown = [line for line in comparison.layers if all_layers or line.differs]
    hidden = len(comparison.layers) - len(shown)
    title = "Per layer, matched by name" + (f" (only the {len(shown)} that differ; {hidden} identical hidden, "
                                             f"--all-layers shows them)" if hidden else "")
    layers = Table(title, ["Layer", "Type", "Output", "Status"] + headers, [False, False, True, False] + right)
    for line in shown:
        shapes = list(dict.fromkeys(fmt_shape(e.output_shape) for e in line.entries if e is not None))
        layers.add([line.key, _type_cell(line), " → ".join(shapes), _status_cell(line, labels)]
                   + _diff_cells(comparison, line, keys, units), "warn" if line.differs else "row")
    if not shown:
        layers.add(["(no layer differs)", "", "", ""] + [""] * len(headers))
    return [totals, stages, layers]


def comparison_notes(comparison: NetworkComparison) -> list[str]:
    labels = comparison.labels
    return [f"Δ and × are against {labels[0]}. Status: added = only in the later spec, removed = only in "
            f"{labels[0]}, changed = type, output shape or a count differs.", NOTE]


def write_comparison_csv(comparison: NetworkComparison, out: TextIO) -> None:
    """Long form, one row per (section, key, spec): exact ints, deltas and exact ratios against the first spec."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "spec", "status", "type", "output_shape", *COUNTS,
                     *(f"delta_{k}" for k in COUNTS), *(f"ratio_{k}" for k in COUNTS)])
    sections = [("total", [comparison.total]), ("stage", comparison.stages), ("layer", comparison.layers)]
    for section, lines in sections:
        for line in lines:
            for index, (label, entry, status) in enumerate(zip(comparison.labels, line.entries, line.status)):
                if entry is None:
                    writer.writerow([section, line.key, label, status] + [""] * (2 + 3 * len(COUNTS)))
                    continue
                deltas = [line.delta(index, k) if index else "" for k in COUNTS]
                ratios = [ratio_text(line.ratio(index, k)) or "" if index else "" for k in COUNTS]
                writer.writerow([section, line.key, label, status, entry.type, "x".join(map(str, entry.output_shape)),
                                 *(getattr(entry, k) for k in COUNTS),
                                 *("" if d is None else d for d in deltas), *ratios])


def render_comparison(comparison: NetworkComparison, fmt: str, units: str, all_layers: bool, out: TextIO,
                      extra_notes: list[str] | None = None, extra: dict | None = None) -> None:
    """Write a comparison; ``extra_notes`` go under the tables, ``extra`` is merged into the JSON."""
    if fmt == "json":
        data = comparison_dict(comparison)
        data.update(extra or {})
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        write_comparison_csv(comparison, out)
    else:
        notes = list(extra_notes or []) + comparison_notes(comparison)
        emit(comparison_tables(comparison, units, all_layers), notes, fmt, out)


# =====================================================================================================================
# Sweep
# =====================================================================================================================
def sweep_tables(result: Sweep, units: str) -> list[Table]:
    names = list(result.axes)
    reference = result.points[-1]
    table = Table(f"{result.name}: {len(result.points)} points", names + ["Params", "MACs", "FLOPs",
                                                                          "Params / ref", "MACs / ref"],
                  [True] * (len(names) + 5))
    for p in result.points:
        table.add([p.values[n] for n in names]
                  + [fmt_count(p.params, units), fmt_count(p.macs, units), fmt_count(p.flops, units),
                     fmt_ratio(Fraction(p.params, reference.params) if reference.params else None),
                     fmt_ratio(Fraction(p.macs, reference.macs) if reference.macs else None)])
    tables = [table]
    if len(names) == 2:
        rows_var, cols_var = names
        for key in ("macs", "params"):
            pivot = Table(f"{_LABEL[key]} by {rows_var} (rows) and {cols_var} (columns)",
                          [f"{rows_var} \\ {cols_var}"] + result.axes[cols_var], [True] * (1 + len(result.axes[cols_var])))
            for r in result.axes[rows_var]:
                cells = [r]
                for c in result.axes[cols_var]:
                    point = result.point({rows_var: r, cols_var: c})
                    cells.append(fmt_count(getattr(point, key), units) if point else "")
                pivot.add(cells)
            tables.append(pivot)
    return tables


def scaling_note(result: Sweep) -> str:
    parts = []
    for key in ("macs", "params"):
        exps = result.exponents(key)
        terms = [f"{name}^{value:.2f}" for name, value in exps.items() if value is not None]
        if terms:
            parts.append(f"{_LABEL[key]} ∝ " + " · ".join(terms))
    if not parts:
        return ""
    return ("Scaling (log-log slope between each var's smallest and largest value, the others at their last value): "
            + "; ".join(parts) + ".")


def sweep_notes(result: Sweep) -> list[str]:
    ref = ", ".join(f"{k}={v}" for k, v in result.points[-1].values.items())
    notes = [f"ref = the last point ({ref})."]
    if result.fixed:
        notes.append("Fixed: " + ", ".join(f"{k}={v}" for k, v in result.fixed.items()) + ".")
    scaling = scaling_note(result)
    if scaling:
        notes.append(scaling)
    return notes + [NOTE]


MARKERS = "ox+*#@%&"


def scatter(result: Sweep, width: int = 56, height: int = 14) -> list[str]:
    """A text scatter of MACs (y) against params (x), log axes when a range spans 10× or more. The marker is the
    value of the first swept var (legend below); points that share a cell show the later marker."""
    points = result.points
    xs, ys = [p.params for p in points], [p.macs for p in points]
    if not points or min(xs) <= 0 or min(ys) <= 0:
        return ["(no chart: a point has zero params or MACs)"]
    log_x, log_y = max(xs) >= 10 * min(xs), max(ys) >= 10 * min(ys)

    def scale(value, lo, hi, size, log):
        if hi == lo:
            return size // 2
        f = (math.log(value / lo) / math.log(hi / lo)) if log else (value - lo) / (hi - lo)
        return min(size - 1, max(0, round(f * (size - 1))))

    names = list(result.axes)
    first = names[0] if names else None
    legend_values = result.axes[first] if first else []
    canvas = [[" "] * width for _ in range(height)]
    for p in points:
        col = scale(p.params, min(xs), max(xs), width, log_x)
        row = height - 1 - scale(p.macs, min(ys), max(ys), height, log_y)
        marker = MARKERS[legend_values.index(p.values[first]) % len(MARKERS)] if first else "o"
        canvas[row][col] = marker
    top, bottom = fmt_count(max(ys), "auto"), fmt_count(min(ys), "auto")
    pad = max(len(top), len(bottom))
    out = [f"MACs against params ({'log' if log_y else 'linear'} MACs, {'log' if log_x else 'linear'} params)"]
    for index, row in enumerate(canvas):
        label = top if index == 0 else bottom if index == height - 1 else ""
        out.append(f"{label:>{pad}} │" + "".join(row))
    out.append(" " * pad + " └" + "─" * width)
    left, right = fmt_count(min(xs), "auto"), fmt_count(max(xs), "auto")
    out.append(" " * (pad + 2) + left + " " * max(1, width - len(left) - len(right)) + right + "  params")
    if first:
        out.append(" " * (pad + 2) + "  ".join(f"{MARKERS[i % len(MARKERS)]} {first}={v}"
                                              for i, v in enumerate(legend_values)))
    return out


def write_sweep_csv(result: Sweep, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    names = list(result.axes)
    writer.writerow(names + ["params", "macs", "flops", "activation_bytes", "peak_activation_bytes"])
    for p in result.points:
        writer.writerow([p.values[n] for n in names]
                        + [p.params, p.macs, p.flops, p.activation_bytes, p.peak_activation_bytes])


def render_sweep(result: Sweep, fmt: str, units: str, chart: bool, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps(sweep_dict(result), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        write_sweep_csv(result, out)
    elif fmt == "markdown":
        write_markdown_tables(sweep_tables(result, units), sweep_notes(result), out)
    else:
        lines = lines_of(sweep_tables(result, units), [])
        if chart:
            lines += [(text, "title" if i == 0 else "row") for i, text in enumerate(scatter(result))]
        lines += [(note, "note") for note in sweep_notes(result)]
        write_lines(lines, out)


# =====================================================================================================================
# Layer what-if
# =====================================================================================================================
RATIO_BAR = 20


def ratio_bar(value: Fraction | None, width: int = RATIO_BAR) -> str:
    """The ratio to standard as a bar, full width = 1 (the standard conv); above 1 the bar ends in ▶."""
    if value is None:
        return ""
    text = bar(min(float(value), 1.0), width).rstrip()
    return (text + "▶") if value > 1 else text


def fmt_exact_ratio(value: Fraction | None) -> str:
    if value is None:
        return "—"
    if value.denominator == 1:
        return f"×{value.numerator}"
    return f"×{float(value):.4f}"


def what_if_tables(result, units: str) -> list[Table]:
    q = result.query
    where = f"`{q.name}` of {q.source}: " if q.name else ""
    title = f"What-if for {where}{q.describe()} → {fmt_shape(result.rows[0].output_shape) if result.rows else '?'}"
    table = Table(title, ["Design", "Layers", "Params", "MACs", "FLOPs", "Activations", "RF", "Params ×",
                          "closed form", "MACs ×", "closed form", "MACs against standard", "Closed form (MACs)"],
                  [False, False, True, True, True, True, True, True, True, True, True, False, False])
    for row in result.rows:
        label = row.label + (" ← as written" if row.as_written else "")
        table.add([label, " → ".join(_layer_text(layer) for layer in row.layers), fmt_count(row.params, units), fmt_count(row.macs, units),
                   fmt_count(row.flops, units), fmt_bytes(row.activation_bytes, "raw" if units == "raw" else "auto"),
                   fmt_axes(row.rf), fmt_exact_ratio(row.params_ratio), fmt_exact_ratio(row.closed_params),
                   fmt_exact_ratio(row.macs_ratio), fmt_exact_ratio(row.closed_macs), ratio_bar(row.macs_ratio),
                   row.formula], "total" if row.design == "standard" else "row")
    return [table]


def _layer_text(layer: dict) -> str:
    """``conv g4``, ``conv k2 d2``, ``channel_shuffle g4``: the kind and what sets it apart."""
    parts = [layer["type"]]
    if layer.get("groups", 1) != 1:
        parts.append(f"g{layer['groups']}")
    if layer.get("dilation", 1) != 1:
        parts.append(f"k{_axes_text(layer['kernel'])} d{_axes_text(layer['dilation'])}")
    if "tile" in layer:
        parts.append(f"t{_axes_text(layer['tile'])}")
    return " ".join(parts)


def _axes_text(value) -> str:
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


def what_if_notes(result) -> list[str]:
    notes = [note + "." for note in result.notes]
    for title, reason in result.skipped:
        notes.append(f"Not shown: {title} — {reason}.")
    notes.append("Each row is a tiny spec analysed by the cost model (batch 1): × = ratio to the standard conv, "
                 "measured, then its closed form (bias left out). Activations = every map the row computes, the stages "
                 "inside a composite layer included. "
                 "docs/compare.md gives the formulas.")
    return notes + [NOTE]


def write_what_if_csv(result, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["design", "arg", "label", "layers", "params", "macs", "flops", "activation_bytes",
                     "peak_activation_bytes", "rf", "output_shape", "params_ratio", "closed_form_params_ratio",
                     "macs_ratio", "closed_form_macs_ratio", "formula", "as_written"])
    for r in result.rows:
        writer.writerow([r.design, "" if r.arg is None else r.arg, r.label, " ".join(r.kinds), r.params, r.macs,
                         r.flops, r.activation_bytes, r.peak_activation_bytes, "x".join(map(str, r.rf)),
                         "x".join(map(str, r.output_shape)), ratio_text(r.params_ratio) or "",
                         ratio_text(r.closed_params) or "", ratio_text(r.macs_ratio) or "",
                         ratio_text(r.closed_macs) or "", r.formula, r.as_written])
    for title, reason in result.skipped:
        writer.writerow([title, "", f"not shown: {reason}"] + [""] * 14)


def render_what_if(result, fmt: str, units: str, out: TextIO) -> None:
    from ..compare.whatif import what_if_dict

    if fmt == "json":
        out.write(json.dumps(what_if_dict(result), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        write_what_if_csv(result, out)
    else:
        emit(what_if_tables(result, units), what_if_notes(result), fmt, out)


# =====================================================================================================================
# Whole-network rewrite
# =====================================================================================================================
def rewrite_notes(result, written: str | None = None) -> list[str]:
    from ..compare.rewrite import ELIGIBILITY

    notes = [f"Rewrote {len(result.rewritten)} conv(s) as {result.target}; {ELIGIBILITY}."]
    for reason, names in result.kept.items():
        shown = ", ".join(names[:6]) + (f", … ({len(names)} in all)" if len(names) > 6 else "")
        notes.append(f"Kept ({reason}): {shown}.")
    if written:
        notes.append(f"Wrote the rewritten spec to {written}.")
    return notes


def rewrite_extra(result, written: str | None = None) -> dict:
    return {"rewrite": {"target": result.target, "rewritten": result.rewritten, "kept": result.kept,
                        "written": written}}
