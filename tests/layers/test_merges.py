"""The elementwise merges with NumPy broadcasting: add (now broadcasting size-1 axes), subtract and divide (two
inputs, 1 FLOP per output element). The counts by hand; add's errors read as before for shapes that do not
broadcast."""

from __future__ import annotations

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.erf.analytic import analytic_erf
from convcalc.errors import SpecError
from convcalc.executor import run

from spec_helpers import analyze_layers

GATE = ({"type": "global_avgpool", "name": "g"},)


def test_add_of_equal_shapes_counts_as_before():
    row = analyze_layers((8, 4, 4), {"type": "relu", "name": "a"},
                         {"type": "add", "inputs": ["input", "a"]}).layers[1]
    assert row.output_shape == [8, 4, 4] and row.flops == 128        # (2 − 1)·8·16


def test_add_broadcasts_a_size_one_map():
    # (8, 4, 4) + (8, 1, 1): (2 − 1)·8·4·4 = 128 FLOPs
    row = analyze_layers((8, 4, 4), *GATE, {"type": "add", "inputs": ["input", "g"]}).layers[1]
    assert row.output_shape == [8, 4, 4] and row.flops == 128


def test_add_still_rejects_other_mismatches_with_the_same_message():
    with pytest.raises(SpecError) as info:
        analyze_layers((8, 4, 4), {"type": "maxpool", "name": "p", "kernel": 2},
                       {"type": "add", "inputs": ["input", "p"]})
    assert "cannot add `input` (8, 4, 4) and `p` (8, 2, 2)" in info.value.message
    assert "same shape" in info.value.hint


@pytest.mark.parametrize("kind", ["subtract", "divide"])
def test_two_input_merges(kind):
    # (6, 5, 5) op (6, 1, 1): 6·25 = 150 output elements, 1 FLOP each
    row = analyze_layers((6, 5, 5), *GATE, {"type": kind, "inputs": ["input", "g"]}).layers[1]
    assert row.output_shape == [6, 5, 5] and (row.params, row.macs, row.flops) == (0, 0, 150)


@pytest.mark.parametrize("kind", ["subtract", "divide"])
def test_exactly_two_inputs(kind):
    with pytest.raises(SpecError):
        analyze_layers((6, 5, 5), {"type": "relu", "name": "a"},
                       {"type": kind, "inputs": ["input", "a", "a"]})


def test_subtract_names_the_shapes_that_do_not_broadcast():
    with pytest.raises(SpecError) as info:
        analyze_layers((6, 5, 5), {"type": "maxpool", "name": "p", "kernel": 2},
                       {"type": "subtract", "inputs": ["input", "p"]})
    assert "cannot subtract `input` (6, 5, 5) and `p` (6, 2, 2)" in info.value.message


def test_the_executor_subtracts_and_divides():
    graph = expand(convcalc.load({"input": [2, 2, 2], "layers": [
        {"type": "global_avgpool", "name": "g"},
        {"type": "subtract", "name": "s", "inputs": ["input", "g"]},
        {"type": "divide", "name": "d", "inputs": ["s", "g"]}]}))
    x = np.array([[[[1.0, 3.0], [5.0, 7.0]], [[2.0, 2.0], [2.0, 6.0]]]])
    # channel means 4 and 3: (x − 4)/4 and (x − 3)/3
    expected = [[[-0.75, -0.25], [0.25, 0.75]], [[-1 / 3, -1 / 3], [-1 / 3, 1.0]]]
    np.testing.assert_allclose(run(graph, x=x, dtype="float64").output[0], expected)


def test_subtract_erf_is_marked_approximate():
    graph = expand(convcalc.load({"input": [1, 9], "layers": [
        {"type": "conv", "name": "c", "out": 1, "kernel": 3, "padding": 1},
        {"type": "subtract", "name": "s", "inputs": ["input", "c"]}]}))
    erf = analytic_erf(graph, analyze(graph), "s", (4,))
    # x − conv(x): the magnitudes 1 (input) + 1, 1, 1 (the conv's taps) are added: 1, 2, 1 around position 4
    assert erf.axes[0].offset == 3 and erf.axes[0].values == [1, 2, 1]
    assert not erf.exact and any("negates the second input's gradient" in note for note in erf.notes)
