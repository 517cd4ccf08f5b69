"""The Rich table renderer (the default for a terminal)."""

from __future__ import annotations

import os
from typing import TextIO

from ..report import Report
from . import COLUMNS, RenderOptions, conventions_text, fmt_bytes, fmt_count, rows, totals_row

BAR_WIDTH = 24


def console(out: TextIO):
    """A Rich console on ``out``: colour only on a TTY without NO_COLOR; wide when piped so rows do not wrap."""
    from rich.console import Console

    tty = hasattr(out, "isatty") and out.isatty()
    return Console(file=out, no_color=bool(os.environ.get("NO_COLOR")) or not tty, highlight=False,
                   width=None if tty else 200, soft_wrap=False)


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``share`` (0..1) in eighth-blocks."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def write_table(report: Report, options: RenderOptions, out: TextIO) -> None:
    from rich.table import Table

    con = console(out)
    table = Table(title=f"{report.name} — input {'×'.join(map(str, report.input))}, batch {report.batch}",
                  caption=conventions_text(report), caption_justify="left", show_footer=False)
    for key in options.columns:
        header, right, _ = COLUMNS[key]
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in rows(report, options.depth):
        style = "yellow" if row.warnings else None
        table.add_row(*(COLUMNS[c][2](row, options.units) for c in options.columns), style=style)
    total = totals_row(report)
    table.add_section()
    table.add_row(*(COLUMNS[c][2](total, options.units) if c not in ("rf", "jump", "start") else ""
                    for c in options.columns), style="bold")
    con.print(table)
    con.print(_by_type(report, options.units))
    t = report.totals
    con.print(f"Total: {t.params:,} params, {t.buffers:,} buffers, {t.macs:,} MACs, {t.flops:,} FLOPs; "
              f"weights {fmt_bytes(report.weight_bytes)}, activations {fmt_bytes(t.activation_bytes)}, "
              f"peak live activations {fmt_bytes(report.peak_activation_bytes)}", highlight=False)


def _by_type(report: Report, units: str):
    from rich.table import Table

    table = Table(title="By layer type", title_justify="left")
    for header in ("Type", "Layers", "Params", "Share of params", "MACs", "Share of MACs", "FLOPs"):
        table.add_column(header, justify="left" if header.startswith(("Type", "Share")) else "right")
    params, macs = report.totals.params or 1, report.totals.macs or 1
    for kind, t in sorted(report.by_type.items(), key=lambda item: (-item[1].macs, -item[1].params)):
        table.add_row(kind, str(t.layers), fmt_count(t.params, units), _share(t.params / params),
                      fmt_count(t.macs, units), _share(t.macs / macs), fmt_count(t.flops, units))
    return table


def _share(share: float) -> str:
    return f"{bar(share)} {share * 100:5.1f}%"
