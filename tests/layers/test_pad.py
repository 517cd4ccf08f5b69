"""`pad`: explicit padding in torch.nn.functional.pad's four modes. Expected numbers by hand (arithmetic in the
comments), errors by line and column and with their numbers."""

from __future__ import annotations

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.erf.analytic import analytic_erf
from convcalc.errors import SpecError
from convcalc.executor import run

from spec_helpers import analyze_layers


def error_of(input_shape, *layers) -> SpecError:
    with pytest.raises(SpecError) as info:
        analyze_layers(input_shape, *layers)
    return info.value


def test_asymmetric_pad_then_valid_conv():
    pad, conv = analyze_layers((3, 32, 32), {"type": "pad", "padding": [[1, 2], 0]},
                               {"type": "conv", "out": 8, "kernel": 3}).layers
    assert pad.output_shape == [3, 35, 32]                # 32 + 1 + 2 = 35; 32 + 0 + 0 = 32
    assert (pad.params, pad.macs, pad.flops) == (0, 0, 0)
    assert pad.rf.size == [1, 1] and pad.rf.start == [-1, 0]   # one padded row before along H
    assert conv.output_shape == [8, 33, 30]               # 35 − 3 + 1 = 33; 32 − 3 + 1 = 30
    assert conv.macs == 213_840                            # 8·33·30·3·3·3 = 7,920·27
    assert conv.rf.size == [3, 3] and conv.rf.start == [-1, 0]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_every_mode_has_the_same_shape_counts_and_window(mode):
    # (2, 5, 6) padded (2, 1) on H and 3 on W: 5 + 2 + 1 = 8, 6 + 3 + 3 = 12; a copy, 0 FLOPs
    row = analyze_layers((2, 5, 6), {"type": "pad", "padding": [[2, 1], 3], "mode": mode}).layers[0]
    assert row.output_shape == [2, 8, 12]
    assert (row.params, row.buffers, row.macs, row.flops) == (0, 0, 0, 0)
    assert row.rf.size == [1, 1] and row.rf.start == [-2, -3] and row.rf.jump == [1, 1]


def test_negative_padding_crops_in_constant_mode():
    # (1, 6): crop 2 before, pad 1 after: 6 − 2 + 1 = 5; the first unit reads input 2, so start = +2
    row = analyze_layers((1, 6), {"type": "pad", "padding": [[-2, 1]]}).layers[0]
    assert row.output_shape == [1, 5] and row.rf.start == [2]


def test_the_executor_pads_as_torch_documents():
    # one row [0, 1, 2, 3], padded (2, 1): reflect mirrors about the edge, excluding it; replicate repeats the
    # edge; circular wraps; constant fills with the value
    x = np.arange(4.0).reshape(1, 1, 4)
    expected = {"reflect": [2, 1, 0, 1, 2, 3, 2], "replicate": [0, 0, 0, 1, 2, 3, 3],
                "circular": [2, 3, 0, 1, 2, 3, 0], "constant": [7, 7, 0, 1, 2, 3, 7]}
    for mode, row in expected.items():
        fields = {"type": "pad", "padding": [[2, 1]], "mode": mode, **({"value": 7} if mode == "constant" else {})}
        graph = expand(convcalc.load({"input": [1, 4], "layers": [fields]}))
        assert run(graph, x=x, dtype="float64").output[0, 0].tolist() == row, mode
    graph = expand(convcalc.load({"input": [1, 4], "layers": [{"type": "pad", "padding": [[-1, -2]]}]}))
    assert run(graph, x=x, dtype="float64").output[0, 0].tolist() == [1]   # 4 − 1 − 2 = 1 left: x[1]


# ---- errors: the numbers, at the value ------------------------------------------------------------------------
def test_words_are_rejected_at_the_field():
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load("input: [3, 8, 8]\nlayers:\n  - {type: pad, padding: same}\n"))
    assert (info.value.mark.line, info.value.mark.col) == (3, 26)   # the value `same`
    assert "cannot be `same` on `pad`" in info.value.message and "numbers" in info.value.hint


def test_reflect_needs_padding_below_the_size():
    err = error_of((1, 3, 8), {"type": "pad", "padding": 3, "mode": "reflect"})   # 3 is not below H = 3
    assert "spatial axis 0 has 3 positions and the padding (3, 3)" in err.message
    assert "below 3" in err.hint
    analyze_layers((1, 3, 8), {"type": "pad", "padding": 2, "mode": "reflect"})   # 2 < 3: fine


def test_circular_wraps_at_most_once():
    err = error_of((1, 4), {"type": "pad", "padding": [[5, 0]], "mode": "circular"})
    assert "wraps around at most once: spatial axis 0 has 4 positions and the padding (5, 0)" in err.message
    assert analyze_layers((1, 4), {"type": "pad", "padding": 4, "mode": "circular"}).layers[0].output_shape == [1, 12]


def test_crops_only_in_constant_mode():
    err = error_of((1, 6), {"type": "pad", "padding": [[-1, 2]], "mode": "replicate"})
    assert "spatial axis 0 has (-1, 2) in `replicate` mode" in err.message


def test_value_only_with_constant_mode():
    err = error_of((1, 6), {"type": "pad", "padding": 1, "mode": "reflect", "value": 1})
    assert "`value` applies to `constant` mode only, not `reflect`" in err.message


def test_cropping_everything_is_an_error():
    err = error_of((1, 4), {"type": "pad", "padding": [[-3, -1]]})
    assert "output size along spatial axis 0 is 4 + -3 + -1 = 0, below 1" in err.message


# ---- analytic ERF: the padded taps read the pixels they copy ----------------------------------------------------
def erf_support(mode, position):
    graph = expand(convcalc.load({"input": [1, 5], "layers": [
        {"type": "pad", "name": "p", "padding": 2, "mode": mode},
        {"type": "conv", "name": "c", "out": 1, "kernel": 3}]}))
    erf = analytic_erf(graph, analyze(graph), "c", (position,))
    axis = erf.axes[0]
    return axis.offset, axis.values, erf.exact


def test_constant_mode_erf_is_the_unbounded_window():
    # output 0 of the valid conv reads padded 0 … 2 = input −2 … 0 (borders ignored, as for zero padding)
    assert erf_support("constant", 0) == (-2, [1, 1, 1], True)


def test_reflect_folds_the_border_back():
    # padded positions 0, 1 hold input 2, 1 (reflect about input 0): output 0 reads inputs 2, 1, 0
    assert erf_support("reflect", 0) == (0, [1, 1, 1], True)
    # output 1 reads padded 1 … 3 = inputs 1, 0, 1: input 1 twice
    assert erf_support("reflect", 1) == (0, [1, 2], True)


def test_replicate_and_circular_fold_the_border_back():
    # replicate: output 1 reads padded 1 … 3, holding inputs 0, 0, 1 (weights 2, 1; the ints are kept in lowest
    # terms, so output 0's three reads of input 0 print as [1]); circular: output 0 reads inputs 3, 4, 0
    assert erf_support("replicate", 1) == (0, [2, 1], True)
    assert erf_support("circular", 0) == (0, [1, 0, 0, 1, 1], True)

def test_a_crop_larger_than_the_axis_is_refused_even_when_the_pad_refills_it():
    # torch: F.pad(zeros(1, 2, 1), (2, -2)) raises (it narrows the length-1 axis by 2 first), though 1 + 2 - 2 = 1
    import pytest

    from convcalc.errors import SpecError

    from spec_helpers import one

    with pytest.raises(SpecError, match=r"has 1 positions and the padding \(2, -2\) crops 2 of them"):
        one([2, 1], {"type": "pad", "padding": [[2, -2]]})
    assert one([2, 3], {"type": "pad", "padding": [[2, -3]]}).output_shape == [2, 2]  # 3 - 3 + 2
