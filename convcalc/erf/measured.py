"""The measured effective receptive field (Luo et al., NIPS 2016): the input gradient of one output unit, by the
NumPy executor's forward and backward passes, averaged over random inputs.

Its statistics use the gradient magnitude summed over input channels; the high-contribution area ratio of RepLKNet
(Ding et al., CVPR 2022, ``erf/analyze_erf.py``) uses the positive part (:func:`convcalc.erf.stats.area_ratios`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ..errors import SpecError
from ..spec.graph import Graph
from .stats import DEFAULT_MASS, ERF, area_ratios, axes_from, unit


def measured_erf(graph: Graph, report, layer: str | None = None, position: Sequence[int] | None = None,
                 samples: int = 1, weights: str = "random", seed: int = 0, mass=DEFAULT_MASS,
                 dtype: str | None = None, max_as_sum: bool = False) -> ERF:
    """Luo et al.'s ERF: the input gradient of one output unit (summed over channels), averaged over ``samples``
    standard-normal inputs, by the NumPy executor's forward and backward passes. The weights are drawn once
    (``seed``); ``weights`` is ``"random"`` (He-style) or ``"uniform"`` (all ones, zero biases, BN = identity).
    """
    import time

    import numpy as np

    from ..executor import run
    from ..executor.backward import input_gradient

    from ..cost.report import refuse_placeholders

    _, layer, position = unit(graph, report, layer, position)
    names = [node.name for node in graph.nodes]
    # only the layers up to the unit matter; weights are seeded per node name, so they are those of the full net
    graph = dataclasses.replace(graph, nodes=graph.nodes[: names.index(layer) + 1], output=layer)
    refuse_placeholders(report.unsupported, "the measured ERF",
                        {node.name for node in graph.nodes})
    mode = {"random": "random", "uniform": "ones", "ones": "ones"}[weights]
    dtype = dtype or ("float64" if mode == "ones" else "float32")
    rng = np.random.default_rng(seed)
    magnitude = positive = first = None
    started = time.perf_counter()
    for _ in range(samples):
        x = rng.standard_normal((1, *graph.input_shape)).astype(dtype)
        reuse = first if first is not None and mode == "random" else mode  # draw the random weights once
        ex = run(graph, seed=seed, dtype=dtype, x=x, weights=reuse, keep=True, max_as_sum=max_as_sum)
        first = first or ex
        grad = np.asarray(input_gradient(graph, ex, layer, position), dtype=np.float64)
        grad = grad.reshape((-1, *graph.input_shape))
        if not np.all(np.isfinite(grad)):
            raise SpecError(f"the input gradient of `{layer}` overflowed {dtype}", None,
                            "all-ones weights grow the signal by the fan-in at every layer; use --weights random, "
                            "or pick an earlier --layer")
        m = np.abs(grad).sum(axis=(0, 1))
        p = np.maximum(grad, 0).sum(axis=(0, 1))
        magnitude = m if magnitude is None else magnitude + m
        positive = p if positive is None else positive + p
    seconds = time.perf_counter() - started
    magnitude /= samples
    positive /= samples
    rank = magnitude.ndim
    axes_values = []
    for a in range(rank):
        other = tuple(b for b in range(rank) if b != a)
        axes_values.append([float(v) for v in magnitude.sum(axis=other)])
    axes = axes_from([0] * rank, axes_values, report, layer, position, graph.input_shape, mass)
    if float(magnitude.sum()) == 0.0:
        raise SpecError(f"the input gradient of `{layer}` at {position} is zero everywhere (every path is cut by "
                        "an inactive ReLU?)", None, "try more --samples, another --seed, or --weights uniform")
    return ERF("measured", layer, position, tuple(graph.input_shape), axes, False, [], samples, weights,
               magnitude, positive, area_ratios(positive), seconds)


