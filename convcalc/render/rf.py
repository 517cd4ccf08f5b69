"""``convcalc rf``: receptive fields per layer and axis (Araujo et al., Distill 2019: size r, jump j, effective
padding P, the centre of unit 0), merge alignment, the input window of one output position, and the effective
receptive field (the statistics, heatmap and profiles of :mod:`convcalc.render.heatmap`).

Text shows the RF table (unless an ERF of the default layer is asked for), the window (with ``--at``) and the ERF;
Markdown the RF table and the ERF statistics; CSV the ERF statistics when there is an ERF, else one row per layer
and axis; JSON ``{"version": 1, "name", "input", "layers", "window"?, "erf"?}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..numbers import fmt_axes, fraction_text
from .heatmap import erf_blocks, erf_csv_table, erf_markdown_blocks
from .model import LEFT, RIGHT, Document, Json, Line, Table, columns, csv_columns

RF_NOTE = ("RF = input pixels one unit sees; Jump = input pixels between adjacent units; P = effective padding: unit i "
           "sees input −P + i·Jump … −P + i·Jump + RF − 1 (Araujo et al., Distill 2019); a merge is aligned when "
           "its inputs have equal jumps and centres.")
WINDOW_NOTE = ("RF window: start + index·jump … + RF − 1 (ends included); exact support: the input indices an impulse "
               "at that position reaches, borders ignored.")


def _status(row) -> str:
    parts = []
    if row.merge == "aligned":
        parts.append("aligned")
    elif row.merge == "misaligned":
        parts.append("MISALIGNED " + "; ".join(row.problems))
    if row.position_dependent:
        parts.append("position-dependent")
    return ", ".join(parts)


#: on a narrow terminal the columns that give way, lowest priority first; `convcalc rf --help` and README.md say
#: the same
DROP_ORDER = ("center", "padding", "type", "shape", "jump")


def rf_table(title: str, rows: list) -> Table:
    """One row per layer (:class:`convcalc.cost.rftable.RFRow`): equal axes shown once, else ``a×b``."""
    table = Table(columns(("name", "Layer", LEFT), ("type", "Type", LEFT), ("shape", "Output", RIGHT),
                          ("rf", "RF", RIGHT), ("jump", "Jump", RIGHT), ("padding", "P", RIGHT),
                          ("center", "Centre of unit 0", RIGHT), ("status", "Merge / notes", LEFT)), title,
                  drop=DROP_ORDER, shrink={"name": 20, "status": 16})
    for row in rows:
        table.add([row.name, row.type, "×".join(map(str, row.output_shape)), fmt_axes(row.size),
                   fmt_axes(row.jump, fraction_text), fmt_axes(row.padding, fraction_text),
                   fmt_axes(row.center, fraction_text), _status(row)],
                  "warn" if row.merge == "misaligned" or row.position_dependent else "row")
    return table


def rf_lines(rows: list) -> list[Line]:
    """Under the text table: how many merges are aligned, where positions start to differ, the definitions."""
    lines = []
    misaligned = [r for r in rows if r.merge == "misaligned"]
    merges = [r for r in rows if r.merge]
    if merges:
        lines.append(Line(f"Merges: {len(merges) - len(misaligned)} aligned, {len(misaligned)} misaligned.",
                          "warn" if misaligned else "row"))
    untracked = next(((r, note) for r in rows for note in r.notes if "not tracked from here" in note), None)
    if untracked is not None:  # the values shown from there on are the input's, not a window of that layer
        lines.append(Line(f"Not tracked from `{untracked[0].name}` on: {untracked[1]}.", "warn"))
    flagged = [r for r in rows if r.position_dependent]
    if flagged and (untracked is None or flagged[0] is not untracked[0]):
        lines.append(Line(f"Position-dependent from `{flagged[0].name}` on: different output positions see windows "
                          "of different sizes; the RF shown is the widest. `--at` gives the exact window.", "warn"))
    return lines + [Line(RF_NOTE)]


def window_table(layer: str, windows: list) -> Table:
    """The input window of one output position per axis (:class:`convcalc.erf.analytic.AxisWindow`)."""
    at = ",".join(str(w.index) for w in windows)
    table = Table(columns(("axis", "Axis", RIGHT), ("index", "Index", RIGHT), ("window", "RF window", RIGHT),
                          ("size", "Size", RIGHT), ("inside", "Inside the input", RIGHT), ("clipped", "Clipped", LEFT),
                          ("support", "Exact support", RIGHT)), f"Input window of `{layer}` at ({at})")
    for w in windows:
        lo, hi = w.inside
        support = f"{w.support[0]} … {w.support[1]}" if w.support else "-"
        table.add([str(w.axis), str(w.index), f"{fraction_text(w.start)} … {fraction_text(w.end)}", str(w.size),
                   f"{fraction_text(lo)} … {fraction_text(hi)}", "yes" if w.clipped else "no", support])
    return table


def rf_csv_table(rows: list) -> Table:
    """Long form: one row per layer and axis, exact fractions."""
    table = Table(csv_columns("name", "type", "axis", "output_shape", "rf_size", "jump", "padding", "start", "center",
                              "merge", "position_dependent", "problems"))
    for row in rows:
        for axis in range(len(row.size)):
            table.add([row.name, row.type, axis, "x".join(map(str, row.output_shape)), row.size[axis],
                       fraction_text(row.jump[axis]), fraction_text(row.padding[axis]), fraction_text(row.start[axis]),
                       fraction_text(row.center[axis]), row.merge, str(row.position_dependent).lower(),
                       "; ".join(row.problems)])
    return table


@dataclass
class RFView:
    """``rows`` the RF rows shown; ``layer`` the ``--layer``; ``windows`` the input window of ``--at``; ``erf`` the
    effective receptive field (``--erf``), all optional."""

    report: object
    rows: list
    layer: str | None = None
    position: tuple[int, ...] | None = None
    windows: list | None = None
    erf: object = None

    @property
    def title(self) -> str:
        return f"{self.report.name} — input {'×'.join(map(str, self.report.input))}: receptive fields"

    @property
    def shows_rf_table(self) -> bool:
        """The RF table is left out for the ERF of the default unit (the ERF is what was asked for)."""
        return self.erf is None or self.layer is not None

    def table(self) -> Document:
        blocks: list = []
        if self.shows_rf_table:
            blocks += [rf_table(self.title, self.rows)] + rf_lines(self.rows)
        if self.windows is not None:
            blocks += [window_table(self.layer, self.windows), Line(WINDOW_NOTE)]
        if self.erf is not None:
            blocks += erf_blocks(self.erf)
        return Document(blocks)

    def markdown(self) -> Document:
        blocks: list = []
        if self.shows_rf_table:
            blocks += [rf_table(self.title, self.rows), Line(RF_NOTE)]
        if self.erf is not None:
            blocks += erf_markdown_blocks(self.erf)
        return Document(blocks)

    def csv(self) -> Table:
        return erf_csv_table(self.erf) if self.erf is not None else rf_csv_table(self.rows)

    def json(self) -> Json:
        data = {"version": 1, "name": self.report.name, "input": list(self.report.input),
                "layers": [r.to_dict() for r in self.rows]}
        if self.windows is not None:
            data["window"] = {"layer": self.layer, "at": list(self.position), "axes": [w.to_dict() for w in self.windows]}
        if self.erf is not None:
            data["erf"] = self.erf.to_dict()
        return Json(data)
