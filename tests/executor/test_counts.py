"""The executor's own counts on hand-worked layers: output shape, params, buffers and MACs as literals."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.errors import Mark, SpecError
from convcalc.executor import KERNELS, run
from convcalc.spec.graph import Graph, Node

from .helpers import run_layer


def counts(record):
    return record.output_shape, record.params, record.buffers, record.macs


def test_grouped_conv_counts():
    # 256→256, k3, p1, g32, bias, 56×56: each group maps 8 → 8 channels.
    # params = 256·(256/32)·3·3 + 256 = 18,432 + 256 = 18,688
    # MACs   = 256 outputs · 56·56 positions · 8 · 9 = 256 · 3,136 · 72 = 57,802,752
    _, record, weights = run_layer((256, 56, 56), {"type": "conv", "out": 256, "kernel": 3, "padding": 1,
                                                   "groups": 32}, batch=1, dtype="float32")
    assert counts(record) == ((256, 56, 56), 18_688, 0, 57_802_752)
    assert [w.shape for w in weights] == [(256, 8, 3, 3), (256,)]


def test_transposed_conv_counts_macs_on_input_positions():
    # 64→32, k4, s2, p1, bias on 16×16: N_out = (16 − 1)·2 − 2·1 + 4 = 32
    # params = 64·32·4·4 + 32 = 32,768 + 32 = 32,800
    # MACs   = 64 · 16·16 · 32 · 16 = 64 · 256 · 512 = 8,388,608 (not 33,554,432: that counts output positions)
    _, record, weights = run_layer((64, 16, 16), {"type": "conv_transpose", "out": 32, "kernel": 4, "stride": 2,
                                                  "padding": 1}, batch=1, dtype="float32")
    assert counts(record) == ((32, 32, 32), 32_800, 0, 8_388_608)
    assert [w.shape for w in weights] == [(64, 32, 4, 4), (32,)]


def test_macs_cover_the_whole_batch():
    # linear 2048 → 1000, batch 4: MACs = 4 · 2,048 · 1,000 = 8,192,000; params = 2,048,000 + 1,000
    _, record, weights = run_layer((2048,), {"type": "linear", "out": 1000}, batch=4, dtype="float32")
    assert counts(record) == ((1000,), 2_049_000, 0, 8_192_000)


def test_depthwise_same_stride_two_counts():
    # 32 channels × multiplier 2, k3, s2, same on 15×15: N_out = ceil(15/2) = 8
    # params = 64·1·9 + 64 = 640; MACs = 64 · 8·8 · 9 = 36,864 per sample, ×2 samples = 73,728
    _, record, _ = run_layer((32, 15, 15), {"type": "depthwise", "kernel": 3, "stride": 2, "multiplier": 2,
                                            "padding": "same"}, batch=2)
    assert counts(record) == ((64, 8, 8), 640, 0, 73_728)


def test_dilated_3d_conv_counts():
    # 4→6, k3, dilation 2 (k_eff 5), no padding, no bias, on 7×9×11: N_out = 3, 5, 7 (105 positions)
    # params = 6·4·27 = 648; MACs = 6 · 105 · 4 · 27 = 68,040
    _, record, _ = run_layer((4, 7, 9, 11), {"type": "conv", "out": 6, "kernel": 3, "dilation": 2, "bias": False},
                             batch=1)
    assert counts(record) == ((6, 3, 5, 7), 648, 0, 68_040)


def test_pointwise_grouped_counts():
    # 1×1, 64 → 128, groups 4, on 10×10: params = 128·16 + 128 = 2,176; MACs = 128 · 100 · 16 = 204,800
    _, record, _ = run_layer((64, 10, 10), {"type": "pointwise", "out": 128, "groups": 4}, batch=1)
    assert counts(record) == ((128, 10, 10), 2_176, 0, 204_800)


def test_batchnorm_params_and_buffers():
    # 64 channels: γ, β = 128 params; running mean and variance = 128 buffers; no MACs
    _, record, _ = run_layer((64, 5, 5), {"type": "batchnorm"}, batch=1)
    assert counts(record) == ((64, 5, 5), 128, 128, 0)
    _, record, _ = run_layer((64, 5, 5), {"type": "batchnorm", "affine": False, "track_running_stats": False},
                             batch=2)
    assert counts(record) == ((64, 5, 5), 0, 0, 0)


@pytest.mark.parametrize("layer, shape", [
    # n = 5, k 2, s 2, p 1, ceil: ceil((5 + 2 − 2)/2) + 1 = 4, but window 3 would start at 6 ≥ 5 + 1 → 3
    ({"type": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (3, 3)),
    # 112, k3, s2, p1: floor((112 + 2 − 3)/2) + 1 = 56
    ({"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1}, (3, 56)),
    # adaptive 112 → 7
    ({"type": "adaptive_maxpool", "output_size": 7}, (3, 7)),
    # nearest ×2.5 on 112: floor(280) = 280
    ({"type": "upsample", "scale": 2.5}, (3, 280)),
])
def test_windows_and_resampling_count_no_macs(layer, shape):
    size = 5 if layer.get("ceil_mode") else 112
    _, record, _ = run_layer((3, size), layer, batch=1)
    assert counts(record) == (shape, 0, 0, 0)


def test_unknown_kind_is_an_error_naming_it():
    mark = Mark("spec.yaml", 4, 5)
    graph = Graph(name="t", input_shape=(3, 8, 8), batch=1, dtype="float32",
                  nodes=[Node("w1", "warp", {}, ["input"], mark)], output="w1")
    assert "warp" not in KERNELS
    with pytest.raises(SpecError) as info:
        run(graph)
    assert "`warp`" in str(info.value) and "spec.yaml:4:5" in str(info.value)


def test_weights_ones_mode_counts_taps():
    # all-ones weights, zero bias, input of ones: each output of a 3×3 conv over 2 channels, no padding, sums
    # 2·9 = 18 ones
    ex, record, weights = run_layer((2, 5, 5), {"type": "conv", "out": 3, "kernel": 3}, batch=1,
                                    weights="ones", x=np.ones((1, 2, 5, 5)))
    assert np.all(weights[0] == 1) and np.all(weights[1] == 0)
    assert ex.output.shape == (1, 3, 3, 3) and np.all(ex.output == 18)
