"""CSV and Markdown renderers (plain text, no Rich)."""

from __future__ import annotations

import csv
from typing import TextIO

from ..report import Report
from . import COLUMNS, RenderOptions, conventions_text, fmt_axes, fmt_fraction, rows, totals_row

_CSV_FIELDS = ("name", "type", "depth", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes",
               "rf_size", "rf_jump", "rf_start")


def write_csv(report: Report, options: RenderOptions, out: TextIO) -> None:
    """One row per layer (or collapsed block) with exact integers, then a ``Total`` row."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for row in rows(report, options.depth) + [totals_row(report)]:
        rf = row.rf
        writer.writerow([
            row.name, row.type, row.depth, "x".join(map(str, row.output_shape)), row.params, row.buffers,
            row.macs, row.flops, row.activation_bytes,
            fmt_axes(rf.size) if rf else "", fmt_axes(rf.jump, fmt_fraction) if rf else "",
            fmt_axes(rf.start, fmt_fraction) if rf else "",
        ])


def write_markdown(report: Report, options: RenderOptions, out: TextIO) -> None:
    """A GitHub-flavoured Markdown table, ready to paste into a pull request."""
    columns = options.columns
    out.write(f"### {report.name}\n\n")
    out.write("| " + " | ".join(COLUMNS[c][0] for c in columns) + " |\n")
    out.write("|" + "|".join("---:" if COLUMNS[c][1] else "---" for c in columns) + "|\n")
    for row in rows(report, options.depth) + [totals_row(report)]:
        cells = [COLUMNS[c][2](row, options.units).strip().replace("|", "\\|") for c in columns]
        if row.name == "Total":
            cells = [f"**{cell}**" if cell else "" for cell in cells]
        out.write("| " + " | ".join(cells) + " |\n")
    out.write(f"\n{conventions_text(report)}\n")
