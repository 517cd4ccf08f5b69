"""The executor's training step: a full backward pass of a loss through every layer, computing the input gradients
that are needed and the weight gradients of the trainable layers, counting the multiply-accumulates of each
(``convcalc verify --train`` compares them with the cost model, layer by layer)::

    ex = run(graph, keep=True)
    step = train_step_counts(graph, ex, frozen={"conv1"})
    step.layers["layer1.0.conv1"].dx_macs

What the executor decides on its own, from the graph and the arrays its kernels allocated: a layer is trainable
when it allocated learnable arrays (:meth:`Context.weight`) and is not frozen; it computes its input gradient only
when a trainable layer lies upstream of it (an input gradient nobody reads is never computed); it computes its
weight gradients when it is trainable. The loss is ⟨output, r⟩ with a seeded standard-normal r, so the output
gradient is r. Counts come from the GEMMs and products each gradient actually ran (``ctx.matmul``, ``ctx.fma``,
``ctx.macs``), the input side in one counter and the weight side in another; recomputing a forward value
(a composite kind's intermediates, replayed) is forward work and not counted. Like the rest of the executor, it
imports no cost-model module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import TRAIN_STEPS, WEIGHT_GRADS, GradContext, apply_vjp


@dataclass
class TrainedLayer:
    """What the training step did for one node: whether it was trainable, whether it computed its input gradient,
    and the multiply-accumulates of each side (whole batch)."""

    name: str
    trainable: bool
    input_grad: bool
    dx_macs: int = 0
    dw_macs: int = 0


@dataclass
class TrainingStep:
    layers: dict[str, TrainedLayer]
    #: node name → the gradient of each array in ``Execution.weights[name]`` (trainable layers of kinds with
    #: weight gradients)
    weight_grads: dict[str, list] = field(default_factory=dict)


def train_step_counts(graph, ex, frozen=(), seed: int = 0) -> TrainingStep:
    """One backward pass of ⟨output, r⟩ through ``graph`` (``ex`` from ``run(graph, keep=True)``), ``frozen``
    layer names holding their weights fixed (as do the nodes whose spec says ``trainable: false``)."""
    values = ex.values
    if not values:
        raise ValueError("the training step needs the forward's kept values: run(graph, ..., keep=True)")
    frozen = set(frozen)
    forward_macs = {executed.name: executed.macs for executed in ex.layers}
    trainable = {node.name: bool(ex.weights.get(node.name)) and node.trainable and node.name not in frozen
                 for node in graph.nodes}
    upstream = {graph.input_name: False}                 # a trainable node at or above this tensor
    for node in graph.nodes:
        upstream[node.name] = trainable[node.name] or any(upstream[name] for name in node.inputs)
    output = graph.output or graph.nodes[-1].name
    y_out = values[output]
    r = np.random.default_rng(seed).standard_normal(y_out.shape).astype(y_out.dtype)
    grads = {output: r}
    layers = {node.name: TrainedLayer(node.name, trainable[node.name], False) for node in graph.nodes}
    weight_grads = {}
    for node in reversed(graph.nodes):
        gy = grads.pop(node.name, None)
        if gy is None:
            continue
        input_grad = any(upstream[name] for name in node.inputs)
        train = trainable[node.name]
        if not (input_grad or train):
            continue
        xs = [values[name] for name in node.inputs]
        y = values[node.name]
        arrays = (ex.weights.get(node.name, []), ex.buffers.get(node.name, []))
        ctx = GradContext(node, y.dtype, *arrays, ex.max_as_sum, counting=True)
        wctx = GradContext(node, y.dtype, *arrays, ex.max_as_sum, counting=True)
        step, weights = TRAIN_STEPS.get(node.kind), WEIGHT_GRADS.get(node.kind)
        if step is not None:
            gxs = step(ctx, wctx, node, xs, y, gy, input_grad, train)
        else:
            if forward_macs.get(node.name) and weights is None:
                from ...errors import SpecError

                raise SpecError(f"layer `{node.name}`: the executor has no weight gradient or training step for "
                                f"layer kind `{node.kind}`", node.mark,
                                "add one in convcalc/executor/backward/ (@weight_grad or @train_step)")
            gxs = apply_vjp(ctx, node, xs, y, gy) if input_grad else [None] * len(xs)
            if train and weights is not None:
                weight_grads[node.name] = weights(wctx, node, xs, y, gy)
        record = layers[node.name]
        record.input_grad = input_grad
        record.dx_macs, record.dw_macs = ctx.mac_count, wctx.mac_count
        for name, x, gx in zip(node.inputs, xs, gxs):
            if gx is None or not upstream[name]:
                continue
            gx = gx.astype(x.dtype, copy=False)
            grads[name] = gx if name not in grads else grads[name] + gx
    return TrainingStep(layers, weight_grads)
