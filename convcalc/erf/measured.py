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
from ..verify import DEFAULT_MAX_MEMORY, backward_bytes, human_bytes
from .stats import DEFAULT_MASS, ERF, area_ratios, axes_from, unit

#: the most random inputs ``--samples`` may average over (each is a forward and a backward pass)
MAX_SAMPLES = 1000


def check_samples(samples: int) -> None:
    if not 1 <= samples <= MAX_SAMPLES:
        raise SpecError(f"--samples {samples}: must be from 1 to {MAX_SAMPLES:,}", None,
                        f"average over at most {MAX_SAMPLES:,} inputs (the mean settles long before; try 8)")


def measured_bytes(graph: Graph, report, layer: str, dtype: str, max_as_sum: bool = False) -> int:
    """Peak estimate of one sample (:func:`convcalc.verify.backward_bytes`): the forward of ``graph`` (cut at the
    unit) keeping every value, the backward pass from ``layer``, then the gradient in float64 (a copy, from
    float32), its finite check (a byte an element), and its magnitude or positive part beside it; with the next
    input's float64 draw and its cast. One sample's arrays are alive at a time (the weights of the first are kept,
    not its run)."""
    from math import prod

    elements = prod(graph.input_shape)
    after = elements * (8 + 1 + 8 + 8) + (elements * 8 if dtype != "float64" else 0)
    return backward_bytes(graph, report, layer, dtype, 1, after, max_as_sum=max_as_sum)


def measured_erf(graph: Graph, report, layer: str | None = None, position: Sequence[int] | None = None,
                 samples: int = 1, weights: str = "random", seed: int = 0, mass=DEFAULT_MASS,
                 dtype: str | None = None, max_as_sum: bool = False, max_memory: int = DEFAULT_MAX_MEMORY,
                 progress=None) -> ERF:
    """Luo et al.'s ERF: the input gradient of one output unit (summed over channels), averaged over ``samples``
    standard-normal inputs, by the NumPy executor's forward and backward passes. The weights are drawn once
    (``seed``); ``weights`` is ``"random"`` (He-style) or ``"uniform"`` (all ones, zero biases, BN = identity).

    Before any work: ``samples`` at most :data:`MAX_SAMPLES` (a :class:`SpecError`), and the estimated peak
    (:func:`measured_bytes`) at most ``max_memory`` (a :class:`SpecError` naming ``--max-memory``, as ``verify``
    refuses).

    ``progress``: an object with ``expect(total)`` and ``phase(label, size)``
    (:class:`convcalc.render.progress.Progress`), told the work once it is known (each sample's forward and
    backward, one unit per node) and moved node by node.
    """
    import time

    import numpy as np

    from ..cost.report import refuse_placeholders
    from ..executor import run
    from ..executor.backward import input_gradient

    _, layer, position = unit(graph, report, layer, position)
    check_samples(samples)
    mode = {"random": "random", "uniform": "ones", "ones": "ones"}[weights]
    dtype = dtype or ("float64" if mode == "ones" else "float32")
    names = [node.name for node in graph.nodes]
    # only the layers up to the unit matter; weights are seeded per node name, so they are those of the full net
    graph = dataclasses.replace(graph, nodes=graph.nodes[: names.index(layer) + 1], output=layer)
    refuse_placeholders(report.unsupported, "the measured ERF", {node.name for node in graph.nodes}, graph)
    estimate = measured_bytes(graph, report, layer, dtype, max_as_sum)
    if estimate > max_memory:
        raise SpecError(f"--max-memory: refusing to run the measured ERF: its estimated peak memory is "
                        f"{human_bytes(estimate)} ({estimate:,} bytes, {dtype}), above the limit of "
                        f"{human_bytes(max_memory)}", None,
                        "use a smaller --input (e.g. --input 3x64x64), --weights random (float32), or raise "
                        "--max-memory")
    from ..executor.memory import release_freed_arrays

    release_freed_arrays()  # so that the resident set stays within the estimate (convcalc.executor.memory)
    rng = np.random.default_rng(seed)
    magnitude = positive = first = None
    started = time.perf_counter()
    size = len(graph.nodes)
    if progress is not None:
        progress.expect(2 * size * samples)

    def phase(label: str):
        return progress.phase(label, size) if progress is not None else None

    for sample in range(samples):
        x = rng.standard_normal((1, *graph.input_shape)).astype(dtype)
        reuse = first if first is not None and mode == "random" else mode  # draw the random weights once
        ex = run(graph, seed=seed, dtype=dtype, x=x, weights=reuse, keep=True, max_as_sum=max_as_sum,
                 progress=phase(f"sample {sample + 1}/{samples} forward"))
        if first is None:  # the weights only: the run's activations go with it
            first = {name: (arrays, ex.buffers.get(name, [])) for name, arrays in ex.weights.items()}
        grad = np.asarray(input_gradient(graph, ex, layer, position,
                                         progress=phase(f"sample {sample + 1}/{samples} backward")),
                          dtype=np.float64)
        del ex  # one sample's arrays alive at a time
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


