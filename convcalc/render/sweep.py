"""``convcalc sweep``: params, MACs and FLOPs over the Cartesian product of var values — every point against the
last, a pivot of MACs and params when two vars are swept, a text scatter of MACs against params, and how each
count scales with each var. CSV has exact values, JSON is :func:`convcalc.compare.sweep.sweep_dict`, and JSON Lines
(:class:`SweepStream`) one :func:`point_record` a line, written as the points are computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from typing import Iterable

from ..compare.sweep import Sweep, SweepPoint, point_dict, sweep_dict
from ..numbers import fmt_count
from .compare import HEADING, LABEL, NOTE, fmt_ratio, titled
from .model import Document, Json, JsonLines, Line, Table, csv_columns


def sweep_tables(result: Sweep, units: str) -> list[Table]:
    names = list(result.axes)
    reference = result.points[-1]
    table = titled(f"{result.name}: {len(result.points)} points",
                   names + ["Params", "MACs", "FLOPs", "Params / ref", "MACs / ref"], [True] * (len(names) + 5))
    for p in result.points:
        table.add([p.values[n] for n in names]
                  + [fmt_count(p.params, units), fmt_count(p.macs, units), fmt_count(p.flops, units),
                     fmt_ratio(Fraction(p.params, reference.params) if reference.params else None),
                     fmt_ratio(Fraction(p.macs, reference.macs) if reference.macs else None)])
    tables = [table]
    if len(names) == 2:
        rows_var, cols_var = names
        for key in ("macs", "params"):
            pivot = titled(f"{LABEL[key]} by {rows_var} (rows) and {cols_var} (columns)",
                           [f"{rows_var} \\ {cols_var}"] + result.axes[cols_var],
                           [True] * (1 + len(result.axes[cols_var])))
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
            parts.append(f"{LABEL[key]} ∝ " + " · ".join(terms))
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


def sweep_csv(result: Sweep) -> Table:
    names = list(result.axes)
    table = Table(csv_columns(*names, "params", "macs", "flops", "activation_bytes", "peak_activation_bytes"))
    for p in result.points:
        table.add([p.values[n] for n in names]
                  + [p.params, p.macs, p.flops, p.activation_bytes, p.peak_activation_bytes])
    return table


@dataclass
class SweepView:
    result: Sweep
    units: str = "auto"
    chart: bool = True

    def table(self) -> Document:
        blocks: list = sweep_tables(self.result, self.units)
        if self.chart:
            blocks += [Line(text, "title" if i == 0 else "row") for i, text in enumerate(scatter(self.result))]
        return Document(blocks + [Line(note) for note in sweep_notes(self.result)], HEADING)

    def markdown(self) -> Document:
        return Document(sweep_tables(self.result, self.units) + [Line(note) for note in sweep_notes(self.result)],
                        HEADING)

    def csv(self) -> Table:
        return sweep_csv(self.result)

    def json(self) -> Json:
        return Json(sweep_dict(self.result))


def point_record(index: int, point: SweepPoint) -> dict:
    """A ``--format jsonl`` line (docs/json.md, "Sweep points"): the point's 0-based place in the grid, then the
    fields of a point of the JSON document."""
    return {"index": index, **point_dict(point)}


@dataclass
class SweepStream:
    """The points of a sweep as they are computed (an iterator, read once): only ``--format jsonl``."""

    points: Iterable[SweepPoint]

    def jsonl(self) -> JsonLines:
        return JsonLines(point_record(i, p) for i, p in enumerate(self.points))
