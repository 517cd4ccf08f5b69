"""``convcalc explain``: a layer kind's formulas, or one layer's numbers substituted into them, step by step.

* ``convcalc explain TYPE`` — fields, and the shape / params / MACs / FLOPs / RF formulas of a kind, worked
  through its example;
* ``convcalc explain SPEC --layer NAME`` — the same formulas with that layer's numbers substituted, ending in the
  numbers ``convcalc analyze`` reports (the substituted arithmetic is evaluated and checked against them);
* ``convcalc explain --list`` — every kind with its one-line summary;
* ``convcalc explain --flops`` — the FLOPs-per-element table (convcalc/cost/conventions.py);
* ``convcalc explain conventions`` — how the peer tools count (``--convention``; docs/flops.md, installed).

The formulas are the kinds' own counting code evaluated symbolically (convcalc/layers/formula.py); the text is laid
out by :mod:`convcalc.render.explain`.
"""

from __future__ import annotations

import sys

from ...errors import SpecError
from ...render.explain import conventions_lines, flops_lines, kind_lines, layer_lines, list_lines
from ..common import expand, user_errors


def explain(target: str | None = None, layer: str | None = None, algorithm: str | None = None,
            list_: bool = False, flops: bool = False, batch: int | None = None, input: str | None = None,
            sets: list[str] | None = None, width: int | None = None, wide: bool = False):
    """Explain the formulas of a kind, a layer or an algorithm.

    A layer kind's formulas (shape, params, MACs, FLOPs, RF), or one layer's numbers worked through them; or a
    convolution algorithm's (direct, im2col, winograd, fft).

    \b
    Examples:
      convcalc explain depthwise_separable          formulas of a kind
      convcalc explain resnet18 --layer conv1       the numbers of one layer, step by step
      convcalc explain winograd                     an algorithm's formulas, on an example
      convcalc explain resnet18 --layer layer1.0.conv1 --algorithm winograd
      convcalc explain conventions                  how fvcore, ptflops, thop and torchinfo count (--convention)
      convcalc explain --list                       every kind
      convcalc explain winograd --width 80          fitted to 80 columns (formulas wrap, nothing is cut)
    """
    from ...render.emitters import emit
    from ...render.explain import ExplainView
    from ...render.explain_algorithms import algorithm_layer_lines, algorithm_lines, is_algorithm
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)

    def write(lines: list[str], markdown: bool = False) -> None:
        emit(ExplainView(lines, fit, markdown), "table", sys.stdout, width=fit)

    with user_errors():
        if list_:
            return write(list_lines())
        if flops:
            return write(flops_lines())
        if target is None:
            raise SpecError("give a layer kind, a spec with --layer, --list or --flops", None,
                            "e.g. `convcalc explain conv` or `convcalc explain resnet18 --layer conv1`")
        if algorithm is not None and layer is None:
            raise SpecError(f"--algorithm {algorithm} explains one layer of a spec: add --layer NAME", None,
                            f"e.g. `convcalc explain resnet18 --layer layer1.0.conv1 --algorithm {algorithm}`, or "
                            f"`convcalc explain {algorithm}` for the formulas")
        if layer is None and target == "conventions":
            return write(conventions_lines(), markdown=True)
        if layer is None and is_algorithm(target):
            return write(algorithm_lines(target))
        if layer is None:
            from ...layers import REGISTRY

            if target not in REGISTRY and (target.endswith((".yaml", ".yml")) or "/" in target):
                raise SpecError(f"`{target}` looks like a spec: add --layer NAME to explain one of its layers",
                                None, "e.g. `convcalc explain resnet18 --layer conv1`")
            return write(kind_lines(target))
        from ...cost.analysis import analyze

        graph = expand(target, batch, input, sets)
        if algorithm is not None:
            return write(algorithm_layer_lines(graph, algorithm, layer))
        write(layer_lines(graph, analyze(graph), layer))
