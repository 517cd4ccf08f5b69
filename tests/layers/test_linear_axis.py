"""`linear` with `axis`: `flat` (the input must be (F,), as before) or `last` (over the last axis of any input,
torch.nn.Linear on (…, F)). Counts by hand."""

from __future__ import annotations

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import expand
from convcalc.errors import SpecError
from convcalc.executor import run

from spec_helpers import analyze_layers


def test_flat_is_the_default_and_unchanged():
    row = analyze_layers((512,), {"type": "linear", "out": 1000}).layers[0]
    # params 512·1,000 + 1,000 = 513,000; MACs 512,000; FLOPs 2·512,000 + 1,000 = 1,025,000
    assert (row.output_shape, row.params, row.macs, row.flops) == ([1000], 513_000, 512_000, 1_025_000)


def test_flat_still_rejects_a_map():
    with pytest.raises(SpecError) as info:
        analyze_layers((4, 3, 3), {"type": "linear", "out": 2})
    assert "expects a flat (C,) input" in info.value.message


def test_last_axis_of_a_channels_last_map():
    # ConvNeXt-T stage 1's first MLP layer on (56, 56, 96): 56·56 = 3,136 positions
    row = analyze_layers((56, 56, 96), {"type": "linear", "axis": "last", "out": 384}).layers[0]
    assert row.output_shape == [56, 56, 384]
    assert row.params == 37_248                 # 96·384 + 384 = 36,864 + 384
    assert row.macs == 115_605_504              # 3,136·96·384 = 3,136·36,864
    assert row.flops == 232_415_232             # 2·115,605,504 + 3,136·384 (= 1,204,224) bias adds


def test_last_axis_without_bias_on_a_sequence():
    row = analyze_layers((10, 8), {"type": "linear", "axis": "last", "out": 4, "bias": False}).layers[0]
    # (10, 8) → (10, 4); params 8·4 = 32; MACs 10·8·4 = 320; FLOPs 640
    assert (row.output_shape, row.params, row.macs, row.flops) == ([10, 4], 32, 320, 640)


def test_last_axis_on_a_flat_input_is_the_flat_layer():
    flat = analyze_layers((12,), {"type": "linear", "out": 4}).layers[0]
    last = analyze_layers((12,), {"type": "linear", "axis": "last", "out": 4}).layers[0]
    assert (flat.output_shape, flat.params, flat.macs, flat.flops) == \
        (last.output_shape, last.params, last.macs, last.flops) == ([4], 52, 48, 100)   # 12·4 + 4; 48; 96 + 4


def test_over_the_w_of_a_channels_first_map_every_output_sees_the_whole_row():
    # token mixing along W: the field along W becomes the whole 5 columns, H stays one row
    row = analyze_layers((4, 6, 5), {"type": "linear", "axis": "last", "out": 3}).layers[0]
    assert row.output_shape == [4, 6, 3] and row.rf.size == [1, 5] and row.rf.layout == "(C, H, C)"


def test_the_executor_multiplies_every_position():
    graph = expand(convcalc.load({"input": [2, 3, 4], "batch": 2,
                                  "layers": [{"type": "linear", "axis": "last", "out": 5}]}))
    ex = run(graph, dtype="float64")
    w, b = ex.weights[graph.nodes[0].name]
    np.testing.assert_allclose(ex.output, ex.input @ w.T + b)
    assert ex.layers[0].macs == 240            # batch 2 · 2·3 positions · 4 · 5
