"""The scaling family (convcalc/layers/scale.py): scalar, layer_scale and bias_add in the cost model, with
hand-worked literals (the arithmetic in a comment), their errors, and their analytic-ERF factors. Batch 1."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.errors import SpecError
from spec_helpers import one

# ---- (input, layer, params, buffers, FLOPs) ------------------------------------------------------------------
ROWS = [
    # x + 3 on (3, 4, 4): 48 elements, 1 each
    pytest.param((3, 4, 4), {"type": "scalar", "op": "add", "value": 3}, 0, 0, 48, id="scalar-add"),
    pytest.param((10,), {"type": "scalar", "op": "pow", "value": 0.5}, 0, 0, 10, id="scalar-pow-flat"),
    pytest.param((2, 3, 4, 5), {"type": "scalar", "op": "rdiv", "value": 1}, 0, 0, 120, id="scalar-rdiv-3d"),
    # ConvNeXt-T stage 1: γ of 96 channels on 96×56×56 = 301,056 elements, 1 mul each
    pytest.param((96, 56, 56), {"type": "layer_scale"}, 96, 0, 301_056, id="layer-scale"),
    # the same map channels-last (56, 56, 96): C is the last axis, 96
    pytest.param((56, 56, 96), {"type": "layer_scale", "axis": "last"}, 96, 0, 301_056, id="layer-scale-last"),
    pytest.param((96, 56, 56), {"type": "layer_scale", "learnable": False}, 0, 96, 301_056, id="layer-scale-buffer"),
    # a bias per channel on 64×28×28 = 50,176 elements
    pytest.param((64, 28, 28), {"type": "bias_add"}, 64, 0, 50_176, id="bias-add"),
    pytest.param((28, 28, 64), {"type": "bias_add", "axis": "last", "learnable": False}, 0, 64, 50_176,
                 id="bias-add-last-buffer"),
    pytest.param((7,), {"type": "bias_add", "axis": "last"}, 7, 0, 7, id="bias-add-flat"),   # last = axis 0 on (C,)
    pytest.param((5, 8), {"type": "bias_add", "axis": "last"}, 8, 0, 40, id="bias-add-1d-last"),  # C = L = 8
]


@pytest.mark.parametrize("shape, layer, params, buffers, flops", ROWS)
def test_counts(shape, layer, params, buffers, flops):
    row = one(shape, layer)
    assert list(row.output_shape) == list(shape) and row.rf.size == [1] * (len(shape) - 1)
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, 0, flops)


def test_a_bias_free_conv_plus_bias_add_counts_a_conv_with_bias():
    report = convcalc.analyze(convcalc.load({"name": "t", "input": [3, 16, 16], "layers": [
        {"type": "conv", "name": "bare", "out": 16, "kernel": 3, "padding": 1, "bias": False},
        {"type": "bias_add", "name": "shift"},
        {"type": "conv", "name": "whole", "out": 16, "kernel": 3, "padding": 1, "inputs": "input"}]}))
    bare, shift, whole = report.layers
    # params 16·3·9 = 432 + 16 = 448; FLOPs 2·16·256·27 = 221,184 + 16·256 = 4,096 → 225,280
    assert (bare.params + shift.params, bare.flops + shift.flops) == (whole.params, whole.flops) == (448, 225_280)


@pytest.mark.parametrize("op", ["mul", "div", "rdiv", "pow"])
def test_a_zero_that_makes_the_output_constant_or_infinite_is_rejected(op):
    with pytest.raises(SpecError) as err:
        convcalc.analyze(convcalc.load(f"input: [8]\nlayers:\n  - {{type: scalar, op: {op}, value: 0}}\n"))
    assert f"`{op}` with `value: 0`" in err.value.message and "non-zero value" in err.value.hint
    assert err.value.mark.line == 3


def test_add_and_sub_of_zero_are_fine():
    assert one((8,), {"type": "scalar", "op": "sub", "value": 0}).flops == 8


def test_an_unknown_op_is_a_choice_error():
    with pytest.raises(SpecError) as err:
        convcalc.analyze(convcalc.load("input: [8]\nlayers:\n  - {type: scalar, op: mult, value: 2}\n"))
    assert "`mul`" in err.value.hint and (err.value.mark.line, err.value.mark.col) == (3, 24)


# ---- the analytic ERF: a residual add weighs its two paths by the factors ---------------------------------------
def erf_values(*layers):
    from convcalc.cost.analysis import expand
    from convcalc.erf.analytic import analytic_erf

    graph = expand(convcalc.load({"name": "t", "input": [1, 9], "layers": list(layers)}))
    result = analytic_erf(graph, convcalc.analyze(graph), layer="sum", position=(4,))
    return result.axes[0].offset, result.axes[0].values


CONV = {"type": "conv", "name": "c", "out": 1, "kernel": 3, "padding": 1, "inputs": "input"}
SUM = {"type": "add", "name": "sum", "inputs": ["input", "s"]}


@pytest.mark.parametrize("layer, values", [
    # input + 2·conv(input): the identity gives 1 at 4, the conv path 2·[1, 1, 1] at 3 … 5 → [2, 3, 2]
    ({"type": "scalar", "op": "mul", "value": 2}, [2, 3, 2]),
    ({"type": "scalar", "op": "mul", "value": -2}, [2, 3, 2]),   # |v|: magnitudes, as uniform weights are +1
    # conv / 4: [1/4, 1/4, 1/4] + 1 at 4 → [1/4, 5/4, 1/4] = [1, 5, 1]/4
    ({"type": "scalar", "op": "div", "value": 4}, [1, 5, 1]),
    # shifts and layer scale, bias add (γ = 1, β irrelevant): both paths 1 → [1, 2, 1]
    ({"type": "scalar", "op": "add", "value": 3}, [1, 2, 1]),
    ({"type": "scalar", "op": "pow", "value": 2}, [1, 2, 1]),    # linearised to the identity
    ({"type": "layer_scale"}, [1, 2, 1]),
    ({"type": "bias_add", "learnable": False}, [1, 2, 1]),
])
def test_erf_factors_on_a_residual(layer, values):
    assert erf_values(CONV, {**layer, "name": "s"}, SUM) == (3, values)
