"""``convcalc cost SPEC``: how every convolution could be computed — direct, im2col + GEMM, Winograd F(2×2,3×3) and
F(4×4,3×3), FFT — and the cheapest per conv (:mod:`convcalc.cost.algorithms`), rendered by
:mod:`convcalc.render.cost`. Issue 17 adds training cost and the roofline here later."""

from __future__ import annotations

from ..common import expand
from ...errors import SpecError


def cost(spec: str, algorithm: str = "all", format: str = "table", batch: int | None = None,
         input: str | None = None, sets: list[str] | None = None, units: str = "auto",
         allow_unsupported: bool = False, train: bool = False, freeze: list[str] | None = None,
         optimizer: str | None = None, precision: str | None = None, device: str | None = None,
         dtype: str | None = None, fuse: str = "none", width: int | None = None, wide: bool = False) -> int:
    """Convolution algorithms per conv, and the cheapest.

    Multiplications, transforms and workspace of every conv by each algorithm (docs/algorithms.md); with --train
    one training step, with --device the roofline.

    \b
    Examples:
      convcalc cost resnet50                       every algorithm side by side, and the best
      convcalc cost resnet50 --algorithm winograd  F(2×2,3×3), F(4×4,3×3): tiles, workspace
      convcalc cost resnet50 --algorithm best      the cheapest per conv, and why
      convcalc cost resnet50 --train --freeze 'layer1*'  + backward dX/dW MACs of a training step
      convcalc cost resnet50 --train --optimizer adamw --precision mixed   training memory and its peak
      convcalc cost resnet50 --device a100 --dtype bfloat16 --fuse elementwise   roofline
    """
    from ...cost.algorithms import algorithms
    from ...render.cost import CostView
    from ...render.emitters import emit
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)

    train = train or optimizer is not None or precision is not None
    if freeze and not train:
        raise SpecError("--freeze chooses the frozen layers of the training step", None, "add --train")
    if train and device is not None:
        raise SpecError("--train and --device are two views of `convcalc cost`: the training step, and the "
                        "roofline of inference", None, "run them one at a time")
    graph = expand(spec, batch, input, sets, allow_unsupported)
    if device is None:
        if dtype is not None or fuse != "none":
            raise SpecError(f"{'--dtype' if dtype is not None else '--fuse'} sets the roofline, which needs a "
                            "device", None, "add --device NAME (convcalc device list) or a profile file")
        compute = memory = None
        if train:
            from ...cost.train_memory import train_memory
            from ...cost.training import frozen_names, training

            memory = train_memory(graph, optimizer=optimizer or "adam", precision=precision or "fp32",
                                  frozen=frozen_names(graph, freeze or ()))
            compute = training(graph, freeze=freeze or ())
        emit(CostView(algorithms(graph), algorithm, units, compute, memory), format, width=fit)
        return 0
    from ...cost.analysis import analyze
    from ...cost.devices import find_device
    from ...cost.roofline import choose_by_roofline, roofline
    from ...render.roofline import RooflineView

    profile, report = find_device(device), analyze(graph)
    result = roofline(graph, profile, dtype, fuse, report)
    chosen = choose_by_roofline(algorithms(graph, report), profile, result.dtype)
    emit(RooflineView(result, chosen, algorithm, units), format, width=fit)
    return 0
