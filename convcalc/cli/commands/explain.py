"""``convcalc explain``: a layer kind's formulas, or one layer's numbers substituted into them, step by step.

* ``convcalc explain TYPE`` — fields, and the shape / params / MACs / FLOPs / RF formulas of a kind, worked
  through its example;
* ``convcalc explain SPEC --layer NAME`` — the same formulas with that layer's numbers substituted, ending in the
  numbers ``convcalc analyze`` reports (the substituted arithmetic is evaluated and checked against them);
* ``convcalc explain --list`` — every kind with its one-line summary;
* ``convcalc explain --flops`` — the FLOPs-per-element table (convcalc/cost/conventions.py).

The formulas are the kinds' own counting code evaluated symbolically (convcalc/layers/formula.py); the text is laid
out by :mod:`convcalc.render.explain`.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ...errors import SpecError
from ...render.explain import flops_lines, kind_lines, layer_lines, list_lines
from ..common import expand, user_errors


def write(lines: list[str], out: TextIO | None = None) -> None:
    (out or sys.stdout).write("\n".join(lines) + "\n")


def explain(target: str | None = None, layer: str | None = None, list_: bool = False, flops: bool = False,
            batch: int | None = None, input: str | None = None, sets: list[str] | None = None):
    """A layer kind's formulas (shape, params, MACs, FLOPs, RF), or one layer's numbers worked through them.

    \b
    convcalc explain depthwise_separable          formulas of a kind
    convcalc explain resnet18 --layer conv1       the numbers of one layer, step by step
    convcalc explain --list                       every kind
    """
    with user_errors():
        if list_:
            return write(list_lines())
        if flops:
            return write(flops_lines())
        if target is None:
            raise SpecError("give a layer kind, a spec with --layer, --list or --flops", None,
                            "e.g. `convcalc explain conv` or `convcalc explain resnet18 --layer conv1`")
        if layer is None:
            from ...layers import REGISTRY

            if target not in REGISTRY and (target.endswith((".yaml", ".yml")) or "/" in target):
                raise SpecError(f"`{target}` looks like a spec: add --layer NAME to explain one of its layers",
                                None, "e.g. `convcalc explain resnet18 --layer conv1`")
            return write(kind_lines(target))
        from ...cost.analysis import analyze

        graph = expand(target, batch, input, sets)
        write(layer_lines(graph, analyze(graph), layer))
