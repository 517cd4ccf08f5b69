"""Turning a :class:`~convcalc.report.Report` into text: Rich table, JSON, CSV or Markdown.

Data goes to stdout, warnings to stderr. Rich is imported only by the table renderer, so ``--format json``
does not pay for it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable, TextIO

from ..cost.report import COUNT_FIELDS, LayerReport, Report
from ..numbers import fmt_axes, fmt_bytes, fmt_count, fmt_shape, fraction_text



@dataclass
class Row:
    """One printed row: a layer, or a collapsed block instance (``type`` = "block")."""

    name: str
    type: str
    output_shape: list[int]
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0
    rf: object = None
    warnings: list[str] = field(default_factory=list)
    depth: int = 0
    layers: int = 1


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


#: column key -> (header, right-aligned, value for a Row given units)
COLUMNS: dict[str, tuple[str, bool, Callable[[Row, str], str]]] = {
    "name": ("Layer", False, lambda r, u: "  " * r.depth + r.name),
    "type": ("Type", False, lambda r, u: r.type if r.type != "block" else f"block ({r.layers} layers)"),
    "shape": ("Output", True, lambda r, u: fmt_shape(r.output_shape)),
    "params": ("Params", True, lambda r, u: fmt_count(r.params, u)),
    "buffers": ("Buffers", True, lambda r, u: fmt_count(r.buffers, u)),
    "macs": ("MACs", True, lambda r, u: fmt_count(r.macs, u)),
    "flops": ("FLOPs", True, lambda r, u: fmt_count(r.flops, u)),
    "memory": ("Activations", True, lambda r, u: fmt_bytes(r.activation_bytes, u) if r.layers else ""),
    "rf": ("RF", True, lambda r, u: fmt_axes(r.rf.size) if r.rf else ""),
    "jump": ("Jump", True, lambda r, u: fmt_axes(r.rf.jump, fraction_text) if r.rf else ""),
    "start": ("Start", True, lambda r, u: fmt_axes(r.rf.start, fraction_text) if r.rf else ""),
}
DEFAULT_COLUMNS = ("name", "type", "shape", "params", "macs", "flops", "memory", "rf", "jump")


def parse_columns(text: str | None) -> list[str]:
    from ..errors import SpecError, did_you_mean

    if text is None:
        return list(DEFAULT_COLUMNS)
    chosen = [c.strip() for c in text.split(",")]
    if not any(chosen):  # `--columns ''` or `,`: an empty table would be no answer
        raise SpecError(f"--columns {text!r} names no column", None,
                        "give a comma-separated list of: " + ", ".join(f"`{c}`" for c in COLUMNS))
    for column in chosen:
        if not column:
            raise SpecError(f"--columns {text!r} has an empty entry", None, "remove the extra comma")
        if column not in COLUMNS:
            raise SpecError(f"--columns: unknown column `{column}`", None, did_you_mean(column, COLUMNS))
        if chosen.count(column) > 1:
            raise SpecError(f"--columns {text!r} names `{column}` twice", None, "give each column once")
    return chosen


def totals_row(report: Report) -> Row:
    t = report.totals
    return Row("Total", f"{t.layers} layers", [], t.params, t.buffers, t.macs, t.flops, t.activation_bytes)


def conventions_text(report: Report) -> str:
    return (f"Units: MACs = multiply-accumulates of conv/linear layers, bias excluded (torchvision's convention); "
            f"FLOPs = 2·MACs + bias, norm, activation, pooling and elementwise ops (docs/flops.md). "
            f"Batch {report.batch}; activations are output elements × {report.dtype} × batch.")


@dataclass
class RenderOptions:
    units: str = "auto"
    depth: int | None = None
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    #: whether `--columns` was given: CSV then writes just those, else its full schema
    columns_chosen: bool = False


def write_warnings(report: Report, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    for warning in report.warnings:
        print(f"warning: {warning}", file=stream)


def render(report: Report, fmt: str, options: RenderOptions, out: TextIO | None = None) -> None:
    """Write ``report`` to ``out`` (stdout) in ``fmt``; warnings go to stderr."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(report.to_json() + "\n")
    elif fmt == "csv":
        from .text import write_csv

        write_csv(report, options, out)
    elif fmt == "markdown":
        from .text import write_markdown

        write_markdown(report, options, out)
    else:
        from .table import write_table

        write_table(report, options, out)
    write_warnings(report)
