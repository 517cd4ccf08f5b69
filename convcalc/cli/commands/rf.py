"""``convcalc rf``: theoretical receptive fields per layer and axis, merge alignment, the input window of one
output position, and the effective receptive field (analytic or measured) with pictures. See docs/rf.md.

Without ``--erf`` this path is pure Python (no NumPy). Definitions (Araujo et al., Distill 2019): RF size r, jump j
(effective stride), effective padding P, so that output unit i of a layer sees input indices
``−P + i·j … −P + i·j + r − 1``; the centre of unit 0 is ``(r − 1)/2 − P``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import List, Optional, TextIO

import typer

from ..app import BATCH_OPT, INPUT_OPT, SET_OPT, Format, app, expand, user_errors
from ...errors import SpecError
from ...cost.rftable import RFRow, rf_rows  # noqa: F401 (RFRow: re-exported for callers)
from ...numbers import fraction_text, json_number


class ERFMethod(str, Enum):
    none = "none"
    analytic = "analytic"
    measured = "measured"


class ERFWeights(str, Enum):
    random = "random"
    uniform = "uniform"


@dataclass
class AxisWindow:
    """The input window of one output position along one axis: the theoretical one (Araujo et al.: start + i·j
    … + r − 1), the exact set of input indices the impulse reaches (``support``), and both clipped to the input."""

    axis: int
    index: int
    start: Fraction
    end: Fraction
    size: int
    input_size: int
    support: tuple[int, int] | None = None

    @property
    def clipped(self) -> bool:
        return self.start < 0 or self.end > self.input_size - 1

    @property
    def inside(self) -> tuple[Fraction, Fraction]:
        return max(self.start, Fraction(0)), min(self.end, Fraction(self.input_size - 1))

    def to_dict(self) -> dict:
        lo, hi = self.inside
        return {"axis": self.axis, "index": self.index, "start": json_number(self.start), "end": json_number(self.end),
                "size": self.size, "clipped": self.clipped, "inside": [json_number(lo), json_number(hi)],
                "support": list(self.support) if self.support else None}


def input_window(graph, report, layer: str, at: tuple[int, ...]) -> list[AxisWindow]:
    """Where output position ``at`` of ``layer`` looks in the input, per axis (exact support by an impulse)."""
    from ...erf.analytic import influence
    from ...erf.stats import check_position, rf_window

    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({l.name: tuple(l.output_shape) for l in report.layers})
    if layer not in shapes or layer == graph.input_name:
        from ...errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None,
                        did_you_mean(layer, [l.name for l in report.layers]))
    at = check_position(layer, shapes[layer], at)
    state, _ = influence(graph, shapes, layer, at)
    windows = []
    for axis, (start, size) in enumerate(rf_window(report, layer, at)):
        values, offset = state.ints[axis], state.offsets[axis]
        nonzero = [k for k, v in enumerate(values) if v]
        support = (offset + nonzero[0], offset + nonzero[-1]) if nonzero else None
        index = at[axis] if at else 0
        windows.append(AxisWindow(axis, index, start, start + size - 1, size, graph.input_shape[1 + axis], support))
    return windows


# ---- rendering ---------------------------------------------------------------------------------------------------
def _axes(values, fmt=str) -> str:
    values = list(values)
    if values and all(v == values[0] for v in values):
        return fmt(values[0])
    return "×".join(fmt(v) for v in values)


def _status(row: RFRow) -> str:
    parts = []
    if row.merge == "aligned":
        parts.append("aligned")
    elif row.merge == "misaligned":
        parts.append("MISALIGNED " + "; ".join(row.problems))
    if row.position_dependent:
        parts.append("position-dependent")
    return ", ".join(parts)


HEADERS = ["Layer", "Type", "Output", "RF", "Jump", "P", "Centre of unit 0", "Merge / notes"]


def _cells(row: RFRow) -> list[str]:
    return [row.name, row.type, "×".join(map(str, row.output_shape)), _axes(row.size), _axes(row.jump, fraction_text),
            _axes(row.padding, fraction_text), _axes(row.center, fraction_text), _status(row)]


RF_NOTE = ("RF = input pixels one unit sees; Jump = input pixels between adjacent units; P = effective padding: unit i "
           "sees input −P + i·Jump … −P + i·Jump + RF − 1 (Araujo et al., Distill 2019); a merge is aligned when "
           "its inputs have equal jumps and centres.")


def write_rf_table(title: str, rows: list[RFRow], out: TextIO) -> None:
    from ...render.grid import Grid
    from ...render.table import write_lines

    grid = Grid(HEADERS, [False, False, True, True, True, True, True, False])
    for row in rows:
        grid.add(_cells(row), "warn" if row.merge == "misaligned" or row.position_dependent else "row")
    lines = [(title, "title")] + grid.lines()
    misaligned = [r for r in rows if r.merge == "misaligned"]
    merges = [r for r in rows if r.merge]
    if merges:
        lines.append((f"Merges: {len(merges) - len(misaligned)} aligned, {len(misaligned)} misaligned.",
                      "warn" if misaligned else "row"))
    flagged = [r for r in rows if r.position_dependent]
    if flagged:
        lines.append((f"Position-dependent from `{flagged[0].name}` on: different output positions see windows "
                      "of different sizes; the RF shown is the widest. `--at` gives the exact window.", "warn"))
    lines.append((RF_NOTE, "note"))
    write_lines(lines, out)


def write_window_table(layer: str, windows: list[AxisWindow], out: TextIO) -> None:
    from ...render.grid import Grid
    from ...render.table import write_lines

    grid = Grid(["Axis", "Index", "RF window", "Size", "Inside the input", "Clipped", "Exact support"],
                [True, True, True, True, True, False, True])
    for w in windows:
        lo, hi = w.inside
        support = f"{w.support[0]} … {w.support[1]}" if w.support else "-"
        grid.add([str(w.axis), str(w.index), f"{fraction_text(w.start)} … {fraction_text(w.end)}", str(w.size),
                  f"{fraction_text(lo)} … {fraction_text(hi)}", "yes" if w.clipped else "no", support])
    at = ",".join(str(w.index) for w in windows)
    write_lines([(f"Input window of `{layer}` at ({at})", "title")] + grid.lines() +
                [("RF window: start + index·jump … + RF − 1 (ends included); exact support: the input indices an "
                  "impulse at that position reaches, borders ignored.", "note")], out)


def write_csv(rows: list[RFRow], out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "type", "axis", "output_shape", "rf_size", "jump", "padding", "start", "center",
                     "merge", "position_dependent", "problems"])
    for row in rows:
        for axis in range(len(row.size)):
            writer.writerow([row.name, row.type, axis, "x".join(map(str, row.output_shape)), row.size[axis],
                             fraction_text(row.jump[axis]), fraction_text(row.padding[axis]), fraction_text(row.start[axis]),
                             fraction_text(row.center[axis]), row.merge, str(row.position_dependent).lower(),
                             "; ".join(row.problems)])


def write_markdown(title: str, rows: list[RFRow], out: TextIO) -> None:
    out.write(f"### {title}\n\n| " + " | ".join(HEADERS) + " |\n|---|---|---:|---:|---:|---:|---:|---|\n")
    for row in rows:
        out.write("| " + " | ".join(c.replace("|", "\\|") for c in _cells(row)) + " |\n")
    out.write(f"\n{RF_NOTE}\n")


def _parse_at(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip() != "")
    except ValueError:
        raise SpecError(f"--at `{text}` is not a list of integers", None, "write e.g. --at 3,5") from None


def _parse_mass(text: str) -> Fraction:
    try:
        value = Fraction(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"--mass `{text}` is not a number", None, "write e.g. --mass 0.9 or --mass 90%") from None
    if not 0 < value <= 1:
        raise SpecError(f"--mass {text} is outside (0, 1]", None, "write a fraction such as 0.95")
    return value


@app.command()
def rf(
    spec: str = typer.Argument(..., metavar="SPEC", help="A spec file, or the name of a shipped config (see `convcalc zoo`)."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Only this layer (and the unit for --at and "
                                                                     "--erf; default for --erf: the last spatial "
                                                                     "layer)."),
    at: Optional[str] = typer.Option(None, "--at", help="Output position of --layer, e.g. 3,5: print its input "
                                                        "window per axis (ERF: the unit to study; default centre)."),
    erf: ERFMethod = typer.Option(ERFMethod.none, "--erf", help="Effective receptive field: analytic (uniform "
                                                                "weights, linear network, exact) or measured "
                                                                "(input gradient in the NumPy executor)."),
    mass: str = typer.Option("0.95", "--mass", help="ERF window: the centred window holding this fraction."),
    samples: int = typer.Option(1, "--samples", min=1, help="Measured ERF: random inputs to average over."),
    weights: ERFWeights = typer.Option(ERFWeights.random, "--weights", help="Measured ERF: random (He init) or "
                                                                            "uniform (all ones) weights."),
    seed: int = typer.Option(0, "--seed", help="Measured ERF: seed of the weights and inputs."),
    save: Optional[str] = typer.Option(None, "--save", help="Save the ERF picture/data: .svg, .png (needs the "
                                                            "`plot` extra), .npy or .csv."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    batch: Optional[int] = BATCH_OPT,
    input: Optional[str] = INPUT_OPT,
    set: Optional[List[str]] = SET_OPT,
):
    """Receptive field per layer and axis (size, jump, effective padding, centre), merge alignment, the input
    window of one output position, and the effective receptive field.

    \b
    Examples:
      convcalc rf resnet50
      convcalc rf vgg16 --layer stage5.pool --at 3,3
      convcalc rf resnet50 --erf analytic
      convcalc rf resnet50 --erf measured --samples 4 --save erf.svg
    Exit codes: 0 success; 2 bad input (spec, options, a missing optional dependency).
    """
    with user_errors():
        from ...cost.analysis import analyze

        graph = expand(spec, batch, input, set)
        report = analyze(graph)
        position = _parse_at(at)
        fraction = _parse_mass(mass)
        if position is not None and layer is None:
            raise SpecError("--at needs --layer NAME", None, "e.g. --layer stage5.pool --at 3,3")
        if save and erf is ERFMethod.none:
            raise SpecError("--save saves an ERF picture; it needs --erf analytic or --erf measured", None,
                            "add --erf analytic")
        names = [l.name for l in report.layers]
        if layer is not None and layer not in names:
            from ...errors import did_you_mean

            raise SpecError(f"--layer: no layer named `{layer}`", None, did_you_mean(layer, names))
        rows = rf_rows(graph, report)
        shown = [r for r in rows if r.name == layer] if layer else rows
        windows = input_window(graph, report, layer, position) if position is not None else None
        result = None
        if erf is ERFMethod.analytic:
            from ...erf.analytic import analytic_erf

            result = analytic_erf(graph, report, layer, position, fraction)
        elif erf is ERFMethod.measured:
            from ...erf.measured import measured_erf

            result = measured_erf(graph, report, layer, position, samples, weights.value, seed, fraction)
        if save:
            from ...render.heatmap import save_erf

            save_erf(result, save)
        title = f"{report.name} — input {'×'.join(map(str, report.input))}: receptive fields"
        if format is Format.json:
            data = {"version": 1, "name": report.name, "input": list(report.input),
                    "layers": [r.to_dict() for r in shown]}
            if windows is not None:
                data["window"] = {"layer": layer, "at": list(position), "axes": [w.to_dict() for w in windows]}
            if result is not None:
                data["erf"] = result.to_dict()
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif format is Format.csv:
            if result is not None:
                from ...render.heatmap import write_erf_csv

                write_erf_csv(result, sys.stdout)
            else:
                write_csv(shown, sys.stdout)
        elif format is Format.markdown:
            if result is None or layer is not None:
                write_markdown(title, shown, sys.stdout)
                if result is not None:
                    sys.stdout.write("\n")
            if result is not None:
                from ...render.heatmap import write_erf_markdown

                write_erf_markdown(result, sys.stdout)
        else:
            if result is None or layer is not None:
                write_rf_table(title, shown, sys.stdout)
            if windows is not None:
                write_window_table(layer, windows, sys.stdout)
            if result is not None:
                from ...render.heatmap import write_erf

                write_erf(result, sys.stdout)
        if save:
            print(f"saved {save}", file=sys.stderr)
