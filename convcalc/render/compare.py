"""``convcalc compare`` of networks side by side (and of a network against its rewrite): totals, stages and layers
against the first spec, as text, Markdown (``####`` headings), CSV (long form, exact) or JSON
(:func:`convcalc.compare.networks.comparison_dict`, plus the rewrite's record).

The cell formats of counts, deltas and ratios here are shared by :mod:`.sweep` and :mod:`.whatif`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..compare.networks import COUNTS, Line, NetworkComparison, comparison_dict, ratio_text
from ..numbers import fmt_bytes, fmt_count, fmt_shape
from .model import LEFT, RIGHT, Column, Document, Json, Table, csv_columns
from .model import Line as TextLine

NOTE = ("MACs = multiply-accumulates of conv/linear layers, bias excluded; FLOPs = 2·MACs + bias, norm, activation, "
        "pooling and elementwise ops; activations = output elements × dtype size × batch, summed over layers.")
LABEL = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "activation_bytes": "Activations"}
HEADING = 4  # Markdown level of the table titles: under the heading a pull request gives the comparison


#: columns of context that give way on a narrow terminal after the × columns and before the Δ columns
CONTEXT_HEADERS = ("Input", "Layers", "Type", "Output", "Peak activations", "Training memory", "Memory-bound",
                   "Of peak", "RF")


def titled(title: str, headers: list[str], right: list[bool]) -> Table:
    """A table whose columns are named by their headers (the compare tables build them per spec; a repeated header
    such as Δ gets ``#2``, ``#3``… in its key).

    On a narrow terminal (:mod:`convcalc.render.width`) it drops the × columns first (right to left), then the
    columns of :data:`CONTEXT_HEADERS`, then the Δ columns, then the Status, then the other counts right to left (the
    first column and the first count kept); names in the first column and the Status shorten in the middle."""
    keys, seen = [], {}
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        keys.append(header if seen[header] == 1 else f"{header}#{seen[header]}")
    ratios = [k for k, h in zip(keys, headers) if h.startswith("×")]
    deltas = [k for k, h in zip(keys, headers) if h.startswith("Δ")]
    context = [k for k, h in zip(keys, headers) if h in CONTEXT_HEADERS]
    counts = [k for k, r in zip(keys[1:], right[1:]) if r and k not in ratios + deltas + context]
    status = ["Status"] if "Status" in keys else []
    drop = (*ratios[::-1], *context, *deltas[::-1], *status, *counts[:0:-1])
    shrink = {keys[0]: 20, **({"Status": 16} if "Status" in keys else {})}
    return Table([Column(k, h, RIGHT if r else LEFT) for k, h, r in zip(keys, headers, right)], title, drop=drop,
                 shrink=shrink)


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


# ---- networks side by side ------------------------------------------------------------------------------------------
def _type_cell(line: Line) -> str:
    kinds = list(dict.fromkeys(e.type for e in line.entries if e is not None and e.type))
    return " → ".join(kinds)


def _diff_columns(comparison: NetworkComparison, keys: tuple[str, ...]) -> tuple[list[str], list[bool]]:
    labels = comparison.labels
    headers, right = [], []
    for key in keys:
        for index, label in enumerate(labels):
            headers.append(f"{LABEL[key]} {label}")
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
    headers, right = ["Spec", "Input", "Layers"], [False, True, True]
    for key in COUNTS:
        headers += [LABEL[key], "Δ", "×"]
        right += [True, True, True]
    train = comparison.train_memory_bytes
    extra = ["Peak activations"] + (["Training memory"] if train is not None else [])
    totals = titled(f"Totals against {base}", headers + extra, right + [True] * len(extra))
    line = comparison.total
    for index, (label, entry) in enumerate(zip(labels, line.entries)):
        cells = [label, fmt_shape(comparison.inputs[index]) + f" ×{comparison.batches[index]}", str(entry.layers)]
        for key in COUNTS:
            cells.append(fmt_value(key, getattr(entry, key), units))
            cells += ["", ""] if index == 0 else [fmt_delta(key, line.delta(index, key), units),
                                                   fmt_ratio(line.ratio(index, key))]
        cells.append(fmt_bytes(comparison.peak_activation_bytes[index], "raw" if units == "raw" else "auto"))
        if train is not None:
            cells.append(fmt_bytes(train[index], "raw" if units == "raw" else "auto"))
        totals.add(cells)

    keys = ("params", "macs")
    headers, right = _diff_columns(comparison, keys)
    stages = titled("Per stage (top-level block or layer)", ["Stage", "Layers", "Status"] + headers,
                    [False, True, False] + right)
    for line in comparison.stages:
        counts = "/".join(str(e.layers) if e is not None else "—" for e in line.entries)
        stages.add([line.key, counts, _status_cell(line, labels)] + _diff_cells(comparison, line, keys, units),
                   "warn" if line.differs else "row")

    shown = [line for line in comparison.layers if all_layers or line.differs]
    hidden = len(comparison.layers) - len(shown)
    title = "Per layer, matched by name" + (f" (only the {len(shown)} that differ; {hidden} identical hidden, "
                                             f"--all-layers shows them)" if hidden else "")
    layers = titled(title, ["Layer", "Type", "Output", "Status"] + headers, [False, False, True, False] + right)
    for line in shown:
        shapes = list(dict.fromkeys(fmt_shape(e.output_shape) for e in line.entries if e is not None))
        layers.add([line.key, _type_cell(line), " → ".join(shapes), _status_cell(line, labels)]
                   + _diff_cells(comparison, line, keys, units), "warn" if line.differs else "row")
    if not shown:
        layers.add(["(no layer differs)", "", "", ""] + [""] * len(headers))
    return [totals, *_roofline_table(comparison, units), stages, layers]


def _roofline_table(comparison: NetworkComparison, units: str) -> list[Table]:
    """With ``--device``: each network's roofline latency and bytes moved against the first (docs/roofline.md)."""
    if not comparison.roofline:
        return []
    from .roofline import fmt_time

    table = titled(f"Roofline on {comparison.device} against {comparison.labels[0]}",
                   ["Spec", "Latency", "×", "Bytes moved", "×", "Memory-bound", "Of peak"],
                   [False, True, True, True, True, True, True])
    base = comparison.roofline[0]
    for index, (label, t) in enumerate(zip(comparison.labels, comparison.roofline)):
        ratios = ["", ""] if index == 0 else [
            fmt_ratio(t["latency"] / base["latency"] if base["latency"] else None),
            fmt_ratio(Fraction(t["bytes"], base["bytes"]) if base["bytes"] else None)]
        table.add([label, fmt_time(t["latency"]), ratios[0], fmt_bytes(t["bytes"], "raw" if units == "raw" else "auto"),
                   ratios[1], f"{float(t['memory_bound_share']):.0%}", f"{float(t['achieved_fraction']):.1%}"])
    return [table]


def comparison_notes(comparison: NetworkComparison) -> list[str]:
    labels = comparison.labels
    notes = [f"Δ and × are against {labels[0]}. Status: added = only in the later spec, removed = only in "
             f"{labels[0]}, changed = type, output shape or a count differs.", NOTE]
    if comparison.train_memory_bytes is not None:
        notes.append("Training memory: the peak of one training step with Adam in fp32 — params, gradients, "
                     "optimizer state and the activations saved for backward (docs/training.md; `convcalc cost "
                     "--train` for other optimizers and precisions)")
    return notes


def comparison_csv(comparison: NetworkComparison) -> Table:
    """Long form, one row per (section, key, spec): exact ints, deltas and exact ratios against the first spec."""
    table = Table(csv_columns("section", "key", "spec", "status", "type", "output_shape", *COUNTS,
                              *(f"delta_{k}" for k in COUNTS), *(f"ratio_{k}" for k in COUNTS)))
    sections = [("total", [comparison.total]), ("stage", comparison.stages), ("layer", comparison.layers)]
    for section, lines in sections:
        for line in lines:
            for index, (label, entry, status) in enumerate(zip(comparison.labels, line.entries, line.status)):
                if entry is None:
                    table.add([section, line.key, label, status] + [""] * (2 + 3 * len(COUNTS)))
                    continue
                deltas = [line.delta(index, k) if index else "" for k in COUNTS]
                ratios = [ratio_text(line.ratio(index, k)) or "" if index else "" for k in COUNTS]
                table.add([section, line.key, label, status, entry.type, "x".join(map(str, entry.output_shape)),
                           *(getattr(entry, k) for k in COUNTS), *("" if d is None else d for d in deltas), *ratios])
    return table


@dataclass
class ComparisonView:
    """``notes`` go above the comparison's own notes, ``extra`` is merged into the JSON (a rewrite's record)."""

    comparison: NetworkComparison
    units: str = "auto"
    all_layers: bool = False
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def table(self) -> Document:
        notes = self.notes + comparison_notes(self.comparison)
        return Document(comparison_tables(self.comparison, self.units, self.all_layers)
                        + [TextLine(note) for note in notes], HEADING)

    markdown = table

    def csv(self) -> Table:
        return comparison_csv(self.comparison)

    def json(self) -> Json:
        data = comparison_dict(self.comparison)
        data.update(self.extra)
        return Json(data)


# ---- a whole network rewritten --------------------------------------------------------------------------------------
def rewrite_notes(result, written: str | None = None) -> list[str]:
    from ..compare.rewrite import ELIGIBILITY, NOT_STANDARD

    notes = [f"Rewrote {len(result.rewritten)} conv(s) as {result.target}; {ELIGIBILITY}."]
    others = [name for reason, names in result.kept.items() if NOT_STANDARD in reason for name in names]
    if not result.rewritten and others:  # MobileNet v1: its depthwise-separable stages, which --as leaves
        types = {layer.name: layer.type for layer in result.before.layers}
        counts: dict[str, int] = {}
        for name in others:
            counts[types[name]] = counts.get(types[name], 0) + 1
        kinds = " and ".join(f"{n} `{kind}`" for kind, n in counts.items())
        notes.append(f"Nothing was rewritten: the network's other convs are {kinds} layers, designs that --as "
                     f"leaves as they are (a depthwise-separable stage is a `depthwise` then a `pointwise` layer). "
                     f"To see one built every way: convcalc compare {result.before.source} --layer {others[0]}.")
    for reason, names in result.kept.items():
        shown = ", ".join(names[:6]) + (f", … ({len(names)} in all)" if len(names) > 6 else "")
        notes.append(f"Kept ({reason}): {shown}.")
    if written:
        notes.append(f"Wrote the rewritten spec to {written}.")
    return notes


def rewrite_extra(result, written: str | None = None) -> dict:
    return {"rewrite": {"target": result.target, "rewritten": result.rewritten, "kept": result.kept,
                        "written": written}}
