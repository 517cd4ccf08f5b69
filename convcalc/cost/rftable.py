"""The receptive-field table behind ``convcalc rf`` and ``convcalc verify --rf``: every layer's RF per axis and the
alignment status of every merge. Pure Python (no NumPy, no CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from ..numbers import json_number


# ---- rows --------------------------------------------------------------------------------------------------------
@dataclass
class RFRow:
    """One layer's receptive field, per input axis, with its merge status and notes."""

    name: str
    type: str
    inputs: list[str]
    output_shape: list[int]
    size: list[int]
    jump: list[Fraction]
    padding: list[Fraction]
    center: list[Fraction]
    position_dependent: bool = False
    merge: str = ""                       # "", "aligned" or "misaligned"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> list[Fraction]:
        return [-p for p in self.padding]

    def to_dict(self) -> dict:
        return {
            "name": self.name, "type": self.type, "inputs": self.inputs, "output_shape": self.output_shape,
            "size": self.size, "jump": [json_number(j) for j in self.jump], "padding": [json_number(p) for p in self.padding],
            "start": [json_number(s) for s in self.start], "center": [json_number(c) for c in self.center],
            "position_dependent": self.position_dependent,
            "merge": ({"status": self.merge, "problems": self.problems} if self.merge else None),
            "notes": self.notes,
        }


def rf_rows(graph, report) -> list[RFRow]:
    """The receptive field of every layer, with the alignment status of every merge (inputs ≥ 2).

    A merge is aligned when its inputs have equal jumps and equal centres of unit 0 on every axis
    (:meth:`convcalc.rf.ReceptiveField.aligned_with`); an input broadcast along every spatial axis (an SE gate)
    has no position and is left out.
    """
    from ..layers.merge import broadcast
    from .rf import ReceptiveField

    rank = graph.spatial_rank
    fields = {graph.input_name: ReceptiveField.identity(rank)}
    shapes = {graph.input_name: tuple(graph.input_shape)}
    out = []
    for layer in report.layers:
        rf = layer.rf
        fields[layer.name] = ReceptiveField(tuple(rf.size), tuple(rf.jump), tuple(rf.center))
        shapes[layer.name] = tuple(layer.output_shape)
        row = RFRow(layer.name, layer.type, list(layer.inputs), list(layer.output_shape), list(rf.size),
                    list(rf.jump), list(rf.padding), list(rf.center), rf.position_dependent)
        row.notes = [w for w in layer.warnings if "receptive field" in w or "misaligned" in w]
        if getattr(rf, "layout", ""):  # not the input's channels-first grid (convcalc/cost/layout.py)
            row.notes.append(f"laid out {rf.layout}")
        if len(layer.inputs) >= 2:
            positioned = [name for name in layer.inputs if not broadcast(shapes[name], shapes[layer.name])]
            row.merge = "aligned"
            for name in positioned[1:]:
                problems = fields[positioned[0]].aligned_with(fields[name])
                if problems:
                    row.merge = "misaligned"
                    row.problems.append(f"`{positioned[0]}` vs `{name}`: " + "; ".join(problems))
            gates = [name for name in layer.inputs if name not in positioned]
            if gates:
                row.notes.append("global context from the broadcast " + ", ".join(f"`{g}`" for g in gates))
        out.append(row)
    return out
