"""CSV and Markdown renderers (plain text, no Rich)."""

from __future__ import annotations

import csv
from typing import TextIO

from ..cost.report import Report
from ..numbers import fmt_axes, fraction_text
from . import COLUMNS, RenderOptions, conventions_text, rows, totals_row

_CSV_FIELDS = ("name", "type", "depth", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes",
               "rf_size", "rf_jump", "rf_start")
#: the CSV field of each `--columns` name (CSV headers are the JSON keys, values exact and unit-free)
_CSV_OF_COLUMN = {"name": "name", "type": "type", "shape": "output_shape", "params": "params", "buffers": "buffers",
                  "macs": "macs", "flops": "flops", "memory": "activation_bytes", "rf": "rf_size", "jump": "rf_jump",
                  "start": "rf_start"}


def write_csv(report: Report, options: RenderOptions, out: TextIO) -> None:
    """One row per layer (or collapsed block) with exact integers, then a ``Total`` row. Every field, unless
    ``--columns`` chose some (then those, in that order)."""
    fields = [_CSV_OF_COLUMN[c] for c in options.columns] if options.columns_chosen else _CSV_FIELDS
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows(report, options.depth) + [totals_row(report)]:
        rf = row.rf
        values = {
            "name": row.name, "type": row.type, "depth": row.depth, "output_shape": "x".join(map(str, row.output_shape)),
            "params": row.params, "buffers": row.buffers, "macs": row.macs, "flops": row.flops,
            "activation_bytes": row.activation_bytes, "rf_size": fmt_axes(rf.size) if rf else "",
            "rf_jump": fmt_axes(rf.jump, fraction_text) if rf else "",
            "rf_start": fmt_axes(rf.start, fraction_text) if rf else "",
        }
        writer.writerow([values[f] for f in fields])


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
