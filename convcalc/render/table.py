"""The table renderer (the default): per-layer table, per-type share bars, exact totals, conventions.

Laid out by :mod:`convcalc.render.grid`. On a terminal the lines are styled through Rich (bold header and totals,
yellow rows with warnings); piped, or with NO_COLOR set, plain text is written and Rich is not even imported.
"""

from __future__ import annotations

import os
from typing import TextIO

from ..cost.report import Report
from ..numbers import fmt_bytes, fmt_count
from . import COLUMNS, RenderOptions, conventions_text, rows, totals_row
from .grid import Grid

BAR_WIDTH = 24
_STYLES = {"title": "bold", "header": "bold", "total": "bold", "warn": "yellow", "note": "dim"}


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``share`` (0..1) in eighth-blocks, padded to ``width`` cells."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")
    return text.ljust(width)


def layer_grid(report: Report, options: RenderOptions) -> Grid:
    grid = Grid([COLUMNS[c][0] for c in options.columns], [COLUMNS[c][1] for c in options.columns])
    for row in rows(report, options.depth, sub_rows=True):
        role = "warn" if row.warnings else "note" if row.type.startswith("↳") else "row"
        grid.add([COLUMNS[c][2](row, options.units) for c in options.columns], role)
    grid.add_section()
    total = totals_row(report)
    grid.add([COLUMNS[c][2](total, options.units) if c not in ("rf", "jump", "start") else ""
              for c in options.columns], "total")
    return grid


def type_grid(report: Report, units: str) -> Grid:
    """Totals per layer type with bars for their share of params and MACs, most MACs first."""
    grid = Grid(["Type", "Layers", "Params", "Share of params", "MACs", "Share of MACs", "FLOPs"],
                [False, True, True, False, True, False, True])
    params, macs = report.totals.params or 1, report.totals.macs or 1
    for kind, t in sorted(report.by_type.items(), key=lambda item: (-item[1].macs, -item[1].params, item[0])):
        grid.add([kind, str(t.layers), fmt_count(t.params, units), _share(t.params / params),
                  fmt_count(t.macs, units), _share(t.macs / macs), fmt_count(t.flops, units)])
    return grid


def _share(share: float) -> str:
    return f"{bar(share)} {share * 100:5.1f}%"


def table_lines(report: Report, options: RenderOptions) -> list[tuple[str, str]]:
    """Every line of the table output with its role (for styling)."""
    t = report.totals
    out = [(f"{report.name} — input {'×'.join(map(str, report.input))}, batch {report.batch}", "title")]
    out += layer_grid(report, options).lines()
    out += [("By layer type", "title")]
    out += type_grid(report, options.units).lines()
    out += [
        (f"Total: {t.params:,} params, {t.buffers:,} buffers, {t.macs:,} MACs, {t.flops:,} FLOPs", "total"),
        (f"Memory: weights {fmt_bytes(report.weight_bytes)}, activations {fmt_bytes(t.activation_bytes)}, "
         f"peak live activations {fmt_bytes(report.peak_activation_bytes)}", "row"),
        (conventions_text(report), "note"),
    ]
    return out


def use_color(out: TextIO) -> bool:
    return bool(getattr(out, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def write_lines(lines: list[tuple[str, str]], out: TextIO) -> None:
    """Write ``(text, role)`` lines: styled through Rich on a colour terminal, plain otherwise."""
    if not use_color(out):
        out.write("".join(text + "\n" for text, _ in lines))
        return
    from rich.console import Console
    from rich.text import Text

    text = Text()
    for line, role in lines:
        text.append(line + "\n", style=_STYLES.get(role))
    Console(file=out, highlight=False).print(text, end="", soft_wrap=True)


def write_table(report: Report, options: RenderOptions, out: TextIO) -> None:
    write_lines(table_lines(report, options), out)
