"""The executor's backward pass: vector-Jacobian products (VJPs) per layer kind, and the input gradient of one
output unit (the measured ERF, Luo et al. 2016; the receptive-field probe of ``convcalc verify --rf``)::

    from convcalc.executor import run
    from convcalc.executor.backward import input_gradient
    ex = run(graph, keep=True)
    g = input_gradient(graph, ex, "layer4.2.relu3", (3, 3))   # (batch, *graph.input_shape)

``g`` is the gradient of ``ex.values[layer][:, :, *position].sum()`` per sample (the unit summed over channels)
with respect to the network input. The graph is walked backwards from ``layer``; a node's gradient is the sum of
what its consumers send it. Each kind's VJP (one module per family, registered with :func:`vjp` in
:data:`VJPS`, mirroring :data:`convcalc.executor.KERNELS`) uses the forward's kept inputs and outputs
(``ex.values``) and the node's arrays (``ex.weights``, ``ex.buffers``); max/min pooling routes by the run's
``max_as_sum``. Like the executor, it imports no cost-model module.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import (channel, conv, deformable, elementwise, excitation, factorised, linear, merge, norm,  # noqa: F401
               placeholder, pool, resample, reshape, scale, unshared)  # (registers the VJPs)
from .base import ACTIVATIONS, VJPS, GradContext, apply_vjp, vjp

__all__ = ["input_gradient", "backward", "VJPS", "ACTIVATIONS", "vjp", "GradContext"]


def backward(graph, ex, seeds: dict, until: str | None = None, keep: Sequence[str] = (), gates: bool = True,
             rescale: bool = False, open_activations: bool = False, progress=None) -> dict:
    """Propagate output gradients ``seeds`` (node name → array shaped like that node's batched output) back
    through ``graph``; return the gradient of the input (under ``graph.input_name``, absent when nothing reaches
    it) and of the nodes named in ``keep``.

    ``ex`` must come from ``run(graph, keep=True)``. ``until``: the last node that matters (default: the latest
    seeded node in graph order). ``gates=False`` holds gates broadcast along every spatial axis (SE) constant.
    ``rescale=True`` divides each node's gradient by its largest magnitude before passing it on: only the
    pattern of the result is then meaningful (the receptive-field probe, where every term is non-negative and
    all-ones weights would otherwise overflow deep networks). ``open_activations=True`` passes the gradient
    through every activation unchanged (:data:`ACTIVATIONS`; the probe's structural influence). ``progress``:
    optional ``progress(index, node)``, called for each node in backward order (index 0 is the last node).
    """
    values = ex.values
    if not values:
        raise ValueError("the backward pass needs the forward's kept values: run(graph, ..., keep=True)")
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    for name in seeds:
        if name not in order and name != graph.input_name:
            raise KeyError(f"no layer named {name!r}")
    last = order[until] if until is not None else max((order.get(n, -1) for n in seeds), default=-1)
    grads = {name: (g, False) for name, g in seeds.items()}   # name → (gradient, owned: safe to add into)
    result = {}
    max_as_sum = bool(getattr(ex, "max_as_sum", False))
    for step, node in enumerate(reversed(graph.nodes[: last + 1])):
        if progress is not None:
            progress(step, node)
        held = grads.pop(node.name, None)
        if held is None:
            continue
        gy = held[0]
        if rescale:
            top = float(np.abs(gy).max()) if gy.size else 0.0
            if top > 0 and top != 1:
                gy = gy / gy.dtype.type(top)
        if node.name in keep:
            result[node.name] = gy.copy()
        xs = [values[name] for name in node.inputs]
        y = values[node.name]
        ctx = GradContext(node, y.dtype, ex.weights.get(node.name, []), ex.buffers.get(node.name, []),
                          max_as_sum, gates, open_activations)
        gxs = apply_vjp(ctx, node, xs, y, gy)
        del gy, held
        for name, x, gx in zip(node.inputs, xs, gxs):
            if gx is None:
                continue
            if gx.shape != x.shape:
                raise AssertionError(f"VJP of `{node.name}` ({node.kind}) returned a gradient of shape "
                                     f"{gx.shape} for input `{name}` of shape {x.shape}")
            if gx.dtype != x.dtype:
                gx = gx.astype(x.dtype)
            previous = grads.get(name)
            if previous is None:
                grads[name] = (gx, False)
            elif previous[1]:
                previous[0].__iadd__(gx)
            else:
                grads[name] = (previous[0] + gx, True)
    if graph.input_name in grads:
        result[graph.input_name] = grads[graph.input_name][0]
    return result


def input_gradient(graph, ex, layer: str, position: Sequence[int] = (), gates: bool = True,
                   rescale: bool = False, open_activations: bool = False, progress=None) -> np.ndarray:
    """Gradient of ``ex.values[layer][:, :, *position].sum()`` (per sample) with respect to the network input:
    an array of shape ``(batch, *graph.input_shape)`` (zero where the unit does not depend on the input).
    ``gates``, ``rescale``, ``open_activations`` and ``progress``: as :func:`backward`."""
    if not ex.values:
        raise ValueError("input_gradient needs run(graph, ..., keep=True)")
    if layer not in ex.values or layer == graph.input_name:
        raise KeyError(f"no layer named {layer!r} in this run")
    y = ex.values[layer]
    position = tuple(int(p) for p in position)
    if len(position) != y.ndim - 2:
        raise ValueError(f"`{layer}` has {y.ndim - 2} spatial axes, but the position {position} has "
                         f"{len(position)} coordinates")
    seed = np.zeros_like(y)
    seed[(slice(None), slice(None)) + position] = 1
    grads = backward(graph, ex, {layer: seed}, until=layer, gates=gates, rescale=rescale,
                     open_activations=open_activations, progress=progress)
    x = ex.values[graph.input_name]
    grad = grads.get(graph.input_name)
    return np.zeros_like(x) if grad is None else grad
