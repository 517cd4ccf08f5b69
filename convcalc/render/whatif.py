"""``convcalc compare --layer``: one conv built every way (standard, grouped, depthwise separable, …), each row a
tiny spec analysed by the cost model, with its ratio to the standard conv measured and in closed form. CSV has
exact values, JSON is :func:`convcalc.compare.whatif.what_if_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..compare.networks import ratio_text
from ..numbers import fmt_axes, fmt_bytes, fmt_count, fmt_shape
from .compare import HEADING, NOTE, titled
from .grid import bar
from .model import Document, Json, Line, Table, csv_columns


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
    table = titled(title, ["Design", "Layers", "Params", "MACs", "FLOPs", "Activations", "RF", "Params ×",
                           "closed form", "MACs ×", "closed form", "MACs against standard", "Closed form (MACs)"],
                   [False, False, True, True, True, True, True, True, True, True, True, False, False])
    for row in result.rows:
        label = row.label + (" ← as written" if row.as_written else "")
        table.add([label, " → ".join(_layer_text(layer) for layer in row.layers), fmt_count(row.params, units),
                   fmt_count(row.macs, units), fmt_count(row.flops, units), fmt_bytes(row.activation_bytes, "raw" if units == "raw" else "auto"),
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


def what_if_csv(result) -> Table:
    table = Table(csv_columns("design", "arg", "label", "layers", "params", "macs", "flops", "activation_bytes",
                              "peak_activation_bytes", "rf", "output_shape", "params_ratio", "closed_form_params_ratio",
                              "macs_ratio", "closed_form_macs_ratio", "formula", "as_written"))
    for r in result.rows:
        table.add([r.design, "" if r.arg is None else r.arg, r.label, " ".join(r.kinds), r.params, r.macs,
                   r.flops, r.activation_bytes, r.peak_activation_bytes, "x".join(map(str, r.rf)),
                   "x".join(map(str, r.output_shape)), ratio_text(r.params_ratio) or "",
                   ratio_text(r.closed_params) or "", ratio_text(r.macs_ratio) or "",
                   ratio_text(r.closed_macs) or "", r.formula, r.as_written])
    for title, reason in result.skipped:
        table.add([title, "", f"not shown: {reason}"] + [""] * 14)
    return table


@dataclass
class WhatIfView:
    result: object
    units: str = "auto"

    def table(self) -> Document:
        return Document(what_if_tables(self.result, self.units) + [Line(n) for n in what_if_notes(self.result)],
                        HEADING)

    markdown = table

    def csv(self) -> Table:
        return what_if_csv(self.result)

    def json(self) -> Json:
        from ..compare.whatif import what_if_dict

        return Json(what_if_dict(self.result))
