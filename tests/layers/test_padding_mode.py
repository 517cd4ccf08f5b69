"""`padding_mode` on conv, depthwise and pointwise, as torch.nn.Conv2d's: the counts, the shape and the theoretical
RF do not depend on it; the executor pads in the mode; torch's limits are errors with the numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.erf.analytic import analytic_erf
from convcalc.errors import SpecError
from convcalc.executor import run

from spec_helpers import analyze_layers

CONV = {"type": "conv", "out": 8, "kernel": 3, "padding": 1}


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_counts_shape_and_rf_do_not_depend_on_the_mode(mode):
    row = analyze_layers((4, 10, 10), {**CONV, "padding_mode": mode}).layers[0]
    # 10 + 2 − 3 + 1 = 10; params 8·4·9 + 8 = 296; MACs 8·100·4·9 = 28,800; FLOPs 2·28,800 + 800 = 58,400
    assert row.output_shape == [8, 10, 10]
    assert (row.params, row.macs, row.flops) == (296, 28_800, 58_400)
    assert row.rf.size == [3, 3] and row.rf.start == [-1, -1]


def test_the_default_leaves_the_json_as_it_was():
    default = analyze_layers((4, 10, 10), CONV).to_dict()
    zeros = analyze_layers((4, 10, 10), {**CONV, "padding_mode": "zeros"}).to_dict()
    assert json.dumps(default) == json.dumps(zeros)
    assert "padding_mode" not in json.dumps(default)


@pytest.mark.parametrize("kind, extra", [("depthwise", {}), ("pointwise", {"out": 3})])
def test_depthwise_and_pointwise_take_it(kind, extra):
    row = analyze_layers((4, 6, 6), {"type": kind, "padding": 1, "padding_mode": "reflect", **extra,
                                     **({"kernel": 3} if kind == "depthwise" else {})}).layers[0]
    # depthwise 3×3 p1: 6 + 2 − 3 + 1 = 6; pointwise p1: 6 + 2 − 1 + 1 = 8
    assert row.output_shape == ([4, 6, 6] if kind == "depthwise" else [3, 8, 8])


@pytest.mark.parametrize("kind", ["conv_transpose", "deformable", "locally_connected", "separable"])
def test_kinds_torch_pads_with_zeros_only_have_no_such_field(kind):
    with pytest.raises(SpecError) as info:
        analyze_layers((4, 6, 6), {"type": kind, "out": 4, "kernel": 3, "padding_mode": "reflect"})
    assert f"`{kind}` has no key `padding_mode`" in info.value.message


def test_reflect_needs_padding_below_the_size():
    with pytest.raises(SpecError) as info:
        analyze_layers((4, 2, 9), {**CONV, "padding": 2, "padding_mode": "reflect"})
    assert "spatial axis 0 has 2 positions and the padding (2, 2)" in info.value.message
    assert info.value.hint == "use a padding below 2, or `replicate`"


def test_circular_wraps_at_most_once():
    with pytest.raises(SpecError) as info:
        analyze_layers((4, 9, 2), {**CONV, "kernel": [1, 5], "padding": [0, 3], "padding_mode": "circular"})
    assert "spatial axis 1 has 2 positions and the padding (3, 3)" in info.value.message


def test_the_executor_pads_in_the_mode_before_a_valid_conv():
    # a 1-D sum of 3 taps (all-ones weights, no bias) over [0, 1, 2, 3] padded by 1:
    # zeros [0|0 1 2 3|0] → 1, 3, 6, 5; reflect [1|0 1 2 3|2] → 2, 3, 6, 7; replicate [0|…|3] → 1, 3, 6, 8;
    # circular [3|0 1 2 3|0] → 4, 3, 6, 5
    x = np.arange(4.0).reshape(1, 1, 4)
    expected = {"zeros": [1, 3, 6, 5], "reflect": [2, 3, 6, 7], "replicate": [1, 3, 6, 8], "circular": [4, 3, 6, 5]}
    for mode, row in expected.items():
        graph = expand(convcalc.load({"input": [1, 4], "layers": [
            {"type": "conv", "out": 1, "kernel": 3, "padding": 1, "bias": False, "padding_mode": mode}]}))
        assert run(graph, x=x, dtype="float64", weights="ones").output[0, 0].tolist() == row, mode


def test_the_analytic_erf_folds_the_padded_taps_back():
    # conv k3 p1 on 5 positions: output 0 reads −1, 0, 1; reflect reads input 1 for −1, so 0 once, 1 twice
    graph = expand(convcalc.load({"input": [1, 5], "layers": [
        {"type": "conv", "name": "c", "out": 1, "kernel": 3, "padding": 1, "padding_mode": "reflect"}]}))
    axis = analytic_erf(graph, analyze(graph), "c", (0,)).axes[0]
    assert (axis.offset, axis.values) == (0, [1, 2])
    zeros = expand(convcalc.load({"input": [1, 5], "layers": [
        {"type": "conv", "name": "c", "out": 1, "kernel": 3, "padding": 1}]}))
    axis = analytic_erf(zeros, analyze(zeros), "c", (0,)).axes[0]
    assert (axis.offset, axis.values) == (-1, [1, 1, 1])   # zeros: the unbounded model, as before
