"""The executor's training step (convcalc/executor/backward/train.py): every kind's example trains with the cost
model's dX and dW MACs (a kind with MACs and no weight gradient or training step fails here), and the weight
gradients it computes are the right ones (against torch autograd, when torch is installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.executor import run
from convcalc.executor.backward.base import TRAIN_STEPS, WEIGHT_GRADS
from convcalc.executor.backward.train import train_step_counts
from convcalc.layers import REGISTRY
from convcalc.verify import check_training

RUNNABLE = sorted(kind for kind in REGISTRY if not REGISTRY[kind].placeholder)


@pytest.mark.parametrize("kind", RUNNABLE)
def test_example_trains_with_the_cost_model_macs(kind):
    spec = REGISTRY[kind].example.spec(kind)
    graph = expand(convcalc.load(spec), batch=2)
    report = analyze(graph)
    for frozen in ((), (kind,)):
        for row in check_training(graph, report, dtype="float64", freeze=frozen):
            assert row.ok, row.explain()


def test_every_kind_with_macs_has_a_weight_gradient_or_a_training_step():
    for kind in RUNNABLE:
        graph = expand(convcalc.load(REGISTRY[kind].example.spec(kind)), batch=1)
        if analyze(graph).layers[-1].macs:
            assert kind in WEIGHT_GRADS or kind in TRAIN_STEPS, kind


def test_executor_refuses_a_kind_with_macs_and_no_weight_gradient(monkeypatch):
    graph = expand(convcalc.load({"name": "c", "input": [2, 5, 5], "layers": [{"type": "conv", "out": 2,
                                                                               "kernel": 3}]}))
    ex = run(graph, keep=True)
    monkeypatch.delitem(WEIGHT_GRADS, "conv")
    with pytest.raises(convcalc.errors.SpecError, match="no weight gradient or training step"):
        train_step_counts(graph, ex)


# ---- the gradients themselves, against torch autograd ------------------------------------------------------------
CASES = {
    "conv_strided_grouped_dilated": [{"type": "conv", "out": 4, "kernel": 3, "stride": 2, "dilation": 2,
                                      "groups": 2, "padding": 2}],
    "conv_reflect": [{"type": "conv", "out": 3, "kernel": 3, "padding": 1, "padding_mode": "reflect"}],
    "depthwise": [{"type": "depthwise", "kernel": 3, "stride": 2, "padding": 1, "multiplier": 2}],
    "pointwise": [{"type": "pointwise", "out": 5}],
    "conv_transpose": [{"type": "conv_transpose", "out": 4, "kernel": 3, "stride": 2, "padding": 1,
                        "output_padding": 1, "groups": 2}],
    "linear_last": [{"type": "linear", "out": 3, "axis": "last"}],
}
#: kinds torch.nn has no module for: their weight gradients against central finite differences
UNSHARED = {
    "locally_connected": {"type": "locally_connected", "out": 3, "kernel": 3, "stride": 2},
    "locally_connected_channel_bias": {"type": "locally_connected", "out": 3, "kernel": 2, "bias": "channel"},
    "tiled": {"type": "tiled", "out": 4, "kernel": 3, "padding": 1, "tile": 2, "groups": 2},
}


@pytest.mark.parametrize("name", UNSHARED)
def test_unshared_weight_gradients_equal_finite_differences(name):
    spec = {"name": name, "input": [4, 6, 6], "batch": 2, "layers": [{"name": "l", **UNSHARED[name]}]}
    graph = expand(convcalc.load(spec))
    ex = run(graph, seed=1, dtype="float64", keep=True)
    step = train_step_counts(graph, ex, seed=3)
    r = np.random.default_rng(3).standard_normal(ex.output.shape)
    rng, eps = np.random.default_rng(0), 1e-6
    for index, grad in enumerate(step.weight_grads["l"]):
        for flat in rng.choice(grad.size, size=min(5, grad.size), replace=False):
            values = []
            for sign in (1, -1):
                arrays = [a.copy() for a in ex.weights["l"]]
                arrays[index].reshape(-1)[flat] += sign * eps
                y = run(graph, dtype="float64", x=ex.input, weights={"l": (arrays, [])}).output
                values.append(float((y * r).sum()))
            assert abs((values[0] - values[1]) / (2 * eps) - grad.reshape(-1)[flat]) < 1e-6


@pytest.mark.parametrize("name", CASES)
def test_weight_gradients_equal_torch_autograd(name):
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from torch_build import build

    spec = {"name": name, "input": [4, 7, 7], "batch": 2, "layers": [{"name": "l", **CASES[name][0]}]}
    graph = expand(convcalc.load(spec))
    ex = run(graph, seed=1, dtype="float64", keep=True)
    step = train_step_counts(graph, ex, seed=3)
    r = np.random.default_rng(3).standard_normal(ex.output.shape)
    model = build(graph, ex)
    y = model(torch.from_numpy(ex.input))
    (y * torch.from_numpy(r)).sum().backward()
    theirs = [p.grad.numpy() for p in model.steps[0].parameters()]
    ours = step.weight_grads["l"]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.reshape(a.shape), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["by-tap", "columns"])
@pytest.mark.parametrize("layer", [
    {"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": 1, "groups": 2},
    {"type": "conv", "out": 2, "kernel": 3, "dilation": 2},
    {"type": "depthwise", "kernel": 3, "padding": 1, "multiplier": 2},
    {"type": "depthwise", "kernel": 5, "stride": 2},
    {"type": "conv_transpose", "out": 4, "kernel": 3, "stride": 2, "groups": 2},
])
def test_conv_training_paths_count_the_cost_model_macs(monkeypatch, threshold, layer):
    # the one-GEMM column paths (small maps) and the per-tap, strided ones (threshold 0) do the same products
    from convcalc.executor import base

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", threshold)
    # a trainable 1×1 conv first, so that `l` computes its input gradient too
    spec = {"name": "t", "input": [4, 9, 9], "layers": [{"type": "conv", "out": 4, "kernel": 1},
                                                        {"name": "l", **layer}]}
    graph = expand(convcalc.load(spec), batch=2)
    report = analyze(graph)
    rows = check_training(graph, report, dtype="float64")
    assert rows and all(row.ok for row in rows), [row.explain() for row in rows if not row.ok]
