"""The reshape family: permute, reshape and flatten with axes. Shapes by hand, errors with their numbers, the
receptive field carried through (per input axis, the layout following the axes), the executor as torch defines
the ops."""

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


# ---- permute ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dims, shape", [([1, 2, 0], [6, 7, 4]), ([2, 0, 1], [7, 4, 6]), ([0, 2, 1], [4, 7, 6])])
def test_permute_shapes(dims, shape):
    # (4, 6, 7): axis d of the output is axis dims[d] of the input
    row = analyze_layers((4, 6, 7), {"type": "permute", "dims": dims}).layers[0]
    assert row.output_shape == shape and (row.params, row.macs, row.flops) == (0, 0, 0)


def test_permute_keeps_the_field_per_input_axis_and_records_the_layout():
    conv, last, first = analyze_layers(
        (4, 9, 9), {"type": "conv", "out": 4, "kernel": 3, "stride": 2},
        {"type": "permute", "dims": [1, 2, 0]}, {"type": "permute", "dims": [2, 0, 1]}).layers
    assert conv.rf.size == last.rf.size == first.rf.size == [3, 3]
    assert last.rf.jump == [2, 2] and last.rf.layout == "(H, W, C)"
    assert first.rf.layout == ""                                 # channels first again


def test_permute_needs_a_permutation_of_the_axes():
    err = error_of((4, 6, 7), {"type": "permute", "dims": [1, 2]})
    assert "`dims` [1, 2] is not a permutation of the 3 per-sample axes of (4, 6, 7) (0 … 2)" in err.message
    assert "[1, 2, 0] for channels-last" in err.hint
    assert "not a permutation" in error_of((4, 6, 7), {"type": "permute", "dims": [0, 1, 1]}).message


def test_permute_is_x_permute_on_the_batched_tensor():
    graph = expand(convcalc.load({"input": [2, 3, 4], "layers": [{"type": "permute", "dims": [1, 2, 0]}]}))
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    y = run(graph, x=x, dtype="float64").output
    assert y.shape == (1, 3, 4, 2) and y[0, 1, 2, 1] == x[0, 1, 1, 2] == 18   # 1·12 + 1·4 + 2


# ---- reshape ------------------------------------------------------------------------------------------------------
def test_reshape_infers_one_size():
    # (4, 6, 6) = 144 elements; [2, -1, 6]: 144 / (2·6) = 12
    assert analyze_layers((4, 6, 6), {"type": "reshape", "shape": [2, -1, 6]}).layers[0].output_shape == [2, 12, 6]


def test_reshape_element_counts_must_match():
    err = error_of((4, 6, 6), {"type": "reshape", "shape": [2, 3]})
    assert "cannot reshape (4, 6, 6) (144 elements) to (2, 3) (6 elements)" in err.message
    err = error_of((4, 6, 6), {"type": "reshape", "shape": [5, -1]})
    assert "144 is not divisible by 5" in err.message
    assert "2 entries −1" in error_of((4, 6, 6), {"type": "reshape", "shape": [-1, 4, -1]}).message


def test_reshape_to_flat_sees_the_whole_input_as_flatten_does():
    reshape = analyze_layers((4, 6, 5), {"type": "reshape", "shape": [-1]}).layers[0]
    flatten = analyze_layers((4, 6, 5), {"type": "flatten"}).layers[0]
    assert reshape.output_shape == flatten.output_shape == [120]           # 4·6·5
    assert reshape.rf.size == flatten.rf.size == [6, 5]


def test_merged_axes_are_restored_by_a_reshape_back():
    # (C, H, W) → (C, H·W) → (C, H, W): nothing mixed, channels first again, so the conv after it is tracked
    rows = analyze_layers((4, 6, 6), {"type": "reshape", "shape": [4, 36]}, {"type": "relu"},
                          {"type": "reshape", "shape": [4, 6, 6]}, {"type": "conv", "out": 2, "kernel": 3}).layers
    assert rows[0].rf.layout == "(C, H·W)" and rows[2].rf.layout == ""
    assert rows[3].rf.size == [3, 3] and not rows[3].warnings


def test_a_channel_shuffle_written_as_reshape_permute_reshape_stays_channels_first():
    # (6, 4, 4) → (2, 3, 4, 4) → (3, 2, 4, 4) → (6, 4, 4): only features move
    graph = expand(convcalc.load({"input": [6, 4, 4], "layers": [
        {"type": "reshape", "shape": [2, 3, 4, 4]}, {"type": "permute", "dims": [1, 0, 2, 3]},
        {"type": "reshape", "shape": [6, 4, 4]}, {"type": "conv", "name": "c", "out": 1, "kernel": 3}]}))
    report = analyze(graph)
    assert [layer.rf.layout for layer in report.layers] == ["(C, C, H, W)", "(C, C, H, W)", "", ""]
    assert not report.warnings
    erf = analytic_erf(graph, report, "c", (0, 0))     # the permute and reshapes pass the per-axis state
    assert erf.exact and [axis.support for axis in erf.axes] == [(0, 2), (0, 2)]


def test_splitting_a_spatial_axis_loses_the_layout_and_a_conv_after_it_is_warned_about():
    rows = analyze_layers((4, 6, 6), {"type": "reshape", "shape": [4, 3, 12]},
                          {"type": "conv", "name": "c", "out": 1, "kernel": 3}).layers
    assert rows[0].rf.layout.startswith("unknown")
    assert rows[1].rf.position_dependent
    assert "laid out unknown (a reshape split a spatial axis)" in rows[1].warnings[0]


def test_a_flat_vector_reshaped_to_a_map_is_channels_first():
    # nothing in (8,) is a position of the input: the map (2, 2, 2) has new positions, its field the whole input
    rows = analyze_layers((4, 6, 6), {"type": "global_avgpool", "keepdims": False}, {"type": "linear", "out": 8},
                          {"type": "reshape", "shape": [2, 2, 2]}, {"type": "conv", "out": 1, "kernel": 1}).layers
    assert rows[2].rf.layout == "" and not rows[3].warnings and rows[3].rf.size == [6, 6]


# ---- flatten with axes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start, end, shape", [(0, -1, [120]), (1, -1, [4, 30]), (0, 1, [24, 5]), (1, 1, [4, 6, 5]),
                                               (2, 2, [4, 6, 5]), (0, -2, [24, 5])])
def test_flatten_axes(start, end, shape):
    # (4, 6, 5): torch.flatten(x, start + 1, end + 1); 4·6·5 = 120, 6·5 = 30, 4·6 = 24
    row = analyze_layers((4, 6, 5), {"type": "flatten", "start": start, "end": end}).layers[0]
    assert row.output_shape == shape


def test_flatten_defaults_give_the_output_they_always_gave():
    # 16·8·8 = 1,024 features; the whole 8×8 input is seen
    row = analyze_layers((16, 8, 8), {"type": "flatten"}).layers[0]
    assert row.output_shape == [1_024] and row.rf.size == [8, 8] and row.rf.start == [0, 0]


def test_a_partial_flatten_keeps_the_field_and_merges_the_layout():
    row = analyze_layers((4, 6, 5), {"type": "conv", "out": 4, "kernel": 3, "padding": 1},
                         {"type": "flatten", "start": 1}).layers[1]
    assert row.output_shape == [4, 30] and row.rf.size == [3, 3] and row.rf.layout == "(C, H·W)"


def test_flatten_axes_out_of_range():
    err = error_of((4, 6, 5), {"type": "flatten", "start": 3})
    assert "`start` 3 is not a per-sample axis of (4, 6, 5) (0 … 2)" in err.message
    err = error_of((4, 6, 5), {"type": "flatten", "start": 2, "end": 1})
    assert "`end` 1 is not a per-sample axis at or after `start` 2" in err.message


def test_flatten_is_torch_flatten():
    graph = expand(convcalc.load({"input": [2, 3, 4], "layers": [{"type": "flatten", "start": 1}]}))
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    y = run(graph, x=x, dtype="float64").output
    assert y.shape == (1, 2, 12) and y[0, 1, 7] == 19   # x[0, 1, 1, 3] = 12 + 4 + 3


# ---- the analytic ERF refuses what its per-axis readers cannot state ------------------------------------------------
def test_flattening_a_channels_last_tensor_blocks_the_analytic_erf():
    graph = expand(convcalc.load({"input": [4, 6, 6], "layers": [
        {"type": "permute", "dims": [1, 2, 0]}, {"type": "flatten", "name": "f"}, {"type": "linear", "out": 2}]}))
    report = analyze(graph)
    assert report.layers[1].rf.size == [6, 6]          # the whole input, per input axis
    with pytest.raises(SpecError) as info:
        analytic_erf(graph, report)
    assert "cannot follow layer `f`" in info.value.message and "--erf measured" in info.value.hint
