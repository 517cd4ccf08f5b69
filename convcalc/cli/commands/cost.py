"""``convcalc cost SPEC``: how every convolution could be computed — direct, im2col + GEMM, Winograd F(2×2,3×3) and
F(4×4,3×3), FFT — and the cheapest per conv (:mod:`convcalc.cost.algorithms`), rendered by
:mod:`convcalc.render.cost`. Issue 17 adds training cost and the roofline here later."""

from __future__ import annotations

from ..common import expand


def cost(spec: str, algorithm: str = "all", format: str = "table", batch: int | None = None,
         input: str | None = None, sets: list[str] | None = None, units: str = "auto",
         allow_unsupported: bool = False) -> int:
    """Convolution algorithms per conv: multiplications, transforms, workspace, and the cheapest (docs/algorithms.md).

    \b
    convcalc cost resnet50                       every algorithm side by side, and the best
    convcalc cost resnet50 --algorithm winograd  F(2×2,3×3) and F(4×4,3×3): tiles, transforms, workspace
    convcalc cost resnet50 --algorithm best      the cheapest per conv, and why
    """
    from ...cost.algorithms import algorithms
    from ...render.cost import CostView
    from ...render.emitters import emit

    emit(CostView(algorithms(expand(spec, batch, input, sets, allow_unsupported)), algorithm, units), format)
    return 0
