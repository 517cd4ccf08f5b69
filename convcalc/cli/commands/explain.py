"""``convcalc explain``: a layer kind's formulas, or one layer's numbers substituted into them, step by step.

* ``convcalc explain TYPE`` — fields, and the shape / params / MACs / FLOPs / RF formulas of a kind;
* ``convcalc explain SPEC --layer NAME`` — the same formulas with that layer's numbers substituted, ending in the
  numbers ``convcalc analyze`` reports (the substituted arithmetic is evaluated here and checked against them);
* ``convcalc explain --list`` — every kind with its one-line summary;
* ``convcalc explain --flops`` — the FLOPs-per-element table (convcalc/conventions.py).

The formulas are the kinds' own counting code evaluated symbolically (convcalc/layers/formula.py); the text is laid
out by :mod:`convcalc.render.explain`.
"""

from __future__ import annotations

import sys
from typing import List, Optional, TextIO

import typer

from ..app import BATCH_OPT, INPUT_OPT, SET_OPT, app, expand, user_errors
from ...errors import SpecError
from ...render.explain import flops_lines, kind_lines, layer_lines, list_lines

def write(lines: list[str], out: TextIO | None = None) -> None:
    (out or sys.stdout).write("\n".join(lines) + "\n")


@app.command()
def explain(
    target: Optional[str] = typer.Argument(None, metavar="[KIND|SPEC]", help="A layer kind (conv, deformable, …), or with --layer a spec."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Explain this layer of the spec TARGET with "
                                                                    "its numbers substituted."),
    list_: bool = typer.Option(False, "--list", help="List every layer kind with its one-line summary."),
    flops: bool = typer.Option(False, "--flops", help="Print the FLOPs-per-element table."),
    batch: Optional[int] = BATCH_OPT,
    input: Optional[str] = INPUT_OPT,
    set: Optional[List[str]] = SET_OPT,
):
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

        graph = expand(target, batch, input, set)
        write(layer_lines(graph, analyze(graph), layer))
