"""Backward FLOPs of conv and linear layers against PyTorch's ``torch.utils.flop_counter.FlopCounterMode`` on the
same network built in torch (tests/torch_build.py): it counts 2 FLOPs per multiply-accumulate of matmuls and
convolutions, and nothing else, so its backward total must be 2 × convcalc's dX + dW MACs (docs/training.md,
"Against PyTorch's FlopCounterMode"). Skipped without torch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convcalc  # noqa: E402
from convcalc.cost.training import training  # noqa: E402
from convcalc.executor import run  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_build import build  # noqa: E402

SPECS = {
    "two_convs": {"name": "two", "input": [3, 8, 8], "layers": [
        {"type": "conv", "name": "conv1", "out": 4, "kernel": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv", "name": "conv2", "out": 2, "kernel": 3, "padding": 1}]},
    "strided_grouped_dilated": {"name": "sgd", "input": [4, 17, 17], "layers": [
        {"type": "conv", "out": 8, "kernel": 3, "stride": 2, "padding": 1},
        {"type": "conv", "out": 8, "kernel": 3, "groups": 4, "dilation": 2, "padding": 2, "bias": False},
        {"type": "depthwise", "kernel": 5, "stride": 2, "padding": 2},
        {"type": "pointwise", "out": 6},
        {"type": "flatten"}, {"type": "linear", "out": 10}]},
    "transposed": {"name": "t", "input": [8, 6, 6], "layers": [
        {"type": "pointwise", "out": 8},
        {"type": "conv_transpose", "out": 4, "kernel": 4, "stride": 2, "padding": 1},
        {"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1,
         "groups": 2}]},
    "conv1d_linear_last": {"name": "c1", "input": [5, 20], "layers": [
        {"type": "conv", "out": 6, "kernel": 5, "stride": 3},
        {"type": "linear", "out": 7, "axis": "last"}]},
    "resnet18": "resnet18",
}


def _backward_flops(graph, frozen=(), input_grad=False):
    ex = run(graph)
    model = build(graph, ex)
    for node, step in zip(graph.nodes, model.steps):
        if node.name in frozen:
            step.requires_grad_(False)
    x = torch.from_numpy(ex.input).requires_grad_(input_grad)
    y = model(x)
    with FlopCounterMode(display=False) as counter:
        y.sum().backward()
    return counter.get_total_flops()


def _graph(spec):
    graph = convcalc.load(spec).expand(input_shape=(3, 32, 32) if spec == "resnet18" else None)
    return graph


def _torch_expected(graph, t):
    """2 × (dX + dW) MACs, except that torch's ``conv_backward_flop`` (torch/utils/flop_counter.py) counts a
    grouped conv's weight gradient as if it were not grouped ("details involving … groups … I skip"): g times
    the products it computes (C_in for a depthwise conv)."""
    report = {row.name: row for row in convcalc.analyze(graph).layers}
    shapes = {graph.input_name: graph.input_shape}
    shapes.update({name: tuple(row.output_shape) for name, row in report.items()})
    total = 0
    for node in graph.nodes:
        row = t.layer(node.name)
        groups = shapes[node.inputs[0]][0] if node.kind == "depthwise" else node.fields.get("groups", 1) or 1
        total += 2 * (row.dx_macs + groups * row.dw_macs)
    return total


@pytest.mark.parametrize("name", SPECS)
def test_backward_flops_are_twice_the_backward_macs(name):
    graph = _graph(SPECS[name])
    t = training(graph)
    assert _backward_flops(graph) == _torch_expected(graph, t)
    if not any(n.kind == "depthwise" or (n.fields.get("groups") or 1) > 1 for n in graph.nodes):
        assert _backward_flops(graph) == 2 * t.totals()["backward_macs"]


@pytest.mark.parametrize("name", ["two_convs", "resnet18"])
def test_an_input_that_requires_grad_adds_the_first_layers_input_gradient(name):
    """torch computes the first layer's input gradient only when the input requires grad; convcalc never does."""
    graph = _graph(SPECS[name])
    t = training(graph)
    first_forward_macs = convcalc.analyze(graph).layers[0].macs
    assert _backward_flops(graph, input_grad=True) == 2 * (t.totals()["backward_macs"] + first_forward_macs)


def test_frozen_layers_agree():
    graph = _graph("resnet18")
    frozen = [n.name for n in graph.nodes if n.name in ("conv1", "bn1") or n.name.startswith("layer1.")]
    t = training(graph, freeze=frozen)
    assert _backward_flops(graph, frozen=frozen) == 2 * t.totals()["backward_macs"]
    # and one frozen layer inside: only its weight gradient goes
    t = training(graph, freeze=["layer3.0.conv2"])
    assert _backward_flops(graph, frozen=["layer3.0.conv2"]) == 2 * t.totals()["backward_macs"]
