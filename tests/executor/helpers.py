"""Shared helpers of the executor tests: build a one-or-few-layer graph from layer dicts and run it."""

from __future__ import annotations

import convcalc
from convcalc.cost.analysis import expand
from convcalc.executor import run


def graph_of(input_shape, *layers, batch=2):
    """The expanded graph of a spec given inline."""
    spec = {"name": "t", "input": list(input_shape), "batch": batch, "layers": list(layers)}
    return expand(convcalc.load(spec))


def run_layer(input_shape, layer, batch=2, dtype="float64", seed=0, **kwargs):
    """Run one layer; return (execution, its Executed record, its weights)."""
    graph = graph_of(input_shape, layer, batch=batch)
    ex = run(graph, seed=seed, dtype=dtype, **kwargs)
    name = graph.nodes[0].name
    return ex, ex.layers[0], ex.weights[name]
