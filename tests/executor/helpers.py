"""Shared helpers of the executor tests: build a one-or-few-layer graph from layer dicts and run it, check a VJP
against finite differences, walk the executor's modules, a naive 2-D convolution to compare against, and PyTorch
when it is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import convcalc
import convcalc.executor
from convcalc.cost.analysis import expand
from convcalc.executor import Execution, run
from convcalc.executor.backward import backward

#: the executor package (forward and backward)
PACKAGE = Path(convcalc.executor.__file__).resolve().parent


def executor_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


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


EPS = 1e-6


def _objective(graph, ex_weights, x, layer, r, max_as_sum):
    ex = run(graph, dtype="float64", x=x, weights=ex_weights, keep=True, max_as_sum=max_as_sum)
    return float((ex.values[layer] * r).sum())


def finite_difference_check(input_shape, *layers, batch=2, seed=0, positive=False, max_as_sum=False,
                            coordinates=24, rtol=1e-5):
    """Compare the backward pass of a random projection of the last layer with central differences: one random
    direction (every coordinate at once) and ``coordinates`` single input entries."""
    graph = graph_of(input_shape, *layers, batch=batch)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *input_shape))
    if positive:
        x = np.abs(x) + 0.1
    ex = run(graph, seed=seed, dtype="float64", x=x, keep=True, max_as_sum=max_as_sum)
    layer = graph.nodes[-1].name
    r = rng.standard_normal(ex.values[layer].shape)
    g = backward(graph, ex, {layer: r})[graph.input_name]
    assert g.shape == x.shape and g.dtype == np.float64

    def f(xx):
        return _objective(graph, ex, xx, layer, r, max_as_sum)

    v = rng.standard_normal(x.shape)
    numeric = (f(x + EPS * v) - f(x - EPS * v)) / (2 * EPS)
    assert np.sum(g * v) == pytest.approx(numeric, rel=rtol, abs=1e-7)
    flat = rng.choice(x.size, size=min(coordinates, x.size), replace=False)
    for i in flat:
        e = np.zeros(x.size)
        e[i] = EPS
        e = e.reshape(x.shape)
        numeric = (f(x + e) - f(x - e)) / (2 * EPS)
        assert g.flat[i] == pytest.approx(numeric, rel=rtol, abs=1e-7), (i, np.unravel_index(i, x.shape))
    return g


def reference_conv(x, w, b=None, stride=1, padding=0):
    """Naive 2-D cross-correlation (B, C, H, W) * (O, C, kh, kw), independent of every kernel under test."""
    x = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    win = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]   # (B, C, Ho, Wo, kh, kw)
    y = np.einsum("bchwij,ocij->bohw", win, w)
    return y if b is None else y + b[None, :, None, None]


def preset(name, arrays):
    """An Execution whose weights the next run reuses for layer ``name``."""
    return Execution(layers=[], output=None, input=None, weights={name: list(arrays)}, buffers={name: []})


def torch_or_skip():
    """PyTorch, or skip the test when it is not installed (an optional cross-check)."""
    return pytest.importorskip("torch")
